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
		expect(maskEmail("not-an-email")).toBe("…");
		expect(maskIp("203.0.113.7")).toBe("203.0.113.x");
		expect(maskIp("2001:db8:85a3:8d3:1319:8a2e:370:7348")).toBe("2001:db8:85a3::x");
		expect(maskIp("::1")).toBe("1::x");
		expect(
			maskPersonalData({
				actor: { id: "usr_x", ip: "198.51.100.23", userAgent: "curl" },
				metadata: { email: "bob@example.org", list: ["x carol@example.net y"], count: 3, ipAllowlist: ["10.0.0.0/8"] },
			}),
		).toEqual({
			actor: { id: "usr_x", ip: "198.51.100.x", userAgent: "curl" },
			metadata: { email: "b…b@example.org", list: ["x c…l@example.net y"], count: 3, ipAllowlist: ["10.0.0.0/8"] },
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
