/**
 * `GET /v1/me/export` (issue #26): everything Keyward holds about the caller,
 * checked against what the API shows, for secrets, for other people's data,
 * and over a history longer than one page.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { indexEvents } from "../../src/audit/consumer";
import type { AuditEvent } from "../../src/audit/event";
import { createDatabase } from "../../src/db";
import { startSession } from "../../src/identity/sessions";
import { ManualClock } from "../../src/platform/clock";
import { newId } from "../../src/platform/ids";
import { testApp } from "../support/app";
import { as, createKey, expectProblem } from "../support/request";
import { seedAccount } from "../support/seed";
import { archiveAndDispatch, auditCapture } from "../support/webhooks";

const db = createDatabase(env.DB);

interface ExportDoc {
	format: string;
	user: { id: string; email: string };
	memberships: unknown[];
	sessions: { id: string; ip: string | null }[];
	keys: { id: string; name: string; accountId: string }[];
	secondFactors: { totp: boolean; passkeys: unknown[]; recoveryCodesUnused: number };
	auditEvents: {
		id: string;
		action: string;
		actor: { id: string | null; ip: string | null; userAgent: string | null };
	}[];
}

describe("GET /v1/me/export", () => {
	it("matches what the API shows, holds no secret, masks the others who acted on the user, and is audited", async () => {
		const clock = new ManualClock(new Date("2026-12-01T10:00:00Z"));
		const t = testApp({ clock });
		const s = await seedAccount(clock);
		const audit = auditCapture();
		const owner = s.users.owner.token;
		const created = await createKey(t, owner, s.accountId, { name: "exported" });
		// Someone else acting on the owner: their address and browser are not the owner's data.
		const byAdmin: AuditEvent = {
			id: newId("evt"),
			time: clock.now().toISOString(),
			accountId: s.accountId,
			action: "member.role_changed",
			outcome: "success",
			actor: { type: "user", id: s.users.admin.id, ip: "198.51.100.23", userAgent: "AdminBrowser/1" },
			target: { type: "user", id: s.users.owner.id },
			requestId: null,
			metadata: {},
		};
		const ownKeyCreated = await t.request(
			`/v1/accounts/${s.accountId}/keys`,
			as(owner, "POST", { name: "second", environment: "staging", scopes: ["data:read"] }),
			{ AUDIT_QUEUE: audit.queue },
		);
		expect(ownKeyCreated.status).toBe(201);
		const secondSecret = (await ownKeyCreated.json<{ secret: string }>()).secret;
		await archiveAndDispatch([...audit.events(), byAdmin], clock);

		const res = await t.request("/v1/me/export", as(owner), { AUDIT_QUEUE: audit.queue });
		expect(res.status).toBe(200);
		expect(res.headers.get("Content-Type")).toBe("application/json; charset=utf-8");
		expect(res.headers.get("Cache-Control")).toBe("no-store");
		const text = await res.text();
		const doc = JSON.parse(text) as ExportDoc;

		const me = await (await t.request("/v1/me", as(owner))).json<{
			user: { id: string; email: string };
			memberships: unknown[];
		}>();
		expect(doc.format).toBe("keyward.personal-data-export");
		expect(doc.user).toMatchObject(me.user);
		expect(doc.memberships).toEqual(me.memberships);
		const sessions = await (await t.request("/v1/me/sessions", as(owner))).json<{ data: { id: string }[] }>();
		expect(doc.sessions.map((x) => x.id).sort()).toEqual(sessions.data.map((x) => x.id).sort());
		const listed = await (await t.request(`/v1/accounts/${s.accountId}/keys`, as(owner))).json<{
			data: { id: string; createdBy: string }[];
		}>();
		expect(doc.keys.map((k) => k.id).sort()).toEqual(
			listed.data
				.filter((k) => k.createdBy === s.users.owner.id)
				.map((k) => k.id)
				.sort(),
		);
		expect(doc.keys.map((k) => k.name)).toContain("exported");

		for (const secret of [created.secret, secondSecret, owner, s.users.admin.token]) expect(text).not.toContain(secret);
		expect(text).not.toMatch(/keyHash|key_hash|secretSealed|totpSecret|passwordHash|codeHash|tokenHash|revealSealed/);

		const fromAdmin = doc.auditEvents.find((e) => e.id === byAdmin.id);
		expect(fromAdmin?.actor).toEqual({ type: "user", id: s.users.admin.id, ip: "198.51.100.x", userAgent: null });
		expect(doc.auditEvents.some((e) => e.action === "key.created" && e.actor.id === s.users.owner.id)).toBe(true);
		expect(text).not.toContain("198.51.100.23");
		expect(text).not.toContain("AdminBrowser");

		const exported = audit.events().filter((e) => e.action === "auth.data_exported");
		expect(exported.map((e) => e.actor.id)).toEqual([s.users.owner.id]);
	});

	it("needs a recent proof of identity", async () => {
		const clock = new ManualClock(new Date("2026-12-01T10:00:00Z"));
		const t = testApp({ clock });
		const s = await seedAccount(clock);
		const stale = await startSession(
			env,
			db,
			s.users.member.id,
			{ ip: null, userAgent: "old", country: null },
			new Date(clock.now().getTime() - 11 * 60_000),
		);
		const problem = await expectProblem(await t.request("/v1/me/export", as(stale.token)), 403);
		expect(problem.type).toBe("https://keyward.dev/problems/reauthentication-required");
		expect(await (await t.request("/v1/me/export")).status).toBe(401);
	});

	it("streams a history longer than one page, oldest first, as one valid document", async () => {
		const clock = new ManualClock(new Date("2026-12-01T10:00:00Z"));
		const t = testApp({ clock });
		const s = await seedAccount(clock);
		const base = clock.now().getTime() - 3_600_000;
		const events: AuditEvent[] = Array.from({ length: 1234 }, (_, i) => ({
			id: newId("evt"),
			time: new Date(base + i * 1000).toISOString(),
			accountId: s.accountId,
			action: "auth.login.succeeded",
			outcome: "success",
			actor: { type: "user", id: s.users.readonly.id, ip: "203.0.113.9", userAgent: "ReadonlyBrowser" },
			target: null,
			requestId: null,
			metadata: { n: i },
		}));
		await indexEvents(db, events);
		const res = await t.request("/v1/me/export", as(s.users.readonly.token));
		const doc = JSON.parse(await res.text()) as ExportDoc;
		const mine = doc.auditEvents.filter((e) => e.action === "auth.login.succeeded");
		expect(mine.map((e) => e.id)).toEqual(events.map((e) => e.id));
		// Their own address and browser are theirs: whole.
		expect(mine[0]?.actor).toMatchObject({ ip: "203.0.113.9", userAgent: "ReadonlyBrowser" });
	});
});
