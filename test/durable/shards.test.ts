/**
 * Shards of an account's verify path (issue #25, docs/GLOBAL.md §7), with real objects: keys spread
 * over N objects by the slot of their hash, account-wide actions reaching every shard before they
 * answer, and changes of N that move keys while verifies run, each answered once by the shard that
 * holds the key at that moment.
 */
import {
	abortAllDurableObjects,
	createExecutionContext,
	env,
	runDurableObjectAlarm,
	runInDurableObject,
	waitOnExecutionContext,
} from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDatabase } from "../../src/db";
import { accounts, apiKeys } from "../../src/db/schema";
import type { ObjectVerdict } from "../../src/durable/account-guard";
import { accountGuard, accountShard, regionalGuard } from "../../src/durable/address";
import type { KeyRecord } from "../../src/durable/key-store";
import { isRedirect, movesFor, SLOTS, shardIndexOf, shardName, shardOfSlot, slotOf } from "../../src/durable/shard-map";
import { generateApiKey, hashApiKey } from "../../src/keys/format";
import { systemClock } from "../../src/platform/clock";
import { BASE, testApp } from "../support/app";
import { as, createKey, expectProblem, jsonRequest } from "../support/request";
import { type SeededAccount, seedAccount } from "../support/seed";

const t = testApp({ clock: systemClock });
const db = createDatabase(env.DB);
const verify = async (secret: string, vars: Record<string, string> = {}) =>
	(await t.request("/v1/keys/verify", jsonRequest("POST", { key: secret }), vars)).json<{ code: string }>();
const burst = async (secret: string, n: number, parallel: number, vars: Record<string, string> = {}) => {
	const out: string[] = [];
	for (let i = 0; i < n; i += parallel)
		out.push(
			...(await Promise.all(Array.from({ length: Math.min(parallel, n - i) }, () => verify(secret, vars)))).map(
				(v) => v.code,
			),
		);
	return out;
};
const setShards = async (s: SeededAccount, verifyShards: number) =>
	t.request(`/v1/accounts/${s.accountId}`, as(s.users.admin.token, "PATCH", { settings: { verifyShards } }));
/** The account's keys in D1 (the seed makes some besides the test's own). */
const keysInD1 = async (accountId: string) =>
	(await db.select({ id: apiKeys.id }).from(apiKeys).where(eq(apiKeys.accountId, accountId))).length;
const hashOf = (secret: string) => hashApiKey(env.KEY_PEPPER ?? "", secret);
/** Every shard's stats as the home reports them (itself first). */
const allStats = async (accountId: string) => {
	const home = accountGuard(env, accountId);
	return [await home.memoryStats(), ...(await home.shardStats(accountId))];
};

async function shardedAccount(shards: number, keys: number, rateLimit = { limit: 1_000, windowSeconds: 60 }) {
	const s = await seedAccount(systemClock);
	const made = [];
	for (let i = 0; i < keys; i++) made.push(await createKey(t, s.users.admin.token, s.accountId, { rateLimit }));
	const res = await setShards(s, shards);
	expect(res.status).toBe(200);
	return { s, keys: made };
}

describe("shard arithmetic", () => {
	it("a key's slot is its hash's first byte, its shard the slot mod N; growing only splits shards", () => {
		expect(slotOf("ff00")).toBe(255);
		expect(slotOf("0a99")).toBe(10);
		expect(shardOfSlot(13, 4)).toBe(1);
		expect(shardName("acc_x", 0)).toBe("acc_x");
		expect(shardIndexOf(shardName("acc_x", 7))).toBe(7);
		expect(shardIndexOf("acc_x")).toBe(0);
		const one = new Array<number>(SLOTS).fill(0);
		const toFour = movesFor(one, 4);
		// 192 slots leave shard 0, in groups of at most 16, and none moves between two new shards.
		expect(toFour.reduce((n, m) => n + m.slots.length, 0)).toBe(192);
		expect(toFour.every((m) => m.from === 0 && m.slots.length <= 16)).toBe(true);
		const four = Array.from({ length: SLOTS }, (_, slot) => slot % 4);
		expect(movesFor(four, 16).every((m) => m.to % 4 === m.from)).toBe(true);
		expect(movesFor(four, 4)).toEqual([]);
	});
});

