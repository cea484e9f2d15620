/**
 * Issue #24, part 1: every audit action as a webhook. Deliveries go over real
 * HTTP to the receiver the test configuration runs; the audit and webhook
 * consumers are the real ones, run by the test on what the requests queued.
 */
import { env } from "cloudflare:test";
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { verifyWebhook, WebhookVerificationError } from "../../sdk/src/webhook";
import { AUDIT_ACTIONS } from "../../src/audit/event";
import { createDatabase } from "../../src/db";
import { auditOutbox, devOutbox, webhookDeliveries, webhooks } from "../../src/db/schema";
import { startSession } from "../../src/identity/sessions";
import { ManualClock } from "../../src/platform/clock";
import { FAILURE_BUDGET } from "../../src/webhooks/budget";
import { testApp } from "../support/app";
import { expectProblem, jsonRequest } from "../support/request";
import { type SeededAccount, seedAccount } from "../support/seed";
import { archiveAndDispatch, auditCapture, capturingQueue, deliverJobs, receiverBox } from "../support/webhooks";

const db = createDatabase(env.DB);

describe("the webhook catalogue", () => {
	const t = testApp();

	it("lists every audit action except the per-request ones, plus webhook.test, in the API and in the OpenAPI webhooks section", async () => {
		const res = await t.request("/v1/webhook-events");
		expect(res.status).toBe(200);
		const { data } = await res.json<{
			data: { name: string; group: string; description: string; subscribable: boolean }[];
		}>();
		const expected = AUDIT_ACTIONS.filter((a) => a !== "http.request" && a !== "key.verified");
		expect(data.filter((e) => e.subscribable).map((e) => e.name)).toEqual(expected);
		expect(data.filter((e) => !e.subscribable).map((e) => e.name)).toEqual(["webhook.test"]);
		for (const entry of data) {
			expect(entry.description.length, entry.name).toBeGreaterThan(10);
			expect(entry.name.startsWith(`${entry.group}.`)).toBe(true);
		}
		const doc = await (await t.request("/v1/openapi.json")).json<{
			openapi: string;
			webhooks: Record<string, unknown>;
		}>();
		expect(doc.openapi).toBe("3.1.0");
		expect(Object.keys(doc.webhooks).sort()).toEqual(data.map((e) => e.name).sort());
	});
});

/** A seeded account with one endpoint at a fresh receiver mailbox. */
async function endpoint(t: ReturnType<typeof testApp>, clock: ManualClock, events: string[]) {
	const s = await seedAccount(clock);
	const box = receiverBox();
	const auth = { Authorization: `Bearer ${s.users.owner.token}` };
	const res = await t.request(
		`/v1/accounts/${s.accountId}/webhooks`,
		jsonRequest("POST", { url: box.url, events }, auth),
	);
	expect(res.status).toBe(201);
	const { webhook, secret } = await res.json<{ webhook: { id: string }; secret: string }>();
	return { s, box, auth, webhookId: webhook.id, secret };
}

/** Sends a request with its audit events captured, then runs them through the audit consumer: the webhook jobs. */
async function jobsOf(t: ReturnType<typeof testApp>, clock: ManualClock, path: string, init: RequestInit) {
	const audit = auditCapture();
	const res = await t.request(path, init, { AUDIT_QUEUE: audit.queue });
	return { res, events: audit.events(), jobs: await archiveAndDispatch(audit.events(), clock) };
}

const keysPath = (s: SeededAccount) => `/v1/accounts/${s.accountId}/keys`;

/** The owner signed in just now: after the clock moves on, the seed's session is idle and its proof stale. */
async function freshOwner(s: SeededAccount, clock: ManualClock) {
	const meta = { ip: null, userAgent: "test", country: null };
	const { token } = await startSession(env, db, s.users.owner.id, meta, clock.now());
	return { Authorization: `Bearer ${token}` };
}

