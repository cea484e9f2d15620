import { env, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { KeyStore } from "../../src/durable/key-store";
import { generateApiKey } from "../../src/keys/format";
import { ManualClock } from "../../src/platform/clock";
import type { Env } from "../../src/platform/env";
import { testApp } from "../support/app";
import { as, createKey as createKeyAs, jsonRequest } from "../support/request";
import { seedAccount, seedKey } from "../support/seed";

const clock = new ManualClock("2026-08-01T00:00:00Z");

/** Counts what a request does to the bindings: D1 statements in the Worker and Durable Object lookups. */
function countingEnv() {
	const counts = { d1: 0, objects: 0 };
	const db = new Proxy(env.DB, {
		get(target, prop, receiver) {
			if (prop === "prepare" || prop === "batch" || prop === "exec") counts.d1++;
			const value = Reflect.get(target, prop, receiver);
			return typeof value === "function" ? value.bind(target) : value;
		},
	});
	const namespace = new Proxy(env.ACCOUNT_GUARD, {
		get(target, prop, receiver) {
			if (prop === "get") counts.objects++;
			const value = Reflect.get(target, prop, receiver);
			return typeof value === "function" ? value.bind(target) : value;
		},
	});
	return { counts, vars: { DB: db, ACCOUNT_GUARD: namespace } as Partial<Env> };
}

const t = testApp({ clock });
const verify = (key: string, extra: Record<string, unknown> = {}, vars?: Partial<Env>) =>
	t.request("/v1/keys/verify", jsonRequest("POST", { key, ...extra }), vars);
const createKey = (token: string, accountId: string, body: Record<string, unknown>) =>
	createKeyAs(t, token, accountId, { scopes: ["database:read"], ...body });

describe("POST /v1/keys/verify", () => {
	it("answers VALID with the documented body and rate-limit headers, and the secret is never stored", async () => {
		const s = await seedAccount(clock);
		const { key, secret } = await createKey(s.users.member.token, s.accountId, {
			rateLimit: { limit: 10, windowSeconds: 60 },
		});
		expect(secret).toMatch(/^kw_test_/);
		expect(key.start).toBe(secret.slice(0, 12));
		// The last 4 tell this key from the account's others (they are the checksum's, not the secret's).
		expect(key.last4).toBe(secret.slice(-4));
		const res = await verify(secret, { requiredScopes: ["database:read"] });
		expect(res.status).toBe(200);
		expect(await res.json()).toEqual({
			valid: true,
			code: "VALID",
			keyId: key.id,
			accountId: s.accountId,
			environment: "staging",
			scopes: ["database:read"],
			expiresAt: key.expiresAt,
			externalId: null,
			meta: null,
			serviceAccountId: null,
			ratelimit: { limit: 10, remaining: 9, resetAt: expect.any(String) },
			ratelimits: [{ name: "default", limit: 10, windowSeconds: 60, remaining: 9, resetAt: expect.any(String) }],
		});
		expect(res.headers.get("ratelimit-policy")).toBe('"key";q=10;w=60');
		// The slot this request took frees up one window (at most one bucket more) from now.
		expect(res.headers.get("ratelimit")).toBe('"key";r=9;t=61');
		expect(res.headers.get("x-ratelimit-limit")).toBe("10");
		expect(res.headers.get("x-ratelimit-remaining")).toBe("9");
		const rows = await env.DB.prepare("SELECT * FROM api_keys WHERE id = ?").bind(key.id).all();
		expect(JSON.stringify(rows.results)).not.toContain(secret);
		expect(JSON.stringify(rows.results)).not.toContain(secret.slice(12));
	});

	it("answers every code in order and discloses nothing for an invalid key", async () => {
		const s = await seedAccount(clock);
		const make = (body: Record<string, unknown> = {}) => createKey(s.users.owner.token, s.accountId, body);
		const code = async (secret: string, extra: Record<string, unknown> = {}) =>
			await (await verify(secret, extra)).json<{ code: string }>();

		expect(await code("kw_test_nope")).toEqual({ valid: false, code: "NOT_FOUND" });
		const expiring = await make({ expiresInDays: 1 });
		const revoked = await make();
		await t.request(
			`/v1/accounts/${s.accountId}/keys/${revoked.key.id}/revoke`,
			as(s.users.owner.token, "POST", { reason: "leaked" }),
		);
		const fenced = await make({ ipAllowlist: ["203.0.113.0/24"] });
		const scoped = await make();
		const limited = await make({ rateLimit: { limit: 1, windowSeconds: 60 } });

		expect(await code(revoked.secret)).toEqual({ valid: false, code: "REVOKED" });
		// An anonymous caller is judged by the address it connects from (the body's ip needs a root key).
		const from = async (secret: string, ip: string) =>
			(await t.request("/v1/keys/verify", jsonRequest("POST", { key: secret }, { "CF-Connecting-IP": ip }))).json();
		expect(await from(fenced.secret, "198.51.100.1")).toEqual({ valid: false, code: "IP_NOT_ALLOWED" });
		expect(await from(fenced.secret, "203.0.113.9")).toMatchObject({ code: "VALID" });
		expect(await code(scoped.secret, { requiredScopes: ["database:write"] })).toEqual({
			valid: false,
			code: "INSUFFICIENT_SCOPE",
		});
		expect((await code(limited.secret)).code).toBe("VALID");
		const rl = await code(limited.secret);
		expect(rl).toMatchObject({ valid: false, code: "RATE_LIMITED", ratelimit: { limit: 1, remaining: 0 } });
		expect(Object.keys(rl).sort()).toEqual(["code", "ratelimit", "ratelimits", "valid"]);
		clock.advance(2 * 86_400_000);
		expect(await code(expiring.secret)).toEqual({ valid: false, code: "EXPIRED" });
		clock.advance(-2 * 86_400_000);
	});

	it("a key whose creator was removed is REVOKED; a rotated key stops after its grace", async () => {
		const s = await seedAccount(clock);
		const mine = await createKey(s.users.member.token, s.accountId, {});
		await t.request(`/v1/accounts/${s.accountId}/members/${s.users.member.id}`, as(s.users.admin.token, "DELETE"));
		expect((await (await verify(mine.secret)).json<{ code: string }>()).code).toBe("REVOKED");

		const old = await createKey(s.users.owner.token, s.accountId, {});
		const rotated = await (
			await t.request(
				`/v1/accounts/${s.accountId}/keys/${old.key.id}/rotate`,
				as(s.users.owner.token, "POST", { gracePeriodHours: 1 }),
			)
		).json<{
			key: { id: string };
			secret: string;
			previous: { id: string; expiresAt: string };
		}>();
		expect(rotated.previous.id).toBe(old.key.id);
		expect((await (await verify(old.secret)).json<{ code: string }>()).code).toBe("VALID");
		expect((await (await verify(rotated.secret)).json<{ code: string }>()).code).toBe("VALID");
		const got = await (
			await t.request(`/v1/accounts/${s.accountId}/keys/${old.key.id}`, as(s.users.owner.token, "GET"))
		).json<{ key: { rotatedTo: string; expiresAt: string } }>();
		expect(got.key).toMatchObject({ rotatedTo: rotated.key.id, expiresAt: rotated.previous.expiresAt });
		clock.advance(3_600_001);
		expect((await (await verify(old.secret)).json<{ code: string }>()).code).toBe("EXPIRED");
		expect((await (await verify(rotated.secret)).json<{ code: string }>()).code).toBe("VALID");
		clock.advance(-3_600_001);
	});

	it("a malformed or fabricated key costs no D1 query and no Durable Object call", async () => {
		const s = await seedAccount(clock);
		const { secret } = await createKey(s.users.owner.token, s.accountId, {});
		const { counts, vars } = countingEnv();
		const wrong = secret.slice(0, 20) + (secret[20] === "a" ? "b" : "a") + secret.slice(21);
		for (const candidate of [wrong, secret.slice(0, -1), `${secret}x`, "kw_live_", "sk_live_abc"]) {
			expect(await (await verify(candidate, {}, vars)).json()).toEqual({ valid: false, code: "NOT_FOUND" });
		}
		expect(counts).toEqual({ d1: 0, objects: 0 });
	});

	it("a warm verify makes 0 D1 queries and 1 Durable Object call", async () => {
		const s = await seedAccount(clock);
		const { secret } = await createKey(s.users.owner.token, s.accountId, {});
		await verify(secret);
		const stub = env.ACCOUNT_GUARD.get(env.ACCOUNT_GUARD.idFromName(s.accountId));
		const before = await runInDurableObject(stub, (o) => o.keys.d1Loads);
		const { counts, vars } = countingEnv();
		for (let i = 0; i < 5; i++)
			expect((await (await verify(secret, {}, vars)).json<{ code: string }>()).code).toBe("VALID");
		expect(counts).toEqual({ d1: 0, objects: 5 });
		expect(await runInDurableObject(stub, (o) => o.keys.d1Loads)).toBe(before);
	});

	it("distinct forged keys with valid checksums cost D1 nothing once the key set is loaded; keys made later still verify", async () => {
		const s = await seedAccount(clock);
		const { secret: existing } = await createKey(s.users.owner.token, s.accountId, {});
		const stub = env.ACCOUNT_GUARD.get(env.ACCOUNT_GUARD.idFromName(s.accountId));
		const before = await runInDurableObject(stub, (o) => o.keys.d1Loads);
		// The first miss loads the account's whole key set, once (one page: the account has few keys).
		expect((await (await verify(generateApiKey(s.accountId, "test"))).json<{ code: string }>()).code).toBe("NOT_FOUND");
		expect(await runInDurableObject(stub, (o) => o.keys.d1Loads)).toBe(before + 1);
		expect(await runInDurableObject(stub, (o) => o.keys.complete)).toBe(true);
		// A flood of distinct forgeries, in parallel: not one D1 query.
		const { counts, vars } = countingEnv();
		const codes = await Promise.all(
			Array.from({ length: 200 }, () =>
				verify(generateApiKey(s.accountId, "test"), {}, vars).then((r) => r.json<{ code: string }>()),
			),
		);
		expect(codes.every((r) => r.code === "NOT_FOUND")).toBe(true);
		expect(counts.d1).toBe(0);
		expect(await runInDurableObject(stub, (o) => o.keys.d1Loads)).toBe(before + 1);
		// The set stays complete through the lifecycle: the key from before, a new one and a rotated one verify.
		expect((await (await verify(existing)).json<{ code: string }>()).code).toBe("VALID");
		const made = await createKey(s.users.owner.token, s.accountId, {});
		expect((await (await verify(made.secret)).json<{ code: string }>()).code).toBe("VALID");
		const rotated = await t.request(
			`/v1/accounts/${s.accountId}/keys/${made.key.id}/rotate`,
			as(s.users.owner.token, "POST", { gracePeriodHours: 0 }),
		);
		expect(rotated.status).toBe(201);
		const successor = await rotated.json<{ secret: string }>();
		expect((await (await verify(successor.secret)).json<{ code: string }>()).code).toBe("VALID");
		expect((await (await verify(made.secret)).json<{ code: string }>()).code).not.toBe("VALID");
		expect(await runInDurableObject(stub, (o) => o.keys.d1Loads)).toBe(before + 1);
	});

	it("a key set is loaded once even when misses arrive together, and the load survives the object's restart", async () => {
		const s = await seedAccount(clock);
		// 40 keys the object has never heard of (written to D1 directly, as before the object existed).
		const old = await Promise.all(
			Array.from({ length: 40 }, () => seedKey(s.accountId, s.users.owner.id, ["data:read"], clock.now())),
		);
		const stub = env.ACCOUNT_GUARD.get(env.ACCOUNT_GUARD.idFromName(s.accountId));
		const before = await runInDurableObject(stub, (o) => o.keys.d1Loads);
		await Promise.all(Array.from({ length: 20 }, () => verify(generateApiKey(s.accountId, "test"))));
		expect(await runInDurableObject(stub, (o) => o.keys.d1Loads)).toBe(before + 1);
		// The whole set is stored, but memory holds only what is used.
		const held = await runInDurableObject(stub, (o) => o.memoryStats());
		expect(held.storedKeys).toBeGreaterThanOrEqual(40);
		expect(held.keys).toBeLessThan(40);
		// A key from the loaded set verifies from storage, still with no D1 read.
		expect((await (await verify(old[7]?.secret ?? "")).json<{ code: string }>()).code).toBe("VALID");
		expect(await runInDurableObject(stub, (o) => o.keys.d1Loads)).toBe(before + 1);
		// A new store over the same storage (what an eviction leaves) knows the set is complete.
		const completeAfterRestart = await runInDurableObject(
			stub,
			(_o, state) =>
				new KeyStore(state.storage.sql, () => {
					throw new Error("no D1 after a restart");
				}).complete,
		);
		expect(completeAfterRestart).toBe(true);
	});

	it("500 concurrent verifies against limit 100 admit exactly 100", async () => {
		const s = await seedAccount(clock);
		const { secret } = await createKey(s.users.owner.token, s.accountId, {
			rateLimit: { limit: 100, windowSeconds: 60 },
		});
		const results = await Promise.all(
			Array.from({ length: 500 }, () => verify(secret).then((r) => r.json<{ code: string }>())),
		);
		expect(results.filter((r) => r.code === "VALID")).toHaveLength(100);
		expect(results.filter((r) => r.code === "RATE_LIMITED")).toHaveLength(400);
	});

	it("eviction keeps counts and revocations", async () => {
		const s = await seedAccount(clock);
		const limited = await createKey(s.users.owner.token, s.accountId, { rateLimit: { limit: 3, windowSeconds: 60 } });
		const doomed = await createKey(s.users.owner.token, s.accountId, {});
		for (let i = 0; i < 3; i++) await verify(limited.secret);
		await t.request(
			`/v1/accounts/${s.accountId}/keys/${doomed.key.id}/revoke`,
			as(s.users.owner.token, "POST", { reason: "x" }),
		);
		const stub = env.ACCOUNT_GUARD.get(env.ACCOUNT_GUARD.idFromName(s.accountId));
		await evictDurableObject(stub);
		expect((await (await verify(limited.secret)).json<{ code: string }>()).code).toBe("RATE_LIMITED");
		expect((await (await verify(doomed.secret)).json<{ code: string }>()).code).toBe("REVOKED");
	});

	it("aborting every Durable Object (a crash) keeps counts and revocations too", async () => {
		const { abortAllDurableObjects } = await import("cloudflare:test");
		const s = await seedAccount(clock);
		const limited = await createKey(s.users.owner.token, s.accountId, { rateLimit: { limit: 2, windowSeconds: 60 } });
		const doomed = await createKey(s.users.owner.token, s.accountId, {});
		for (let i = 0; i < 2; i++)
			expect((await (await verify(limited.secret)).json<{ code: string }>()).code).toBe("VALID");
		await t.request(
			`/v1/accounts/${s.accountId}/keys/${doomed.key.id}/revoke`,
			as(s.users.owner.token, "POST", { reason: "x" }),
		);
		await abortAllDurableObjects();
		expect((await (await verify(limited.secret)).json<{ code: string }>()).code).toBe("RATE_LIMITED");
		expect((await (await verify(doomed.secret)).json<{ code: string }>()).code).toBe("REVOKED");
	});

	it("update and revocation are visible on the very next verify", async () => {
		const s = await seedAccount(clock);
		const { key, secret } = await createKey(s.users.owner.token, s.accountId, {});
		expect((await (await verify(secret, { requiredScopes: ["database:write"] })).json<{ code: string }>()).code).toBe(
			"INSUFFICIENT_SCOPE",
		);
		await t.request(
			`/v1/accounts/${s.accountId}/keys/${key.id}`,
			as(s.users.owner.token, "PATCH", { scopes: ["database:*"] }),
		);
		expect((await (await verify(secret, { requiredScopes: ["database:write"] })).json<{ code: string }>()).code).toBe(
			"VALID",
		);
		const first = await t.request(
			`/v1/accounts/${s.accountId}/keys/${key.id}/revoke`,
			as(s.users.owner.token, "POST", { reason: "done" }),
		);
		const again = await t.request(
			`/v1/accounts/${s.accountId}/keys/${key.id}/revoke`,
			as(s.users.owner.token, "POST", { reason: "again" }),
		);
		expect((await again.json<{ key: { revokedReason: string } }>()).key.revokedReason).toBe("done");
		expect(first.status).toBe(200);
		expect((await (await verify(secret)).json<{ code: string }>()).code).toBe("REVOKED");
	});
});

describe("usage and last use", () => {
	it("are counted per code, shown on the key, and written back to D1 by the alarm (not per request)", async () => {
		const { runDurableObjectAlarm } = await import("cloudflare:test");
		const s = await seedAccount(clock);
		const { key, secret } = await createKey(s.users.owner.token, s.accountId, {
			rateLimit: { limit: 2, windowSeconds: 60 },
		});
		for (let i = 0; i < 3; i++) await verify(secret);
		await verify(secret, { requiredScopes: ["other:read"] });
		const before = await env.DB.prepare("SELECT last_used_at FROM api_keys WHERE id = ?")
			.bind(key.id)
			.first<{ last_used_at: number | null }>();
		expect(before?.last_used_at).toBeNull();
		const got = await (
			await t.request(`/v1/accounts/${s.accountId}/keys/${key.id}`, as(s.users.owner.token, "GET"))
		).json<{
			usage: { requests24h: number; denied24h: number; byCode: Record<string, number>; lastUsedAt: string | null };
		}>();
		expect(got.usage).toMatchObject({
			requests24h: 4,
			denied24h: 2,
			byCode: { VALID: 2, RATE_LIMITED: 1, INSUFFICIENT_SCOPE: 1 },
		});
		expect(got.usage.lastUsedAt).toBe(clock.now().toISOString());
		const stub = env.ACCOUNT_GUARD.get(env.ACCOUNT_GUARD.idFromName(s.accountId));
		expect(await runDurableObjectAlarm(stub)).toBe(true);
		const after = await env.DB.prepare("SELECT last_used_at FROM api_keys WHERE id = ?")
			.bind(key.id)
			.first<{ last_used_at: number }>();
		expect(after?.last_used_at).toBe(clock.now().getTime());
	});
});
