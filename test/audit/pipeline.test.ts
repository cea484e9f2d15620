import { createExecutionContext, createScheduledController, env } from "cloudflare:test";
import { inArray } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { runScheduled } from "../../src/cron";
import { createDatabase } from "../../src/db";
import { auditEvents, auditOutbox } from "../../src/db/schema";
import { newId } from "../../src/platform/ids";
import { testApp } from "../support/app";
import { deliver, observedQueue, principal, tokenAuthenticator, uniqueAccount } from "../support/audit";
import { jsonRequest } from "../support/request";

const db = createDatabase(env.DB);
const SECRETS = ["hunter2-password", "tok_live_session_secret", "s3cr3t-value", "kw_live_0123456789abcdef"];

describe("audit emitter", () => {
	it("a request produces exactly one http.request event with the documented fields", async () => {
		const { queue, sent } = observedQueue();
		const t = testApp();
		const res = await t.request(
			"/health",
			{ headers: { "CF-Connecting-IP": "203.0.113.7", "User-Agent": "probe/1.0" } },
			{ AUDIT_QUEUE: queue },
		);
		expect(res.status).toBe(200);
		expect(sent).toHaveLength(1);
		const [event] = sent;
		expect(event).toMatchObject({
			id: expect.stringMatching(/^evt_/),
			time: expect.any(String),
			accountId: "system",
			action: "http.request",
			outcome: "success",
			actor: { type: "user", id: null, ip: "203.0.113.7", userAgent: "probe/1.0" },
			target: null,
			requestId: res.headers.get("x-request-id"),
			metadata: { method: "GET", route: "/health", path: "/health", status: 200, durationMs: expect.any(Number) },
		});
	});

	it("refused requests are audited too, once each, as failures", async () => {
		const { queue, sent } = observedQueue();
		const t = testApp();
		await t.request("/nope", undefined, { AUDIT_QUEUE: queue });
		await t.request("/health", { method: "POST" }, { AUDIT_QUEUE: queue });
		await t.request(
			"/v1/dev/outbox?to=x",
			{ method: "GET", headers: { Origin: "https://evil.example" } },
			{ AUDIT_QUEUE: queue },
		);
		expect(sent.map((e) => [e.action, e.outcome, e.metadata.status])).toEqual([
			["http.request", "failure", 404],
			["http.request", "failure", 405],
			["http.request", "failure", 400],
		]);
	});

	it("never carries a secret sent anywhere in the request", async () => {
		const { queue, sent } = observedQueue();
		const t = testApp();
		await t.request(
			`/v1/dev/outbox?to=a@b.co&token=${SECRETS[1]}`,
			{
				method: "GET",
				headers: { Authorization: `Bearer ${SECRETS[3]}`, Cookie: `__Host-keyward_session=${SECRETS[1]}` },
			},
			{ AUDIT_QUEUE: queue },
		);
		await t.request("/health", jsonRequest("POST", { password: SECRETS[0], secret: SECRETS[2], token: SECRETS[1] }), {
			AUDIT_QUEUE: queue,
		});
		expect(sent).toHaveLength(2);
		const text = JSON.stringify(sent);
		for (const secret of SECRETS) expect(text).not.toContain(secret);
	});

	it("keeps events in the fallback table when the queue refuses, and the next cron run delivers them", async () => {
		const t = testApp();
		const res = await t.request("/health", undefined, { AUDIT_QUEUE: observedQueue({ fail: true }).queue });
		const requestId = res.headers.get("x-request-id");
		const kept = (await db.select().from(auditOutbox)).filter((row) => row.body.includes(requestId ?? "-"));
		expect(kept).toHaveLength(1);

		const { queue, sent } = observedQueue();
		const results = await runScheduled(
			createScheduledController({ cron: "*/15 * * * *" }),
			{ ...env, AUDIT_QUEUE: queue },
			createExecutionContext(),
		);
		expect(results.auditOutbox).toMatchObject({ sent: expect.any(Number) });
		const delivered = sent.filter((e) => e.requestId === requestId);
		expect(delivered).toHaveLength(1);
		expect(
			await db
				.select()
				.from(auditOutbox)
				.where(inArray(auditOutbox.id, [kept[0]?.id ?? ""])),
		).toEqual([]);
	});

	it("through the real queue, an event reaches the index (consumer running in the runtime)", async () => {
		const t = testApp();
		const res = await t.request("/health", { headers: { "User-Agent": "end-to-end" } });
		const requestId = res.headers.get("x-request-id") ?? "";
		let rows: { id: string }[] = [];
		for (let i = 0; i < 40 && rows.length === 0; i++) {
			await new Promise((r) => setTimeout(r, 250));
			rows = await db
				.select({ id: auditEvents.id })
				.from(auditEvents)
				.where(inArray(auditEvents.requestId, [requestId]));
		}
		expect(rows).toHaveLength(1);
	}, 20_000);
});

