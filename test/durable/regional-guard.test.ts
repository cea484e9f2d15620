/**
 * Regional guards as real Durable Objects (issue #25, docs/GLOBAL.md): an account with
 * `verifyPlacement: regional`, two guards taking turns (`DEV_VERIFY_REGIONS`), the home lending them
 * shares. The holdout checks run against them: an exact burst, revocation on the next verify after
 * the call returns (with a guard that restarted and so cannot give its share back), keys the home
 * keeps, and the default placement that never reaches a guard.
 */
import { env, evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { accountGuard, regionalGuard } from "../../src/durable/address";
import type { Lent } from "../../src/durable/key-store";
import { generateApiKey } from "../../src/keys/format";
import { systemClock } from "../../src/platform/clock";
import { testApp } from "../support/app";
import { as, createKey, jsonRequest } from "../support/request";
import { type SeededAccount, seedAccount } from "../support/seed";
import { answeredByGuards, verifier } from "../support/verify-burst";

/** A one-shard account's home answers a lend itself (never a redirection). */
const lentOf = (answer: unknown) => answer as Lent | null;

const t = testApp({ clock: systemClock });
const TWO_REGIONS = { DEV_VERIFY_REGIONS: "weur,apac" };
const { verify, codes } = verifier(t, TWO_REGIONS);
const guards = (accountId: string) => [regionalGuard(env, accountId, "weur"), regionalGuard(env, accountId, "apac")];

/** Revokes through the API, as an admin; expects 200. */
async function revoke(s: SeededAccount, keyId: string) {
	const res = await t.request(
		`/v1/accounts/${s.accountId}/keys/${keyId}/revoke`,
		as(s.users.admin.token, "POST", { reason: "test" }),
	);
	expect(res.status).toBe(200);
}

async function regionalKey(rateLimit: { limit: number; windowSeconds: number }, extra: Record<string, unknown> = {}) {
	const s = await seedAccount(systemClock, { verifyPlacement: "regional" });
	const { key, secret } = await createKey(t, s.users.admin.token, s.accountId, { rateLimit, ...extra });
	return { s, key, secret };
}

describe("regional guards", () => {
	it("admit on lent shares and never past the limit, across two regions and a parallel burst", async () => {
		const { s, secret } = await regionalKey({ limit: 60, windowSeconds: 60 });
		const all = await codes(secret, 150, 10);
		expect(all.filter((c) => c === "VALID")).toHaveLength(60);
		expect(all.filter((c) => c !== "VALID" && c !== "RATE_LIMITED")).toEqual([]);
		// The guards decided some of them on their own, not only the home.
		expect(await answeredByGuards(s.accountId)).toBeGreaterThan(0);
		for (const guard of guards(s.accountId)) expect((await guard.stats()).keys).toBe(1);
	});

	it("a revoked key is refused by every guard on the next verify after the revoke returns", async () => {
		const { s, key, secret } = await regionalKey({ limit: 10_000, windowSeconds: 60 });
		expect(new Set(await codes(secret, 40, 4))).toEqual(new Set(["VALID"]));
		for (const guard of guards(s.accountId)) expect((await guard.stats()).lent).toBe(1);
		const started = Date.now();
		await revoke(s, key.id);
		// Both guards answered the recall: nothing was waited out.
		expect(Date.now() - started).toBeLessThan(2_000);
		expect(new Set(await codes(secret, 20, 4))).toEqual(new Set(["REVOKED"]));
		for (const guard of guards(s.accountId)) expect((await guard.stats()).lent).toBe(0);
	});

	it("a guard that restarted cannot give its share back: the revoke waits the share out, then nothing admits", async () => {
		const { s, key, secret } = await regionalKey({ limit: 10_000, windowSeconds: 60 });
		expect(new Set(await codes(secret, 20, 2))).toEqual(new Set(["VALID"]));
		const [weur] = guards(s.accountId);
		if (!weur) throw new Error("no guard");
		const before = (await weur.stats()).incarnation;
		await evictDurableObject(weur);
		expect((await weur.stats()).incarnation).not.toBe(before);
		const started = Date.now();
		await revoke(s, key.id);
		// The old run's share lasts up to a lease (5 s) and the grace from its last renewal.
		expect(Date.now() - started).toBeGreaterThan(1_000);
		expect(new Set(await codes(secret, 10, 2))).toEqual(new Set(["REVOKED"]));
	});

	it("forged keys with valid checksums are answered NOT_FOUND by a guard after one question to the home, and never held", async () => {
		const { s, secret } = await regionalKey({ limit: 1_000, windowSeconds: 60 });
		// The Worker learns the placement from the home's answers for a real key; then forgeries go to the guards.
		await accountGuard(env, s.accountId).refreshPlacement(s.accountId);
		await codes(secret, 2);
		const before = await answeredByGuards(s.accountId);
		const homeBefore = (await Promise.all(guards(s.accountId).map((g) => g.stats()))).reduce(
			(n, st) => n + st.answered.home,
			0,
		);
		const forged = Array.from({ length: 30 }, () => generateApiKey(s.accountId, "test"));
		const answers = [];
		for (const key of forged) answers.push((await verify(key)).code);
		expect(new Set(answers)).toEqual(new Set(["NOT_FOUND"]));
		let home = 0;
		for (const guard of guards(s.accountId)) {
			const stats = await guard.stats();
			expect(stats.keys).toBeLessThanOrEqual(1); // the real key only
			home += stats.answered.home;
		}
		// Each forgery was answered by a guard, none passed on to the home's verify.
		expect(home).toBe(homeBefore);
		expect((await answeredByGuards(s.accountId)) - before).toBe(forged.length);
	});

	it("a guard whose share ended no longer judges by its record: checks that spend nothing cannot keep a revoked key alive", async () => {
		// An attacker's loop of checks at cost 0 never makes a guard renew; once its share ends the home
		// no longer counts it as a holder, so a revoke recalls nobody. The guard must then ask the home.
		const { s, key, secret } = await regionalKey({ limit: 1_000, windowSeconds: 60 });
		await accountGuard(env, s.accountId).refreshPlacement(s.accountId);
		const check = async () =>
			(
				await (
					await t.request(
						"/v1/keys/verify",
						jsonRequest("POST", { key: secret, ratelimits: [{ name: "default", cost: 0 }] }),
						TWO_REGIONS,
					)
				).json<{ code: string }>()
			).code;
		for (let i = 0; i < 4; i++) expect(await check()).toBe("VALID");
		// The shares' lease (5 s) and grace pass with only free checks.
		const until = Date.now() + 6_000;
		while (Date.now() < until) {
			expect(await check()).toBe("VALID");
			await new Promise((r) => setTimeout(r, 1_000));
		}
		await revoke(s, key.id);
		for (let i = 0; i < 6; i++) expect(await check()).toBe("REVOKED");
	});

	it("past its share's deadline a guard sends even a free check to the home", async () => {
		const { s, secret } = await regionalKey({ limit: 1_000, windowSeconds: 60 });
		await accountGuard(env, s.accountId).refreshPlacement(s.accountId);
		await codes(secret, 6);
		const [weur] = guards(s.accountId);
		if (!weur) throw new Error("no guard");
		expect((await weur.stats()).lent).toBe(1);
		const home = accountGuard(env, s.accountId);
		const hash = await runInDurableObject(
			home,
			(_o, state) => state.storage.sql.exec<{ hash: string }>("SELECT hash FROM keys").one().hash,
		);
		const before = (await weur.stats()).answered;
		// A check arriving a minute later (as the guard's clock would see it once the share has ended).
		const later = Date.now() + 60_000;
		const outcome = await weur.verifyKey(s.accountId, "weur", hash, [], null, later, undefined, {
			limits: [{ name: "default", cost: 0 }],
		});
		expect(outcome.code).toBe("VALID");
		const after = (await weur.stats()).answered;
		expect(after.here).toBe(before.here);
		expect(after.home).toBe(before.home + 1);
	});

	it("a change that renames the key's limit still recalls the shares of the old one", async () => {
		const { s, key, secret } = await regionalKey({ limit: 10_000, windowSeconds: 60 });
		expect(new Set(await codes(secret, 20, 2))).toEqual(new Set(["VALID"]));
		for (const guard of guards(s.accountId)) expect((await guard.stats()).lent).toBe(1);
		const res = await t.request(
			`/v1/accounts/${s.accountId}/keys/${key.id}`,
			as(s.users.admin.token, "PATCH", {
				rateLimits: [{ name: "per-minute", limit: 10_000, windowSeconds: 60 }],
				enabled: false,
			}),
		);
		expect(res.status).toBe(200);
		// Recalled before the change returned: neither guard holds the key any more.
		for (const guard of guards(s.accountId)) expect((await guard.stats()).keys).toBe(0);
		expect(new Set(await codes(secret, 10, 2))).toEqual(new Set(["DISABLED"]));
	});

	it("a share lent before a change neither grows nor outlasts its deadline, even when its guard cannot be recalled", async () => {
		const { s, key, secret } = await regionalKey({ limit: 1_000, windowSeconds: 60 });
		await codes(secret, 2);
		const home = accountGuard(env, s.accountId);
		const keyHash = await runInDurableObject(home, (_o, state) => {
			const rows = state.storage.sql.exec<{ hash: string; id: string }>("SELECT hash, id FROM keys").toArray();
			return rows.find((r) => r.id === key.id)?.hash ?? "";
		});
		// A guard that will never answer a recall (its run is gone) holds a share of the key.
		const first = await home.lendShares(
			s.accountId,
			keyHash,
			{ guard: "weur:gone", reports: {}, wants: { default: 50 } },
			Date.now(),
		);
		const grant = lentOf(first)?.shares?.default;
		if (!grant) throw new Error("nothing lent");
		// The limit is lowered; the push waits the unreachable guard out. Meanwhile it renews.
		const lowered = t.request(
			`/v1/accounts/${s.accountId}/keys/${key.id}`,
			as(s.users.admin.token, "PATCH", { rateLimit: { limit: 10, windowSeconds: 60 } }),
		);
		await new Promise((r) => setTimeout(r, 300));
		const renewed = await home.lendShares(
			s.accountId,
			keyHash,
			{ guard: "weur:gone", reports: { default: { epoch: grant.epoch, used: 0 } }, wants: { default: 500 } },
			Date.now(),
		);
		expect(lentOf(renewed)?.shares?.default).toMatchObject({
			epoch: grant.epoch,
			granted: grant.granted,
			deadline: grant.deadline,
		});
		const started = Date.now();
		expect((await lowered).status).toBe(200);
		expect(Date.now() - started).toBeLessThan(6_000);
	});

	it("keys with a window under a minute stay with the home, exactly", async () => {
		const { s, secret } = await regionalKey({ limit: 10, windowSeconds: 1 });
		const burst = await codes(secret, 20, 10);
		expect(burst.filter((c) => c === "VALID")).toHaveLength(10);
		expect(await answeredByGuards(s.accountId)).toBe(0);
	});

	it("credits are lent to guards too, and never spent past the balance across two regions and a parallel burst", async () => {
		const { s, key, secret } = await regionalKey({ limit: 1_000, windowSeconds: 60 }, { credits: { remaining: 100 } });
		const seen: { code: string; credits?: { remaining: number } }[] = [];
		for (let i = 0; i < 200; i += 10)
			seen.push(
				...(await Promise.all(
					Array.from({ length: 10 }, async () =>
						(
							await t.request("/v1/keys/verify", jsonRequest("POST", { key: secret }), TWO_REGIONS)
						).json<{ code: string; credits?: { remaining: number } }>(),
					),
				)),
			);
		expect(seen.filter((v) => v.code === "VALID")).toHaveLength(100);
		expect(seen.filter((v) => v.code !== "VALID" && v.code !== "USAGE_EXCEEDED")).toEqual([]);
		// The guards spent some of them on their own, out of lent credits.
		expect(await answeredByGuards(s.accountId)).toBeGreaterThan(0);
		// Never negative, and never more than was there before the use.
		const shown = seen.filter((v) => v.code === "VALID").map((v) => v.credits?.remaining ?? -1);
		expect(Math.min(...shown)).toBeGreaterThanOrEqual(0);
		expect(Math.max(...shown)).toBeLessThanOrEqual(99);
		const balance = await t.request(`/v1/accounts/${s.accountId}/keys/${key.id}`, as(s.users.admin.token, "GET"));
		expect((await balance.json<{ key: { credits: { remaining: number } } }>()).key.credits.remaining).toBe(0);
	});

	it("credits a guard did not spend go back to the balance when it gives its share back", async () => {
		const { s, key, secret } = await regionalKey({ limit: 1_000, windowSeconds: 60 }, { credits: { remaining: 100 } });
		const first = await codes(secret, 30, 5);
		expect(first.every((c) => c === "VALID")).toBe(true);
		expect(await answeredByGuards(s.accountId)).toBeGreaterThan(0);
		const remaining = async () =>
			(
				await (
					await t.request(`/v1/accounts/${s.accountId}/keys/${key.id}`, as(s.users.admin.token, "GET"))
				).json<{ key: { credits: { remaining: number } } }>()
			).key.credits.remaining;
		// While guards hold shares the balance shows what no share holds: never more than 70.
		expect(await remaining()).toBeLessThanOrEqual(70);
		// Idle for over half a lease, the guards give their shares back with their final reports.
		await new Promise((r) => setTimeout(r, 2_700));
		for (const guard of guards(s.accountId)) await runDurableObjectAlarm(guard);
		expect(await remaining()).toBe(70);
		const rest = await codes(secret, 80, 10);
		expect(rest.filter((c) => c === "VALID")).toHaveLength(70);
	});

	it("a use the balance covers is admitted even when guards hold the credits: the home takes them back", async () => {
		const { s, secret } = await regionalKey({ limit: 100_000, windowSeconds: 60 }, { credits: { remaining: 1_000 } });
		const spend = async (cost: number) =>
			(await t.request("/v1/keys/verify", jsonRequest("POST", { key: secret, cost }), TWO_REGIONS)).json<{
				code: string;
			}>();
		// Both guards hold shares of the balance after a parallel warm-up of 80 single uses.
		expect((await codes(secret, 80, 8)).every((c) => c === "VALID")).toBe(true);
		expect(await answeredByGuards(s.accountId)).toBeGreaterThan(0);
		// 920 left: a use of 900 fits, wherever the credits sit; then 20 are left, so 100 does not.
		expect((await spend(900)).code).toBe("VALID");
		expect((await spend(100)).code).toBe("USAGE_EXCEEDED");
		const rest = await codes(secret, 80, 8);
		expect(rest.filter((c) => c === "VALID")).toHaveLength(20);
	});

	it("setting credits sets the balance: uses from before the change are not spent from the new one", async () => {
		const { s, key, secret } = await regionalKey(
			{ limit: 100_000, windowSeconds: 60 },
			{ credits: { remaining: 1_000 } },
		);
		expect((await codes(secret, 80, 8)).every((c) => c === "VALID")).toBe(true);
		expect(await answeredByGuards(s.accountId)).toBeGreaterThan(0);
		const res = await t.request(
			`/v1/accounts/${s.accountId}/keys/${key.id}`,
			as(s.users.owner.token, "PATCH", { credits: { remaining: 100 } }),
		);
		expect(res.status).toBe(200);
		expect((await res.json<{ key: { credits: { remaining: number } } }>()).key.credits.remaining).toBe(100);
		const after = await codes(secret, 130, 10);
		expect(after.filter((c) => c === "VALID")).toHaveLength(100);
	});

	it("a rotation's two keys share one balance through the guards: exactly the pool is spent", async () => {
		const { s, key, secret } = await regionalKey({ limit: 1_000, windowSeconds: 60 }, { credits: { remaining: 30 } });
		expect((await codes(secret, 6, 3)).every((c) => c === "VALID")).toBe(true);
		const rotated = await t.request(
			`/v1/accounts/${s.accountId}/keys/${key.id}/rotate`,
			as(s.users.owner.token, "POST", {}),
		);
		expect(rotated.status).toBe(201);
		const successor = (await rotated.json<{ secret: string }>()).secret;
		const both = (await Promise.all([codes(secret, 30, 5), codes(successor, 30, 5)])).flat();
		expect(both.filter((c) => c === "VALID")).toHaveLength(24);
		expect(both.filter((c) => c !== "VALID" && c !== "USAGE_EXCEEDED")).toEqual([]);
	});

	it("a guard whose shares ended before its alarm still sends the verdicts it counted", async () => {
		const { s, key, secret } = await regionalKey({ limit: 1_000, windowSeconds: 60 });
		const sent = await codes(secret, 40, 4);
		expect(sent.every((c) => c === "VALID")).toBe(true);
		expect(await answeredByGuards(s.accountId)).toBeGreaterThan(0);
		// The alarms do not run until every share has passed its deadline (5 s lease).
		for (const guard of guards(s.accountId))
			await runInDurableObject(guard, (_, state) => state.storage.setAlarm(Date.now() + 60_000));
		await new Promise((r) => setTimeout(r, 5_200));
		for (const guard of guards(s.accountId)) expect(await runDurableObjectAlarm(guard)).toBe(true);
		const shown = await t.request(`/v1/accounts/${s.accountId}/keys/${key.id}`, as(s.users.admin.token, "GET"));
		const { usage } = await shown.json<{ usage: { requests24h: number } }>();
		expect(usage.requests24h).toBe(40);
		for (const guard of guards(s.accountId)) expect((await guard.stats()).keys).toBe(0);
	});

	it("the default placement never reaches a guard, and switching back to home stops the lending", async () => {
		const s = await seedAccount(systemClock);
		const { secret } = await createKey(t, s.users.admin.token, s.accountId, {
			rateLimit: { limit: 1_000, windowSeconds: 60 },
		});
		expect(new Set(await codes(secret, 10, 2))).toEqual(new Set(["VALID"]));
		for (const guard of guards(s.accountId)) expect((await guard.stats()).keys).toBe(0);

		const regional = await regionalKey({ limit: 1_000, windowSeconds: 60 });
		await codes(regional.secret, 20, 2);
		expect(await answeredByGuards(regional.s.accountId)).toBeGreaterThan(0);
		const patch = await t.request(
			`/v1/accounts/${regional.s.accountId}`,
			as(regional.s.users.admin.token, "PATCH", { settings: { verifyPlacement: "home" } }),
		);
		expect(patch.status).toBe(200);
		expect(await accountGuard(env, regional.s.accountId).refreshPlacement(regional.s.accountId)).toBe("home");
		// A guard asking again is lent nothing: it sends the verifies on (its shares already out may still be used).
		const lent = await accountGuard(env, regional.s.accountId).lendShares(
			regional.s.accountId,
			"no-such-hash",
			{ guard: "weur:test", reports: {}, wants: {} },
			Date.now(),
		);
		expect(lent).toBeNull();
	});

	it("a renewal answered 'not lent' counts its report but keeps the share until its guard gives it back or it ends", async () => {
		// The guard may go on using its share until the answer reaches it: the home must not end the share
		// on the renewal's running total.
		const { s, secret } = await regionalKey({ limit: 1_000, windowSeconds: 60 });
		await codes(secret, 2);
		const home = accountGuard(env, s.accountId);
		const { hash, id } = await runInDurableObject(home, (_o, state) =>
			state.storage.sql.exec<{ hash: string; id: string }>("SELECT hash, id FROM keys").one(),
		);
		const guard = "oc:renewing";
		const grant = lentOf(
			await home.lendShares(s.accountId, hash, { guard, reports: {}, wants: { default: 50 } }, Date.now()),
		)?.shares?.default;
		if (!grant) throw new Error("nothing lent");
		const patch = await t.request(
			`/v1/accounts/${s.accountId}`,
			as(s.users.admin.token, "PATCH", { settings: { verifyPlacement: "home" } }),
		);
		expect(patch.status).toBe(200);
		const answer = await home.lendShares(
			s.accountId,
			hash,
			{ guard, reports: { default: { epoch: grant.epoch, used: 10 } }, wants: { default: 50 } },
			Date.now(),
		);
		expect(lentOf(answer)?.shares).toBeNull();
		const share = await runInDurableObject(home, (o) => o.keys.shares.shareOf(id, guard));
		expect(share).toMatchObject({ epoch: grant.epoch, granted: grant.granted, reported: 10 });
		// Its final report ends it.
		await home.releaseShares(guard, hash, { reports: { default: { epoch: grant.epoch, used: 12 } } }, Date.now());
		expect(await runInDurableObject(home, (o) => o.keys.shares.shareOf(id, guard))).toBeUndefined();
	});
});
