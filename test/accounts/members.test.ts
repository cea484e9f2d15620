import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../src/platform/clock";
import { testApp } from "../support/app";
import { as, expectProblem } from "../support/request";
import { seedAccount } from "../support/seed";
import { auditCapture } from "../support/webhooks";

const clock = new ManualClock("2026-07-01T00:00:00Z");
const t = testApp({ clock });

describe("accounts", () => {
	it("creates an account owned by the caller and validates settings ranges, naming each bad field", async () => {
		const s = await seedAccount(clock);
		const created = await t.request("/v1/accounts", as(s.users.stranger.token, "POST", { name: "Second" }));
		expect(created.status).toBe(201);
		const { account } = await created.json<{ account: { id: string; settings: Record<string, unknown> } }>();
		expect(account.settings).toMatchObject({
			requireMfa: false,
			sessionIdleMinutes: 30,
			keyMaxLifetimeDays: 90,
			ipAllowlist: [],
		});
		const bad = await t.request(
			`/v1/accounts/${account.id}`,
			as(s.users.stranger.token, "PATCH", {
				settings: {
					sessionIdleMinutes: 4,
					sessionMaxAgeHours: 721,
					keyInactivityDays: 6,
					rotationGraceHours: 169,
					ipAllowlist: ["10.0.0.0/33"],
					bogus: 1,
				},
			}),
		);
		const problem = await expectProblem(bad, 400, "validation");
		expect(problem.errors?.map((e) => e.path).sort()).toEqual(
			[
				"settings.bogus",
				"settings.ipAllowlist.0",
				"settings.keyInactivityDays",
				"settings.rotationGraceHours",
				"settings.sessionIdleMinutes",
				"settings.sessionMaxAgeHours",
			].sort(),
		);
		const ok = await t.request(
			`/v1/accounts/${account.id}`,
			as(s.users.stranger.token, "PATCH", { settings: { sessionIdleMinutes: 15 } }),
		);
		expect(
			(await ok.json<{ account: { settings: { sessionIdleMinutes: number; keyMaxLifetimeDays: number } } }>()).account
				.settings,
		).toMatchObject({
			sessionIdleMinutes: 15,
			keyMaxLifetimeDays: 90,
		});
	});

	it("deleting an account ends every member's access at once", async () => {
		const s = await seedAccount(clock);
		expect((await t.request(`/v1/accounts/${s.accountId}`, as(s.users.owner.token, "DELETE"))).status).toBe(204);
		for (const role of ["owner", "admin", "member"] as const) {
			await expectProblem(await t.request(`/v1/accounts/${s.accountId}`, as(s.users[role].token)), 404);
		}
	});

	it("a burst of deletions deletes once and records it once", async () => {
		const s = await seedAccount(clock);
		const audit = auditCapture();
		const answers = await Promise.all(
			Array.from({ length: 6 }, () =>
				t.request(`/v1/accounts/${s.accountId}`, as(s.users.owner.token, "DELETE"), { AUDIT_QUEUE: audit.queue }),
			),
		);
		expect(answers.every((r) => r.status === 204 || r.status === 404)).toBe(true);
		expect(answers.some((r) => r.status === 204)).toBe(true);
		expect(audit.events().filter((e) => e.action === "account.deleted")).toHaveLength(1);
	});
});

