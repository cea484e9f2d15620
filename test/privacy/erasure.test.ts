/**
 * Erasure with crypto-shredding (issue #26): a person's fields in the audit
 * trail are sealed under their data key; `DELETE /v1/me` destroys it. Another
 * account's trail then reads `[erased]` for them, still verifies, and keeps
 * everyone else's data readable.
 */
import { env } from "cloudflare:test";
import { and, eq } from "drizzle-orm";
import { describe, expect, it, vi } from "vitest";
import { verifyChain } from "../../src/audit/chain";
import type { AuditEvent } from "../../src/audit/event";
import { createDatabase } from "../../src/db";
import {
	accounts,
	apiKeys,
	auditEvents,
	devOutbox,
	erasureRequests,
	invitations,
	memberships,
	userDataKeys,
	users,
} from "../../src/db/schema";
import { auditChain } from "../../src/durable/address";
import { startSession } from "../../src/identity/sessions";
import { findUserByEmail } from "../../src/identity/users";
import { ManualClock } from "../../src/platform/clock";
import { newId } from "../../src/platform/ids";
import { eraseUser, tombstoneEmail } from "../../src/privacy/erasure";
import { erasureRequestSql } from "../../src/privacy/erasure-request";
import { INVITEE_SUBJECT, inviteeSubject } from "../../src/privacy/invitee";
import { ERASED } from "../../src/privacy/sealing";
import { testApp } from "../support/app";
import { listArchive } from "../support/audit";
import { cronHarness } from "../support/cron";
import { PASSWORD } from "../support/identity";
import { as, expectProblem, jsonRequest } from "../support/request";
import { type SeededAccount, seedAccount, seedKey } from "../support/seed";
import { archiveAndDispatch, auditCapture } from "../support/webhooks";

const db = createDatabase(env.DB);
type Listed = { data: (Omit<AuditEvent, "accountId"> & { accountId?: never })[] };

function event(s: SeededAccount, clock: ManualClock, over: Partial<AuditEvent>): AuditEvent {
	return {
		id: newId("evt"),
		time: clock.now().toISOString(),
		accountId: s.accountId,
		action: "http.request",
		outcome: "success",
		actor: { type: "user", id: s.users.member.id, ip: "203.0.113.77", userAgent: "MemberBrowser/9" },
		target: null,
		requestId: null,
		metadata: {},
		...over,
	};
}

/**
 * The test database, with something done just before (and after) its first batch: how a test puts
 * another request's write between an erasure's read and its conditional write. Later batches pass.
 */
function aroundFirstBatch(around: { before: () => Promise<unknown>; after?: () => Promise<unknown> }): typeof db {
	let batches = 0;
	return new Proxy(db, {
		get(target, prop, receiver) {
			if (prop !== "batch") return Reflect.get(target, prop, receiver);
			return async (queries: Parameters<typeof db.batch>[0]) => {
				batches += 1;
				if (batches > 1) return target.batch(queries);
				await around.before();
				const results = await target.batch(queries);
				await around.after?.();
				return results;
			};
		},
	});
}

/** An account the user owns alone: the kind an erasure deletes. */
async function soloAccount(userId: string, clock: ManualClock): Promise<string> {
	const accountId = newId("acc");
	await db.insert(accounts).values({ id: accountId, name: "Solo", createdAt: clock.now() });
	await db.insert(memberships).values({ accountId, userId, role: "owner", joinedAt: clock.now() });
	return accountId;
}

const outboxTo = (address: string) => db.select().from(devOutbox).where(eq(devOutbox.to, address));

