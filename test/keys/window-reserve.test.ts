import { abortAllDurableObjects, env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { accountGuard } from "../../src/durable/address";
import { type KeyRecord, KeyStore } from "../../src/durable/key-store";
import { ManualClock } from "../../src/platform/clock";
import { reserveFor } from "../../src/security/sliding-window";
import { testApp } from "../support/app";
import { jsonRequest } from "../support/request";
import { seedAccount } from "../support/seed";

/** The verdict code of a home object's answer (a one-shard account: never a redirection). */
const codeOf = (answer: object) => (answer as { code?: string }).code;

/**
 * The window is not written on every admission: a write carries a reserve (1% of the limit) of
 * admissions that may follow it unwritten. These tests run the real KeyStore on a Durable
 * Object's real SQLite storage; a "crash" is a new KeyStore on the same storage, which is what
 * a restarted object is (memory gone, storage kept).
 */

const noD1 = () => {
	throw new Error("these keys are in the object's storage; D1 must not be asked");
};

function record(limit: number, windowSeconds: number): KeyRecord {
	const id = `key_${crypto.randomUUID()}`;
	return {
		id,
		hash: `hash-${id}`,
		accountId: "acc_reserve",
		createdBy: "usr_x",
		environment: "staging",
		scopes: ["a:read"],
		expiresAt: Date.parse("2030-01-01T00:00:00Z"),
		revokedAt: null,
		ipAllowlist: [],
		limit,
		windowSeconds,
	};
}

/** Counts the statements that write a window, through the real storage. */
function countingSql(sql: SqlStorage) {
	const counter = { windowWrites: 0 };
	const wrapped = new Proxy(sql, {
		get(target, prop) {
			if (prop === "exec")
				return (query: string, ...bindings: unknown[]) => {
					if (query.startsWith("INSERT INTO key_windows")) counter.windowWrites++;
					return target.exec(query, ...bindings);
				};
			const value = Reflect.get(target, prop);
			return typeof value === "function" ? value.bind(target) : value;
		},
	});
	return { sql: wrapped, counter };
}

const freshObject = () => accountGuard(env, `acc_reserve_${crypto.randomUUID()}`);

describe("window writes with a reserve", () => {
	it("a crash at any point lets through at most the limit, and refuses at most 1% of it too many", async () => {
		const limit = 1000;
		const reserve = reserveFor(limit);
		expect(reserve).toBe(10);
		const outcomes = await runInDurableObject(freshObject(), async (_o, state) => {
			const results: { before: number; after: number }[] = [];
			// Every position in the write cycle (a write every reserve + 1 admissions), twice over, and late ones.
			for (const before of [...Array.from({ length: 2 * (reserve + 1) + 1 }, (_, i) => i), 500, 999, 1000]) {
				const key = record(limit, 60);
				const now = Date.parse("2026-08-01T00:00:00Z");
				let store = new KeyStore(state.storage.sql, noD1);
				store.upsert(key);
				let admitted = 0;
				for (let i = 0; i < before; i++)
					if ((await store.verify(key.accountId, key.hash, [], null, now)).code === "VALID") admitted++;
				store = new KeyStore(state.storage.sql, noD1); // the crash
				let after = 0;
				while ((await store.verify(key.accountId, key.hash, [], null, now + 1)).code === "VALID") after++;
				results.push({ before: admitted, after });
			}
			return results;
		});
		for (const { before, after } of outcomes) {
			expect(before + after, `crash after ${before}`).toBeLessThanOrEqual(limit);
			expect(before + after, `crash after ${before}`).toBeGreaterThanOrEqual(limit - reserve);
		}
	});

	it("never admits more than the limit in any window over a trace of bursts with repeated crashes", async () => {
		const limit = 300;
		const windowMs = 10_000;
		const { admittedAt, crashes } = await runInDurableObject(freshObject(), async (_o, state) => {
			let seed = 7;
			const random = () => {
				seed = (seed * 1103515245 + 12345) % 2 ** 31;
				return seed / 2 ** 31;
			};
			const key = record(limit, windowMs / 1000);
			let store = new KeyStore(state.storage.sql, noD1);
			store.upsert(key);
			const times: number[] = [];
			let crashCount = 0;
			let t = Date.parse("2026-08-01T00:00:00Z");
			// Bursts (a few requests a millisecond apart) after gaps up to half a window, with a crash
			// before a quarter of them: bursts keep the window's bucket slack from hiding a lost count.
			for (let sent = 0; sent < 12_000; ) {
				t += Math.floor(random() * windowMs * 0.5);
				if (random() < 0.25) {
					store = new KeyStore(state.storage.sql, noD1);
					crashCount++;
				}
				const size = 1 + Math.floor(random() * 120);
				for (let i = 0; i < size; i++, sent++, t++)
					if ((await store.verify(key.accountId, key.hash, [], null, t)).code === "VALID") times.push(t);
			}
			return { admittedAt: times, crashes: crashCount };
		});
		expect(crashes).toBeGreaterThan(20);
		expect(admittedAt.length).toBeGreaterThan(limit * 5);
		let start = 0;
		for (let end = 0; end < admittedAt.length; end++) {
			const at = admittedAt[end] ?? 0;
			while ((admittedAt[start] ?? 0) <= at - windowMs) start++;
			expect(end - start + 1, `window ending at ${at}`).toBeLessThanOrEqual(limit);
		}
	});

	it("writes a busy key about 100 times per window, and a key under 100 per window on every admission", async () => {
		const writes = await runInDurableObject(freshObject(), async (_o, state) => {
			const now = Date.parse("2026-08-01T00:00:00Z");
			const run = async (limit: number, requests: number) => {
				const { sql, counter } = countingSql(state.storage.sql);
				const store = new KeyStore(sql, noD1);
				const key = record(limit, 60);
				store.upsert(key);
				for (let i = 0; i < requests; i++) await store.verify(key.accountId, key.hash, [], null, now);
				return counter.windowWrites;
			};
			return { big: await run(1_000_000, 5_000), thousand: await run(1000, 1000), small: await run(50, 50) };
		});
		// 1,000,000 per minute: reserve 10,000, so 5,000 admissions need one write.
		expect(writes.big).toBe(1);
		// 1,000 per minute: reserve 10, a write every 11 admissions.
		expect(writes.thousand).toBe(Math.ceil(1000 / 11));
		expect(writes.small).toBe(50);
	});

	it("lowering a key's limit shrinks its reserve at once, so a crash costs at most 1% of the new limit", async () => {
		const result = await runInDurableObject(freshObject(), async (_o, state) => {
			const now = Date.parse("2026-08-01T00:00:00Z");
			let store = new KeyStore(state.storage.sql, noD1);
			const key = record(100_000, 60); // reserve 1,000
			store.upsert(key);
			for (let i = 0; i < 50; i++) await store.verify(key.accountId, key.hash, [], null, now);
			store.upsert({ ...key, limit: 200 }); // reserve 2
			store = new KeyStore(state.storage.sql, noD1); // the crash
			let after = 0;
			while ((await store.verify(key.accountId, key.hash, [], null, now + 1)).code === "VALID") after++;
			return after;
		});
		// 50 admitted under the old limit; of the new 200 at most 2 may be lost to the crash.
		expect(result).toBeLessThanOrEqual(150);
		expect(result).toBeGreaterThanOrEqual(150 - reserveFor(200));
	});

	it("the reserve counts from the restart, not from the last write: unwritten admissions came after it", async () => {
		const n = await runInDurableObject(freshObject(), async (_o, state) => {
			const t0 = Date.parse("2026-08-01T00:00:00Z");
			const key = record(1000, 60); // reserve 10
			let store = new KeyStore(state.storage.sql, noD1);
			store.upsert(key);
			await store.verify(key.accountId, key.hash, [], null, t0); // written, with the reserve
			for (let i = 0; i < 10; i++) await store.verify(key.accountId, key.hash, [], null, t0 + 30_000); // unwritten
			store = new KeyStore(state.storage.sql, noD1); // the crash
			await store.verify(key.accountId, key.hash, ["other:read"], null, t0 + 31_000); // read back, refused
			let admitted = 0;
			// The admission at t0 has left the window; the ten at t0 + 30 s have not.
			while ((await store.verify(key.accountId, key.hash, [], null, t0 + 61_000)).code === "VALID") admitted++;
			return admitted;
		});
		expect(n).toBeLessThanOrEqual(990);
		expect(n).toBeGreaterThanOrEqual(990 - reserveFor(1000));
	});

	it("a restored reserve is written down by the alarm, so a later restart does not charge it again later", async () => {
		const after = await runInDurableObject(freshObject(), async (_o, state) => {
			const t0 = Date.parse("2026-08-01T00:00:00Z");
			const key = record(1000, 60); // reserve 10
			let store = new KeyStore(state.storage.sql, noD1);
			store.upsert(key);
			for (let i = 0; i < 5; i++) await store.verify(key.accountId, key.hash, [], null, t0);
			// Restart, a refused verify reads the window back (reserve counted at t1), the alarm runs.
			const restartAndSettle = async (t: number) => {
				store = new KeyStore(state.storage.sql, noD1);
				expect((await store.verify(key.accountId, key.hash, ["other:read"], null, t)).code).toBe("INSUFFICIENT_SCOPE");
				store.windows.settle();
			};
			const t1 = t0 + 1_000;
			await restartAndSettle(t1);
			await restartAndSettle(t1 + 30_000);
			store = new KeyStore(state.storage.sql, noD1);
			let n = 0;
			// One window and two buckets after t1, the five real admissions and the reserve have expired.
			while ((await store.verify(key.accountId, key.hash, [], null, t1 + 62_000)).code === "VALID") n++;
			return n;
		});
		expect(after).toBe(1000);
	});

	it("a write transaction that rolls back leaves no window in memory that storage does not cover", async () => {
		const total = await runInDurableObject(freshObject(), async (o, state) => {
			const now = Date.parse("2026-08-01T00:00:00Z");
			const key = record(1000, 60); // reserve 10
			await o.upsertKey(key);
			let admitted = 0;
			// 11 admissions: the first writes with a reserve of 10, the next 10 use it up.
			for (let i = 0; i < 11; i++)
				if (codeOf(await o.verifyKey(key.accountId, key.hash, [], null, now)) === "VALID") admitted++;
			// The lowered limit shrinks the reserve inside the transaction; the second record breaks
			// the id's uniqueness, so the whole transaction rolls back.
			await expect(
				o.upsertKeys([
					{ ...key, limit: 200 },
					{ ...key, hash: `${key.hash}-other` },
				]),
			).rejects.toThrow();
			for (let i = 0; i < 2; i++)
				if (codeOf(await o.verifyKey(key.accountId, key.hash, [], null, now)) === "VALID") admitted++;
			const store = new KeyStore(state.storage.sql, noD1); // the crash
			while ((await store.verify(key.accountId, key.hash, [], null, now + 1)).code === "VALID") admitted++;
			return admitted;
		});
		expect(total).toBeLessThanOrEqual(1000);
	});

	it("the alarm writes windows exactly, so an object evicted after it resumes with exact counts", async () => {
		const stub = freshObject();
		const limit = 1000;
		const now = Date.parse("2026-08-01T00:00:00Z");
		const key = record(limit, 60);
		await runInDurableObject(stub, async (o) => {
			await o.upsertKey(key);
			for (let i = 0; i < 25; i++)
				expect(codeOf(await o.verifyKey(key.accountId, key.hash, [], null, now))).toBe("VALID");
		});
		expect(await runDurableObjectAlarm(stub)).toBe(true);
		const after = await runInDurableObject(stub, async (_o, state) => {
			const store = new KeyStore(state.storage.sql, noD1); // memory lost, storage kept
			let n = 0;
			while ((await store.verify(key.accountId, key.hash, [], null, now + 1)).code === "VALID") n++;
			return n;
		});
		expect(after).toBe(limit - 25);
	});
});

describe("over HTTP, a crash of every object", () => {
	const clock = new ManualClock("2026-08-01T00:00:00Z");
	const t = testApp({ clock });
	const verify = async (key: string) =>
		(await (await t.request("/v1/keys/verify", jsonRequest("POST", { key }))).json<{ code: string }>()).code;

	it("keeps the count within the reserve: never over the limit", async () => {
		const s = await seedAccount(clock);
		const res = await t.request(
			`/v1/accounts/${s.accountId}/keys`,
			jsonRequest(
				"POST",
				{ name: "busy", environment: "staging", scopes: ["a:read"], rateLimit: { limit: 200, windowSeconds: 60 } },
				{ Authorization: `Bearer ${s.users.owner.token}` },
			),
		);
		const { secret } = await res.json<{ secret: string }>();
		for (let i = 0; i < 50; i++) expect(await verify(secret)).toBe("VALID");
		await abortAllDurableObjects();
		let after = 0;
		while ((await verify(secret)) === "VALID") after++;
		expect(50 + after).toBeLessThanOrEqual(200);
		expect(50 + after).toBeGreaterThanOrEqual(200 - reserveFor(200));
	});
});
