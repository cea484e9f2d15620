/** Masking by role (issue #26): the masks themselves, and the record an unmasked read leaves. */
import { describe, expect, it } from "vitest";
import { maskEmail, maskIp, maskPersonalData } from "../../src/audit/masking";
import { ManualClock } from "../../src/platform/clock";
import { testApp } from "../support/app";
import { seedAccount } from "../support/seed";
import { auditCapture } from "../support/webhooks";

describe("masks", () => {
	it("keeps the first and last letter of an email's local part and its domain, and an address's network", () => {
		expect(maskEmail("alice@example.com")).toBe("a…e@example.com");
		expect(maskEmail("a@example.com")).toBe("a…@example.com");
		// Short local parts keep only their first letter (the attacker round: `jo@` was shown as `j…o@`).
		expect(maskEmail("jo@d.example")).toBe("j…@d.example");
		expect(maskEmail("bob@d.example")).toBe("b…@d.example");
		expect(maskEmail("not-an-email")).toBe("…");
		expect(maskIp("203.0.113.7")).toBe("203.0.113.x");
		expect(maskIp("2001:db8:85a3:8d3:1319:8a2e:370:7348")).toBe("2001:db8:85a3::x");
		// Short forms are expanded before truncating; an IPv4 address in IPv6 clothing is masked as IPv4.
		expect(maskIp("::1")).toBe("0:0:0::x");
		expect(maskIp("2001:db8::beef")).toBe("2001:db8:0::x");
		expect(maskIp("2001:db8::1:2:3:4")).toBe("2001:db8:0::x");
		expect(maskIp("2001:0db8:0000::1")).toBe("2001:db8:0::x");
		expect(maskIp("::ffff:198.51.100.77")).toBe("198.51.100.x");
		expect(maskIp("not:an:address")).toBe("x");
		expect(maskIp("1.2.3")).toBe("x");
		expect(
			maskPersonalData({
				actor: { id: "usr_x", ip: "198.51.100.23", userAgent: "curl" },
				metadata: {
					email: "bobby@example.org",
					list: ["x carol@example.net y"],
					count: 3,
					ipAllowlist: ["10.0.0.0/8"],
				},
			}),
		).toEqual({
			actor: { id: "usr_x", ip: "198.51.100.x", userAgent: "curl" },
			metadata: { email: "b…y@example.org", list: ["x c…l@example.net y"], count: 3, ipAllowlist: ["10.0.0.0/8"] },
		});
	});
});

describe("an unmasked read is recorded", () => {
	it("records audit.read for an owner's or admin's read of the audit log and the member list, and nothing for a readonly member's", async () => {
		const clock = new ManualClock(new Date("2026-12-01T10:00:00Z"));
		const t = testApp({ clock });
		const s = await seedAccount(clock);
		const audit = auditCapture();
		const read = (token: string, path: string) =>
			t.request(
				`/v1/accounts/${s.accountId}${path}`,
				{ headers: { Authorization: `Bearer ${token}` } },
				{
					AUDIT_QUEUE: audit.queue,
				},
			);
		for (const path of ["/audit-events", "/members"]) {
			expect((await read(s.users.admin.token, path)).status).toBe(200);
			expect((await read(s.users.readonly.token, path)).status).toBe(200);
		}
		const reads = audit.events().filter((e) => e.action === "audit.read");
		expect(reads.map((e) => [e.actor.id, e.metadata.what])).toEqual([
			[s.users.admin.id, "audit-events"],
			[s.users.admin.id, "members"],
		]);
		expect(reads.every((e) => e.accountId === s.accountId)).toBe(true);
	});
});

describe("the attacker round on masking and export", () => {
	it("a member or readonly member sees pending invitees' addresses masked; an owner's read is recorded", async () => {
		const clock = new ManualClock(new Date("2026-12-01T10:00:00Z"));
		const t = testApp({ clock });
		const s = await seedAccount(clock);
		const audit = auditCapture();
		const list = async (token: string) =>
			(
				await (
					await t.request(
						`/v1/accounts/${s.accountId}/invitations`,
						{ headers: { Authorization: `Bearer ${token}` } },
						{
							AUDIT_QUEUE: audit.queue,
						},
					)
				).json<{ data: { email: string }[] }>()
			).data.map((i) => i.email);
		const whole = await list(s.users.owner.token);
		expect(whole.length).toBeGreaterThan(0);
		for (const token of [s.users.member.token, s.users.readonly.token]) {
			const masked = await list(token);
			expect(masked).toHaveLength(whole.length);
			for (const email of whole) expect(masked).not.toContain(email);
			expect(masked.every((e) => /^.…(.)?@/.test(e))).toBe(true);
		}
		expect(
			audit
				.events()
				.filter((e) => e.action === "audit.read")
				.map((e) => e.metadata.what),
		).toEqual(["invitations"]);
	});

	it("an export shows invitations to the address only once the address is proven", async () => {
		const { createUserWithAccount } = await import("../../src/identity/users");
		const { startSession } = await import("../../src/identity/sessions");
		const { createDatabase } = await import("../../src/db");
		const { invitations } = await import("../../src/db/schema");
		const { eq } = await import("drizzle-orm");
		const { env } = await import("cloudflare:test");
		const db = createDatabase(env.DB);
		const clock = new ManualClock(new Date("2026-12-01T10:00:00Z"));
		const t = testApp({ clock });
		const s = await seedAccount(clock);
		const invited = await db.query.invitations.findFirst({ where: eq(invitations.id, s.invitationId) });
		const email = invited?.email ?? "";
		// Someone signs up with the invitee's address and never proves it.
		const squatter = await createUserWithAccount(db, { email, name: "Squatter", passwordHash: "x", now: clock.now() });
		const session = await startSession(
			env,
			db,
			squatter.user.id,
			{ ip: null, userAgent: "x", country: null },
			clock.now(),
		);
		const doc = await (
			await t.request("/v1/me/export", { headers: { Authorization: `Bearer ${session.token}` } })
		).json<{
			invitations: { received: unknown[] };
		}>();
		expect(doc.invitations.received).toEqual([]);
	});
});
