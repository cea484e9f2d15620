import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDatabase } from "../../src/db";
import { webhookDeliveries, webhooks } from "../../src/db/schema";
import worker from "../../src/index";
import { ManualClock } from "../../src/platform/clock";
import { handleQueueBatch } from "../../src/queues";
import { retryDelaySeconds } from "../../src/webhooks/deliver";
import type { WebhookJob } from "../../src/webhooks/dispatch";
import { testApp } from "../support/app";
import { expectProblem, jsonRequest } from "../support/request";
import { seedAccount } from "../support/seed";
import { archiveAndDispatch, auditCapture } from "../support/webhooks";

const db = createDatabase(env.DB);

/** A local stand-in for the customer's receiver: records each request and answers with the given statuses in turn. */
function receiver(...statuses: number[]) {
	const calls: { url: string; init: RequestInit; body: string; headers: Headers }[] = [];
	const fetchFn = (async (input: RequestInfo | URL, init?: RequestInit) => {
		const headers = new Headers(init?.headers);
		calls.push({ url: String(input), init: init ?? {}, body: String(init?.body), headers });
		const status = statuses[Math.min(calls.length - 1, statuses.length - 1)] ?? 200;
		return new Response(status >= 300 && status < 400 ? null : "ok", {
			status,
			headers: status >= 300 && status < 400 ? { Location: "http://169.254.169.254/" } : {},
		});
	}) as typeof fetch;
	return { calls, fetch: fetchFn };
}

async function consume(
	queueName: string,
	jobs: WebhookJob[],
	attempts: number,
	fetchFn: typeof fetch,
	clock: ManualClock,
) {
	const batch = createMessageBatch<WebhookJob>(
		queueName,
		jobs.map((body, i) => ({ id: `m-${body.deliveryId}-${attempts}-${i}`, timestamp: new Date(), attempts, body })),
	);
	// The runtime's result does not report the delay asked for, so each retry's options are recorded here.
	const delays: (number | undefined)[] = [];
	for (const message of batch.messages) {
		const retry = message.retry.bind(message);
		message.retry = (options?: QueueRetryOptions) => {
			delays.push(options?.delaySeconds);
			retry(options);
		};
	}
	const ctx = createExecutionContext();
	await handleQueueBatch(batch as MessageBatch, env, ctx, { clock, fetch: fetchFn });
	return { ...(await getQueueResult(batch, ctx)), delays };
}