describe("crypto-shredding in the audit trail", () => {
	it("stores a person's fields sealed (archive and index), and reads them back whole while the key exists", async () => {
		const clock = new ManualClock(new Date("2026-12-01T10:00:00Z"));
		const t = testApp({ clock });
		const s = await seedAccount(clock);
		const acted = event(s, clock, { metadata: { email: "m***@example.com", name: "M***" } });
		await archiveAndDispatch([acted], clock);

		const archived = new TextDecoder().decode((await listArchive(s.accountId))[0]?.bytes);
		const indexed = await db.query.auditEvents.findFirst({ where: (e, { eq }) => eq(e.id, acted.id) });
		for (const stored of [archived, indexed?.body ?? ""]) {
			expect(stored).toContain(acted.id);
			expect(stored).not.toContain("203.0.113.77");
			expect(stored).not.toContain("MemberBrowser");
			expect(stored).not.toContain("m***@example.com");
			expect(stored).toContain(`pii:v1:${s.users.member.id}:`);
		}

		const page = await (
			await t.request(`/v1/accounts/${s.accountId}/audit-events?action=http.request`, as(s.users.owner.token))
		).json<Listed>();
		const read = page.data.find((e) => e.id === acted.id);
		expect(read?.actor).toMatchObject({ ip: "203.0.113.77", userAgent: "MemberBrowser/9" });
		expect(read?.metadata).toEqual({ email: "m***@example.com", name: "M***" });
	});

	it("a sealed field moved to another event does not open there", async () => {
		const clock = new ManualClock(new Date("2026-12-01T10:00:00Z"));
		const t = testApp({ clock });
		const s = await seedAccount(clock);
		const first = event(s, clock, {});
		const second = event(s, clock, {
			actor: { type: "user", id: s.users.member.id, ip: "192.0.2.1", userAgent: null },
		});
		await archiveAndDispatch([first, second], clock);
		const rows = await db.query.auditEvents.findMany({
			where: (e, { inArray }) => inArray(e.id, [first.id, second.id]),
		});
		const bodyOf = (id: string) => JSON.parse(rows.find((r) => r.id === id)?.body ?? "{}") as AuditEvent;
		const moved = { ...bodyOf(second.id), actor: { ...bodyOf(second.id).actor, ip: bodyOf(first.id).actor.ip } };
		await db
			.update(auditEvents)
			.set({ body: JSON.stringify(moved) })
			.where(eq(auditEvents.id, second.id));
		const page = await (
			await t.request(`/v1/accounts/${s.accountId}/audit-events?action=http.request`, as(s.users.owner.token))
		).json<Listed>();
		expect(page.data.find((e) => e.id === second.id)?.actor.ip).toBe(ERASED);
		expect(page.data.find((e) => e.id === first.id)?.actor.ip).toBe("203.0.113.77");
	});
});

describe("sealed fields open only where sealing puts them", () => {
	it("a token in a field sealing never writes (a key's user agent) stays text, even with its own event id", async () => {
		const clock = new ManualClock(new Date("2026-12-01T10:00:00Z"));
		const t = testApp({ clock });
		const s = await seedAccount(clock);
		const acted = event(s, clock, {});
		await archiveAndDispatch([acted], clock);
		const row = await db.query.auditEvents.findFirst({ where: (e, { eq }) => eq(e.id, acted.id) });
		const stored = JSON.parse(row?.body ?? "{}") as AuditEvent;
		// The same event, now claimed by a key: its fields are a caller's text, not a person's.
		const asKey = { ...stored, actor: { ...stored.actor, type: "key" as const, id: s.keyIds.member } };
		await db
			.update(auditEvents)
			.set({ body: JSON.stringify(asKey) })
			.where(eq(auditEvents.id, acted.id));
		const page = await (
			await t.request(`/v1/accounts/${s.accountId}/audit-events?action=http.request`, as(s.users.owner.token))
		).json<Listed>();
		const read = page.data.find((e) => e.id === acted.id);
		expect(read?.actor.userAgent).toBe(stored.actor.userAgent);
		expect(read?.actor.userAgent).toMatch(/^pii:v1:/);
		expect(JSON.stringify(read)).not.toContain("MemberBrowser");
	});
});

describe("free text that can name someone", () => {
	it("a lockdown's reason is sealed under its author's key, readable until they are erased; Keyward's own reasons stay text", async () => {
		const clock = new ManualClock(new Date("2026-12-01T10:00:00Z"));
		const t = testApp({ clock });
		const s = await seedAccount(clock);
		const author = s.users.member;
		const lockdown = event(s, clock, {
			action: "account.lockdown",
			target: { type: "account", id: s.accountId },
			actor: { type: "user", id: author.id, ip: "203.0.113.70", userAgent: "Responder/1" },
			metadata: { reason: "Jane Doe's laptop was stolen", sessionsRevoked: 3, keysRevoked: 0 },
		});
		const revoked = event(s, clock, {
			action: "session.revoked",
			actor: { type: "user", id: author.id, ip: "203.0.113.70", userAgent: "Responder/1" },
			metadata: { reason: "revoked" },
		});
		await archiveAndDispatch([lockdown, revoked], clock);
		const stored = async (id: string) =>
			JSON.parse(
				(await db.query.auditEvents.findFirst({ where: (e, { eq }) => eq(e.id, id) }))?.body ?? "{}",
			) as AuditEvent;
		expect(String((await stored(lockdown.id)).metadata.reason)).toMatch(new RegExp(`^pii:v1:${author.id}:`));
		expect((await stored(lockdown.id)).metadata.sessionsRevoked).toBe(3);
		expect((await stored(revoked.id)).metadata.reason).toBe("revoked");
		const read = async () => {
			const page = await (
				await t.request(`/v1/accounts/${s.accountId}/audit-events`, as(s.users.owner.token))
			).json<Listed>();
			return (id: string) => page.data.find((e) => e.id === id)?.metadata;
		};
		expect((await read())(lockdown.id)).toMatchObject({ reason: "Jane Doe's laptop was stolen", sessionsRevoked: 3 });
		expect((await t.request("/v1/me", as(author.token, "DELETE"))).status).toBe(204);
		const erasedView = await read();
		expect(erasedView(lockdown.id)).toMatchObject({ reason: ERASED, sessionsRevoked: 3 });
		expect(erasedView(revoked.id)).toMatchObject({ reason: "revoked" });
	});
});

