import { describe, expect, it } from "vitest";
import { crc32, generateApiKey, keyStart, parseApiKey } from "../../src/keys/format";
import { allScopesSatisfied, isValidScope, scopeSatisfies } from "../../src/security/scopes";
import { emptyWindow, restoreWindow, tryAdmit } from "../../src/security/sliding-window";

const ACCOUNT = "acc_abcdefghijklmnop";

describe("API key format", () => {
	it("round-trips account and class, with the documented shape", () => {
		const live = generateApiKey(ACCOUNT, "live");
		expect(live).toMatch(/^kw_live_abcdefghijklmnop[0-9A-Za-z]{49}$/);
		expect(parseApiKey(live)).toEqual({ keyClass: "live", accountId: ACCOUNT });
		expect(parseApiKey(generateApiKey(ACCOUNT, "test"))).toEqual({ keyClass: "test", accountId: ACCOUNT });
		expect(keyStart(live)).toBe("kw_live_abcd");
		expect(generateApiKey(ACCOUNT, "live")).not.toBe(live);
	});

	it("CRC32 matches the standard check value", () => {
		expect(crc32("123456789")).toBe(0xcbf43926);
	});

	it("refuses every single-character change, truncation and extension", () => {
		const key = generateApiKey(ACCOUNT, "live");
		const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_";
		let tried = 0;
		for (let i = 0; i < key.length; i++) {
			for (const ch of alphabet) {
				if (ch === key[i]) continue;
				const mutated = key.slice(0, i) + ch + key.slice(i + 1);
				expect(parseApiKey(mutated), mutated).toBeNull();
				tried++;
			}
		}
		expect(tried).toBeGreaterThan(4000);
		for (let n = 1; n < key.length; n++) expect(parseApiKey(key.slice(0, n))).toBeNull();
		expect(parseApiKey(`${key}0`)).toBeNull();
		expect(parseApiKey(` ${key}`)).toBeNull();
	});
});

describe("scopes", () => {
	it("follows the grammar", () => {
		for (const ok of [
			"*",
			"database:read",
			"database:*",
			"a:b",
			`${"a".repeat(32)}:${"b".repeat(32)}`,
			"db-2:read-all",
		]) {
			expect(isValidScope(ok), ok).toBe(true);
		}
		for (const bad of [
			"",
			"database",
			"Database:read",
			"database:Read",
			"*:read",
			"1db:read",
			`${"a".repeat(33)}:b`,
			"db:read:x",
			"db :read",
		]) {
			expect(isValidScope(bad), bad).toBe(false);
		}
	});

	it("is satisfied by the exact scope, the resource wildcard or *", () => {
		expect(scopeSatisfies(["database:read"], "database:read")).toBe(true);
		expect(scopeSatisfies(["database:*"], "database:read")).toBe(true);
		expect(scopeSatisfies(["*"], "database:read")).toBe(true);
		expect(scopeSatisfies(["database:write"], "database:read")).toBe(false);
		expect(scopeSatisfies(["data:*"], "database:read")).toBe(false);
		expect(allScopesSatisfied(["a:read", "b:*"], ["a:read", "b:write"])).toBe(true);
		expect(allScopesSatisfied(["a:read"], ["a:read", "b:write"])).toBe(false);
	});
});