describe("members and roles", () => {
	it("lists members with role, MFA status and times", async () => {
		const s = await seedAccount(clock);
		const { data } = await (await t.request(`/v1/accounts/${s.accountId}/members`, as(s.users.readonly.token))).json<{
			data: {
				userId: string;
				type: string;
				role: string;
				mfaEnabled: boolean;
				joinedAt: string;
				lastActiveAt: string | null;
			}[];
		}>();
		const people = data.filter((m) => m.type === "person");
		expect(people.map((m) => m.role).sort()).toEqual(["admin", "member", "owner", "readonly", "readonly"]);
		// The seeded service account is listed too, as non-human.
		expect(data.filter((m) => m.type === "service_account").map((m) => m.userId)).toEqual([s.serviceAccountId]);
		expect(data.every((m) => m.mfaEnabled === false && m.joinedAt === "2026-07-01T00:00:00.000Z")).toBe(true);
	});

	it("enforces the role rules: no owner grants, nobody above their own role, admins never touch the owner", async () => {
		const s = await seedAccount(clock);
		const path = (id: string) => `/v1/accounts/${s.accountId}/members/${id}`;
		await expectProblem(
			await t.request(path(s.users.member.id), as(s.users.admin.token, "PATCH", { role: "owner" })),
			400,
		);
		await expectProblem(
			await t.request(path(s.users.owner.id), as(s.users.admin.token, "PATCH", { role: "member" })),
			403,
		);
		await expectProblem(
			await t.request(path(s.users.owner.id), as(s.users.owner.token, "PATCH", { role: "admin" })),
			409,
		);
		await expectProblem(await t.request(path(s.users.owner.id), as(s.users.admin.token, "DELETE")), 403);
		await expectProblem(await t.request(path(s.users.owner.id), as(s.users.owner.token, "DELETE")), 409);
		const promoted = await t.request(path(s.users.member.id), as(s.users.admin.token, "PATCH", { role: "admin" }));
		expect(promoted.status).toBe(200);
		expect((await promoted.json<{ member: { role: string } }>()).member.role).toBe("admin");
	});

	it("a removed member is refused on their very next request", async () => {
		const s = await seedAccount(clock);
		expect((await t.request(`/v1/accounts/${s.accountId}`, as(s.users.member.token))).status).toBe(200);
		expect(
			(await t.request(`/v1/accounts/${s.accountId}/members/${s.users.member.id}`, as(s.users.admin.token, "DELETE")))
				.status,
		).toBe(204);
		await expectProblem(await t.request(`/v1/accounts/${s.accountId}`, as(s.users.member.token)), 404);
	});

	it("transfers ownership; the old owner becomes an admin", async () => {
		const s = await seedAccount(clock);
		const res = await t.request(
			`/v1/accounts/${s.accountId}/transfer-ownership`,
			as(s.users.owner.token, "POST", { userId: s.users.admin.id }),
		);
		expect(res.status).toBe(200);
		const { data } = await (await t.request(`/v1/accounts/${s.accountId}/members`, as(s.users.admin.token))).json<{
			data: { userId: string; role: string }[];
		}>();
		expect(data.find((m) => m.userId === s.users.admin.id)?.role).toBe("owner");
		expect(data.find((m) => m.userId === s.users.owner.id)?.role).toBe("admin");
		expect(data.filter((m) => m.role === "owner")).toHaveLength(1);
		await expectProblem(await t.request(`/v1/accounts/${s.accountId}`, as(s.users.owner.token, "DELETE")), 403);
		await expectProblem(
			await t.request(
				`/v1/accounts/${s.accountId}/transfer-ownership`,
				as(s.users.admin.token, "POST", { userId: s.users.stranger.id }),
			),
			404,
		);
	});
});

describe("cross-tenant isolation", () => {
	it("another tenant's ids are 404 under your own account, and your account is 404 to them", async () => {
		const a = await seedAccount(clock);
		const b = await seedAccount(clock);
		const bOwner = b.users.owner.token;
		await expectProblem(
			await t.request(`/v1/accounts/${b.accountId}/invitations/${a.invitationId}`, as(bOwner, "DELETE")),
			404,
		);
		await expectProblem(
			await t.request(
				`/v1/accounts/${b.accountId}/members/${a.users.member.id}`,
				as(bOwner, "PATCH", { role: "admin" }),
			),
			404,
		);
		await expectProblem(
			await t.request(`/v1/accounts/${b.accountId}/members/${a.users.member.id}`, as(bOwner, "DELETE")),
			404,
		);
		for (const path of ["", "/members", "/invitations", "/audit-events"]) {
			const res = await t.request(`/v1/accounts/${a.accountId}${path}`, as(bOwner));
			const body = await expectProblem(res, 404);
			expect(JSON.stringify(body)).not.toContain(a.users.member.email);
		}
		// A's invitation is still there for A.
		const list = await (await t.request(`/v1/accounts/${a.accountId}/invitations`, as(a.users.owner.token))).json<{
			data: { id: string }[];
		}>();
		expect(list.data.map((i) => i.id)).toContain(a.invitationId);
	});
});

