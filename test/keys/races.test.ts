import { env } from "cloudflare:test";
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { endSessionsHere } from "../../src/accounts/lockdown";
import { createDatabase } from "../../src/db";
import { apiKeys, memberships } from "../../src/db/schema";
import { ManualClock } from "../../src/platform/clock";
import { testApp } from "../support/app";
import { d1HeldUntilReleased } from "../support/faults";
import { bearer, expectProblem, jsonRequest } from "../support/request";
import { seedAccount, seedKey } from "../support/seed";

/**
 * The windows a second attack found: each forced open by holding one request
 * at its write (its D1 batch) while another commits, then letting it go.
 */
const clock = new ManualClock("2026-11-10T00:00:00Z");
const t = testApp({ clock });
const db = createDatabase(env.DB);
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

describe("races the second attack found", () => {
	it("a rotation that read the key before a narrowing change does not hand out the old powers", async () => {
		const s = await seedAccount(clock);
		const key = await seedKey(s.accountId, s.users.owner.id, ["payments:read", "payments:write"], clock.now());
		const base = `/v1/accounts/${s.accountId}/keys/${key.id}`;
		const gate = d1HeldUntilReleased();
		const rotation = t.request(`${base}/rotate`, jsonRequest("POST", {}, bearer(s.users.owner.token)), { DB: gate.db });
		await settle();
		const narrowed = await t.request(
			base,
			jsonRequest("PATCH", { scopes: ["payments:read"], ipAllowlist: ["10.0.0.0/8"] }, bearer(s.users.owner.token)),
		);
		expect(narrowed.status).toBe(200);
		gate.release();
		await expectProblem(await rotation, 409);
		const rows = await db.select().from(apiKeys).where(eq(apiKeys.accountId, s.accountId));
		expect(rows.filter((r) => r.rotatedFrom === key.id)).toEqual([]);
		expect(rows.find((r) => r.id === key.id)?.scopes).toEqual(["payments:read"]);
	});

	it("an admin demoted while rotating someone else's key gets no successor", async () => {
		const s = await seedAccount(clock);
		const gate = d1HeldUntilReleased();
		const rotation = t.request(
			`/v1/accounts/${s.accountId}/keys/${s.keyIds.owner}/rotate`,
			jsonRequest("POST", {}, bearer(s.users.admin.token)),
			{ DB: gate.db },
		);
		await settle();
		await db
			.update(memberships)
			.set({ role: "member" })
			.where(and(eq(memberships.accountId, s.accountId), eq(memberships.userId, s.users.admin.id)));
		gate.release();
		await expectProblem(await rotation, 403);
		const rows = await db.select().from(apiKeys).where(eq(apiKeys.rotatedFrom, s.keyIds.owner));
		expect(rows).toEqual([]);
	});

	it("an acceptance in flight when its invitation is cancelled does not join", async () => {
		const s = await seedAccount(clock);
		const invited =
			(await db.query.invitations.findFirst({ where: (i, { eq }) => eq(i.id, s.invitationId) }))?.email ?? "";
		// The stranger signs up with the invited address (verified) to accept it.
		const { users } = await import("../../src/db/schema");
		await db.update(users).set({ email: invited }).where(eq(users.id, s.users.stranger.id));
		const gate = d1HeldUntilReleased();
		const accept = t.request(
			"/v1/invitations/accept",
			jsonRequest("POST", { token: s.invitationId }, bearer(s.users.stranger.token)),
			{ DB: gate.db },
		);
		await settle();
		const cancelled = await t.request(`/v1/accounts/${s.accountId}/invitations/${s.invitationId}`, {
			method: "DELETE",
			headers: bearer(s.users.owner.token),
		});
		expect(cancelled.status).toBe(204);
		gate.release();
		await expectProblem(await accept, 400);
		const joined = await db.query.memberships.findFirst({
			where: and(eq(memberships.accountId, s.accountId), eq(memberships.userId, s.users.stranger.id)),
		});
		expect(joined).toBeUndefined();
	});

	it("rotations with a grace period cannot chain past the key cap; without grace they can rotate at the cap", async () => {
		const s = await seedAccount(clock);
		const live = (await db.select().from(apiKeys).where(eq(apiKeys.accountId, s.accountId))).length;
		const cap = { MAX_KEYS_PER_ACCOUNT: String(live) };
		const rotate = (keyId: string, body: Record<string, unknown>) =>
			t.request(
				`/v1/accounts/${s.accountId}/keys/${keyId}/rotate`,
				jsonRequest("POST", body, bearer(s.users.owner.token)),
				cap,
			);
		await expectProblem(await rotate(s.keyIds.owner, { gracePeriodHours: 24 }), 409);
		const noGrace = await rotate(s.keyIds.owner, { gracePeriodHours: 0 });
		expect(noGrace.status).toBe(201);
		const successor = (await noGrace.json<{ key: { id: string } }>()).key.id;
		expect((await rotate(successor, { gracePeriodHours: 0 })).status).toBe(201);
	});

	it("a member removed from the locked account while the lockdown runs is not signed out of their own account", async () => {
		const a = await seedAccount(clock); // the victim owns A
		const b = await seedAccount(clock); // the attacker owns B
		await db
			.insert(memberships)
			.values({ accountId: b.accountId, userId: a.users.owner.id, role: "member", joinedAt: clock.now() });
		// The lockdown read B's members, then the victim's removal landed before it decided whom to sign out.
		await db
			.delete(memberships)
			.where(and(eq(memberships.accountId, b.accountId), eq(memberships.userId, a.users.owner.id)));
		await endSessionsHere(env, db, b.accountId, [a.users.owner.id], clock.now());
		expect((await t.request(`/v1/accounts/${a.accountId}`, { headers: bearer(a.users.owner.token) })).status).toBe(200);
	});
});

describe("while locked down, nothing grants", () => {
	it("key changes, role changes and admins' settings changes answer 423; the owner may still tighten settings", async () => {
		const s = await seedAccount(clock);
		const base = `/v1/accounts/${s.accountId}`;
		const lockdown = await t.request(
			`${base}/lockdown`,
			jsonRequest(
				"POST",
				{ reason: "incident", revokeSessions: false, revokeKeys: "none" },
				bearer(s.users.owner.token),
			),
		);
		expect(lockdown.status).toBe(200);
		expect(await db.query.invitations.findFirst({ where: (i, { eq }) => eq(i.id, s.invitationId) })).toBeUndefined();
		const admin = bearer(s.users.admin.token);
		await expectProblem(
			await t.request(
				`${base}/keys/${s.keyIds.admin}`,
				jsonRequest("PATCH", { scopes: ["data:read", "keys:write"] }, admin),
			),
			423,
		);
		await expectProblem(
			await t.request(`${base}/members/${s.users.member.id}`, jsonRequest("PATCH", { role: "admin" }, admin)),
			423,
		);
		await expectProblem(await t.request(base, jsonRequest("PATCH", { name: "mine" }, admin)), 423);
		const owner = await t.request(
			base,
			jsonRequest("PATCH", { settings: { keyMaxLifetimeDays: 30 } }, bearer(s.users.owner.token)),
		);
		expect(owner.status).toBe(200);
	});
});
