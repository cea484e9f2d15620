import { env } from "cloudflare:test";
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDatabase } from "../../src/db";
import { accounts, memberships } from "../../src/db/schema";
import { SESSION_COOKIE } from "../../src/identity/sessions";
import { ManualClock } from "../../src/platform/clock";
import { BASE, testApp } from "../support/app";
import { seedAccount } from "../support/seed";

const clock = new ManualClock("2026-10-01T00:00:00Z");
const t = testApp({ clock });
const db = createDatabase(env.DB);

const asVisitor = (token: string, init: RequestInit = {}): RequestInit => ({
	...init,
	headers: {
		Cookie: `${SESSION_COOKIE}=${token}`,
		Origin: new URL(BASE).origin,
		"Content-Type": "application/x-www-form-urlencoded",
	},
});

describe("console pages", () => {
	it("an id dressed as a path (..%2F..%2F<account>) never reaches another account's routes", async () => {
		const a = await seedAccount(clock);
		const b = await seedAccount(clock);
		// The visitor owns A and administers B, so a path that escaped into B would act there.
		await db
			.insert(memberships)
			.values({ accountId: b.accountId, userId: a.users.owner.id, role: "admin", joinedAt: clock.now() });
		const tries = [
			`/console/a/${a.accountId}/members/..%2F..%2F${b.accountId}/remove`,
			`/console/a/${a.accountId}/members/..%2F..%2F${b.accountId}%2Fmembers%2F${b.users.member.id}/remove`,
			`/console/a/${a.accountId}/members/..%2F..%2F${b.accountId}%2Fmembers%2F${b.users.member.id}/role`,
			`/console/a/${a.accountId}/keys/..%2F..%2F${b.accountId}%2Fkeys%2F${b.keyIds.owner}/revoke`,
			`/console/a/${a.accountId}/invitations/..%2F..%2F${b.accountId}%2Finvitations%2F${b.invitationId}/cancel`,
			`/console/a/${a.accountId}/members/%2e%2e/remove`,
		];
		for (const path of tries) {
			const res = await t.request(
				path,
				asVisitor(a.users.owner.token, { method: "POST", body: "role=readonly&reason=x" }),
			);
			expect(res.status, path).toBeLessThan(500);
		}
		expect(await db.query.accounts.findFirst({ where: eq(accounts.id, b.accountId) })).toBeDefined();
		const member = await db.query.memberships.findFirst({
			where: and(eq(memberships.accountId, b.accountId), eq(memberships.userId, b.users.member.id)),
		});
		expect(member?.role).toBe("member");
		const keys = await t.request(`/v1/accounts/${b.accountId}/keys/${b.keyIds.owner}`, {
			headers: { Authorization: `Bearer ${b.users.owner.token}` },
		});
		expect((await keys.json<{ key: { status: string } }>()).key.status).toBe("active");
	});

	it("the audit page answers a bad date with the page and the field's message, not a 500", async () => {
		const a = await seedAccount(clock);
		const res = await t.request(
			`/console/a/${a.accountId}/audit?since=garbage&until=2026-13-45T99:99`,
			asVisitor(a.users.owner.token),
		);
		expect(res.status).toBeLessThan(500);
		const html = await res.text();
		expect(html).toContain("Audit log");
		expect(html).toMatch(/since/i);
		expect(html).not.toMatch(/RangeError|Invalid time value/);
	});
});