describe("DELETE /v1/me", () => {
	it("erases a member who appears in another account's trail: [erased] there, the chain still verifies, the others stay readable", async () => {
		const clock = new ManualClock(new Date("2026-12-01T10:00:00Z"));
		const t = testApp({ clock });
		const s = await seedAccount(clock);
		const member = s.users.member;
		const audit = auditCapture();
		// In the account's trail: the member acting, and the admin acting on the member.
		const acted = event(s, clock, {});
		const byAdmin = event(s, clock, {
			action: "member.role_changed",
			actor: { type: "user", id: s.users.admin.id, ip: "198.51.100.23", userAgent: "AdminBrowser/1" },
			target: { type: "user", id: member.id },
			metadata: { from: "admin", to: "member", email: "m***@example.com" },
		});
		await archiveAndDispatch([acted, byAdmin], clock);
		// A key the member made for a service account, which outlives them; their own key does not.
		const serviceKey = await seedKey(s.accountId, member.id, ["data:read"], clock.now(), "staging", {
			serviceAccountId: s.serviceAccountId,
		});
		await db.insert(invitations).values({
			id: newId("inv"),
			accountId: s.accountId,
			email: member.email,
			role: "admin",
			tokenHash: `h-${crypto.randomUUID()}`,
			invitedBy: s.users.owner.id,
			createdAt: clock.now(),
			expiresAt: new Date(clock.now().getTime() + 86_400_000),
		});

		const res = await t.request(
			"/v1/me",
			as(member.token, "DELETE", undefined, { "CF-Connecting-IP": "203.0.113.50", "User-Agent": "Eraser/1" }),
			{ AUDIT_QUEUE: audit.queue },
		);
		expect(res.status).toBe(204);
		await archiveAndDispatch(audit.events(), clock);

		// Access is gone, and so is everything that let them in.
		expect((await t.request("/v1/me", as(member.token))).status).toBe(401);
		const row = await db.query.users.findFirst({ where: eq(users.id, member.id) });
		expect(row).toMatchObject({ email: tombstoneEmail(member.id), name: "", totpSecret: null, passkeyCount: 0 });
		expect(row?.erasedAt).not.toBeNull();
		expect(await db.select().from(memberships).where(eq(memberships.userId, member.id))).toEqual([]);
		expect(await db.select().from(invitations).where(eq(invitations.email, member.email))).toEqual([]);
		const keys = await db.select().from(apiKeys).where(eq(apiKeys.createdBy, member.id));
		expect(keys.find((k) => k.id === s.keyIds.member)?.revokedAt).not.toBeNull();
		expect(keys.find((k) => k.id === serviceKey.id)?.revokedAt).toBeNull();
		// The names they gave their own keys go with them; the service account's key keeps its name.
		expect(keys.find((k) => k.id === s.keyIds.member)?.name).toBe("[erased]");
		expect(keys.find((k) => k.id === serviceKey.id)?.name).not.toBe("[erased]");
		expect(await db.query.userDataKeys.findFirst({ where: eq(userDataKeys.userId, member.id) })).toMatchObject({
			wrappedKey: null,
		});

		// The account's trail: the member's fields read [erased]; the admin's stay whole.
		const page = await (
			await t.request(`/v1/accounts/${s.accountId}/audit-events`, as(s.users.owner.token))
		).json<Listed>();
		const read = (id: string) => page.data.find((e) => e.id === id);
		expect(read(acted.id)?.actor).toMatchObject({ id: member.id, ip: ERASED, userAgent: ERASED });
		expect(read(byAdmin.id)?.actor).toMatchObject({ ip: "198.51.100.23", userAgent: "AdminBrowser/1" });
		expect(read(byAdmin.id)?.metadata).toEqual({ from: "admin", to: "member", email: ERASED });
		const removed = page.data.find((e) => e.action === "member.removed" && e.target?.id === member.id);
		expect(removed?.metadata).toMatchObject({ reason: "erased", keysRevoked: 1 });

		// The archive still verifies, link by link and against the chain head.
		const report = await verifyChain(
			s.accountId,
			await listArchive(s.accountId),
			await auditChain(env, s.accountId).chainHead(s.accountId),
		);
		expect(report).toMatchObject({ ok: true, objects: 2 });

		// Recorded once, with counts and no personal data; a last email to the address it had.
		const erased = audit.events().filter((e) => e.action === "user.erased");
		expect(erased).toHaveLength(1);
		expect(erased[0]?.metadata).toEqual({
			by: "self",
			accountsDeleted: 0,
			membershipsEnded: 1,
			keysRevoked: 1,
			sessionsEnded: 1,
		});
		const system = await db.query.auditEvents.findFirst({ where: (e, { eq }) => eq(e.id, erased[0]?.id ?? "") });
		expect(system?.body).not.toContain(member.email);
		expect(system?.body).not.toContain("203.0.113.50");
		expect(system?.body).not.toContain("Eraser/1");
		expect(JSON.parse(system?.body ?? "{}").actor).toMatchObject({ ip: ERASED, userAgent: ERASED });
		const mail = await outboxTo(member.email);
		expect(mail.map((m) => m.subject)).toContain("Keyward: your account has been erased");

		// The address can sign up again, as a new person.
		const again = await t.request(
			"/v1/auth/signup",
			jsonRequest("POST", { email: member.email, password: PASSWORD, name: "New" }),
		);
		expect(again.status).toBe(201);
		const fresh = await again.json<{ user: { id: string } }>();
		expect(fresh.user.id).not.toBe(member.id);
	});

	it("refuses the only owner of an account that has other members, naming it, and changes nothing", async () => {
		const clock = new ManualClock(new Date("2026-12-01T10:00:00Z"));
		const t = testApp({ clock });
		const s = await seedAccount(clock);
		const problem = await expectProblem(await t.request("/v1/me", as(s.users.owner.token, "DELETE")), 409);
		expect(JSON.stringify(problem.errors)).toContain(s.accountId);
		expect((await t.request("/v1/me", as(s.users.owner.token))).status).toBe(200);
		const row = await db.query.users.findFirst({ where: eq(users.id, s.users.owner.id) });
		expect(row?.erasedAt).toBeNull();
		expect(await db.query.userDataKeys.findFirst({ where: eq(userDataKeys.userId, s.users.owner.id) })).toBeUndefined();
	});

	it("deletes the accounts the person owns alone", async () => {
		const clock = new ManualClock(new Date("2026-12-01T10:00:00Z"));
		const t = testApp({ clock });
		const s = await seedAccount(clock);
		const stranger = s.users.stranger;
		const accountId = await soloAccount(stranger.id, clock);
		const audit = auditCapture();
		expect((await t.request("/v1/me", as(stranger.token, "DELETE"), { AUDIT_QUEUE: audit.queue })).status).toBe(204);
		expect(await db.query.accounts.findFirst({ where: (a, { eq }) => eq(a.id, accountId) })).toBeUndefined();
		expect(await db.select().from(memberships).where(eq(memberships.accountId, accountId))).toEqual([]);
		expect(audit.events().find((e) => e.action === "user.erased")?.metadata).toMatchObject({ accountsDeleted: 1 });
		expect(audit.events().find((e) => e.action === "account.deleted")?.accountId).toBe(accountId);
	});

	it("needs a recent proof of identity", async () => {
		const clock = new ManualClock(new Date("2026-12-01T10:00:00Z"));
		const t = testApp({ clock });
		const s = await seedAccount(clock);
		const stale = await startSession(
			env,
			db,
			s.users.member.id,
			{ ip: null, userAgent: "left open", country: null },
			new Date(clock.now().getTime() - 11 * 60_000),
		);
		const problem = await expectProblem(await t.request("/v1/me", as(stale.token, "DELETE")), 403);
		expect(problem.type).toContain("reauthentication-required");
		expect((await db.query.users.findFirst({ where: eq(users.id, s.users.member.id) }))?.erasedAt).toBeNull();
		expect((await t.request("/v1/me", { method: "DELETE" })).status).toBe(401);
	});

	it("a burst of erasures erases once: one event, one email", async () => {
		const clock = new ManualClock(new Date("2026-12-01T10:00:00Z"));
		const t = testApp({ clock });
		const s = await seedAccount(clock);
		const member = s.users.member;
		// They also own an account alone: deleted once, recorded once.
		const solo = await soloAccount(member.id, clock);
		const sessions = await Promise.all(
			Array.from({ length: 6 }, () =>
				startSession(env, db, member.id, { ip: null, userAgent: "burst", country: null }, clock.now()),
			),
		);
		const audit = auditCapture();
		const answers = await Promise.all(
			sessions.map((x) => t.request("/v1/me", as(x.token, "DELETE"), { AUDIT_QUEUE: audit.queue })),
		);
		expect(answers.every((r) => r.status === 204 || r.status === 401)).toBe(true);
		expect(answers.some((r) => r.status === 204)).toBe(true);
		expect(audit.events().filter((e) => e.action === "user.erased")).toHaveLength(1);
		expect(audit.events().filter((e) => e.action === "member.removed")).toHaveLength(1);
		expect(
			audit
				.events()
				.filter((e) => e.action === "account.deleted")
				.map((e) => e.accountId),
		).toEqual([solo]);
		expect(await outboxTo(member.email)).toHaveLength(1);
	});

	it("a tombstone's address can be neither taken (it would block the erasure) nor used to bring the person back", async () => {
		const clock = new ManualClock(new Date("2026-12-01T10:00:00Z"));
		const t = testApp({ clock });
		const s = await seedAccount(clock);
		const victim = s.users.member;
		const squat = tombstoneEmail(victim.id);
		// Squatting the tombstone before the erasure: sign-up, email change and invitation refuse `.invalid`.
		for (const [path, body, token] of [
			["/v1/auth/signup", { email: squat, password: PASSWORD, name: "Squatter" }, null],
			["/v1/me/email", { email: squat }, s.users.stranger.token],
			[`/v1/accounts/${s.accountId}/invitations`, { email: squat, role: "member" }, s.users.owner.token],
		] as const) {
			const problem = await expectProblem(
				await t.request(path, jsonRequest("POST", body, token ? { Authorization: `Bearer ${token}` } : {})),
				400,
			);
			expect(problem.errors?.map((e) => e.path)).toEqual(["email"]);
		}
		expect((await t.request("/v1/me", as(victim.token, "DELETE"))).status).toBe(204);

		// Afterwards the tombstone belongs to nobody: no password reset, no sign-in, nothing found by it.
		expect(await findUserByEmail(db, squat)).toBeUndefined();
		await expectProblem(await t.request("/v1/auth/password-reset", jsonRequest("POST", { email: squat })), 400);
		await expectProblem(
			await t.request("/v1/auth/login", jsonRequest("POST", { email: squat, password: PASSWORD })),
			400,
		);
		// The real address now belongs to no one: a reset asked for it sends nothing to anyone.
		const before = (await outboxTo(victim.email)).length;
		expect((await t.request("/v1/auth/password-reset", jsonRequest("POST", { email: victim.email }))).status).toBe(202);
		expect(await outboxTo(victim.email)).toHaveLength(before);
	});

	it("an event of the person still in flight when they are erased is archived as [erased], never under a new key", async () => {
		const clock = new ManualClock(new Date("2026-12-01T10:00:00Z"));
		const t = testApp({ clock });
		const s = await seedAccount(clock);
		const late = event(s, clock, {
			actor: { type: "user", id: s.users.member.id, ip: "203.0.113.9", userAgent: "Late/1" },
		});
		expect((await t.request("/v1/me", as(s.users.member.token, "DELETE"))).status).toBe(204);
		await archiveAndDispatch([late], clock);
		const stored = await db.query.auditEvents.findFirst({ where: (e, { eq }) => eq(e.id, late.id) });
		expect(JSON.parse(stored?.body ?? "{}").actor).toMatchObject({ ip: ERASED, userAgent: ERASED });
		expect(await db.query.userDataKeys.findFirst({ where: eq(userDataKeys.userId, s.users.member.id) })).toMatchObject({
			wrappedKey: null,
		});
	});
});