async function hmacHex(secret: string, message: string) {
	const key = await crypto.subtle.importKey(
		"raw",
		new TextEncoder().encode(secret),
		{ name: "HMAC", hash: "SHA-256" },
		false,
		["sign"],
	);
	const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(message));
	return [...new Uint8Array(mac)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

describe("webhook management", () => {
	const clock = new ManualClock("2027-02-01T00:00:00Z");
	const t = testApp({ clock });

	it("creates with the secret shown once (stored sealed), lists without it, deletes", async () => {
		const s = await seedAccount(clock);
		const auth = { Authorization: `Bearer ${s.users.admin.token}` };
		const res = await t.request(
			`/v1/accounts/${s.accountId}/webhooks`,
			jsonRequest("POST", { url: "https://hooks.example.com/in?token=abc", events: ["alert.key_created"] }, auth),
		);
		expect(res.status).toBe(201);
		const { webhook, secret } = await res.json<{ webhook: { id: string }; secret: string }>();
		expect(secret).toMatch(/^whsec_[a-z2-7]{52}$/);
		const row = await db.query.webhooks.findFirst({ where: eq(webhooks.id, webhook.id) });
		expect(JSON.stringify(row)).not.toContain(secret.slice(6));

		const list = await t.request(`/v1/accounts/${s.accountId}/webhooks`, { headers: auth });
		const listed = await list.text();
		expect(listed).toContain(webhook.id);
		expect(listed).not.toContain(secret);

		const del = await t.request(`/v1/accounts/${s.accountId}/webhooks/${webhook.id}`, {
			method: "DELETE",
			headers: auth,
		});
		expect(del.status).toBe(204);
		const again = await t.request(`/v1/accounts/${s.accountId}/webhooks/${webhook.id}`, {
			method: "DELETE",
			headers: auth,
		});
		await expectProblem(again, 404, "not-found");
	});

	it("refuses a forbidden URL and unknown events, naming each field, and stores nothing", async () => {
		const s = await seedAccount(clock);
		const auth = { Authorization: `Bearer ${s.users.owner.token}` };
		const res = await t.request(
			`/v1/accounts/${s.accountId}/webhooks`,
			jsonRequest("POST", { url: "https://169.254.169.254/latest/meta-data/", events: ["alert.nope"] }, auth),
		);
		const problem = await expectProblem(res, 400, "validation");
		expect(problem.errors?.map((e) => e.path).sort()).toEqual(["events.0", "url"]);
		expect(problem.errors?.find((e) => e.path === "url")?.message).toMatch(/metadata/);
		const rows = await db.select().from(webhooks).where(eq(webhooks.accountId, s.accountId));
		expect(rows.map((r) => r.url)).toEqual(["https://hooks.example.com/seed"]);
	});
});

describe("webhook delivery", () => {
	const clock = new ManualClock("2027-02-01T00:00:00Z");
	const t = testApp({ clock });

	async function webhookAndAlert() {
		const s = await seedAccount(clock);
		const auth = { Authorization: `Bearer ${s.users.owner.token}` };
		const created = await t.request(
			`/v1/accounts/${s.accountId}/webhooks`,
			jsonRequest("POST", { url: "https://receiver.example.com/keyward", events: ["alert.key_created"] }, auth),
		);
		const { webhook, secret } = await created.json<{ webhook: { id: string }; secret: string }>();
		const audit = auditCapture();
		const key = await t.request(
			`/v1/accounts/${s.accountId}/keys`,
			jsonRequest("POST", { name: "ci", environment: "ci", scopes: ["data:read"] }, auth),
			{ AUDIT_QUEUE: audit.queue },
		);
		expect(key.status).toBe(201);
		const { key: created2, secret: apiKey } = await key.json<{ key: { id: string }; secret: string }>();
		// The audit consumer queues the alert to every endpoint subscribed to it, the seeded one too.
		const jobs = (await archiveAndDispatch(audit.events(), clock)).filter((j) => j.webhookId === webhook.id);
		expect(jobs).toHaveLength(1);
		return { s, auth, webhook, secret, jobs, keyId: created2.id, apiKey };
	}

	it("signs t.body with HMAC-SHA256 as an independent computation confirms, posts without following redirects", async () => {
		const { webhook, secret, jobs, keyId, apiKey, s, auth } = await webhookAndAlert();
		const r = receiver(200);

		const result = await consume("keyward-webhooks", jobs, 1, r.fetch, clock);

		expect(result.explicitAcks).toHaveLength(1);
		const call = r.calls[0];
		expect(call?.url).toBe("https://receiver.example.com/keyward");
		expect(call?.init.redirect).toBe("manual");
		expect(call?.init.signal).toBeInstanceOf(AbortSignal);
		const header = call?.headers.get("Keyward-Signature") ?? "";
		const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
		expect(match).not.toBeNull();
		expect(Number(match?.[1])).toBe(Math.floor(clock.now().getTime() / 1000));
		expect(match?.[2]).toBe(await hmacHex(secret, `${match?.[1]}.${call?.body}`));
		const payload = JSON.parse(call?.body ?? "{}");
		expect(payload).toMatchObject({ type: "alert.key_created", accountId: s.accountId, data: { keyId } });
		expect(call?.body).not.toContain(apiKey);

		const list = await t.request(`/v1/accounts/${s.accountId}/webhooks/${webhook.id}/deliveries`, { headers: auth });
		const { data } = await list.json<{ data: { status: string; attempts: number; lastStatusCode: number }[] }>();
		expect(data).toEqual([expect.objectContaining({ status: "delivered", attempts: 1, lastStatusCode: 200 })]);
	});

	it("retries a 500 with growing backoff, treats a redirect as a failure, and marks the delivery failed after the dead letter", async () => {
		const { jobs, webhook, s, auth } = await webhookAndAlert();
		const r = receiver(500, 302, 500);

		const first = await consume("keyward-webhooks", jobs, 1, r.fetch, clock);
		expect(first.retryMessages).toHaveLength(1);
		const firstDelay = first.delays[0] ?? 0;
		expect(firstDelay).toBeGreaterThanOrEqual(30);
		const second = await consume("keyward-webhooks", jobs, 2, r.fetch, clock);
		expect(second.delays[0] ?? 0).toBeGreaterThan(firstDelay);
		let row = await db.query.webhookDeliveries.findFirst({
			where: eq(webhookDeliveries.id, jobs[0]?.deliveryId ?? ""),
		});
		expect(row).toMatchObject({
			status: "retrying",
			attempts: 2,
			lastStatusCode: 302,
			lastError: "redirect not followed",
		});
		expect(r.calls).toHaveLength(2); // the redirect's Location was never fetched

		await consume("keyward-webhooks", jobs, 8, r.fetch, clock);
		const dead = await consume("keyward-webhooks-dlq", jobs, 1, r.fetch, clock);
		expect(dead.explicitAcks).toHaveLength(1);
		row = await db.query.webhookDeliveries.findFirst({ where: eq(webhookDeliveries.id, jobs[0]?.deliveryId ?? "") });
		expect(row).toMatchObject({ status: "failed", lastError: "retries exhausted", attempts: 8 });
		const list = await t.request(`/v1/accounts/${s.accountId}/webhooks/${webhook.id}/deliveries`, { headers: auth });
		expect((await list.json<{ data: { status: string }[] }>()).data[0]?.status).toBe("failed");
	});

	it("drops deliveries of a deleted webhook and never sends to a URL that is no longer allowed", async () => {
		const { jobs, webhook, auth, s } = await webhookAndAlert();
		await db.update(webhooks).set({ url: "https://127.0.0.1/hook" }).where(eq(webhooks.id, webhook.id));
		const r = receiver(200);
		const refused = await consume("keyward-webhooks", jobs, 1, r.fetch, clock);
		expect(refused.explicitAcks).toHaveLength(1);
		expect(r.calls).toHaveLength(0);

		await t.request(`/v1/accounts/${s.accountId}/webhooks/${webhook.id}`, { method: "DELETE", headers: auth });
		const gone = await consume("keyward-webhooks", jobs, 2, r.fetch, clock);
		expect(gone.explicitAcks).toHaveLength(1);
		expect(r.calls).toHaveLength(0);
	});

	it("the Worker's queue entry routes both webhook queues", async () => {
		const batch = createMessageBatch<WebhookJob>("keyward-webhooks-dlq", []);
		const ctx = createExecutionContext();
		await worker.queue(batch as MessageBatch, env, ctx);
		expect((await getQueueResult(batch, ctx)).retryBatch.retry).toBe(false);
	});
});

describe("webhook retry backoff", () => {
	it("doubles from 30 s up to an hour, with at most 20% jitter", () => {
		expect([1, 2, 3, 4].map((n) => retryDelaySeconds(n, () => 0))).toEqual([30, 60, 120, 240]);
		expect(retryDelaySeconds(20, () => 0)).toBe(3600);
		expect(retryDelaySeconds(1, () => 0.999)).toBeLessThanOrEqual(36);
	});
});
