import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDatabase } from "../../src/db";
import { apiKeys, serviceAccounts } from "../../src/db/schema";
import { startSession } from "../../src/identity/sessions";
import { ManualClock } from "../../src/platform/clock";
import { testApp } from "../support/app";
import { as, createKey, expectProblem, verifyCode } from "../support/request";
import { type SeededAccount, seedAccount, seedKey } from "../support/seed";

/**
 * Service accounts (issue #23): keys that outlive the people who made them, capped by the service
 * account's role, never by a caller's wish; removed with their service account.
 */
const clock = new ManualClock("2026-11-12T09:00:00Z");
const t = testApp({ clock });
const db = createDatabase(env.DB);

const base = (s: SeededAccount) => `/v1/accounts/${s.accountId}/service-accounts`;
const make = async (s: SeededAccount, token: string, body: Record<string, unknown>) =>
	t.request(base(s), as(token, "POST", { name: "billing-worker", ...body }));
const made = async (s: SeededAccount, role: "admin" | "member" | "readonly", token = s.users.owner.token) => {
	const res = await make(s, token, { role });
	expect(res.status).toBe(201);
	return (await res.json<{ serviceAccount: { id: string; role: string } }>()).serviceAccount;
};
const keyFor = (
	s: SeededAccount,
	serviceAccountId: string,
	body: Record<string, unknown> = {},
	token = s.users.admin.token,
) =>
	t.request(
		`/v1/accounts/${s.accountId}/keys`,
		as(token, "POST", {
			name: "svc key",
			environment: "staging",
			scopes: ["data:read"],
			owner: { serviceAccountId },
			...body,
		}),
	);