describe("audit routes", () => {
	const account = uniqueAccount();
	const other = uniqueAccount();
	const t = testApp({
		authenticate: tokenAuthenticator({
			owner: principal(account, "owner", "usr_owner"),
			readonly: principal(account, "readonly"),
			member: principal(account, "member"),
			stranger: principal(other, "owner"),
		}),
	});
	const get = (path: string, token?: string) =>
		t.request(path, token ? { headers: { Authorization: `Bearer ${token}` } } : undefined);

	it("gates by the permission table: 401 without a caller, 404 for another tenant, 403 for a member", async () => {
		const path = `/v1/accounts/${account}/audit-events`;
		expect((await get(path)).status).toBe(401);
		expect((await get(path, "stranger")).status).toBe(404);
		expect((await get(path, "member")).status).toBe(403);
		expect((await get(path, "readonly")).status).toBe(200);
		expect((await get(path, "owner")).status).toBe(200);
		expect((await get(`${path}/export`, "member")).status).toBe(403);
	});

	it("lists newest first with filters and a cursor", async () => {
		const base = Date.parse("2026-05-01T00:00:00Z");
		const { syntheticEvent } = await import("../support/audit");
		const actors = [newId("usr"), newId("usr")];
		const keys = [newId("key"), newId("key"), newId("key")];
		const events = Array.from({ length: 7 }, (_, i) =>
			syntheticEvent(account, {
				time: new Date(base + i * 60_000).toISOString(),
				action: i % 2 === 0 ? "key.created" : "key.revoked",
				actor: { type: "user", id: (i < 3 ? actors[0] : actors[1]) ?? "", ip: null, userAgent: null },
				target: { type: "key", id: keys[i % 3] ?? "" },
			}),
		);
		await deliver(events);

		const all = await (
			await get(
				`/v1/accounts/${account}/audit-events?since=2026-05-01T00:00:00Z&until=2026-05-02T00:00:00Z&limit=3`,
				"owner",
			)
		).json<{
			data: { id: string; time: string }[];
			nextCursor: string | null;
		}>();
		expect(all.data.map((e) => e.id)).toEqual([events[6], events[5], events[4]].map((e) => e?.id));
		expect(all.data[0]).not.toHaveProperty("accountId");
		const page2 = await (
			await get(
				`/v1/accounts/${account}/audit-events?since=2026-05-01T00:00:00Z&until=2026-05-02T00:00:00Z&limit=3&cursor=${all.nextCursor}`,
				"owner",
			)
		).json<{
			data: { id: string }[];
			nextCursor: string | null;
		}>();
		expect(page2.data.map((e) => e.id)).toEqual([events[3], events[2], events[1]].map((e) => e?.id));

		const revoked = await (
			await get(`/v1/accounts/${account}/audit-events?action=key.revoked&until=2026-05-02T00:00:00Z`, "owner")
		).json<{ data: { id: string }[] }>();
		expect(revoked.data.map((e) => e.id)).toEqual([events[5], events[3], events[1]].map((e) => e?.id));
		const byActor = await (
			await get(`/v1/accounts/${account}/audit-events?actorId=${actors[0]}&until=2026-05-02T00:00:00Z`, "owner")
		).json<{ data: unknown[] }>();
		expect(byActor.data).toHaveLength(3);
		const byKey = await (
			await get(`/v1/accounts/${account}/audit-events?keyId=${keys[0]}&until=2026-05-02T00:00:00Z`, "owner")
		).json<{ data: unknown[] }>();
		expect(byKey.data).toHaveLength(3);
	});

	it("names bad query parameters", async () => {
		const res = await get(
			`/v1/accounts/${account}/audit-events?action=nope&since=yesterday&limit=0&cursor=%%%`,
			"owner",
		);
		expect(res.status).toBe(400);
		const body = await res.json<{ errors: { path: string }[] }>();
		expect(body.errors.map((e) => e.path).sort()).toEqual(["action", "limit", "since"]);
		const badCursor = await get(`/v1/accounts/${account}/audit-events?cursor=bm9wZQ`, "owner");
		expect(badCursor.status).toBe(400);
	});

	it("exports the archive as NDJSON, oldest first, within the range", async () => {
		const { syntheticEvent } = await import("../support/audit");
		const acc = uniqueAccount();
		const exporter = testApp({ authenticate: tokenAuthenticator({ admin: principal(acc, "admin") }) });
		const now = Date.now();
		const events = [0, 1, 2].map((i) => syntheticEvent(acc, { time: new Date(now - (3 - i) * 1000).toISOString() }));
		await deliver(events.slice(0, 2));
		await deliver(events.slice(2));
		const res = await exporter.request(`/v1/accounts/${acc}/export-missing`, {});
		expect(res.status).toBe(404);
		const out = await exporter.request(`/v1/accounts/${acc}/audit-events/export`, {
			headers: { Authorization: "Bearer admin" },
		});
		expect(out.status).toBe(200);
		expect(out.headers.get("content-type")).toBe("application/x-ndjson; charset=utf-8");
		const lines = (await out.text())
			.trim()
			.split("\n")
			.map((l) => JSON.parse(l) as { id: string; accountId?: string });
		expect(lines.map((l) => l.id)).toEqual(events.map((e) => e.id));
		expect(lines[0]).not.toHaveProperty("accountId");
		const none = await exporter.request(
			`/v1/accounts/${acc}/audit-events/export?since=2020-01-01T00:00:00Z&until=2020-01-02T00:00:00Z`,
			{ headers: { Authorization: "Bearer admin" } },
		);
		expect(await none.text()).toBe("");
	});
});
