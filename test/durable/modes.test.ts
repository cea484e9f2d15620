/**
 * The holdout checks in every verify mode (issue #25): placement `home` or `regional` (two guards
 * taking turns, as on the local stack), on one object or spread over four shards. Each mode must
 * admit exactly a burst's limit, refuse a revoked key on the next verify after the revoke returns
 * (from every region), spend exactly a key's credits, and refuse every key after a lockdown.
 */
import { describe, expect, it } from "vitest";
import { systemClock } from "../../src/platform/clock";
import { testApp } from "../support/app";
import { as, createKey } from "../support/request";
import { seedAccount } from "../support/seed";
import { answeredByGuards, verifier } from "../support/verify-burst";

const t = testApp({ clock: systemClock });
const TWO_REGIONS = { DEV_VERIFY_REGIONS: "weur,apac" };
const LOOSE = { limit: 1_000, windowSeconds: 60 };

const { codes: burst } = verifier(t, TWO_REGIONS);
const count = (codes: string[], code: string) => codes.filter((c) => c === code).length;

const MODES = [
	{ placement: "home", shards: 1 },
	{ placement: "home", shards: 4 },
	{ placement: "regional", shards: 1 },
	{ placement: "regional", shards: 4 },
] as const;

async function account(mode: (typeof MODES)[number]) {
	const s = await seedAccount(systemClock, { verifyPlacement: mode.placement });
	const res = await t.request(
		`/v1/accounts/${s.accountId}`,
		as(s.users.admin.token, "PATCH", { settings: { verifyShards: mode.shards } }),
	);
	expect(res.status).toBe(200);
	return s;
}

describe.each(MODES)("placement $placement on $shards shard(s)", (mode) => {
	it("admits exactly a burst's limit, and spends exactly a key's credits", async () => {
		const s = await account(mode);
		const limited = await createKey(t, s.users.admin.token, s.accountId, {
			rateLimit: { limit: 30, windowSeconds: 60 },
		});
		const codes = await burst(limited.secret, 80, 10);
		expect(count(codes, "VALID")).toBe(30);
		expect(count(codes, "RATE_LIMITED")).toBe(50);
		const credited = await createKey(t, s.users.admin.token, s.accountId, {
			rateLimit: LOOSE,
			credits: { remaining: 25 },
		});
		const spent = await burst(credited.secret, 60, 10);
		expect(count(spent, "VALID")).toBe(25);
		expect(count(spent, "USAGE_EXCEEDED")).toBe(35);
		// Regional accounts were answered near the caller, home ones never.
		if (mode.placement === "regional") expect(await answeredByGuards(s.accountId)).toBeGreaterThan(0);
		else expect(await answeredByGuards(s.accountId)).toBe(0);
	});

	it("refuses a revoked key on the next verify after the revoke returns, in every region", async () => {
		const s = await account(mode);
		const { key, secret } = await createKey(t, s.users.admin.token, s.accountId, { rateLimit: LOOSE });
		expect(count(await burst(secret, 20, 4), "VALID")).toBe(20);
		const res = await t.request(
			`/v1/accounts/${s.accountId}/keys/${key.id}/revoke`,
			as(s.users.admin.token, "POST", { reason: "test" }),
		);
		expect(res.status).toBe(200);
		// Two guards take turns: ten verifies reach both.
		expect(new Set(await burst(secret, 10, 5))).toEqual(new Set(["REVOKED"]));
	});

	it("refuses every key after a lockdown that revokes them", async () => {
		const s = await account(mode);
		const keys = await Promise.all(
			Array.from({ length: 8 }, () => createKey(t, s.users.admin.token, s.accountId, { rateLimit: LOOSE })),
		);
		for (const { secret } of keys) expect(count(await burst(secret, 4, 2), "VALID")).toBe(4);
		const res = await t.request(
			`/v1/accounts/${s.accountId}/lockdown`,
			as(s.users.owner.token, "POST", { reason: "incident", revokeSessions: false, revokeKeys: "all" }),
		);
		expect(res.status).toBe(200);
		for (const { secret } of keys) expect(new Set(await burst(secret, 4, 2))).toEqual(new Set(["REVOKED"]));
	});
});