describe("sliding window", () => {
	const W = 10_000;

	it("admits exactly the limit for a burst at one instant", () => {
		const state = emptyWindow();
		const admitted = Array.from({ length: 500 }, () => tryAdmit(state, 1_000_000, 100, W)).filter((d) => d.admitted);
		expect(admitted).toHaveLength(100);
		const refused = tryAdmit(state, 1_000_000, 100, W);
		expect(refused).toMatchObject({ admitted: false, remaining: 0 });
		expect(refused.resetMs).toBeGreaterThan(W - 1);
		expect(refused.resetMs).toBeLessThanOrEqual(W + W / 100);
	});

	it("never admits more than the limit in any window, with bursts around boundaries (checked over every window of the trace)", () => {
		let seed = 42;
		const random = () => {
			seed = (seed * 1103515245 + 12345) % 2 ** 31;
			return seed / 2 ** 31;
		};
		for (const limit of [1, 7, 100]) {
			const state = emptyWindow();
			const admittedAt: number[] = [];
			let t = 5_000_000;
			for (let i = 0; i < 20_000; i++) {
				// Bursts just before and just after window and bucket boundaries, and idle gaps.
				t += random() < 0.1 ? Math.floor(random() * W * 1.5) : Math.floor(random() * 30);
				if (tryAdmit(state, t, limit, W).admitted) admittedAt.push(t);
			}
			let start = 0;
			for (let end = 0; end < admittedAt.length; end++) {
				const at = admittedAt[end] ?? 0;
				while ((admittedAt[start] ?? 0) <= at - W) start++;
				expect(end - start + 1, `limit ${limit} exceeded in the window ending at ${at}`).toBeLessThanOrEqual(limit);
			}
		}
	});

	it("under steady demand, admits within 1% of an exact sliding log", () => {
		const limit = 1000;
		const state = emptyWindow();
		const exact: number[] = [];
		let ours = 0;
		let exactCount = 0;
		for (let t = 0; t < 10 * W; t += 2) {
			if (tryAdmit(state, t, limit, W).admitted) ours++;
			while (exact.length && (exact[0] ?? 0) <= t - W) exact.shift();
			if (exact.length < limit) {
				exact.push(t);
				exactCount++;
			}
		}
		expect(ours).toBeLessThanOrEqual(exactCount);
		expect(ours).toBeGreaterThanOrEqual(Math.floor(exactCount * 0.99));
	});

	it("a shortened window keeps counting what the old one held: never a second limit's worth", () => {
		const state = emptyWindow();
		const t0 = 5_000_000_000;
		for (let i = 0; i < 10; i++) expect(tryAdmit(state, t0, 10, 3_600_000).admitted).toBe(true);
		// windowSeconds 3600 becomes 60: the ten count as of the change, for one new window.
		expect(tryAdmit(state, t0 + 1_000, 10, 60_000).admitted).toBe(false);
		expect(tryAdmit(state, t0 + 30_000, 10, 60_000).admitted).toBe(false);
		expect(tryAdmit(state, t0 + 1_000 + 60_000 + 600, 10, 60_000).admitted).toBe(true);
	});

	it("a lengthened window lets go once its own span has passed (no refusal forever)", () => {
		const state = emptyWindow();
		const t0 = 5_000_000_000;
		for (let i = 0; i < 10; i++) expect(tryAdmit(state, t0, 10, 60_000).admitted).toBe(true);
		expect(tryAdmit(state, t0 + 1_000, 10, 3_600_000).admitted).toBe(false);
		expect(tryAdmit(state, t0 + 1_000 + 3_600_000 + 36_000, 10, 3_600_000).admitted).toBe(true);
	});

	it("a window stored with the old 50 buckets is carried over conservatively to 100", () => {
		const legacy = { counts: [...Array(50).fill(0), 5], last: Math.floor(5_000_000_000 / (60_000 / 50)) };
		const state = restoreWindow(legacy, 5_000_000_000 + 10, 60_000);
		expect(state.counts).toHaveLength(101);
		expect(tryAdmit(state, 5_000_000_000 + 10, 6, 60_000)).toMatchObject({ admitted: true, remaining: 0 });
		expect(tryAdmit(state, 5_000_000_000 + 20, 6, 60_000).admitted).toBe(false);
	});

	it("keeps bounded state whatever the limit", () => {
		const state = emptyWindow();
		for (let i = 0; i < 10_000; i++) tryAdmit(state, i, 1_000_000, 86_400_000);
		expect(state.counts).toHaveLength(101);
	});
});
