import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDatabase } from "../../src/db";
import { apiKeys } from "../../src/db/schema";
import { ManualClock } from "../../src/platform/clock";
import type { Env } from "../../src/platform/env";
import { testApp } from "../support/app";
import { d1HeldUntilReleased } from "../support/faults";
import { bearer, jsonRequest, verifyCode } from "../support/request";
import { type SeededAccount, seedAccount, seedKey } from "../support/seed";

/**
 * The key lifecycle under bursts of parallel requests, each scenario repeated
 * 20 times on a fresh account. Across all runs, the count of live keys that
 * should be dead must be 0: a key that verifies VALID must be one the account
 * meant to have.
 */
const RUNS = 20;
const clock = new ManualClock("2026-11-01T00:00:00Z");
const t = testApp({ clock });
const db = createDatabase(env.DB);
const verify = (secret: string) => verifyCode(t, secret);
const keysOf = (accountId: string) => db.select().from(apiKeys).where(eq(apiKeys.accountId, accountId));
const rotate = (s: SeededAccount, keyId: string, vars: Partial<Env> = {}) =>
	t.request(
		`/v1/accounts/${s.accountId}/keys/${keyId}/rotate`,
		jsonRequest("POST", {}, bearer(s.users.owner.token)),
		vars,
	);
const revoke = (s: SeededAccount, keyId: string, vars: Partial<Env> = {}) =>
	t.request(
		`/v1/accounts/${s.accountId}/keys/${keyId}/revoke`,
		jsonRequest("POST", { reason: "race" }, bearer(s.users.owner.token)),
		vars,
	);

/** The real D1, except that batches (the lifecycle's one conditional write) wait until released. */

/** What a burst answered: statuses, and the secrets handed out with a 201. */
async function settle(responses: Promise<Response>[]) {
	const answers = await Promise.all(
		responses.map(async (p) => {
			const res = await p;
			const body = res.status === 201 ? await res.json<{ secret: string; key: { id: string } }>() : await res.text();
			return { status: res.status, body };
		}),
	);
	const secrets = answers.flatMap((a) =>
		a.status === 201 && typeof a.body === "object" ? [{ id: a.body.key.id, secret: a.body.secret }] : [],
	);
	return { statuses: answers.map((a) => a.status), secrets };
}