describe("invited addresses have data keys of their own", () => {
	it("an invitation's address is sealed under the invitee's key, not the inviter's; the person's erasure takes it", async () => {
		const clock = new ManualClock(new Date("2026-12-01T10:00:00Z"));
		const t = testApp({ clock });
		const s = await seedAccount(clock);
		const invitee = s.users.stranger;
		const other = `someone-${crypto.randomUUID().slice(0, 8)}@example.com`;
		const audit = auditCapture();
		for (const email of [invitee.email, other]) {
			const res = await t.request(
				`/v1/accounts/${s.accountId}/invitations`,
				jsonRequest(
					"POST",
					{ email, role: "member" },
					{
						Authorization: `Bearer ${s.users.owner.token}`,
						"CF-Connecting-IP": "198.51.100.40",
						"User-Agent": "OwnerBrowser/2",
					},
				),
				{ AUDIT_QUEUE: audit.queue },
			);
			expect(res.status).toBe(201);
		}
		const invited = audit.events().filter((e) => e.action === "member.invited");
		expect(invited).toHaveLength(2);
		const subjectOf = (email: string) => inviteeSubject(env.PII_WRAPPING_KEY ?? "", email);
		expect(invited.map((e) => e.metadata.invitee)).toEqual([await subjectOf(invitee.email), await subjectOf(other)]);
		expect(invited[0]?.metadata.invitee).toMatch(INVITEE_SUBJECT);
		expect(JSON.stringify(invited)).not.toContain(invitee.email);
		await archiveAndDispatch(invited, clock);

		// Stored: the address under the invitee's key, the inviter's browser under the inviter's.
		const body = async (id: string) =>
			JSON.parse(
				(await db.query.auditEvents.findFirst({ where: (e, { eq }) => eq(e.id, id) }))?.body ?? "{}",
			) as AuditEvent;
		const stored = await body(invited[0]?.id ?? "");
		expect(String(stored.metadata.email)).toMatch(new RegExp(`^pii:v1:${stored.metadata.invitee}:`));
		expect(String(stored.actor.userAgent)).toMatch(new RegExp(`^pii:v1:${s.users.owner.id}:`));

		const read = async () => {
			const page = await (
				await t.request(`/v1/accounts/${s.accountId}/audit-events?action=member.invited`, as(s.users.owner.token))
			).json<Listed>();
			return (id: string) => page.data.find((e) => e.id === id);
		};
		let find = await read();
		// Read back as recorded (masked when recorded: docs/AUDIT.md, "Masking").
		expect(invited[0]?.metadata.email).toMatch(/^\w\*+@example\.com$/);
		expect(find(invited[0]?.id ?? "")?.metadata.email).toBe(invited[0]?.metadata.email);
		expect(find(invited[1]?.id ?? "")?.metadata.email).toBe(invited[1]?.metadata.email);

		// The invited person signs up (here: already a user) and erases themselves.
		expect((await t.request("/v1/me", as(invitee.token, "DELETE"))).status).toBe(204);
		find = await read();
		expect(find(invited[0]?.id ?? "")?.metadata.email).toBe(ERASED);
		// The inviter's fields in the same event, and the other invitee's address, stay readable.
		expect(find(invited[0]?.id ?? "")?.actor).toMatchObject({ ip: "198.51.100.40", userAgent: "OwnerBrowser/2" });
		expect(find(invited[1]?.id ?? "")?.metadata.email).toBe(invited[1]?.metadata.email);
		expect(
			await db.query.userDataKeys.findFirst({
				where: eq(userDataKeys.userId, String(invited[0]?.metadata.invitee)),
			}),
		).toMatchObject({ wrappedKey: null });
	});
});

