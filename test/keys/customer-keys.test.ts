import { abortAllDurableObjects, env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { accountGuard } from "../../src/durable/address";
import { type KeyRecord, KeyStore } from "../../src/durable/key-store";
import { hashApiKey } from "../../src/keys/format";
import { ManualClock } from "../../src/platform/clock";
import { creditReserveFor, lastRefillAt } from "../../src/security/credits";
import { testApp } from "../support/app";
import { observedQueue } from "../support/audit";
import { cronHarness } from "../support/cron";
import { as, createKey, expectProblem, jsonRequest } from "../support/request";
import { type SeededAccount, seedAccount } from "../support/seed";

/**
 * Keys for a team's own customers (issue #23): credits spent exactly, several named limits,
 * short-lived and disabled keys, and the customer's id and metadata handed back by verify.
 */
const clock = new ManualClock("2026-11-10T10:00:00Z");
const t = testApp({ clock });

type Verdict = {
	valid: boolean;
	code: string;
	credits?: { remaining: number };
	ratelimit?: { limit: number; remaining: number };
	ratelimits?: { name: string; remaining: number }[];
	externalId?: string | null;
	meta?: Record<string, unknown> | null;
};
const verify = async (key: string, extra: Record<string, unknown> = {}) => {
	const res = await t.request("/v1/keys/verify", jsonRequest("POST", { key, ...extra }));
	expect(res.status).toBe(200);
	return { body: await res.json<Verdict>(), headers: res.headers };
};
const keyPath = (s: SeededAccount, id = "") => `/v1/accounts/${s.accountId}/keys${id ? `/${id}` : ""}`;
const patch = (s: SeededAccount, token: string, id: string, body: unknown) =>
	t.request(keyPath(s, id), as(token, "PATCH", body));
const owner = (s: SeededAccount) => s.users.owner.token;

describe("credits", () => {
	it("200 parallel verifies of a key with 50 credits: exactly 50 VALID, and never a credit below zero", async () => {
		const s = await seedAccount(clock);
		const { secret, key } = await createKey(t, owner(s), s.accountId, { credits: { remaining: 50 } });
		const verdicts = await Promise.all(Array.from({ length: 200 }, () => verify(secret)));
		const codes = verdicts.map((v) => v.body.code);
		expect(codes.filter((c) => c === "VALID")).toHaveLength(50);
		expect(codes.filter((c) => c === "USAGE_EXCEEDED")).toHaveLength(150);
		const left = verdicts.flatMap((v) => (v.body.code === "VALID" ? [v.body.credits?.remaining] : []));
		expect(new Set(left).size).toBe(50);
		expect(Math.min(...(left as number[]))).toBe(0);
		const read = await (await t.request(keyPath(s, key.id), as(owner(s)))).json<{ key: { credits: unknown } }>();
		expect(read.key.credits).toEqual({ remaining: 0, refill: null });
	});

	it("a refused verify spends nothing; cost is spent exactly, and 0 checks without spending", async () => {
		const s = await seedAccount(clock);
		const { secret } = await createKey(t, owner(s), s.accountId, { credits: { remaining: 10 } });
		expect((await verify(secret, { requiredScopes: ["other:read"] })).body.code).toBe("INSUFFICIENT_SCOPE");
		expect((await verify(secret, { cost: 11 })).body).toMatchObject({
			code: "USAGE_EXCEEDED",
			credits: { remaining: 10 },
		});
		expect((await verify(secret, { cost: 7 })).body.credits).toEqual({ remaining: 3 });
		expect((await verify(secret, { cost: 0 })).body).toMatchObject({ code: "VALID", credits: { remaining: 3 } });
		expect((await verify(secret, { cost: 3 })).body.credits).toEqual({ remaining: 0 });
		expect((await verify(secret, { cost: 0 })).body.code).toBe("VALID");
		expect((await verify(secret)).body.code).toBe("USAGE_EXCEEDED");
	});

	it("USAGE_EXCEEDED takes nothing from the rate limit, and RATE_LIMITED nothing from the credits", async () => {
		const s = await seedAccount(clock);
		const { secret } = await createKey(t, owner(s), s.accountId, {
			credits: { remaining: 1 },
			rateLimit: { limit: 3, windowSeconds: 3600 },
		});
		expect((await verify(secret, { cost: 5 })).body.code).toBe("USAGE_EXCEEDED");
		expect((await verify(secret, { cost: 0 })).body.ratelimit?.remaining).toBe(2);
		expect((await verify(secret, { cost: 0 })).body.ratelimit?.remaining).toBe(1);
		expect((await verify(secret, { cost: 0 })).body.ratelimit?.remaining).toBe(0);
		expect((await verify(secret, { cost: 1 })).body.code).toBe("RATE_LIMITED");
		clock.advance(3_700_000); // a window and a bucket
		expect((await verify(secret)).body).toMatchObject({ code: "VALID", credits: { remaining: 0 } });
	});

	it("a refill sets the balance at its instant, once: verify and the cron sweep apply it idempotently", async () => {
		const local = new ManualClock("2026-11-10T23:59:00Z");
		const app = testApp({ clock: local });
		const s = await seedAccount(local);
		const res = await app.request(
			keyPath(s),
			as(owner(s), "POST", {
				name: "k",
				environment: "staging",
				scopes: ["data:read"],
				credits: { remaining: 2, refill: { amount: 5, interval: "daily" } },
			}),
		);
		const { secret, key: created } = await res.json<{ secret: string; key: { id: string } }>();
		const key = { ...created, keyHash: await hashApiKey(env.KEY_PEPPER ?? "", secret) };
		const call = async () =>
			(await (await app.request("/v1/keys/verify", jsonRequest("POST", { key: secret }))).json<Verdict>()).credits;
		expect(await call()).toEqual({ remaining: 1 });
		local.advance(120_000); // past midnight UTC
		const guard = accountGuard(env, s.accountId);
		// The cron run refills it (and reports the key it visited); a second run and a verify change nothing.
		const run = await cronHarness(local).run();
		expect(run.creditRefills).toMatchObject({ keys: 1 });
		expect((await guard.creditsOf(s.accountId, [key.id], [key.keyHash], local.now().getTime()))[key.id]).toBe(5);
		expect(await guard.refillCredits(local.now().getTime(), s.accountId)).toBe(1);
		expect((await guard.creditsOf(s.accountId, [key.id], [key.keyHash], local.now().getTime()))[key.id]).toBe(5);
		expect(await call()).toEqual({ remaining: 4 });
		expect(await call()).toEqual({ remaining: 3 });
		expect((await guard.creditsOf(s.accountId, [key.id], [key.keyHash], local.now().getTime()))[key.id]).toBe(3);
	});

	it("refill instants: daily at 00:00 UTC, monthly on the day (the month's last day when shorter)", () => {
		const at = (iso: string) => Date.parse(iso);
		expect(lastRefillAt({ amount: 1, interval: "daily" }, at("2026-11-10T10:00:00Z"))).toBe(at("2026-11-10T00:00:00Z"));
		expect(lastRefillAt({ amount: 1, interval: "monthly", day: 15 }, at("2026-11-10T10:00:00Z"))).toBe(
			at("2026-10-15T00:00:00Z"),
		);
		expect(lastRefillAt({ amount: 1, interval: "monthly", day: 31 }, at("2026-03-01T00:00:00Z"))).toBe(
			at("2026-02-28T00:00:00Z"),
		);
		expect(lastRefillAt({ amount: 1, interval: "monthly" }, at("2026-01-01T00:00:00Z"))).toBe(
			at("2026-01-01T00:00:00Z"),
		);
	});

	it("PATCH credits sets the balance; a rotated key and its successor spend one balance", async () => {
		const s = await seedAccount(clock);
		const { secret, key } = await createKey(t, owner(s), s.accountId, { credits: { remaining: 3 } });
		await verify(secret);
		expect((await patch(s, owner(s), key.id, { credits: { remaining: 4 } })).status).toBe(200);
		expect((await verify(secret)).body.credits).toEqual({ remaining: 3 });
		const rotated = await t.request(`${keyPath(s, key.id)}/rotate`, as(owner(s), "POST", { gracePeriodHours: 1 }));
		const successor = (await rotated.json<{ secret: string }>()).secret;
		expect((await verify(successor)).body.credits).toEqual({ remaining: 2 });
		expect((await verify(secret)).body.credits).toEqual({ remaining: 1 });
		expect((await verify(successor)).body.credits).toEqual({ remaining: 0 });
		expect((await verify(secret)).body.code).toBe("USAGE_EXCEEDED");
		expect((await verify(successor)).body.code).toBe("USAGE_EXCEEDED");
		// The balance is set on the successor; the old key's would race it.
		expect((await patch(s, owner(s), key.id, { credits: { remaining: 9 } })).status).toBe(409);
	});

	it("removing credits and setting them again takes the new balance (a setting is never older than the last)", async () => {
		const s = await seedAccount(clock);
		const { secret, key } = await createKey(t, owner(s), s.accountId, { credits: { remaining: 1000 } });
		await verify(secret);
		expect((await patch(s, owner(s), key.id, { credits: null })).status).toBe(200);
		expect((await verify(secret)).body.credits).toBeUndefined();
		expect((await patch(s, owner(s), key.id, { credits: { remaining: 2 } })).status).toBe(200);
		const codes = [];
		for (let i = 0; i < 4; i++) codes.push((await verify(secret)).body.code);
		expect(codes).toEqual(["VALID", "VALID", "USAGE_EXCEEDED", "USAGE_EXCEEDED"]);
		// Set twice in one millisecond: the second still wins.
		expect((await patch(s, owner(s), key.id, { credits: { remaining: 7 } })).status).toBe(200);
		expect((await patch(s, owner(s), key.id, { credits: { remaining: 1 } })).status).toBe(200);
		const read = await (await t.request(keyPath(s, key.id), as(owner(s)))).json<{ key: { credits: unknown } }>();
		expect(read.key.credits).toEqual({ remaining: 1, refill: null });
	});

	it("keys a key with credits makes spend its balance: 3 children and the parent share 10 uses in all", async () => {
		const s = await seedAccount(clock);
		const parent = await createKey(t, owner(s), s.accountId, {
			scopes: ["keys:write", "data:read"],
			credits: { remaining: 10 },
		});
		const children: string[] = [];
		for (let i = 0; i < 3; i++) {
			const res = await t.request(
				keyPath(s),
				as(parent.secret, "POST", { name: `child ${i}`, environment: "staging", scopes: ["data:read"] }),
			);
			expect(res.status).toBe(201);
			children.push((await res.json<{ secret: string }>()).secret);
		}
		// The three creations were management API uses of the parent: 3 of its 10 credits.
		const all = await Promise.all(
			Array.from({ length: 40 }, (_, i) => verify(i % 4 === 3 ? parent.secret : (children[i % 4] as string))),
		);
		expect(all.filter((v) => v.body.code === "VALID")).toHaveLength(7);
	});

	it("across an abort of every object mid-burst, never one credit too many, and at most the reserve too few", async () => {
		const s = await seedAccount(clock);
		const credits = 1000;
		const { secret } = await createKey(t, owner(s), s.accountId, {
			credits: { remaining: credits },
			rateLimit: { limit: 1_000_000, windowSeconds: 3600 },
		});
		let valid = 0;
		for (let round = 0; round < 4; round++) {
			const burst = await Promise.all(Array.from({ length: 150 }, () => verify(secret)));
			valid += burst.filter((v) => v.body.code === "VALID").length;
			await abortAllDurableObjects();
		}
		for (;;) {
			const burst = await Promise.all(Array.from({ length: 100 }, () => verify(secret)));
			const admitted = burst.filter((v) => v.body.code === "VALID").length;
			valid += admitted;
			if (admitted === 0) break;
		}
		expect(valid).toBeLessThanOrEqual(credits);
		// Each crash costs at most the reserve written before it (1% of the balance then).
		expect(valid).toBeGreaterThanOrEqual(credits - 4 * creditReserveFor(credits));
	});

	it("a crash at any point of the write cycle never spends a credit twice (the real store on real storage)", async () => {
		const noD1 = () => {
			throw new Error("the keys are in storage");
		};
		const balance = 500;
		const results = await runInDurableObject(
			accountGuard(env, `acc_credits_${crypto.randomUUID()}`),
			async (_o, st) => {
				const out: { before: number; after: number }[] = [];
				for (const before of [0, 1, 2, 4, 5, 6, 7, 250, 499, 500]) {
					const id = `key_${crypto.randomUUID()}`;
					const record: KeyRecord = {
						id,
						hash: `hash-${id}`,
						accountId: "acc_x",
						createdBy: "usr_x",
						environment: "staging",
						scopes: [],
						expiresAt: Date.parse("2030-01-01T00:00:00Z"),
						revokedAt: null,
						ipAllowlist: [],
						limit: 1_000_000,
						windowSeconds: 60,
						credits: { remaining: balance, refill: null, version: 1, pool: id, setAt: 0 },
					};
					let store = new KeyStore(st.storage.sql, noD1);
					store.upsert(record);
					let spent = 0;
					for (let i = 0; i < before; i++)
						if ((await store.verify("acc_x", record.hash, [], null, 1)).code === "VALID") spent++;
					store = new KeyStore(st.storage.sql, noD1); // the crash: memory gone, storage kept
					let after = 0;
					while ((await store.verify("acc_x", record.hash, [], null, 2)).code === "VALID") after++;
					out.push({ before: spent, after });
				}
				return out;
			},
		);
		for (const { before, after } of results) {
			expect(before + after).toBeLessThanOrEqual(balance);
			expect(before + after).toBeGreaterThanOrEqual(balance - creditReserveFor(balance));
		}
	});
});

describe("named limits", () => {
	it("a use must fit every limit it is checked against; the headers report the tightest; a refusal spends none", async () => {
		const s = await seedAccount(clock);
		const { secret } = await createKey(t, owner(s), s.accountId, {
			rateLimits: [
				{ name: "default", limit: 100, windowSeconds: 3600 },
				{ name: "burst", limit: 2, windowSeconds: 10 },
			],
		});
		const first = await verify(secret);
		expect(first.body.ratelimits?.map((l) => [l.name, l.remaining])).toEqual([
			["default", 99],
			["burst", 1],
		]);
		expect(first.headers.get("RateLimit-Policy")).toBe(`"burst";q=2;w=10`);
		expect((await verify(secret)).body.code).toBe("VALID");
		const third = await verify(secret);
		expect(third.body.code).toBe("RATE_LIMITED");
		expect(third.body.ratelimits?.find((l) => l.name === "default")?.remaining).toBe(98);
		// Naming only the default limit skips the burst limit; costs are per limit.
		const named = await verify(secret, { ratelimits: [{ name: "default", cost: 5 }] });
		expect(named.body.code).toBe("VALID");
		expect(named.body.ratelimits).toHaveLength(1);
		expect(named.body.ratelimits?.[0]?.remaining).toBe(93);
		expect((await verify(secret, { ratelimits: ["burst"] })).body.code).toBe("RATE_LIMITED");
		clock.advance(11_000);
		expect((await verify(secret, { ratelimits: ["burst", "default"] })).body.code).toBe("VALID");
	});

	it("rateLimit and rateLimits together, a repeated name, or a sixth limit are refused with the field named", async () => {
		const s = await seedAccount(clock);
		const base = { name: "k", environment: "staging", scopes: ["data:read"] };
		const both = await t.request(
			keyPath(s),
			as(owner(s), "POST", {
				...base,
				rateLimit: { limit: 1, windowSeconds: 1 },
				rateLimits: [{ name: "a", limit: 1, windowSeconds: 1 }],
			}),
		);
		expect((await expectProblem(both, 400)).errors?.[0]?.path).toBe("rateLimits");
		const twice = await t.request(
			keyPath(s),
			as(owner(s), "POST", {
				...base,
				rateLimits: [
					{ name: "a", limit: 1, windowSeconds: 1 },
					{ name: "a", limit: 2, windowSeconds: 1 },
				],
			}),
		);
		expect((await expectProblem(twice, 400)).errors?.[0]?.path).toBe("rateLimits.1.name");
		const six = Array.from({ length: 6 }, (_, i) => ({ name: `l${i}`, limit: 1, windowSeconds: 1 }));
		const many = await t.request(keyPath(s), as(owner(s), "POST", { ...base, rateLimits: six }));
		expect((await expectProblem(many, 400)).errors?.[0]?.path).toBe("rateLimits");
	});
});

describe("short-lived and disabled keys", () => {
	it("expiresIn gives a key of seconds; under 60 s, over the policy, or with expiresInDays is refused", async () => {
		const s = await seedAccount(clock);
		const { secret, key } = await createKey(t, owner(s), s.accountId, { expiresIn: 60 });
		expect(Date.parse(key.expiresAt) - clock.now().getTime()).toBe(60_000);
		expect((await verify(secret)).body.code).toBe("VALID");
		clock.advance(60_000);
		expect((await verify(secret)).body.code).toBe("EXPIRED");
		const base = { name: "k", environment: "staging", scopes: ["data:read"] };
		for (const [body, path] of [
			[{ expiresIn: 59 }, "expiresIn"],
			[{ expiresIn: 91 * 86_400 }, "expiresIn"],
			[{ expiresIn: 600, expiresInDays: 1 }, "expiresIn"],
		] as const) {
			const res = await t.request(keyPath(s), as(owner(s), "POST", { ...base, ...body }));
			expect((await expectProblem(res, 400)).errors?.[0]?.path).toBe(path);
		}
	});

	it("disabled answers DISABLED (and 401 key_disabled on the management API) until enabled; both audited", async () => {
		const s = await seedAccount(clock);
		const audit = observedQueue();
		const { secret, key } = await createKey(t, owner(s), s.accountId, { scopes: ["keys:read"] });
		const toggle = (enabled: boolean) =>
			t.request(keyPath(s, key.id), as(owner(s), "PATCH", { enabled }), { AUDIT_QUEUE: audit.queue });
		expect((await toggle(false)).status).toBe(200);
		expect((await verify(secret)).body).toEqual({ valid: false, code: "DISABLED" });
		const api = await t.request(keyPath(s), as(secret));
		expect((await expectProblem(api, 401)).code).toBe("key_disabled");
		const rotate = await t.request(`${keyPath(s, key.id)}/rotate`, as(owner(s), "POST", {}));
		expect(rotate.status).toBe(409);
		const read = await (await t.request(keyPath(s, key.id), as(owner(s)))).json<{ key: { enabled: boolean } }>();
		expect(read.key.enabled).toBe(false);
		expect((await toggle(true)).status).toBe(200);
		expect((await toggle(true)).status).toBe(200); // already enabled: nothing to record
		expect((await verify(secret)).body.code).toBe("VALID");
		const recorded = audit.sent.filter((e) => e.target?.id === key.id).map((e) => e.action);
		expect(recorded).toEqual(["key.disabled", "key.enabled"]);
	});

	it("a short-lived key is rotated into a short-lived successor", async () => {
		const s = await seedAccount(clock);
		const { key } = await createKey(t, owner(s), s.accountId, { expiresIn: 600 });
		const rotated = await t.request(`${keyPath(s, key.id)}/rotate`, as(owner(s), "POST", { gracePeriodHours: 0 }));
		expect(rotated.status).toBe(201);
		const successor = (await rotated.json<{ key: { expiresAt: string } }>()).key;
		expect(Date.parse(successor.expiresAt) - clock.now().getTime()).toBe(600_000);
	});

	it("a member cannot enable their own key that an admin disabled; the admin can", async () => {
		const s = await seedAccount(clock);
		const { secret, key } = await createKey(t, s.users.member.token, s.accountId);
		expect((await patch(s, s.users.admin.token, key.id, { enabled: false })).status).toBe(200);
		expect((await patch(s, s.users.member.token, key.id, { enabled: true })).status).toBe(403);
		expect((await verify(secret)).body.code).toBe("DISABLED");
		expect((await patch(s, s.users.member.token, key.id, { enabled: false, name: "renamed" })).status).toBe(200);
		expect((await patch(s, s.users.admin.token, key.id, { enabled: true })).status).toBe(200);
		expect((await verify(secret)).body.code).toBe("VALID");
	});
});

describe("the customer's id and metadata", () => {
	it("verify returns externalId and meta on VALID only, and the list filters by externalId", async () => {
		const s = await seedAccount(clock);
		const meta = { plan: "pro", seats: 5, tags: ["eu"] };
		const { secret, key } = await createKey(t, owner(s), s.accountId, { externalId: "cus_42", meta });
		await createKey(t, owner(s), s.accountId, { externalId: "cus_7" });
		const valid = (await verify(secret)).body;
		expect(valid).toMatchObject({ code: "VALID", externalId: "cus_42", meta });
		const refused = (await verify(secret, { requiredScopes: ["x:y"] })).body;
		expect(refused).toEqual({ valid: false, code: "INSUFFICIENT_SCOPE" });
		const list = await (await t.request(`${keyPath(s)}?externalId=cus_42`, as(owner(s)))).json<{
			data: { id: string; externalId: string }[];
		}>();
		expect(list.data.map((k) => k.id)).toEqual([key.id]);
		expect((await patch(s, owner(s), key.id, { externalId: null, meta: null })).status).toBe(200);
		expect((await verify(secret)).body).toMatchObject({ externalId: null, meta: null });
	});

	it("meta that looks like it holds a credential, is too large, or is not an object is refused, path named", async () => {
		const s = await seedAccount(clock);
		const base = { name: "k", environment: "staging", scopes: ["data:read"] };
		const cases: [unknown, string][] = [
			[{ billing: { apiKey: "abc" } }, "meta.billing.apiKey"],
			[{ note: "Bearer abcdefghijklmnop" }, "meta.note"],
			[{ jwt: "x" }, "meta.jwt"],
			[{ stripe: ["sk_live_abcdefghijklmnopqrstu"] }, "meta.stripe.0"],
			[{ pem: "-----BEGIN PRIVATE KEY-----" }, "meta.pem"],
			[{ big: "x".repeat(4100) }, "meta"],
			[["not", "an", "object"], "meta"],
			[{ external: `kw_test_${"a".repeat(65)}` }, "meta.external"],
			[{ [`kw_live_${"a".repeat(65)}`]: 1 }, `meta.kw_live_${"a".repeat(65)}`],
			[{ unsigned: "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxMjM0In0" }, "meta.unsigned"],
			[{ link: "https://x.example/?access%5Ftoken=abc" }, "meta.link"],
			[{ pem: "LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0t" }, "meta.pem"],
			[{ nested: { constructor: 1 } }, "meta.nested.constructor"],
		];
		for (const [meta, path] of cases) {
			const res = await t.request(keyPath(s), as(owner(s), "POST", { ...base, meta }));
			expect(res.status, JSON.stringify(meta)).toBe(400);
			const problem = await expectProblem(res, 400);
			expect(problem.errors?.map((e) => e.path)).toContain(path);
		}
		// What JSON.parse would quietly change: a __proto__ key, a number past a double, a lone surrogate.
		for (const [raw, path] of [
			['{"__proto__":{"x":1},"a":1}', "meta.__proto__"],
			['{"big":1e400}', "meta.big"],
			['{"s":"\\ud800"}', "meta.s"],
		]) {
			const body = `{"name":"k","environment":"staging","scopes":["data:read"],"meta":${raw}}`;
			const res = await t.request(keyPath(s), {
				method: "POST",
				headers: { Authorization: `Bearer ${owner(s)}`, "Content-Type": "application/json" },
				body,
			});
			expect(res.status, raw).toBe(400);
			expect((await expectProblem(res, 400)).errors?.map((e) => e.path)).toContain(path);
		}
		const daily = await t.request(
			keyPath(s),
			as(owner(s), "POST", { ...base, credits: { remaining: 1, refill: { amount: 1, interval: "daily", day: 3 } } }),
		);
		expect((await expectProblem(daily, 400)).errors?.[0]?.path).toBe("credits.refill.day");
		const long = await t.request(keyPath(s), as(owner(s), "POST", { ...base, externalId: "x".repeat(256) }));
		expect((await expectProblem(long, 400)).errors?.[0]?.path).toBe("externalId");
	});
});