describe("every audit action as a webhook", () => {
	const clock = new ManualClock("2027-03-01T00:00:00Z");
	const t = testApp({ clock });

	it("an endpoint subscribed to key.* receives key.created and key.revoked over HTTP, signed, and nothing else", async () => {
		const { s, box, auth, webhookId, secret } = await endpoint(t, clock, ["key.*"]);
		const created = await jobsOf(
			t,
			clock,
			keysPath(s),
			jsonRequest("POST", { name: "ci", environment: "ci", scopes: ["data:read"] }, auth),
		);
		expect(created.res.status).toBe(201);
		const { key, secret: apiKey } = await created.res.json<{ key: { id: string }; secret: string }>();
		// The request also recorded http.request and alert.key_created: neither matches key.*.
		expect(created.events.map((e) => e.action)).toEqual(expect.arrayContaining(["key.created", "alert.key_created"]));
		const revoked = await jobsOf(
			t,
			clock,
			`${keysPath(s)}/${key.id}/revoke`,
			jsonRequest("POST", { reason: "done" }, auth),
		);
		const mine = [...created.jobs, ...revoked.jobs].filter((j) => j.webhookId === webhookId);
		expect(mine.map((j) => j.event)).toEqual(["key.created", "key.revoked"]);

		const result = await deliverJobs(mine, clock);
		expect(result.explicitAcks).toHaveLength(2);
		const calls = await box.calls();
		expect(calls).toHaveLength(2);
		for (const call of calls) {
			const payload = await verifyWebhook(secret, call.headers, call.body, { now: () => clock.now() });
			expect(payload.accountId).toBe(s.accountId);
			expect(payload.target).toEqual({ type: "key", id: key.id });
			expect(call.headers["keyward-event"]).toBe(payload.type);
			expect(call.body).not.toContain(apiKey);
		}
		const types = await Promise.all(calls.map(async (c) => JSON.parse(c.body).type));
		expect(types).toEqual(["key.created", "key.revoked"]);
		// The payload's id is the audit event's: the same wherever and however often it is delivered.
		const auditIds = [...created.events, ...revoked.events].filter((e) => e.action.startsWith("key.")).map((e) => e.id);
		expect(calls.map((c) => JSON.parse(c.body).id)).toEqual(auditIds);

		const list = await t.request(`/v1/accounts/${s.accountId}/webhooks/${webhookId}/deliveries`, { headers: auth });
		const { data } = await list.json<{ data: { status: string; eventId: string }[] }>();
		expect(data.map((d) => d.status)).toEqual(["delivered", "delivered"]);
	});

	it("a retried audit batch delivers each event once: the delivery rows absorb the repeat", async () => {
		const { s, box, auth, webhookId } = await endpoint(t, clock, ["key.created"]);
		const audit = auditCapture();
		await t.request(keysPath(s), jsonRequest("POST", { name: "ci", environment: "ci", scopes: ["data:read"] }, auth), {
			AUDIT_QUEUE: audit.queue,
		});
		const first = (await archiveAndDispatch(audit.events(), clock)).filter((j) => j.webhookId === webhookId);
		// The consumer crashed before acking: the same batch again, before the first jobs ran.
		const second = (await archiveAndDispatch(audit.events(), clock)).filter((j) => j.webhookId === webhookId);
		expect(first).toHaveLength(1);
		expect(second.map((j) => j.deliveryId)).toEqual(first.map((j) => j.deliveryId));
		await deliverJobs(first, clock);
		const duplicate = await deliverJobs(second, clock);
		expect(duplicate.explicitAcks).toHaveLength(1);
		// And once delivered, a third repeat queues nothing at all.
		const third = (await archiveAndDispatch(audit.events(), clock)).filter((j) => j.webhookId === webhookId);
		expect(third).toEqual([]);
		expect(await box.calls()).toHaveLength(1);
	});

	it("groups, exact names and * each match what they say; unknown names and groups are refused, naming each entry", async () => {
		const { s, auth, webhookId } = await endpoint(t, clock, ["member.*", "account.lockdown"]);
		const patch = (body: unknown) =>
			t.request(`/v1/accounts/${s.accountId}/webhooks/${webhookId}`, jsonRequest("PATCH", body, auth));
		const bad = await expectProblem(
			await patch({ events: ["key.*", "secret.*", "key.verified", "http.request"] }),
			400,
		);
		expect(bad.errors?.map((e) => e.path).sort()).toEqual(["events.1", "events.2", "events.3"]);
		const everything = await patch({ events: ["*"] });
		expect(everything.status).toBe(200);
		const other = await endpoint(t, clock, ["*"]);
		const created = await jobsOf(
			t,
			clock,
			keysPath(other.s),
			jsonRequest("POST", { name: "ci", environment: "ci", scopes: ["data:read"] }, other.auth),
		);
		const theirs = created.jobs.filter((j) => j.webhookId === other.webhookId);
		// `*` is every catalogue event the request recorded, never http.request.
		expect(new Set(theirs.map((j) => j.event))).toEqual(new Set(["key.created", "alert.key_created"]));
	});
});