describe("shards", () => {
	it("spreads keys over four objects by slot; each verify is answered by the key's shard, with no D1 read", async () => {
		const { s, keys } = await shardedAccount(4, 16);
		for (const { secret } of keys) expect((await verify(secret)).code).toBe("VALID");
		const stats = await allStats(s.accountId);
		expect(stats.map((st) => st.shard).sort()).toEqual([0, 1, 2, 3]);
		expect(stats.map((st) => st.ownedSlots)).toEqual([64, 64, 64, 64]);
		expect(stats.every((st) => st.shards === 4)).toBe(true);
		// Every key is in exactly one shard, the one its slot names.
		expect(stats.reduce((n, st) => n + st.storedKeys, 0)).toBe(await keysInD1(s.accountId));
		for (const { secret } of keys) {
			const hash = await hashOf(secret);
			const owner = shardOfSlot(slotOf(hash), 4);
			for (let i = 0; i < 4; i++) {
				const answer = await accountShard(env, s.accountId, i).verifyKey(s.accountId, hash, [], null, Date.now());
				if (i === owner) expect((answer as ObjectVerdict).code).toBe("VALID");
				else expect(answer).toMatchObject({ route: expect.any(Number), shards: expect.any(Number) });
			}
		}
		// The key sets moved complete: the new shards never read D1.
		expect(stats.slice(1).every((st) => st.d1Loads === 0 && st.keySetComplete)).toBe(true);
	});

	it("forged keys are NOT_FOUND at their shard with no D1 read", async () => {
		const { s, keys } = await shardedAccount(4, 4);
		for (const { secret } of keys) await verify(secret);
		const before = (await allStats(s.accountId)).reduce((n, st) => n + st.d1Loads, 0);
		const forged = Array.from({ length: 40 }, () => generateApiKey(s.accountId, "test"));
		expect(new Set(await Promise.all(forged.map(async (k) => (await verify(k)).code)))).toEqual(new Set(["NOT_FOUND"]));
		expect((await allStats(s.accountId)).reduce((n, st) => n + st.d1Loads, 0)).toBe(before);
	});

	it("a burst against one key at N = 4 admits exactly its limit", async () => {
		const { keys } = await shardedAccount(4, 1, { limit: 60, windowSeconds: 60 });
		const [key] = keys;
		if (!key) throw new Error("no key");
		const codes = await burst(key.secret, 150, 10);
		expect(codes.filter((c) => c === "VALID")).toHaveLength(60);
		expect(codes.filter((c) => c !== "VALID" && c !== "RATE_LIMITED")).toEqual([]);
	});

	it("a lockdown revokes the keys of every shard before it answers", async () => {
		const { s, keys } = await shardedAccount(4, 12);
		for (const { secret } of keys) expect((await verify(secret)).code).toBe("VALID");
		const owners = new Set(await Promise.all(keys.map(async (k) => shardOfSlot(slotOf(await hashOf(k.secret)), 4))));
		expect(owners.size).toBeGreaterThan(1);
		const res = await t.request(
			`/v1/accounts/${s.accountId}/lockdown`,
			as(s.users.owner.token, "POST", { reason: "incident", revokeSessions: false, revokeKeys: "all" }),
		);
		expect(res.status).toBe(200);
		expect(new Set(await Promise.all(keys.map(async (k) => (await verify(k.secret)).code)))).toEqual(
			new Set(["REVOKED"]),
		);
	});

	it("credits stay exact at N = 4, and a rotation's successor is minted in its predecessor's slot", async () => {
		const s = await seedAccount(systemClock);
		expect((await setShards(s, 4)).status).toBe(200);
		const { key, secret } = await createKey(t, s.users.admin.token, s.accountId, { credits: { remaining: 8 } });
		const first = await burst(secret, 5, 5);
		expect(first.filter((c) => c === "VALID")).toHaveLength(5);
		const rotated = await t.request(
			`/v1/accounts/${s.accountId}/keys/${key.id}/rotate`,
			as(s.users.owner.token, "POST", {}),
		);
		expect(rotated.status).toBe(201);
		const successor = (await rotated.json<{ secret: string }>()).secret;
		expect(slotOf(await hashOf(successor))).toBe(slotOf(await hashOf(secret)));
		// Old and new key spend one balance: 3 left between them.
		const after = [...(await burst(secret, 3, 3)), ...(await burst(successor, 3, 3))];
		expect(after.filter((c) => c === "VALID")).toHaveLength(3);
		expect(after.filter((c) => c !== "VALID" && c !== "USAGE_EXCEEDED")).toEqual([]);
		// The management API reads the balance from the key's shard.
		const shown = await t.request(`/v1/accounts/${s.accountId}/keys/${key.id}`, as(s.users.admin.token, "GET"));
		expect((await shown.json<{ key: { credits: { remaining: number } } }>()).key.credits.remaining).toBe(0);
	});

	it("N changes while verifies run: every verify is answered once, the limit holds exactly, usage moves along", async () => {
		const { s, keys } = await shardedAccount(1, 6, { limit: 1_000, windowSeconds: 60 });
		const [hot, ...rest] = keys;
		if (!hot) throw new Error("no key");
		// The load runs through all four sweeps. The changes are read as soon as they answer: their
		// audit events wait (in this one test isolate) for the batch the load's requests keep filling.
		let stop = false;
		const seen: number[] = [];
		const out: string[] = [];
		const load = (async () => {
			// Through the sweeps, and on until well past the limit.
			while (!stop || out.length < 1_200) out.push(...(await burst(hot.secret, 10, 10)));
			return out;
		})();
		const background: Promise<unknown>[] = [];
		for (const n of [4, 16, 2, 8]) {
			const ctx = createExecutionContext();
			const res = await t.app.fetch(
				new Request(
					`${BASE}/v1/accounts/${s.accountId}`,
					as(s.users.admin.token, "PATCH", { settings: { verifyShards: n } }),
				),
				env,
				ctx,
			);
			background.push(waitOnExecutionContext(ctx));
			expect(res.status).toBe(200);
			seen.push(out.length);
			for (const k of rest) expect((await verify(k.secret)).code).toBe("VALID");
		}
		stop = true;
		const codes = await load;
		await Promise.all(background);
		// Verifies ran during and between every sweep (well past the limit).
		expect(seen[0]).toBeGreaterThan(0);
		for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThan(seen[i - 1] ?? 0);
		expect(codes.length).toBeGreaterThan(seen.at(-1) ?? 0);
		expect(codes.length).toBeGreaterThan(1_000);
		expect(codes.filter((c) => c === "VALID")).toHaveLength(1_000);
		expect(codes.filter((c) => c !== "VALID" && c !== "RATE_LIMITED")).toEqual([]);
		const stats = await allStats(s.accountId);
		expect(stats.reduce((n, st) => n + st.storedKeys, 0)).toBe(await keysInD1(s.accountId));
		expect(stats.map((st) => st.ownedSlots).sort((a, b) => a - b)).toEqual(new Array(8).fill(32));
		// Each verify counted once in the key's usage, wherever it was answered.
		const shown = await t.request(`/v1/accounts/${s.accountId}/keys/${hot.key.id}`, as(s.users.admin.token, "GET"));
		const { usage } = await shown.json<{ usage: { requests24h: number } }>();
		expect(usage.requests24h).toBe(codes.length);
	});

	it("a move recalls the regional guards' shares first, so the limit holds across guards and shards", async () => {
		const s = await seedAccount(systemClock, { verifyPlacement: "regional" });
		await accountGuard(env, s.accountId).refreshPlacement(s.accountId);
		const { secret } = await createKey(t, s.users.admin.token, s.accountId, {
			rateLimit: { limit: 80, windowSeconds: 60 },
		});
		const regions = { DEV_VERIFY_REGIONS: "weur,apac" };
		const before = await burst(secret, 40, 4, regions);
		const lent = await Promise.all(["weur", "apac"].map((r) => regionalGuard(env, s.accountId, r as "weur").stats()));
		expect(lent.reduce((n, st) => n + st.lent, 0)).toBeGreaterThan(0);
		expect((await setShards(s, 4)).status).toBe(200);
		const after = await burst(secret, 80, 4, regions);
		expect([...before, ...after].filter((c) => c === "VALID")).toHaveLength(80);
	});

	it("a shard asked about a slot it does not hold points on, and never answers NOT_FOUND for it", async () => {
		const { s, keys } = await shardedAccount(4, 1);
		const [key] = keys;
		if (!key) throw new Error("no key");
		const hash = await hashOf(key.secret);
		const owner = shardOfSlot(slotOf(hash), 4);
		const other = (owner + 1) % 4;
		const answer = await accountShard(env, s.accountId, other).verifyKey(s.accountId, hash, [], null, Date.now());
		expect(isRedirect(answer)).toBe(true);
		// A shard object that was never given slots (shard 9 of a 4-shard account) points at the home.
		const stray = await accountShard(env, s.accountId, 9).verifyKey(s.accountId, hash, [], null, Date.now());
		expect(stray).toMatchObject({ route: 0 });
		// The home points at the owner.
		const home = await accountGuard(env, s.accountId).verifyKey(s.accountId, hash, [], null, Date.now());
		expect(owner === 0 ? (home as ObjectVerdict).code : home).toEqual(
			owner === 0 ? "VALID" : { route: owner, shards: 4 },
		);
	});

	it("refuses a shard count that would split a live credit pool (a chain rotated before slots were kept)", async () => {
		const s = await seedAccount(systemClock);
		const { key } = await createKey(t, s.users.admin.token, s.accountId, { credits: { remaining: 8 } });
		const rotated = await t.request(
			`/v1/accounts/${s.accountId}/keys/${key.id}/rotate`,
			as(s.users.owner.token, "POST", {}),
		);
		expect(rotated.status).toBe(201);
		const successorId = (await rotated.json<{ key: { id: string } }>()).key.id;
		// As a successor minted before slots were kept: another slot, two shards apart at N = 4.
		const [old] = await db.select().from(apiKeys).where(eq(apiKeys.id, key.id));
		if (!old) throw new Error("no key");
		const moved = ((slotOf(old.keyHash) + 1) % SLOTS).toString(16).padStart(2, "0");
		await db
			.update(apiKeys)
			.set({ keyHash: `${moved}${old.keyHash.slice(2, -1)}x` })
			.where(eq(apiKeys.id, successorId));
		const body = await expectProblem(await setShards(s, 4), 400, "validation");
		expect(body.errors?.map((e) => e.path)).toEqual(["settings.verifyShards"]);
		// Nothing moved.
		expect((await accountGuard(env, s.accountId).memoryStats()).shards).toBe(1);
		// Bad values are named too.
		const bad = await expectProblem(await setShards(s, 3), 400, "validation");
		expect(bad.errors?.map((e) => e.path)).toEqual(["settings.verifyShards"]);
	});

	it("an object knows its shard from its name", async () => {
		const index = await runInDurableObject(accountShard(env, "acc_aaaaaaaaaaaaaaaa", 5), (o) => o.routes.index);
		expect(index).toBe(5);
		expect(await runInDurableObject(accountGuard(env, "acc_aaaaaaaaaaaaaaaa"), (o) => o.routes.index)).toBe(0);
	});

	it("moves a group of more keys than one query may bind (400 keys in two slots), all verifiable after", async () => {
		const accountId = "acc_bbbbbbbbbbbbbbbb";
		const records = Array.from({ length: 400 }, (_, i) => synthetic(accountId, i % 2 ? "01" : "05"));
		const home = accountGuard(env, accountId);
		await home.upsertKeys(records);
		// Everything of slots 1 and 5 goes to shard 1 in one group.
		expect(await home.reshard(accountId, 4)).toEqual({ moved: 400, splitPools: [] });
		for (const record of records.slice(0, 40)) {
			const answer = await accountShard(env, accountId, 1).verifyKey(accountId, record.hash, [], null, Date.now());
			expect((answer as ObjectVerdict).code).toBe("VALID");
		}
		expect((await accountShard(env, accountId, 1).memoryStats()).storedKeys).toBe(400);
		expect((await home.memoryStats()).storedKeys).toBe(0);
	});

	it("the home learns where slots are from the shards: a move whose answer it never got leaves no stale route", async () => {
		const accountId = "acc_cccccccccccccccc";
		const records = Array.from({ length: 64 }, (_, i) => synthetic(accountId, (i * 4).toString(16).padStart(2, "0")));
		const home = accountGuard(env, accountId);
		await home.upsertKeys(records);
		await home.reshard(accountId, 2);
		// Shard 1 moves the slots that are 3 mod 4 to shard 3 on its own, as if the home's call were lost.
		const lost = Array.from({ length: 64 }, (_, i) => i * 4 + 3);
		const direct = await accountShard(env, accountId, 1).moveOut(accountId, "lost-answer", lost, 3, 4);
		expect(direct).toMatchObject({ slots: lost });
		expect(await home.reshard(accountId, 4)).toMatchObject({ splitPools: [] });
		const routes = await runInDurableObject(home, (o) => o.routes.routes);
		expect(routes).toEqual(Array.from({ length: SLOTS }, (_, slot) => slot % 4));
		for (const record of records) {
			const answer = await accountShard(env, accountId, 0).verifyKey(accountId, record.hash, [], null, Date.now());
			const owner = shardOfSlot(slotOf(record.hash), 4);
			if (owner === 0) expect((answer as ObjectVerdict).code).toBe("VALID");
			else expect(answer).toEqual({ route: owner, shards: 4 });
		}
	});
});

