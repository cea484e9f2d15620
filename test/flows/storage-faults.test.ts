import { abortAllDurableObjects, env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDatabase } from "../../src/db";
import { accounts, apiKeys, memberships } from "../../src/db/schema";
import { ManualClock } from "../../src/platform/clock";
import type { Env } from "../../src/platform/env";
import { testApp } from "../support/app";
import { accountObjectsFailingVerify, d1FailingInBatch } from "../support/faults";
import { bearer, createKey as createKeyAs, expectProblem, jsonRequest } from "../support/request";
import { seedAccount } from "../support/seed";

const clock = new ManualClock("2026-09-01T00:00:00Z");
const t = testApp({ clock });
const db = createDatabase(env.DB);
async function accountState(accountId: string) {
	const [keys, members, account] = await Promise.all([
		db.select().from(apiKeys).where(eq(apiKeys.accountId, accountId)),
		db.select().from(memberships).where(eq(memberships.accountId, accountId)),
		db.select().from(accounts).where(eq(accounts.id, accountId)),
	]);
	const byId = <T extends { id?: string; userId?: string }>(rows: T[]) =>
		[...rows].sort((a, b) => String(a.id ?? a.userId).localeCompare(String(b.id ?? b.userId)));
	// lastActiveAt is refreshed by any authorised request; it is not part of the writes under test.
	const people = members.map(({ lastActiveAt: _seen, ...m }) => m);
	return JSON.stringify({ keys: byId(keys), members: byId(people), account });
}

const createKey = (token: string, accountId: string) => createKeyAs(t, token, accountId, { name: "svc" });

const verify = (key: string, vars: Partial<Env> = {}) =>
	t.request("/v1/keys/verify", jsonRequest("POST", { key, requiredScopes: [] }), vars);

describe("D1 failing in the middle of a multi-row write", () => {
	type Seeded = Awaited<ReturnType<typeof seedAccount>>;
	const cases: { name: string; send: (s: Seeded, vars?: Partial<Env>) => Promise<Response>; retryStatus: number }[] = [
		{
			name: "key rotation",
			send: (s, vars) =>
				t.request(
					`/v1/accounts/${s.accountId}/keys/${s.keyIds.owner}/rotate`,
					jsonRequest("POST", {}, bearer(s.users.owner.token)),
					vars,
				),
			retryStatus: 201,
		},
		{
			name: "member removal",
			send: (s, vars) =>
				t.request(
					`/v1/accounts/${s.accountId}/members/${s.users.member.id}`,
					{ method: "DELETE", headers: bearer(s.users.owner.token) },
					vars,
				),
			retryStatus: 204,
		},
		{
			name: "account deletion",
			send: (s, vars) =>
				t.request(`/v1/accounts/${s.accountId}`, { method: "DELETE", headers: bearer(s.users.owner.token) }, vars),
			retryStatus: 204,
		},
	];

	for (const { name, send, retryStatus } of cases) {
		it(`${name}: 503 with a request id, nothing half-written, and the retry completes`, async () => {
			const s = await seedAccount(clock);
			const before = await accountState(s.accountId);

			const res = await send(s, { DB: d1FailingInBatch() });
			const problem = await expectProblem(res, 503, "service-unavailable");
			expect(problem.requestId).toMatch(/^req_/);
			expect(res.headers.get("Retry-After")).toBe("1");
			expect(await accountState(s.accountId)).toBe(before);

			// The same request without the fault goes through: nothing left behind blocks it.
			expect((await send(s)).status).toBe(retryStatus);
			expect(await accountState(s.accountId)).not.toBe(before);
		});
	}

	it("a member removal failing at its first write changes nothing; failing at the keys, it has already refused them, and a retry finishes", async () => {
		const s = await seedAccount(clock);
		const { secret, key } = await createKey(s.users.member.token, s.accountId);
		const remove = (vars = {}) =>
			t.request(
				`/v1/accounts/${s.accountId}/members/${s.users.member.id}`,
				{ method: "DELETE", headers: bearer(s.users.owner.token) },
				vars,
			);
		const code = async () => (await (await verify(secret)).json<{ code: string }>()).code;
		expect(await code()).toBe("VALID");
		// The membership batch fails: nothing happened, the member is still one.
		expect((await remove({ DB: d1FailingInBatch() })).status).toBe(503);
		expect((await t.request(`/v1/accounts/${s.accountId}`, { headers: bearer(s.users.member.token) })).status).toBe(
			200,
		);
		// The keys batch fails: the membership is gone and the object already refuses their keys.
		expect((await remove({ DB: d1FailingInBatch(2) })).status).toBe(503);
		expect((await t.request(`/v1/accounts/${s.accountId}`, { headers: bearer(s.users.member.token) })).status).toBe(
			404,
		);
		expect(await code()).toBe("REVOKED");
		// The retry finds no membership but a live key of theirs in D1, and finishes.
		expect((await remove()).status).toBe(204);
		const row = await createDatabase(env.DB).query.apiKeys.findFirst({ where: eq(apiKeys.id, key.id) });
		expect(row?.revokedAt).not.toBeNull();
		expect((await remove()).status).toBe(404);
	});
});

describe("the Durable Object failing during verify", () => {
	it("an object that throws makes verify fail closed with 503, and the next call is answered normally", async () => {
		const s = await seedAccount(clock);
		const { secret } = await createKey(s.users.owner.token, s.accountId);
		const broken = accountObjectsFailingVerify();

		const res = await verify(secret, { ACCOUNT_GUARD: broken });
		const problem = await expectProblem(res, 503, "service-unavailable");
		expect(JSON.stringify(problem)).not.toMatch(/valid/);

		const next = await verify(secret);
		expect(await next.json()).toMatchObject({ valid: true, code: "VALID" });
	});

	it("objects reset while verifies are in flight: each answer is a verdict or a 503, never VALID by accident, and it recovers", async () => {
		const s = await seedAccount(clock);
		const { secret } = await createKey(s.users.owner.token, s.accountId);
		const revoked = await createKey(s.users.owner.token, s.accountId);
		await t.request(
			`/v1/accounts/${s.accountId}/keys/${revoked.key.id}/revoke`,
			jsonRequest("POST", { reason: "test" }, bearer(s.users.owner.token)),
		);
		const inFlight = Array.from({ length: 20 }, (_, i) => verify(i % 2 ? revoked.secret : secret));
		await abortAllDurableObjects();
		const answers = await Promise.all(
			inFlight.map(async (pending, i) => {
				const res = await pending;
				return { i, status: res.status, body: await res.json<{ code?: string }>() };
			}),
		);
		for (const a of answers) {
			expect([200, 503]).toContain(a.status);
			if (a.i % 2 === 1) expect(a.body.code).not.toBe("VALID");
		}
		expect(await (await verify(secret)).json()).toMatchObject({ code: "VALID" });
		expect(await (await verify(revoked.secret)).json()).toMatchObject({ code: "REVOKED" });
	});
});