describe("test events, redelivery and secret rotation", () => {
	const clock = new ManualClock("2027-03-05T00:00:00Z");
	const t = testApp({ clock });

	it("a test event arrives signed as webhook.test, even at a disabled endpoint, and does not touch the budget", async () => {
		const { s, box, auth, webhookId, secret } = await endpoint(t, clock, ["key.*"]);
		await db
			.update(webhooks)
			.set({ disabledAt: clock.now(), disabledReason: "test", consecutiveFailures: 3 })
			.where(eq(webhooks.id, webhookId));
		const res = await t.request(
			`/v1/accounts/${s.accountId}/webhooks/${webhookId}/test`,
			{ method: "POST", headers: auth },
			{ WEBHOOK_QUEUE: capturingQueue().queue },
		);
		expect(res.status).toBe(202);
		const { delivery } = await res.json<{ delivery: { id: string; event: string; status: string } }>();
		expect(delivery).toMatchObject({ event: "webhook.test", status: "pending" });
		const row = await db.query.webhookDeliveries.findFirst({ where: eq(webhookDeliveries.id, delivery.id) });
		await deliverJobs(
			[{ deliveryId: delivery.id, webhookId, accountId: s.accountId, event: "webhook.test", body: row?.body ?? "" }],
			clock,
		);
		const [call] = await box.calls();
		const payload = await verifyWebhook(secret, call?.headers ?? {}, call?.body ?? "", { now: () => clock.now() });
		expect(payload).toMatchObject({ type: "webhook.test", accountId: s.accountId, data: { webhookId } });
		const hook = await db.query.webhooks.findFirst({ where: eq(webhooks.id, webhookId) });
		expect(hook?.consecutiveFailures).toBe(3);
	});

	it("a redelivery sends the same bytes under a new delivery id; another webhook's delivery is not found", async () => {
		const { s, box, auth, webhookId } = await endpoint(t, clock, ["key.created"]);
		const created = await jobsOf(
			t,
			clock,
			keysPath(s),
			jsonRequest("POST", { name: "ci", environment: "ci", scopes: ["data:read"] }, auth),
		);
		const [job] = created.jobs.filter((j) => j.webhookId === webhookId);
		await box.answer(500);
		await deliverJobs(job ? [job] : [], clock, 8);
		await deliverJobs(job ? [job] : [], clock, 1, "keyward-webhooks-dlq");
		const res = await t.request(
			`/v1/accounts/${s.accountId}/webhooks/${webhookId}/deliveries/${job?.deliveryId}/redeliver`,
			{ method: "POST", headers: auth },
			{ WEBHOOK_QUEUE: capturingQueue().queue },
		);
		expect(res.status).toBe(202);
		const { delivery } = await res.json<{ delivery: { id: string; redeliveryOf: string } }>();
		expect(delivery.redeliveryOf).toBe(job?.deliveryId);
		const row = await db.query.webhookDeliveries.findFirst({ where: eq(webhookDeliveries.id, delivery.id) });
		expect(row?.body).toBe(job?.body);
		await deliverJobs(
			[{ deliveryId: delivery.id, webhookId, accountId: s.accountId, event: "key.created", body: row?.body ?? "" }],
			clock,
		);
		const calls = await box.calls();
		expect(calls).toHaveLength(2);
		expect(calls[1]?.body).toBe(calls[0]?.body);
		expect(calls[1]?.headers["keyward-delivery"]).toBe(delivery.id);
		expect(calls[0]?.headers["keyward-delivery"]).toBe(job?.deliveryId);

		const other = await endpoint(t, clock, ["key.created"]);
		const foreign = await t.request(
			`/v1/accounts/${other.s.accountId}/webhooks/${other.webhookId}/deliveries/${job?.deliveryId}/redeliver`,
			{ method: "POST", headers: other.auth },
		);
		await expectProblem(foreign, 404, "not-found");
	});

	it("a rotated secret signs beside the new one for the overlap, then stops; overlap 0 retires it at once", async () => {
		const { s, box, webhookId, secret: old } = await endpoint(t, clock, ["key.created"]);
		const rotate = async (body: unknown) =>
			t.request(
				`/v1/accounts/${s.accountId}/webhooks/${webhookId}/rotate-secret`,
				jsonRequest("POST", body, await freshOwner(s, clock)),
			);
		const res = await rotate({ overlapSeconds: 3600 });
		expect(res.status).toBe(200);
		const { secret: fresh, previousSecretExpiresAt } = await res.json<{
			secret: string;
			previousSecretExpiresAt: string;
		}>();
		expect(fresh).not.toBe(old);
		expect(previousSecretExpiresAt).toBe(new Date(clock.now().getTime() + 3_600_000).toISOString());
		const stored = JSON.stringify(await db.query.webhooks.findFirst({ where: eq(webhooks.id, webhookId) }));
		expect(stored).not.toContain(fresh.slice(6));
		expect(stored).not.toContain(old.slice(6));

		const send = async () => {
			const { jobs } = await jobsOf(
				t,
				clock,
				keysPath(s),
				jsonRequest("POST", { name: "ci", environment: "ci", scopes: ["data:read"] }, await freshOwner(s, clock)),
			);
			await deliverJobs(
				jobs.filter((j) => j.webhookId === webhookId),
				clock,
			);
			return (await box.calls()).at(-1);
		};
		const during = await send();
		expect(during?.headers["keyward-signature"]).toMatch(/^t=\d+,v1=[0-9a-f]{64},v1=[0-9a-f]{64}$/);
		for (const secret of [fresh, old])
			await verifyWebhook(secret, during?.headers ?? {}, during?.body ?? "", { now: () => clock.now() });

		clock.advance(3_600_001);
		const after = await send();
		expect(after?.headers["keyward-signature"]).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
		await verifyWebhook(fresh, after?.headers ?? {}, after?.body ?? "", { now: () => clock.now() });
		await expect(
			verifyWebhook(old, after?.headers ?? {}, after?.body ?? "", { now: () => clock.now() }),
		).rejects.toMatchObject({ reason: "mismatch" });

		// A leaked secret: retired at once.
		const leaked = await (await rotate({ overlapSeconds: 0 })).json<{
			secret: string;
			previousSecretExpiresAt: null;
		}>();
		expect(leaked.previousSecretExpiresAt).toBeNull();
		const now = await send();
		await verifyWebhook(leaked.secret, now?.headers ?? {}, now?.body ?? "", { now: () => clock.now() });
		await expect(verifyWebhook(fresh, now?.headers ?? {}, now?.body ?? "", { now: () => clock.now() })).rejects.toThrow(
			WebhookVerificationError,
		);
		const tooLong = await expectProblem(await rotate({ overlapSeconds: 86_401 }), 400, "validation");
		expect(tooLong.errors?.map((e) => e.path)).toEqual(["overlapSeconds"]);
	});

	it("a burst of parallel rotations hands out exactly one secret: every other caller is told to retry", async () => {
		const { s, auth, webhookId } = await endpoint(t, clock, ["key.created"]);
		const results = await Promise.all(
			Array.from({ length: 12 }, () =>
				t.request(
					`/v1/accounts/${s.accountId}/webhooks/${webhookId}/rotate-secret`,
					jsonRequest("POST", { overlapSeconds: 60 }, auth),
				),
			),
		);
		const statuses = results.map((r) => r.status).sort();
		expect(statuses.filter((x) => x === 200)).toHaveLength(1);
		expect(statuses.filter((x) => x === 409)).toHaveLength(11);
		const hook = await db.query.webhooks.findFirst({ where: eq(webhooks.id, webhookId) });
		expect(hook?.version).toBe(1);
	});
});