describe("an interrupted change of N", () => {
	it("two changes of N close together end at the setting saved last", async () => {
		const { s, keys } = await shardedAccount(1, 6);
		const [row] = await db.select({ settings: accounts.settings }).from(accounts).where(eq(accounts.id, s.accountId));
		const write = (verifyShards: number) =>
			db
				.update(accounts)
				.set({ settings: JSON.stringify({ ...JSON.parse(row?.settings ?? "{}"), verifyShards }) })
				.where(eq(accounts.id, s.accountId));
		const home = accountGuard(env, s.accountId);
		// The first change asks 16 shards for their placement before it moves anything; the second,
		// saved after it, only two. Each is applied whole, in the order they were read. (The race a
		// reviewer saw in the code, the second's shorter fan-out overtaking the first's, is closed by
		// construction; this test did not reproduce it before the fix either.)
		await write(16);
		const first = home.applySettings(s.accountId);
		await write(2);
		const second = home.applySettings(s.accountId);
		await Promise.all([first, second]);
		expect(await runInDurableObject(home, (o) => ({ shards: o.routes.shards, routes: o.routes.routes }))).toEqual({
			shards: 2,
			routes: Array.from({ length: SLOTS }, (_, slot) => slot % 2),
		});
		for (const key of keys) expect((await verify(key.secret)).code).toBe("VALID");
	});

	it("is carried on by the home's alarm after a restart, to the account's setting as it is now", async () => {
		const { s, keys } = await shardedAccount(4, 12);
		// The setting goes to 16, as the route writes it first; the home then stores the sweep, freezes
		// two slots for shard 4, and shard 1 hands its slots for shard 9 over, whose answer the home
		// never gets. Then every object restarts: what a sweep cut off halfway leaves behind.
		const [row] = await db.select({ settings: accounts.settings }).from(accounts).where(eq(accounts.id, s.accountId));
		await db
			.update(accounts)
			.set({ settings: JSON.stringify({ ...JSON.parse(row?.settings ?? "{}"), verifyShards: 16 }) })
			.where(eq(accounts.id, s.accountId));
		await runInDurableObject(accountGuard(env, s.accountId), async (o, state) => {
			o.routes.raiseHighWater(16);
			o.routes.startSweep(16, Date.now());
			await state.storage.setAlarm(Date.now() + 5_000);
			o.routes.freeze("cut-off", [4, 20], 4, 16);
		});
		const forNine = Array.from({ length: SLOTS }, (_, slot) => slot).filter((slot) => slot % 16 === 9);
		expect(await accountShard(env, s.accountId, 1).moveOut(s.accountId, "unanswered", forNine, 9, 16)).toMatchObject({
			slots: forNine,
		});
		await abortAllDurableObjects();
		const home = accountGuard(env, s.accountId);
		expect(
			await runInDurableObject(home, (o) => ({ pending: o.routes.pendingSweep?.shards, shards: o.routes.shards })),
		).toEqual({
			pending: 16,
			shards: 4,
		});
		// No one sends the setting again: the alarm the sweep set finishes it.
		expect(await runDurableObjectAlarm(home)).toBe(true);
		const after = await runInDurableObject(home, (o) => ({
			pending: o.routes.pendingSweep,
			shards: o.routes.shards,
			routes: o.routes.routes,
			frozen: o.routes.movesOut().length,
		}));
		expect(after).toEqual({
			pending: null,
			shards: 16,
			routes: Array.from({ length: SLOTS }, (_, slot) => slot % 16),
			frozen: 0,
		});
		for (const key of keys) expect((await verify(key.secret)).code).toBe("VALID");
		const stats = await allStats(s.accountId);
		expect(stats.reduce((n, st) => n + st.storedKeys, 0)).toBe(await keysInD1(s.accountId));
		expect(stats.map((st) => st.ownedSlots)).toEqual(Array(16).fill(16));
	});
});

/** A key record pushed straight to an object (no D1 row): its hash starts with `prefix`, so its slot is chosen. */
function synthetic(accountId: string, prefix: string): KeyRecord {
	const id = `key_${crypto.randomUUID()}`;
	const tail = Array.from(crypto.getRandomValues(new Uint8Array(31)), (b) => b.toString(16).padStart(2, "0")).join("");
	return {
		id,
		hash: `${prefix}${tail}`,
		accountId,
		createdBy: "usr_x",
		environment: "staging",
		scopes: [],
		expiresAt: Date.now() + 86_400_000,
		revokedAt: null,
		ipAllowlist: [],
		limit: 1_000,
		windowSeconds: 60,
	};
}