describe("service accounts", () => {
	it("owners and admins make them, never above their own role or as owner; they are listed as non-human members", async () => {
		const s = await seedAccount(clock);
		const svc = await made(s, "admin", s.users.admin.token);
		expect(svc.role).toBe("admin");
		expect((await make(s, s.users.member.token, { role: "readonly" })).status).toBe(403);
		expect((await make(s, s.users.readonly.token, { role: "readonly" })).status).toBe(403);
		const asOwner = await make(s, s.users.owner.token, { role: "owner" });
		expect((await expectProblem(asOwner, 400)).errors?.[0]?.path).toBe("role");
		const members = await (await t.request(`/v1/accounts/${s.accountId}/members`, as(s.users.readonly.token))).json<{
			data: { userId: string; type: string; email: string | null; strongestFactor: string }[];
		}>();
		const listed = members.data.find((m) => m.userId === svc.id);
		expect(listed).toMatchObject({ type: "service_account", email: null, strongestFactor: "none" });
		expect(members.data.filter((m) => m.type === "person").every((m) => m.email !== null)).toBe(true);
	});

	it("no API key can manage them, whatever its scopes", async () => {
		const s = await seedAccount(clock);
		const res = await make(s, s.apiKeys.withScope, { role: "readonly" });
		expect(res.status).toBe(403);
		const del = await t.request(`${base(s)}/${s.serviceAccountId}`, as(s.apiKeys.withScope, "DELETE"));
		expect(del.status).toBe(403);
	});

	it("a stale session must prove itself again to make, change or delete one", async () => {
		const local = new ManualClock("2026-11-12T09:00:00Z");
		const app = testApp({ clock: local });
		const s = await seedAccount(local);
		local.advance(11 * 60_000);
		const res = await app.request(base(s), as(s.users.owner.token, "POST", { name: "x", role: "member" }));
		await expectProblem(res, 403, "reauthentication-required");
		const del = await app.request(`${base(s)}/${s.serviceAccountId}`, as(s.users.owner.token, "DELETE"));
		await expectProblem(del, 403, "reauthentication-required");
	});

	it("a key for a service account is capped by the service account's role, not its creator's", async () => {
		const s = await seedAccount(clock);
		const readonly = await made(s, "readonly");
		const refused = await keyFor(s, readonly.id, { scopes: ["keys:write"] });
		expect((await expectProblem(refused, 403)).errors?.[0]?.path).toBe("scopes.0");
		const ok = await keyFor(s, readonly.id, { scopes: ["audit:read", "data:read"] });
		expect(ok.status).toBe(201);
		const { secret, key } = await ok.json<{ secret: string; key: { owner: unknown; createdBy: string } }>();
		expect(key.owner).toEqual({ type: "service_account", id: readonly.id });
		expect(key.createdBy).toBe(s.users.admin.id);
		// It acts as the service account: audit is readable (readonly holds audit:read), keys are not made.
		expect((await t.request(`/v1/accounts/${s.accountId}/audit-events`, as(secret))).status).toBe(200);
		// Demoting the service account narrows its keys at the next use.
		const svcPath = `${base(s)}/${readonly.id}`;
		const member = await made(s, "member");
		const memberKey = await (await keyFor(s, member.id, { scopes: ["keys:read", "keys:write"] })).json<{
			secret: string;
		}>();
		expect((await t.request(`/v1/accounts/${s.accountId}/keys`, as(memberKey.secret))).status).toBe(200);
		expect(
			(await t.request(`${base(s)}/${member.id}`, as(s.users.owner.token, "PATCH", { role: "readonly" }))).status,
		).toBe(200);
		const write = await t.request(
			`/v1/accounts/${s.accountId}/keys`,
			as(memberKey.secret, "POST", { name: "x", environment: "staging", scopes: ["data:read"] }),
		);
		expect(write.status).toBe(403);
		expect((await t.request(svcPath, as(s.users.readonly.token))).status).toBe(200);
	});

	it("only admins and the owner, with a session, make a service account's keys; a member or another key cannot", async () => {
		const s = await seedAccount(clock);
		const svc = await made(s, "member");
		expect((await keyFor(s, svc.id, {}, s.users.member.token)).status).toBe(403);
		const adminKey = (
			await seedKey(s.accountId, s.users.admin.id, ["keys:write", "keys:read", "data:read"], clock.now())
		).secret;
		const byKey = await keyFor(s, svc.id, { scopes: ["data:read"] }, adminKey);
		expect(byKey.status).toBe(403);
		// The service account's own key makes keys for itself, inside itself, and for nobody else.
		const own = await (await keyFor(s, svc.id, { scopes: ["keys:write", "keys:read", "data:read"] })).json<{
			secret: string;
		}>();
		const child = await t.request(
			`/v1/accounts/${s.accountId}/keys`,
			as(own.secret, "POST", { name: "child", environment: "staging", scopes: ["data:read"] }),
		);
		expect(child.status).toBe(201);
		expect((await child.json<{ key: { owner: unknown } }>()).key.owner).toEqual({
			type: "service_account",
			id: svc.id,
		});
		const other = await made(s, "member");
		expect((await keyFor(s, other.id, {}, own.secret)).status).toBe(403);
	});

	it("offboarding: removing the member who made a service account's key leaves it VALID; their own keys are revoked", async () => {
		const s = await seedAccount(clock);
		const svc = await made(s, "member");
		const service = await (await keyFor(s, svc.id)).json<{ secret: string }>();
		const personal = await createKey(t, s.users.admin.token, s.accountId);
		const removed = await t.request(
			`/v1/accounts/${s.accountId}/members/${s.users.admin.id}`,
			as(s.users.owner.token, "DELETE"),
		);
		expect(removed.status).toBe(204);
		expect(await verifyCode(t, personal.secret)).toBe("REVOKED");
		expect(await verifyCode(t, service.secret)).toBe("VALID");
	});

	it("deleting a service account revokes its keys at the next verify; a second delete is 404", async () => {
		const s = await seedAccount(clock);
		const svc = await made(s, "member");
		const keys = await Promise.all([keyFor(s, svc.id), keyFor(s, svc.id)]);
		const secrets = await Promise.all(keys.map(async (k) => (await k.json<{ secret: string }>()).secret));
		const del = await t.request(`${base(s)}/${svc.id}`, as(s.users.admin.token, "DELETE"));
		expect(del.status).toBe(204);
		for (const secret of secrets) expect(await verifyCode(t, secret)).toBe("REVOKED");
		const rows = await db.select().from(apiKeys).where(eq(apiKeys.serviceAccountId, svc.id));
		expect(rows.every((r) => r.revokedReason === "service_account_deleted")).toBe(true);
		expect((await t.request(`${base(s)}/${svc.id}`, as(s.users.admin.token, "DELETE"))).status).toBe(404);
		expect(await db.select().from(serviceAccounts).where(eq(serviceAccounts.id, svc.id))).toEqual([]);
	});

	it("a burst of key creations racing the service account's deletion leaves no live key of it", async () => {
		for (let run = 0; run < 10; run++) {
			const s = await seedAccount(clock);
			const svc = await made(s, "member");
			await Promise.all([
				...Array.from({ length: 6 }, () => keyFor(s, svc.id)),
				t.request(`${base(s)}/${svc.id}`, as(s.users.owner.token, "DELETE")),
				...Array.from({ length: 6 }, () => keyFor(s, svc.id)),
			]);
			// A creation that read the service account before the delete and wrote after it is undone.
			const live = (await db.select().from(apiKeys).where(eq(apiKeys.serviceAccountId, svc.id))).filter(
				(k) => k.revokedAt === null,
			);
			const stillThere = await db.select().from(serviceAccounts).where(eq(serviceAccounts.id, svc.id));
			if (stillThere.length === 0) expect(live).toEqual([]);
		}
	});

	it("rotations racing the service account's deletion leave no live key of it", async () => {
		for (let run = 0; run < 10; run++) {
			const s = await seedAccount(clock);
			const svc = await made(s, "member");
			const keys = await Promise.all(
				Array.from({ length: 3 }, async () => (await (await keyFor(s, svc.id)).json<{ key: { id: string } }>()).key.id),
			);
			await Promise.all([
				...keys.map((id) =>
					t.request(`/v1/accounts/${s.accountId}/keys/${id}/rotate`, as(s.users.admin.token, "POST", {})),
				),
				t.request(`${base(s)}/${svc.id}`, as(s.users.owner.token, "DELETE")),
			]);
			const live = (await db.select().from(apiKeys).where(eq(apiKeys.serviceAccountId, svc.id))).filter(
				(k) => k.revokedAt === null,
			);
			expect(live).toEqual([]);
		}
	});

	it("the security report lists service accounts whose keys went unused for 90 days, with their keys' ages", async () => {
		const local = new ManualClock("2026-06-01T00:00:00Z");
		const app = testApp({ clock: local });
		const s = await seedAccount(local);
		const idle = await app.request(base(s), as(s.users.owner.token, "POST", { name: "idle", role: "member" }));
		const idleId = (await idle.json<{ serviceAccount: { id: string } }>()).serviceAccount.id;
		local.advance(100 * 86_400_000);
		const fresh = await startSession(
			env,
			db,
			s.users.owner.id,
			{ ip: null, userAgent: "t", country: null },
			local.now(),
		);
		const report = await (await app.request(`/v1/accounts/${s.accountId}/security-report`, as(fresh.token))).json<{
			serviceAccounts: { id: string; idle: boolean }[];
			checks: { id: string; items: string[] }[];
		}>();
		expect(report.serviceAccounts.find((x) => x.id === idleId)?.idle).toBe(true);
		expect(report.checks.find((c) => c.id === "service_accounts_idle")?.items).toContain(idleId);
	});
});
