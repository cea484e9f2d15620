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

describe("console entry (issue #21)", () => {
	it("serves its pages in standards mode: <!doctype html> first", async () => {
		const res = await t.request("/console/sign-in");
		expect(res.status).toBe(200);
		expect((await res.text()).slice(0, 15).toLowerCase()).toBe("<!doctype html>");
	});

	it("`/` and `/console/` lead to `/console`", async () => {
		for (const path of ["/", "/console/"]) {
			const res = await t.request(path, { redirect: "manual" });
			expect(res.status, path).toBeGreaterThanOrEqual(301);
			expect(res.status, path).toBeLessThanOrEqual(302);
			expect(new URL(res.headers.get("location") ?? "", BASE).pathname).toBe("/console");
		}
	});

	it("`/console` opens the account last used while its visitor is still a member there", async () => {
		const a = await seedAccount(clock);
		const b = await seedAccount(clock);
		await db
			.insert(memberships)
			.values({ accountId: b.accountId, userId: a.users.owner.id, role: "admin", joinedAt: clock.now() });
		const token = a.users.owner.token;
		const landing = async (cookie = "") => {
			const init = asVisitor(token);
			const headers = new Headers(init.headers);
			if (cookie) headers.set("Cookie", `${headers.get("Cookie")}; ${cookie}`);
			const res = await t.request("/console", { ...init, headers, redirect: "manual" });
			return res.headers.get("location");
		};
		expect(await landing()).toBe(`/console/a/${a.accountId}/keys`);
		// Opening a page of B remembers it.
		const opened = await t.request(`/console/a/${b.accountId}/keys`, asVisitor(token));
		expect(opened.status).toBe(200);
		const remembered = /keyward_last_account=([^;]+)/.exec(opened.headers.get("set-cookie") ?? "")?.[1];
		expect(remembered).toBe(b.accountId);
		expect(await landing(`keyward_last_account=${remembered}`)).toBe(`/console/a/${b.accountId}/keys`);
		// An account the visitor no longer belongs to (or never did) is not opened.
		const other = await seedAccount(clock);
		expect(await landing(`keyward_last_account=${other.accountId}`)).toBe(`/console/a/${a.accountId}/keys`);
	});
});