describe("the erasure's transition is one conditional batch", () => {
	it("refused at the write (someone joined meanwhile), it destroys nothing: key, invitations and the person stay whole", async () => {
		const clock = new ManualClock(new Date("2026-12-01T10:00:00Z"));
		const s = await seedAccount(clock);
		const person = s.users.stranger;
		const accountId = await soloAccount(person.id, clock);
		// The person has a data key (an event of theirs was sealed) and a pending invitation elsewhere.
		await archiveAndDispatch(
			[event(s, clock, { actor: { type: "user", id: person.id, ip: "203.0.113.60", userAgent: "Solo/1" } })],
			clock,
		);
		await db.insert(invitations).values({
			id: newId("inv"),
			accountId: s.accountId,
			email: person.email,
			role: "member",
			tokenHash: crypto.randomUUID(),
			invitedBy: s.users.owner.id,
			createdAt: clock.now(),
			expiresAt: new Date(clock.now().getTime() + 86_400_000),
		});
		const keyBefore = await db.query.userDataKeys.findFirst({ where: eq(userDataKeys.userId, person.id) });
		expect(keyBefore?.wrappedKey).toBeTruthy();

		// Someone joins the account the person owns alone between the erasure's check and its write.
		const joiner = s.users.readonly.id;
		const racing = aroundFirstBatch({
			before: () => db.insert(memberships).values({ accountId, userId: joiner, role: "member", joinedAt: clock.now() }),
		});
		const outcome = await eraseUser(
			{ env, db: racing, mailer: { send: async () => undefined }, now: clock.now(), record: () => undefined },
			person.id,
			"self",
		);
		expect(outcome).toMatchObject({ kind: "refused", accounts: [{ accountId }] });
		expect((await db.query.users.findFirst({ where: eq(users.id, person.id) }))?.erasedAt).toBeNull();
		expect(await db.query.userDataKeys.findFirst({ where: eq(userDataKeys.userId, person.id) })).toEqual(keyBefore);
		expect(await db.select().from(invitations).where(eq(invitations.email, person.email))).toHaveLength(1);
		expect(await db.query.accounts.findFirst({ where: (a, { eq }) => eq(a.id, accountId) })).toBeDefined();
	});

	it("refused at the write by someone who then left, it starts again from what is there now and erases", async () => {
		const clock = new ManualClock(new Date("2026-12-01T10:00:00Z"));
		const s = await seedAccount(clock);
		const person = s.users.stranger;
		const accountId = await soloAccount(person.id, clock);
		const joiner = s.users.readonly.id;
		// The first batch meets someone who joined; they leave right after it.
		const racing = aroundFirstBatch({
			before: () => db.insert(memberships).values({ accountId, userId: joiner, role: "member", joinedAt: clock.now() }),
			after: () =>
				db.delete(memberships).where(and(eq(memberships.accountId, accountId), eq(memberships.userId, joiner))),
		});
		const recorded: string[] = [];
		const outcome = await eraseUser(
			{
				env,
				db: racing,
				mailer: { send: async () => undefined },
				now: clock.now(),
				record: (input) => void recorded.push(input.action),
			},
			person.id,
			"self",
		);
		expect(outcome).toMatchObject({ kind: "erased", accountsDeleted: 1 });
		expect((await db.query.users.findFirst({ where: eq(users.id, person.id) }))?.erasedAt).not.toBeNull();
		expect(await db.query.accounts.findFirst({ where: (a, { eq }) => eq(a.id, accountId) })).toBeUndefined();
		expect(recorded.filter((a) => a === "user.erased")).toHaveLength(1);
	});
});