describe("key lifecycle under bursts", () => {
	it("20 parallel rotations make exactly one successor, which the old key names (×20)", async () => {
		let shouldBeDead = 0;
		for (let run = 0; run < RUNS; run++) {
			const s = await seedAccount(clock);
			const key = await seedKey(s.accountId, s.users.owner.id, ["data:read"], clock.now());
			const { statuses, secrets } = await settle(Array.from({ length: 20 }, () => rotate(s, key.id)));
			expect(statuses.filter((x) => x === 201)).toHaveLength(1);
			expect(statuses.filter((x) => x !== 201).every((x) => x === 409)).toBe(true);
			const successors = (await keysOf(s.accountId)).filter((k) => k.rotatedFrom === key.id);
			const old = (await keysOf(s.accountId)).find((k) => k.id === key.id);
			expect(successors.map((k) => k.id)).toEqual([old?.rotatedTo]);
			expect(secrets.map((x) => x.id)).toEqual([old?.rotatedTo]);
			shouldBeDead += successors.filter((k) => k.id !== old?.rotatedTo).length;
		}
		expect(shouldBeDead).toBe(0);
	}, 120_000);

	it("a revocation racing 5 rotations leaves no successor made after it (×20)", async () => {
		let shouldBeDead = 0;
		const outcomes = { rotatedFirst: 0, revokedFirst: 0 };
		for (let run = 0; run < RUNS; run++) {
			const s = await seedAccount(clock);
			const key = await seedKey(s.accountId, s.users.owner.id, ["data:read"], clock.now());
			// Every run, one side reads first and is held at its write until the other side has answered:
			// the rotations (they read the key active, then write after the revocation) or the revocation.
			const gate = d1HeldUntilReleased();
			const revokeFirst = run % 2 === 0;
			const rotations = Array.from({ length: 5 }, () => rotate(s, key.id, revokeFirst ? { DB: gate.db } : {}));
			const revocation = revoke(s, key.id, revokeFirst ? {} : { DB: gate.db });
			await Promise.allSettled(revokeFirst ? [revocation] : rotations);
			gate.release();
			const { statuses, secrets } = await settle([revocation, ...rotations]);
			outcomes[statuses.includes(201) ? "rotatedFirst" : "revokedFirst"]++;
			expect(statuses.filter((x) => x === 201).length).toBeLessThanOrEqual(1);
			const rows = await keysOf(s.accountId);
			const old = rows.find((k) => k.id === key.id);
			expect(old?.revokedAt).not.toBeNull();
			expect(await verify(key.secret)).toBe("REVOKED");
			// A successor exists only if its rotation won before the revocation: the old key names it,
			// and its secret was handed out. Anything else alive is a key that should be dead.
			for (const successor of rows.filter((k) => k.rotatedFrom === key.id)) {
				const legitimate = old?.rotatedTo === successor.id && secrets.some((x) => x.id === successor.id);
				if (!legitimate) shouldBeDead++;
			}
			for (const handed of secrets)
				if ((await verify(handed.secret)) === "VALID" && old?.rotatedTo !== handed.id) shouldBeDead++;
		}
		console.log(`rotate against revoke: ${JSON.stringify(outcomes)} over ${RUNS} runs`);
		expect(shouldBeDead).toBe(0);
		expect(outcomes.rotatedFirst).toBeGreaterThan(0);
		expect(outcomes.revokedFirst).toBeGreaterThan(0);
	}, 120_000);

	it("6 creations and 6 rotations racing a lockdown: nothing made in flight survives (×20)", async () => {
		let shouldBeDead = 0;
		let refusedAsLocked = 0;
		let madeBeforeLockdown = 0;
		for (let run = 0; run < RUNS; run++) {
			const s = await seedAccount(clock);
			const own = await Promise.all(
				Array.from({ length: 6 }, () => seedKey(s.accountId, s.users.member.id, ["data:read"], clock.now())),
			);
			const member = s.users.member.token;
			// Some writes are held at D1 until the lockdown has answered: they read the account open and
			// write after the marker, the race the old code lost. The others run free and land first.
			const gate = d1HeldUntilReleased();
			// Two of every three writes are held at D1 until the lockdown has answered: they read the
			// account open and write after the marker, the race the old code lost. The others land first.
			const held = (i: number) => (i + run) % 3 !== 0;
			const create = (i: number) =>
				t.request(
					`/v1/accounts/${s.accountId}/keys`,
					jsonRequest("POST", { name: "in flight", environment: "staging", scopes: ["data:read"] }, bearer(member)),
					held(i) ? { DB: gate.db } : {},
				);
			const rotateOwn = (i: number) =>
				t.request(
					`/v1/accounts/${s.accountId}/keys/${own[i]?.id}/rotate`,
					jsonRequest("POST", {}, bearer(member)),
					held(i + 6) ? { DB: gate.db } : {},
				);
			const burst = [...own.map((_, i) => rotateOwn(i)), ...own.map((_, i) => create(i))];
			await Promise.allSettled(burst.filter((_, i) => !held(i < 6 ? i + 6 : i - 6)));
			const lockdown = await t.request(
				`/v1/accounts/${s.accountId}/lockdown`,
				jsonRequest("POST", { reason: "race", revokeSessions: false, revokeKeys: "all" }, bearer(s.users.owner.token)),
			);
			expect(lockdown.status).toBe(200);
			gate.release();
			const { statuses, secrets } = await settle(burst);
			expect(
				statuses.every((x) => [201, 409, 423].includes(x)),
				statuses.join(","),
			).toBe(true);
			refusedAsLocked += statuses.filter((x) => x === 423).length;
			madeBeforeLockdown += secrets.length;
			const live = (await keysOf(s.accountId)).filter((k) => k.revokedAt === null);
			shouldBeDead += live.length;
			for (const handed of secrets) if ((await verify(handed.secret)) === "VALID") shouldBeDead++;
			// And after the lockdown, nothing new can be made until an owner lifts it.
			expect((await create(1)).status).toBe(423);
		}
		console.log(
			`lockdown bursts: ${madeBeforeLockdown} keys made before the marker (all revoked by the sweep), ` +
				`${refusedAsLocked} refused as locked (423), across ${RUNS} runs`,
		);
		expect(shouldBeDead).toBe(0);
		// Both sides of the race happened, or the test proved nothing.
		expect(madeBeforeLockdown).toBeGreaterThan(0);
		expect(refusedAsLocked).toBeGreaterThan(0);
	}, 180_000);
});