describe("account policies", () => {
	it("requireMfa: members without MFA reach only /v1/me", async () => {
		const s = await seedAccount(clock, { requireMfa: true });
		const res = await t.request(`/v1/accounts/${s.accountId}`, as(s.users.member.token));
		const body = await expectProblem(res, 403, "forbidden");
		expect(body.detail).toContain("two-factor");
		expect((await t.request("/v1/me", as(s.users.member.token))).status).toBe(200);
	});

	it("ipAllowlist: other addresses are 403, IPv4 and IPv6 ranges alike", async () => {
		const s = await seedAccount(clock, { ipAllowlist: ["203.0.113.0/24", "2001:db8:abcd::/48"] });
		const from = (ip: string) =>
			t.request(`/v1/accounts/${s.accountId}`, as(s.users.member.token, "GET", undefined, { "CF-Connecting-IP": ip }));
		expect((await from("203.0.113.9")).status).toBe(200);
		expect((await from("2001:db8:abcd:12::1")).status).toBe(200);
		await expectProblem(await from("198.51.100.1"), 403);
		await expectProblem(await from("2001:db8:abce::1"), 403);
		await expectProblem(await t.request(`/v1/accounts/${s.accountId}`, as(s.users.member.token)), 403);
	});
});

describe("races and leftovers", () => {
	it("concurrent ownership transfers leave exactly one owner", async () => {
		const s = await seedAccount(clock);
		const results = await Promise.all(
			[s.users.admin.id, s.users.member.id, s.users.readonly.id].map((userId) =>
				t.request(`/v1/accounts/${s.accountId}/transfer-ownership`, as(s.users.owner.token, "POST", { userId })),
			),
		);
		expect(results.filter((r) => r.status === 200)).toHaveLength(1);
		expect(results.filter((r) => r.status === 409 || r.status === 403).length).toBe(2);
		const owners = await env.DB.prepare("SELECT user_id FROM memberships WHERE account_id = ? AND role = 'owner'")
			.bind(s.accountId)
			.all();
		expect(owners.results).toHaveLength(1);
	});

	it("removing or demoting an admin withdraws the invitations they sent", async () => {
		const s = await seedAccount(clock);
		const invite = (email: string) =>
			t.request(`/v1/accounts/${s.accountId}/invitations`, as(s.users.admin.token, "POST", { email, role: "admin" }));
		expect((await invite("one@example.com")).status).toBe(201);
		await t.request(
			`/v1/accounts/${s.accountId}/members/${s.users.admin.id}`,
			as(s.users.owner.token, "PATCH", { role: "member" }),
		);
		const pending = await (await t.request(`/v1/accounts/${s.accountId}/invitations`, as(s.users.owner.token))).json<{
			data: { email: string }[];
		}>();
		expect(pending.data.map((i) => i.email)).not.toContain("one@example.com");
	});

	it("requireMfa applies to the API keys of members without MFA too", async () => {
		const s = await seedAccount(clock, { requireMfa: true });
		const res = await t.request(`/v1/accounts/${s.accountId}`, as(s.apiKeys.withScope));
		await expectProblem(res, 403, "forbidden");
	});
});

describe("list conventions", () => {
	it("members page with limit and cursor", async () => {
		const s = await seedAccount(clock);
		const first = await (await t.request(`/v1/accounts/${s.accountId}/members?limit=2`, as(s.users.owner.token))).json<{
			data: { userId: string }[];
			nextCursor: string | null;
		}>();
		expect(first.data).toHaveLength(2);
		const rest = await (
			await t.request(
				`/v1/accounts/${s.accountId}/members?limit=100&cursor=${first.nextCursor}`,
				as(s.users.owner.token),
			)
		).json<{ data: { userId: string }[]; nextCursor: string | null }>();
		expect(rest.nextCursor).toBeNull();
		// Five people and the seeded service account.
		expect(new Set([...first.data, ...rest.data].map((m) => m.userId)).size).toBe(6);
		await expectProblem(
			await t.request(`/v1/accounts/${s.accountId}/members?cursor=bogus`, as(s.users.owner.token)),
			400,
		);
	});
});
