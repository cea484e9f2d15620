import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDatabase } from "../../src/db";
import {
	accounts,
	invitations,
	memberships,
	recoveryCodes,
	serviceAccounts,
	users,
	webhooks,
} from "../../src/db/schema";
import { newId } from "../../src/platform/ids";
import { enrolTotp, identityHarness, PASSWORD } from "../support/identity";
import { expectProblem, jsonRequest } from "../support/request";
import { seedKey } from "../support/seed";

const db = createDatabase(env.DB);

describe("an unverified address grants nothing, and claiming it undoes what was set up", () => {
	it("a squatter's unverified account can invite, mint keys, add webhooks or change settings: none of it", async () => {
		const h = identityHarness();
		const squatter = await h.signup(); // someone else's address, never verified
		const auth = { Authorization: `Bearer ${squatter.token}` };
		const base = `/v1/accounts/${squatter.accountId}`;
		const tries = [
			h.request(`${base}/invitations`, jsonRequest("POST", { email: "accomplice@example.com", role: "admin" }, auth)),
			h.request(`${base}/keys`, jsonRequest("POST", { name: "k", environment: "staging", scopes: ["a:b"] }, auth)),
			h.request(
				`${base}/webhooks`,
				jsonRequest("POST", { url: "https://hooks.example.com/x", events: ["alert.key_created"] }, auth),
			),
			h.request(base, jsonRequest("PATCH", { name: "Renamed" }, auth)),
		];
		for (const res of await Promise.all(tries)) {
			const problem = await expectProblem(res, 403, "email-unverified");
			expect(problem.detail).toMatch(/verify your email address first/i);
		}
		expect((await h.get(base, squatter.token)).status).toBe(200); // reading works
	});

	it("a reset by the address's real owner revokes what was granted before and removes the squatter's second factor", async () => {
		const h = identityHarness();
		const squatter = await h.signup();
		await enrolTotp(h, squatter.token);
		// What an unverified account could set up before the gate existed.
		const key = await seedKey(squatter.accountId, squatter.userId, ["data:read"], h.clock.now());
		const accomplice = newId("usr");
		await db.insert(users).values({
			id: accomplice,
			email: `${accomplice}@example.com`,
			name: "Accomplice",
			passwordHash: "$scrypt$unused",
			emailVerifiedAt: h.clock.now(),
			createdAt: h.clock.now(),
		});
		await db
			.insert(memberships)
			.values({ accountId: squatter.accountId, userId: accomplice, role: "admin", joinedAt: h.clock.now() });
		await db.insert(invitations).values({
			id: newId("inv"),
			accountId: squatter.accountId,
			email: "later@example.com",
			role: "admin",
			tokenHash: "x".repeat(64),
			invitedBy: squatter.userId,
			createdAt: h.clock.now(),
			expiresAt: new Date(h.clock.now().getTime() + 86_400_000),
		});
		await db.insert(webhooks).values({
			id: newId("whk"),
			accountId: squatter.accountId,
			url: "https://attacker.example.com/hook",
			events: ["alert.key_created"],
			secretSealed: "sealed",
			createdAt: h.clock.now(),
			createdBy: squatter.userId,
		});
		// A service account with a key: an identity meant to outlive the squatter.
		const svcId = newId("svc");
		await db.insert(serviceAccounts).values({
			id: svcId,
			accountId: squatter.accountId,
			name: "planted",
			role: "admin",
			createdBy: squatter.userId,
			createdAt: h.clock.now(),
		});
		const svcKey = await seedKey(squatter.accountId, squatter.userId, ["data:read"], h.clock.now(), "staging", {
			serviceAccountId: svcId,
		});
		// A lockdown the squatter pressed would otherwise keep the real owner from ever making keys.
		await h.request(
			`/v1/accounts/${squatter.accountId}/lockdown`,
			jsonRequest(
				"POST",
				{ reason: "mine", revokeSessions: false, revokeKeys: "none" },
				{ Authorization: `Bearer ${squatter.token}` },
			),
		);
		const verify = async () =>
			(await (await h.post("/v1/keys/verify", { key: key.secret })).json<{ code: string }>()).code;
		expect(await verify()).toBe("VALID");

		// The real owner of the address asks for a reset and sets a password.
		await h.post("/v1/auth/password-reset", { email: squatter.email });
		const mail = (await h.outbox(squatter.email)).find((m) => m.subject.includes("reset"));
		const token = /\n\n([a-z2-7]+)\n/.exec(mail?.text ?? "")?.[1] ?? "";
		expect(
			(await h.post("/v1/auth/password-reset/confirm", { token, newPassword: "the real owner's passphrase" })).status,
		).toBe(204);

		expect(await verify()).toBe("REVOKED");
		expect((await (await h.post("/v1/keys/verify", { key: svcKey.secret })).json<{ code: string }>()).code).toBe(
			"REVOKED",
		);
		expect(await db.select().from(serviceAccounts).where(eq(serviceAccounts.accountId, squatter.accountId))).toEqual(
			[],
		);
		expect(await db.select().from(invitations).where(eq(invitations.accountId, squatter.accountId))).toEqual([]);
		expect(await db.select().from(webhooks).where(eq(webhooks.accountId, squatter.accountId))).toEqual([]);
		const left = await db.select().from(memberships).where(eq(memberships.accountId, squatter.accountId));
		expect(left.map((m) => m.userId)).toEqual([squatter.userId]);
		const user = await db.query.users.findFirst({ where: eq(users.id, squatter.userId) });
		expect(user?.emailVerifiedAt).not.toBeNull();
		expect(
			(await db.query.accounts.findFirst({ where: eq(accounts.id, squatter.accountId) }))?.lockedDownAt,
		).toBeNull();
		expect(user?.totpSecret).toBeNull();
		expect(await db.select().from(recoveryCodes).where(eq(recoveryCodes.userId, squatter.userId))).toEqual([]);
		// The real owner signs in with the new password alone: no squatter's authenticator stands in the way.
		const login = await h.login(squatter.email, "the real owner's passphrase");
		expect((await login.json<{ session?: unknown; mfaRequired?: boolean }>()).session).toBeDefined();
		expect((await h.login(squatter.email, PASSWORD)).status).toBe(401);
	});
});