describe("npm run privacy:erase (the operator's path)", () => {
	it("the script's statement queues an erasure; the cron runs it through the same lifecycle and records the outcome", async () => {
		const clock = new ManualClock(new Date("2026-12-01T10:00:00Z"));
		const t = testApp({ clock });
		const s = await seedAccount(clock);
		const cron = cronHarness(clock);
		const request = (userId: string) =>
			env.DB.prepare(
				erasureRequestSql({
					id: `era_${crypto.randomUUID().replaceAll("-", "")}`,
					userId,
					by: "ops'; DROP",
					at: clock.now().getTime(),
				}),
			).run();
		await request(s.users.member.id);
		await request(s.users.owner.id);
		await request("usr_nobodyatallhere");

		await cron.run();

		const rows = await db.select().from(erasureRequests);
		const outcomeOf = (userId: string) => rows.find((r) => r.userId === userId);
		expect(outcomeOf(s.users.member.id)).toMatchObject({ outcome: "erased", requestedBy: "opsDROP" });
		expect(outcomeOf(s.users.owner.id)?.outcome).toBe(`refused: sole owner of ${s.accountId}`);
		expect(outcomeOf("usr_nobodyatallhere")?.outcome).toBe("no-such-user");
		expect(rows.every((r) => r.doneAt !== null)).toBe(true);
		expect((await t.request("/v1/me", as(s.users.member.token))).status).toBe(401);
		const recorded = cron.audit.sent.filter((e: AuditEvent) => e.action === "user.erased");
		expect(recorded.map((e: AuditEvent) => [e.target?.id, e.metadata.by, e.actor.type])).toEqual([
			[s.users.member.id, "operator", "system"],
		]);
		expect(cron.mail.map((m) => m.to)).toContain(s.users.member.email);

		// A second run finds nothing open and erases nobody twice.
		await cron.run();
		expect(cron.audit.sent.filter((e: AuditEvent) => e.action === "user.erased")).toHaveLength(1);
	});

	it("by address: an invitee who never signed up loses their invitations and their sealed address; the row forgets it", async () => {
		const clock = new ManualClock(new Date("2026-12-01T10:00:00Z"));
		const t = testApp({ clock });
		const s = await seedAccount(clock);
		const cron = cronHarness(clock);
		const address = `asks-${crypto.randomUUID().slice(0, 8)}@example.com`;
		const audit = auditCapture();
		const invite = await t.request(
			`/v1/accounts/${s.accountId}/invitations`,
			jsonRequest("POST", { email: address, role: "member" }, { Authorization: `Bearer ${s.users.owner.token}` }),
			{ AUDIT_QUEUE: audit.queue },
		);
		expect(invite.status).toBe(201);
		const invited = audit.events().filter((e) => e.action === "member.invited");
		await archiveAndDispatch(invited, clock);
		const id = `era_${crypto.randomUUID().replaceAll("-", "")}`;
		await env.DB.prepare(erasureRequestSql({ id, email: address, by: "ops", at: clock.now().getTime() })).run();
		// And by the address of a user: that user is erased as by id.
		const byUserAddress = `era_${crypto.randomUUID().replaceAll("-", "")}`;
		await env.DB.prepare(
			erasureRequestSql({ id: byUserAddress, email: s.users.member.email, by: "ops", at: clock.now().getTime() }),
		).run();

		await cron.run();

		const rows = await db.select().from(erasureRequests);
		const subject = await inviteeSubject(env.PII_WRAPPING_KEY ?? "", address);
		expect(rows.find((r) => r.id === id)).toMatchObject({ outcome: "address-erased", email: null, userId: subject });
		expect(rows.find((r) => r.id === byUserAddress)).toMatchObject({
			outcome: "erased",
			email: null,
			userId: s.users.member.id,
		});
		expect(JSON.stringify(rows)).not.toContain(address);
		expect(await db.select().from(invitations).where(eq(invitations.email, address))).toEqual([]);
		const page = await (
			await t.request(`/v1/accounts/${s.accountId}/audit-events?action=member.invited`, as(s.users.owner.token))
		).json<Listed>();
		expect(page.data.find((e) => e.id === invited[0]?.id)?.metadata.email).toBe(ERASED);
		const recorded = cron.audit.sent.filter((e: AuditEvent) => e.action === "user.erased");
		expect(recorded.map((e: AuditEvent) => [e.target?.type, e.target?.id]).sort()).toEqual(
			[
				["invitee", subject],
				["user", s.users.member.id],
			].sort(),
		);
		expect(JSON.stringify(recorded)).not.toContain(address);
		expect((await t.request("/v1/me", as(s.users.member.token))).status).toBe(401);
	});

	it("the statement refuses what is not an id, so nothing but an id reaches SQL", () => {
		const at = Date.now();
		expect(() =>
			erasureRequestSql({ id: "era_12345678", userId: "usr_x'); DELETE FROM users; --", by: "a", at }),
		).toThrow();
		expect(() => erasureRequestSql({ id: "era_1'", userId: "usr_abcdefgh", by: "a", at })).toThrow();
		expect(erasureRequestSql({ id: "era_12345678", userId: "usr_abcdefgh", by: "o'brien", at })).toContain("'obrien'");
		for (const email of ["a'@example.com", "a@example.com'); DROP TABLE users; --", "no-at-sign", "a@b"])
			expect(() => erasureRequestSql({ id: "era_12345678", email, by: "a", at })).toThrow();
		expect(erasureRequestSql({ id: "era_12345678", email: "a.b+c@example.com", by: "a", at })).toContain(
			"'', 'a.b+c@example.com'",
		);
	});
});