describe("the failure budget", () => {
	const clock = new ManualClock("2027-04-01T00:00:00Z");
	const t = testApp({ clock });

	/** One failed-for-good delivery of a fresh key.created event, through the dead-letter consumer. */
	async function failOnce(s: SeededAccount, webhookId: string) {
		const { jobs } = await jobsOf(
			t,
			clock,
			keysPath(s),
			jsonRequest("POST", { name: "ci", environment: "ci", scopes: ["data:read"] }, await freshOwner(s, clock)),
		);
		return jobs.filter((j) => j.webhookId === webhookId);
	}

	it(`disables an endpoint once ${FAILURE_BUDGET.deliveries} deliveries in a row failed over ${FAILURE_BUDGET.hours} h, in a burst, once; emails the owner and records webhook.disabled`, async () => {
		const { s, webhookId } = await endpoint(t, clock, ["key.created"]);
		const jobs = [];
		for (let i = 0; i < FAILURE_BUDGET.deliveries + 2; i++) jobs.push(...(await failOnce(s, webhookId)));
		// The first failure ends now; the rest end a day later, all at once from parallel consumers.
		const [first, ...rest] = jobs;
		await deliverJobs(first ? [first] : [], clock, 1, "keyward-webhooks-dlq");
		clock.advance(FAILURE_BUDGET.hours * 3_600_000 + 1);
		await Promise.all(rest.map((job) => deliverJobs([job], clock, 1, "keyward-webhooks-dlq")));

		const hook = await db.query.webhooks.findFirst({ where: eq(webhooks.id, webhookId) });
		expect(hook?.disabledAt).not.toBeNull();
		expect(hook?.consecutiveFailures).toBe(FAILURE_BUDGET.deliveries + 2);
		const disabledEvents = (await db.select().from(auditOutbox)).filter(
			(r) => r.body.includes('"webhook.disabled"') && r.body.includes(webhookId),
		);
		expect(disabledEvents).toHaveLength(1);
		const mail = (await db.select().from(devOutbox)).filter(
			(m) => m.subject.includes("webhook endpoint was disabled") && m.text.includes(webhookId),
		);
		expect(mail.map((m) => m.to)).toEqual([s.users.owner.email]);

		// Nothing is queued to it while disabled; a person turns it back on with a fresh budget.
		expect(await failOnce(s, webhookId)).toEqual([]);
		const enabled = await t.request(
			`/v1/accounts/${s.accountId}/webhooks/${webhookId}`,
			jsonRequest("PATCH", { enabled: true }, await freshOwner(s, clock)),
		);
		expect(enabled.status).toBe(200);
		expect(await enabled.json()).toMatchObject({
			webhook: { enabled: true, consecutiveFailures: 0, failingSince: null, disabledAt: null },
		});
		expect(await failOnce(s, webhookId)).toHaveLength(1);
	});

	it("one success resets the count; fewer failures than the budget, or a shorter span, leave it enabled", async () => {
		const { s, box, webhookId } = await endpoint(t, clock, ["key.created"]);
		const jobs = [];
		for (let i = 0; i < FAILURE_BUDGET.deliveries + 1; i++) jobs.push(...(await failOnce(s, webhookId)));
		// Many failures, but within an hour: not disabled.
		for (const job of jobs.slice(0, -1)) await deliverJobs([job], clock, 1, "keyward-webhooks-dlq");
		let hook = await db.query.webhooks.findFirst({ where: eq(webhooks.id, webhookId) });
		expect(hook).toMatchObject({ disabledAt: null, consecutiveFailures: FAILURE_BUDGET.deliveries });
		await box.answer(200);
		const last = jobs.at(-1);
		await deliverJobs(last ? [last] : [], clock);
		hook = await db.query.webhooks.findFirst({ where: eq(webhooks.id, webhookId) });
		expect(hook).toMatchObject({ disabledAt: null, consecutiveFailures: 0, failingSince: null });
		const rows = await db
			.select()
			.from(webhookDeliveries)
			.where(and(eq(webhookDeliveries.webhookId, webhookId), eq(webhookDeliveries.status, "failed")));
		expect(rows).toHaveLength(FAILURE_BUDGET.deliveries);
	});
});

