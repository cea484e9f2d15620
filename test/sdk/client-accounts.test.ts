/**
 * The SDK's client against the real app: accounts, members, invitations,
 * webhooks, audit events, the security report and lockdown.
 */
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../src/platform/clock";
import { testApp } from "../support/app";
import { seedAccount } from "../support/seed";
import { sdkClient, tokenInMail } from "./helpers";

const clock = new ManualClock("2026-09-01T00:00:00Z");
const t = testApp({ clock, log: () => {} });
const kw = (token?: string) => sdkClient(t.app, token ? { token } : {});

describe("SDK client: accounts and what hangs off them", () => {
	it("accounts: create, get, update, transfer ownership, delete", async () => {
		const s = await seedAccount(clock);
		const owner = kw(s.users.owner.token);
		const { account } = await owner.accounts.create({ body: { name: "Acme" } });
		expect(account).toMatchObject({ name: "Acme", settings: { requireMfa: false } });
		expect((await owner.accounts.get({ accountId: account.id })).account.id).toBe(account.id);
		const updated = await owner.accounts.update({
			accountId: account.id,
			body: { name: "Acme Ltd", settings: { rotationGraceHours: 12 } },
		});
		expect(updated.account).toMatchObject({ name: "Acme Ltd", settings: { rotationGraceHours: 12 } });

		expect(
			await owner.accounts.transferOwnership({ accountId: s.accountId, body: { userId: s.users.admin.id } }),
		).toEqual({
			ownerId: s.users.admin.id,
			previousOwnerId: s.users.owner.id,
		});
		const members = await kw(s.users.admin.token).members.list({ accountId: s.accountId });
		expect(members.data.find((m) => m.userId === s.users.admin.id)?.role).toBe("owner");
		expect(members.data.find((m) => m.userId === s.users.owner.id)?.role).toBe("admin");

		expect(await owner.accounts.delete({ accountId: account.id })).toBeUndefined();
	});

	it("members: list, change role, remove", async () => {
		const s = await seedAccount(clock);
		const admin = kw(s.users.admin.token);
		const { data } = await admin.members.list({ accountId: s.accountId });
		expect(data.map((m) => m.userId)).toContain(s.users.member.id);
		const { member } = await admin.members.update({
			accountId: s.accountId,
			userId: s.users.member.id,
			body: { role: "readonly" },
		});
		expect(member.role).toBe("readonly");
		expect(await admin.members.remove({ accountId: s.accountId, userId: s.users.member.id })).toBeUndefined();
	});

	it("invitations: create, list, accept, cancel", async () => {
		const s = await seedAccount(clock);
		const owner = kw(s.users.owner.token);
		const { invitation } = await owner.invitations.create({
			accountId: s.accountId,
			body: { email: s.users.stranger.email, role: "member" },
		});
		expect(invitation).toMatchObject({ email: s.users.stranger.email, role: "member" });
		const listed = await owner.invitations.list({ accountId: s.accountId });
		expect(listed.data.map((i) => i.id)).toContain(invitation.id);
		const mail = (await kw().dev.outbox({ query: { to: s.users.stranger.email } })).data[0];
		const { membership } = await kw(s.users.stranger.token).invitations.accept({
			body: { token: tokenInMail(mail?.text) },
		});
		expect(membership).toMatchObject({ accountId: s.accountId, role: "member" });
		expect(await owner.invitations.cancel({ accountId: s.accountId, invitationId: s.invitationId })).toBeUndefined();
	});

	it("webhooks: create, list, deliveries, delete", async () => {
		const s = await seedAccount(clock);
		const owner = kw(s.users.owner.token);
		const { webhook, secret } = await owner.webhooks.create({
			accountId: s.accountId,
			body: { url: "https://hooks.example.com/sdk", events: ["alert.key_created"] },
		});
		expect(secret).toMatch(/^whsec_/);
		expect((await owner.webhooks.list({ accountId: s.accountId })).data.map((w) => w.id)).toContain(webhook.id);
		const deliveries = await owner.webhooks.deliveries({ accountId: s.accountId, webhookId: webhook.id });
		expect(deliveries.data).toEqual([]);
		expect(await owner.webhooks.delete({ accountId: s.accountId, webhookId: webhook.id })).toBeUndefined();
	});

	it("audit events (list, export), security report, lockdown", async () => {
		const s = await seedAccount(clock);
		const owner = kw(s.users.owner.token);
		const page = await owner.auditEvents.list({ accountId: s.accountId, query: { limit: 5 } });
		expect(page).toEqual({ data: expect.any(Array), nextCursor: null });
		// NDJSON, oldest first, from the archive (which the queue consumer may not have reached yet).
		const exported = await owner.auditEvents.export({ accountId: s.accountId });
		expect(typeof exported).toBe("string");
		for (const line of exported.split("\n").filter(Boolean)) expect(JSON.parse(line)).toHaveProperty("action");
		const report = await owner.accounts.securityReport({ accountId: s.accountId });
		expect(report.checks.length).toBeGreaterThan(0);
		const locked = await owner.accounts.lockdown({
			accountId: s.accountId,
			body: { reason: "laptop stolen", revokeSessions: true, revokeKeys: "all" },
		});
		expect(locked.keysRevoked).toBeGreaterThan(0);
	});
});