describe("personal data never reaches a log", () => {
	it("an erasure, the audit pipeline around it and an export log no email, name, address, browser or key material", async () => {
		const clock = new ManualClock(new Date("2026-12-01T10:00:00Z"));
		const t = testApp({ clock });
		const s = await seedAccount(clock);
		const lines: string[] = [];
		const capture = (...args: unknown[]) => void lines.push(args.map(String).join(" "));
		const spies = [
			vi.spyOn(console, "log").mockImplementation(capture),
			vi.spyOn(console, "error").mockImplementation(capture),
			vi.spyOn(console, "warn").mockImplementation(capture),
		];
		try {
			const audit = auditCapture();
			const headers = { "CF-Connecting-IP": "203.0.113.61", "User-Agent": "PersonalBrowser/3" };
			const sampled = { AUDIT_QUEUE: audit.queue, REQUEST_LOG_SAMPLE: "1" };
			expect(
				(await t.request("/v1/me/export", as(s.users.admin.token, "GET", undefined, headers), sampled)).status,
			).toBe(200);
			expect((await t.request("/v1/me", as(s.users.owner.token, "DELETE", undefined, headers), sampled)).status).toBe(
				409,
			);
			expect((await t.request("/v1/me", as(s.users.member.token, "DELETE", undefined, headers), sampled)).status).toBe(
				204,
			);
			await archiveAndDispatch(audit.events(), clock);
			const wrapped = await db.select().from(userDataKeys);
			const logged = [...t.logs, ...lines].join("\n");
			expect(t.logs.length).toBeGreaterThan(2);
			for (const personal of [
				s.users.member.email,
				s.users.owner.email,
				s.users.admin.email,
				"203.0.113.61",
				"PersonalBrowser",
				"pii:v1:",
				...wrapped.flatMap((k) => (k.wrappedKey ? [k.wrappedKey] : [])),
			])
				expect(logged, personal).not.toContain(personal);
		} finally {
			for (const spy of spies) spy.mockRestore();
		}
	});
});