describe("the attacker round's findings (#24)", () => {
	const clock = new ManualClock("2027-07-01T00:00:00Z");
	const t = testApp({ clock });
	const hookPath = (s: SeededAccount, id: string) => `/v1/accounts/${s.accountId}/webhooks/${id}`;

	it("demoting the admin who added an endpoint disables it at once, audited; whoever turns it back on answers for it", async () => {
		const s = await seedAccount(clock);
		const box = receiverBox();
		const admin = { Authorization: `Bearer ${s.users.admin.token}` };
		const created = await t.request(
			`/v1/accounts/${s.accountId}/webhooks`,
			jsonRequest("POST", { url: box.url, events: ["*"] }, admin),
		);
		const { webhook } = await created.json<{ webhook: { id: string } }>();
		const owner = { Authorization: `Bearer ${s.users.owner.token}` };
		const demoted = await jobsOf(
			t,
			clock,
			`/v1/accounts/${s.accountId}/members/${s.users.admin.id}`,
			jsonRequest("PATCH", { role: "member" }, owner),
		);
		expect(demoted.res.status).toBe(200);
		expect(demoted.jobs.filter((j) => j.webhookId === webhook.id)).toEqual([]);
		expect(demoted.events.find((e) => e.action === "webhook.disabled")).toMatchObject({
			target: { type: "webhook", id: webhook.id },
		});
		const hook = await db.query.webhooks.findFirst({ where: eq(webhooks.id, webhook.id) });
		expect(hook).toMatchObject({ disabledReason: "the person who added it no longer manages webhooks" });

		const enabled = await t.request(hookPath(s, webhook.id), jsonRequest("PATCH", { enabled: true }, owner));
		expect(await enabled.json()).toMatchObject({ webhook: { enabled: true, createdBy: s.users.owner.id } });
	});

	it("during a lockdown the owner may pause, narrow and re-key an endpoint, but not turn one on; an admin may do none of it", async () => {
		const { s, webhookId } = await endpoint(t, clock, ["*"]);
		const owner = { Authorization: `Bearer ${s.users.owner.token}` };
		const admin = { Authorization: `Bearer ${s.users.admin.token}` };
		const lock = await t.request(
			`/v1/accounts/${s.accountId}/lockdown`,
			jsonRequest("POST", { reason: "incident", revokeSessions: false, revokeKeys: "none" }, owner),
		);
		expect(lock.status).toBe(200);
		const patch = (auth: Record<string, string>, body: unknown) =>
			t.request(hookPath(s, webhookId), jsonRequest("PATCH", body, auth));
		await expectProblem(await patch(admin, { enabled: false }), 423, "locked");
		expect((await patch(owner, { events: ["alert.*"] })).status).toBe(200);
		expect((await patch(owner, { enabled: false })).status).toBe(200);
		await expectProblem(await patch(owner, { enabled: true }), 423, "locked");
		const rotated = await t.request(
			`${hookPath(s, webhookId)}/rotate-secret`,
			jsonRequest("POST", { overlapSeconds: 0 }, owner),
		);
		expect(rotated.status).toBe(200);
	});

	it("tests and redeliveries are capped per webhook and hour, also under a burst; a failed test is not retried", async () => {
		const { s, auth, webhookId, box } = await endpoint(t, clock, ["key.created"]);
		const queue = capturingQueue();
		const burst = await Promise.all(
			Array.from({ length: 30 }, () =>
				t.request(`${hookPath(s, webhookId)}/test`, { method: "POST", headers: auth }, { WEBHOOK_QUEUE: queue.queue }),
			),
		);
		const statuses = burst.map((r) => r.status);
		expect(statuses.filter((x) => x === 202)).toHaveLength(20);
		expect(statuses.filter((x) => x === 429)).toHaveLength(10);
		expect(queue.bodies).toHaveLength(20);
		clock.advance(3_600_001);

		await box.answer(500);
		const fresh = await freshOwner(s, clock);
		const one = await t.request(
			`${hookPath(s, webhookId)}/test`,
			{ method: "POST", headers: fresh },
			{ WEBHOOK_QUEUE: capturingQueue().queue },
		);
		const { delivery } = await one.json<{ delivery: { id: string } }>();
		const row = await db.query.webhookDeliveries.findFirst({ where: eq(webhookDeliveries.id, delivery.id) });
		const result = await deliverJobs(
			[{ deliveryId: delivery.id, webhookId, accountId: s.accountId, event: "webhook.test", body: row?.body ?? "" }],
			clock,
		);
		expect(result.explicitAcks).toHaveLength(1);
		expect(result.retryMessages).toHaveLength(0);
		const after = await db.query.webhookDeliveries.findFirst({ where: eq(webhookDeliveries.id, delivery.id) });
		expect(after).toMatchObject({ status: "failed", attempts: 1, lastStatusCode: 500 });
	});

	it("an endpoint hears only of what happened after it was added", async () => {
		const s = await seedAccount(clock);
		const audit = auditCapture();
		const owner = { Authorization: `Bearer ${s.users.owner.token}` };
		await t.request(
			keysPath(s),
			jsonRequest("POST", { name: "before", environment: "ci", scopes: ["data:read"] }, owner),
			{ AUDIT_QUEUE: audit.queue },
		);
		clock.advance(1);
		const created = await t.request(
			`/v1/accounts/${s.accountId}/webhooks`,
			jsonRequest("POST", { url: receiverBox().url, events: ["key.*"] }, owner),
		);
		const { webhook } = await created.json<{ webhook: { id: string } }>();
		// The key's events reach the consumer only now, after the endpoint exists.
		const jobs = await archiveAndDispatch(audit.events(), clock);
		expect(jobs.filter((j) => j.webhookId === webhook.id)).toEqual([]);
	});
});
