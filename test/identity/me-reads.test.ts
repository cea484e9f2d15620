import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../src/platform/clock";
import type { Env } from "../../src/platform/env";
import { testApp } from "../support/app";
import { identityHarness, PASSWORD } from "../support/identity";
import { as, expectProblem } from "../support/request";
import { seedAccount } from "../support/seed";

const clock = new ManualClock("2026-08-01T00:00:00Z");
const t = testApp({ clock });

/** The D1 statements a request prepares, by their SQL (a batch counts as one entry). */
function recordingDb() {
	const statements: string[] = [];
	const db = new Proxy(env.DB, {
		get(target, prop, receiver) {
			const value = Reflect.get(target, prop, receiver);
			if (prop === "prepare")
				return (query: string) => {
					statements.push(query);
					return target.prepare(query);
				};
			if (prop === "batch" || prop === "exec") statements.push(`(${String(prop)})`);
			return typeof value === "function" ? value.bind(target) : value;
		},
	});
	return { statements, vars: { DB: db } as Partial<Env> };
}

/** Statements whose outermost query reads the table (a subquery that joins it does not count). */
const reading = (statements: string[], table: string) =>
	statements.filter((q) => new RegExp(`^select .*? from "${table}"`, "i").test(q.replace(/\(.*\)/g, "()")));

describe("what a signed-in request reads", () => {
	it("GET /v1/me reads the person and their memberships once each: the authenticator's reads are reused", async () => {
		const s = await seedAccount(clock);
		const { statements, vars } = recordingDb();
		const res = await t.request("/v1/me", as(s.users.admin.token), vars);
		expect(res.status).toBe(200);
		const body = await res.json<{ user: { id: string }; memberships: { accountId: string; role: string }[] }>();
		expect(body.user.id).toBe(s.users.admin.id);
		expect(body.memberships).toEqual([expect.objectContaining({ accountId: s.accountId, role: "admin" })]);
		expect(reading(statements, "users"), statements.join("\n")).toHaveLength(1);
		expect(reading(statements, "memberships"), statements.join("\n")).toHaveLength(1);
	});

	it("a route that checks a secret reads what the person has now: after a change, only the new password is asked for", async () => {
		const h = identityHarness();
		const u = await h.signup();
		const first = "a brand new passphrase for this test 1";
		const second = "another brand new passphrase for it 2";
		const change = (currentPassword: string, newPassword: string) =>
			h.post(
				"/v1/me/password",
				{ currentPassword, newPassword, revokeOtherSessions: false },
				{ Authorization: `Bearer ${u.token}` },
			);
		expect((await change(PASSWORD, first)).status).toBe(204);
		await expectProblem(await change(PASSWORD, second), 400);
		expect((await change(first, second)).status).toBe(204);
	});

	it("a session of a person erased before their sessions were ended is refused, not served as the tombstone", async () => {
		const s = await seedAccount(clock);
		expect((await t.request("/v1/me", as(s.users.admin.token))).status).toBe(200);
		// Erasure writes the tombstone first and ends the sessions after it: this is the moment between.
		await env.DB.prepare("UPDATE users SET erased_at = ? WHERE id = ?")
			.bind(clock.now().getTime(), s.users.admin.id)
			.run();
		const problem = await expectProblem(await t.request("/v1/me", as(s.users.admin.token)), 401);
		expect(problem.code).toBe("invalid_token");
	});
});
