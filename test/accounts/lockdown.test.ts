import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDatabase } from "../../src/db";
import { memberships, webhooks } from "../../src/db/schema";
import { startSession } from "../../src/identity/sessions";
import { ManualClock } from "../../src/platform/clock";
import { testApp } from "../support/app";
import { bearer, expectProblem, jsonRequest } from "../support/request";
import { seedAccount } from "../support/seed";

const clock = new ManualClock("2026-09-01T00:00:00Z");
const t = testApp({ clock });
const db = createDatabase(env.DB);
const lockdown = (accountId: string, token: string, body: Record<string, unknown> = {}) =>
	t.request(
		`/v1/accounts/${accountId}/lockdown`,
		jsonRequest("POST", { reason: "incident", revokeKeys: "none", ...body }, bearer(token)),
	);

describe("lockdown ends only what belongs to the locked account", () => {
	it("the owner of B locking B down again and again never signs B's member out of their own account A", async () => {
		const a = await seedAccount(clock); // the victim owns A
		const b = await seedAccount(clock); // the attacker owns B, where the victim is a member
		await db
			.insert(memberships)
			.values({ accountId: b.accountId, userId: a.users.owner.id, role: "member", joinedAt: clock.now() });
		const victim = a.users.owner.token;
		for (let i = 0; i < 3; i++) {
			clock.advance(1000);
			// The attacker signs in again each time (their own lockdown ends their sessions too).
			const attacker = await startSession(
				env,
				db,
				b.users.owner.id,
				{ ip: null, userAgent: "t", country: null },
				clock.now(),
			);
			clock.advance(1000);
			expect((await lockdown(b.accountId, attacker.token)).status).toBe(200);
			expect((await t.request(`/v1/accounts/${a.accountId}`, { headers: bearer(victim) })).status).toBe(200);
			expect((await t.request("/v1/me", { headers: bearer(victim) })).status).toBe(200);
			// Their session no longer reaches B: the lockdown ended that, and only that.
			await expectProblem(await t.request(`/v1/accounts/${b.accountId}`, { headers: bearer(victim) }), 401);
		}
		// Signing in again reaches B once more (a session started after the lockdown).
		clock.advance(1000);
		const fresh = await startSession(
			env,
			db,
			a.users.owner.id,
			{ ip: null, userAgent: "t", country: null },
			clock.now(),
		);
		expect((await t.request(`/v1/accounts/${b.accountId}`, { headers: bearer(fresh.token) })).status).toBe(200);
	});

	it("members who hold only the locked account have their sessions ended outright", async () => {
		const s = await seedAccount(clock);
		clock.advance(1000);
		const res = await lockdown(s.accountId, s.users.owner.token);
		expect(res.status).toBe(200);
		const body = await res.json<{ sessionsRevoked: number }>();
		expect(body.sessionsRevoked).toBeGreaterThanOrEqual(5);
		await expectProblem(await t.request("/v1/me", { headers: bearer(s.users.member.token) }), 401);
	});
});

describe("while locked down", () => {
	it("refuses keys, invitations, joining and webhooks with 423 until the owner lifts it, audited", async () => {
		const s = await seedAccount(clock);
		expect((await lockdown(s.accountId, s.users.owner.token, { revokeSessions: false })).status).toBe(200);
		const owner = bearer(s.users.owner.token);
		const base = `/v1/accounts/${s.accountId}`;
		const refused = [
			await t.request(
				`${base}/keys`,
				jsonRequest("POST", { name: "k", environment: "staging", scopes: ["a:b"] }, owner),
			),
			await t.request(`${base}/keys/${s.keyIds.owner}/rotate`, jsonRequest("POST", {}, owner)),
			await t.request(`${base}/invitations`, jsonRequest("POST", { email: "new@example.com", role: "member" }, owner)),
			await t.request(
				`${base}/webhooks`,
				jsonRequest("POST", { url: "https://hooks.example.com/x", events: ["alert.key_created"] }, owner),
			),
			await t.request("/v1/invitations/accept", jsonRequest("POST", { token: s.invitationId }, owner)),
		];
		for (const res of refused.slice(0, 4)) await expectProblem(res, 423, "locked");
		// The lockdown deleted the pending invitation: nothing is waiting to be accepted after the lift.
		expect(refused[4]?.status).toBe(400);

		await expectProblem(
			await t.request(`${base}/lockdown/lift`, jsonRequest("POST", { reason: "over" }, bearer(s.users.admin.token))),
			403,
		);
		const lifted = await t.request(`${base}/lockdown/lift`, jsonRequest("POST", { reason: "contained" }, owner));
		expect(lifted.status).toBe(200);
		await expectProblem(await t.request(`${base}/lockdown/lift`, jsonRequest("POST", { reason: "again" }, owner)), 409);
		expect(
			(
				await t.request(
					`${base}/keys`,
					jsonRequest("POST", { name: "k", environment: "staging", scopes: ["a:b"] }, owner),
				)
			).status,
		).toBe(201);
	});
});

describe("counted caps hold under bursts", () => {
	it("30 parallel webhook creations make at most 10 webhooks", async () => {
		const s = await seedAccount(clock); // the seed has one webhook already
		const answers = await Promise.all(
			Array.from({ length: 30 }, (_, i) =>
				t.request(
					`/v1/accounts/${s.accountId}/webhooks`,
					jsonRequest(
						"POST",
						{ url: `https://hooks.example.com/${i}`, events: ["alert.key_created"] },
						bearer(s.users.owner.token),
					),
				),
			),
		);
		const statuses = answers.map((r) => r.status);
		expect(statuses.filter((x) => x === 201)).toHaveLength(9);
		expect(statuses.filter((x) => x !== 201).every((x) => x === 409)).toBe(true);
		expect(await db.select().from(webhooks).where(eq(webhooks.accountId, s.accountId))).toHaveLength(10);
	});
});
