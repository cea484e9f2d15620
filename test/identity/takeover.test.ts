import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDatabase } from "../../src/db";
import { apiKeys, invitations, serviceAccounts, webhooks } from "../../src/db/schema";
import { emailThrottle } from "../../src/durable/address";
import { describeAgent } from "../../src/identity/new-device";
import { throttleKeyOf } from "../../src/security/cidr";
import { checkPassword, passwordPolicyFrom } from "../../src/security/password-policy";
import { canonicalRecoveryCode } from "../../src/security/secret-formats";
import { changedAway, codeIn, identityHarness, PASSWORD, uniqueEmail } from "../support/identity";
import { expectProblem, jsonRequest } from "../support/request";

/**
 * What the attack on #18 found, each as the attack: a stolen session, a stolen password, a
 * mailbox, a neighbour on the same network. Each must fail.
 */
const db = createDatabase(env.DB);

describe("account takeover, second attack round", () => {
	it("after a confirmed change, no second change can replace the old address's cancel code", async () => {
		const h = identityHarness();
		const { u, next, cancel } = await changedAway(h);
		// The attacker signs in at their new address, with a fresh session, and tries a second change.
		const theirs = (await (await h.login(next)).json<{ session: { token: string } }>()).session.token;
		const again = await h.request(
			"/v1/me/email",
			jsonRequest("POST", { email: uniqueEmail() }, { Authorization: `Bearer ${theirs}` }),
		);
		await expectProblem(again, 409);
		expect((await h.post("/v1/auth/email-change/cancel", { token: cancel })).status).toBe(204);
		const me = await (await h.login(u.email)).status;
		expect(me).toBe(401); // locked until the reset: the cancel worked
	});

	it("the old address stays reserved while it can cancel: nobody signs up with it, and the cancel gives it back", async () => {
		const h = identityHarness();
		const { u, next, cancel } = await changedAway(h);
		await expectProblem(
			await h.post("/v1/auth/signup", { email: u.email, password: "a squatter's long passphrase", name: "Squat" }),
			409,
		);
		expect((await h.post("/v1/auth/email-change/cancel", { token: cancel })).status).toBe(204);
		const cancelled = h.audit.sent.find((e) => e.action === "auth.email_change.cancelled");
		expect(cancelled?.metadata.reverted).toBe(true);
		// The attacker's address no longer reaches the account: a reset through it sends nothing.
		expect((await h.post("/v1/auth/password-reset", { email: next })).status).toBe(202);
		expect((await h.outbox(next)).some((m) => m.subject.includes("reset"))).toBe(false);
	});

	it("a cancel undoes what the user made since the change started: keys, invitations, webhooks, service accounts", async () => {
		const h = identityHarness();
		const u = await h.signupVerified();
		const auth = { Authorization: `Bearer ${u.token}` };
		const base = `/v1/accounts/${u.accountId}`;
		const before = await h.request(
			`${base}/keys`,
			jsonRequest("POST", { name: "before", environment: "staging", scopes: ["orders:read"] }, auth),
		);
		expect(before.status).toBe(201);
		h.clock.advance(60_000);
		const next = uniqueEmail();
		expect((await h.request("/v1/me/email", jsonRequest("POST", { email: next }, auth))).status).toBe(202);
		h.clock.advance(60_000);
		const planted = [
			h.request(
				`${base}/keys`,
				jsonRequest("POST", { name: "planted", environment: "staging", scopes: ["orders:read"] }, auth),
			),
			h.request(`${base}/invitations`, jsonRequest("POST", { email: uniqueEmail(), role: "admin" }, auth)),
			h.request(
				`${base}/webhooks`,
				jsonRequest("POST", { url: "https://hooks.example.com/x", events: ["alert.key_created"] }, auth),
			),
		];
		for (const res of await Promise.all(planted)) expect(res.status, await res.clone().text()).toBe(201);
		// A service account, and a key for it: an identity meant to outlive the intruder's session.
		const svc = await h.request(
			`${base}/service-accounts`,
			jsonRequest("POST", { name: "planted", role: "admin" }, auth),
		);
		expect(svc.status).toBe(201);
		const svcId = (await svc.json<{ serviceAccount: { id: string } }>()).serviceAccount.id;
		const svcKey = await h.request(
			`${base}/keys`,
			jsonRequest(
				"POST",
				{ name: "planted-svc", environment: "staging", scopes: ["orders:read"], owner: { serviceAccountId: svcId } },
				auth,
			),
		);
		expect(svcKey.status).toBe(201);
		const cancel = codeIn((await h.outbox(u.email)).find((m) => m.subject.includes("being changed"))?.text);
		expect((await h.post("/v1/auth/email-change/cancel", { token: cancel })).status).toBe(204);
		const keys = await db.select().from(apiKeys).where(eq(apiKeys.accountId, u.accountId));
		expect(keys.find((k) => k.name === "planted")?.revokedReason).toBe("takeover_reported");
		expect(keys.find((k) => k.name === "planted-svc")?.revokedReason).toBe("takeover_reported");
		expect(await db.select().from(serviceAccounts).where(eq(serviceAccounts.accountId, u.accountId))).toEqual([]);
		expect(keys.find((k) => k.name === "before")?.revokedAt).toBeNull();
		expect(await db.select().from(invitations).where(eq(invitations.accountId, u.accountId))).toEqual([]);
		expect(await db.select().from(webhooks).where(eq(webhooks.accountId, u.accountId))).toEqual([]);
		const cancelled = h.audit.sent.find((e) => e.action === "auth.email_change.cancelled");
		expect(cancelled?.metadata).toMatchObject({
			keysRevoked: 2,
			invitationsDeleted: 1,
			webhooksDeleted: 1,
			serviceAccountsDeleted: 1,
		});
	});

	it('"this wasn\'t me" signs the user out everywhere and stops the password working', async () => {
		const h = identityHarness();
		const u = await h.signupVerified();
		const same = (await (await h.login(u.email)).json<{ session: { token: string } }>()).session.token;
		const intruder = await h.post(
			"/v1/auth/login",
			{ email: u.email, password: PASSWORD },
			{ "User-Agent": "curl/8.9 (stolen password)" },
		);
		expect(intruder.status).toBe(200);
		const notice = (await h.outbox(u.email)).find((m) => m.subject === "Keyward: new sign-in to your account");
		expect((await h.post("/v1/auth/not-me", { token: codeIn(notice?.text) })).status).toBe(204);
		await expectProblem(await h.get("/v1/me", same), 401);
		await expectProblem(await h.get("/v1/me", u.token), 401);
		expect((await h.login(u.email)).status).toBe(401);
	});

	it("a device known before a password reset is not known after it", async () => {
		const h = identityHarness();
		const u = await h.signupVerified();
		const throttle = emailThrottle(env, u.email);
		await throttle.rememberDevice("dev_aaaaaaaaaaaaaaaaaaaaaaaaaa", h.clock.now().getTime());
		expect(await throttle.knowsDevice("dev_aaaaaaaaaaaaaaaaaaaaaaaaaa")).toBe(true);
		expect((await h.post("/v1/auth/password-reset", { email: u.email })).status).toBe(202);
		const reset = codeIn((await h.outbox(u.email)).find((m) => m.subject.includes("reset"))?.text);
		expect(
			(await h.post("/v1/auth/password-reset/confirm", { token: reset, newPassword: "the owner's new passphrase" }))
				.status,
		).toBe(204);
		expect(await throttle.knowsDevice("dev_aaaaaaaaaaaaaaaaaaaaaaaaaa")).toBe(false);
	});

	it("invitations are counted per person across their accounts; email changes per person", async () => {
		const h = identityHarness();
		const u = await h.signupVerified();
		const auth = { Authorization: `Bearer ${u.token}` };
		const second = await (await h.request("/v1/accounts", jsonRequest("POST", { name: "Second" }, auth))).json<{
			account: { id: string };
		}>();
		const statuses: number[] = [];
		for (const accountId of [u.accountId, second.account.id])
			for (let i = 0; i < 20; i++)
				statuses.push(
					(
						await h.request(
							`/v1/accounts/${accountId}/invitations`,
							jsonRequest("POST", { email: uniqueEmail(), role: "member" }, auth),
						)
					).status,
				);
		expect(statuses.filter((s) => s === 201)).toHaveLength(30);
		expect(statuses.filter((s) => s === 429)).toHaveLength(10);
		const changes: number[] = [];
		for (let i = 0; i < 7; i++)
			changes.push((await h.request("/v1/me/email", jsonRequest("POST", { email: uniqueEmail() }, auth))).status);
		expect(changes).toEqual([202, 202, 202, 202, 202, 429, 429]);
	});

	it("security events about a user go to their account's trail, not only the system's", async () => {
		const h = identityHarness();
		const u = await h.signupVerified();
		await h.post("/v1/auth/login", { email: u.email, password: PASSWORD }, { "User-Agent": "NewBrowser/1.0" });
		const event = h.audit.sent.find((e) => e.action === "auth.new_device");
		expect(event?.accountId).toBe(u.accountId);
	});

	it("a sign-in from a known device is not refused because its network's address window is full", async () => {
		const h = identityHarness();
		const u = await h.signupVerified();
		const ip = "198.51.100.77";
		const signedIn = await h.post("/v1/auth/login", { email: u.email, password: PASSWORD }, { "CF-Connecting-IP": ip });
		const device = /__Host-keyward_device=([^;]+)/.exec(signedIn.headers.get("Set-Cookie") ?? "")?.[1] ?? "";
		expect(device).not.toBe("");
		// A neighbour behind the same address fails 20 times against other emails: the window is full.
		for (let i = 0; i < 20; i++)
			await h.post("/v1/auth/login", { email: uniqueEmail(), password: "wrong one here" }, { "CF-Connecting-IP": ip });
		expect(
			(await h.post("/v1/auth/login", { email: u.email, password: PASSWORD }, { "CF-Connecting-IP": ip })).status,
		).toBe(429);
		const owner = await h.post(
			"/v1/auth/login",
			{ email: u.email, password: PASSWORD },
			{ "CF-Connecting-IP": ip, "X-Keyward-Device": device },
		);
		expect(owner.status).toBe(200);
	});

	it("small things: one throttle key per IPv4 address however written, no broken-text passwords, old recovery codes with i, l or o, a bounded device name", () => {
		expect(throttleKeyOf("::ffff:192.0.2.7")).toBe(throttleKeyOf("192.0.2.7"));
		const policy = passwordPolicyFrom("12");
		expect(checkPassword("a long enough passphrase \ud800", policy).map((v) => v.rule)).toContain("malformed");
		expect(checkPassword("a long enough passphrase \ud83d\ude00", policy)).toEqual([]);
		expect(canonicalRecoveryCode("abcio-lmnop")).toBe("abcio-lmnop");
		expect(canonicalRecoveryCode("ABCIO LMNOP")).toBe("abcio-lmnop");
		const long = `Mozilla/5.0 ${"x".repeat(300)} do not use the code below`;
		expect(describeAgent(long).length).toBeLessThan(110);
		expect(describeAgent(long)).not.toContain("do not use");
		expect(describeAgent("evil\r\nBcc: x")).toBe('a device that calls itself "evilBcc: x"');
	});
});
