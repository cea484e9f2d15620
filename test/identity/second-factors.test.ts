import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDatabase } from "../../src/db";
import { accounts } from "../../src/db/schema";
import { enrolTotp, identityHarness, PASSWORD, totpCode } from "../support/identity";
import { expectProblem, jsonRequest } from "../support/request";

const db = createDatabase(env.DB);

async function challengeFor(h: ReturnType<typeof identityHarness>, email: string) {
	const res = await h.login(email);
	return (await res.json<{ challenge: { token: string; methods: string[] } }>()).challenge;
}

describe("second factors that deserve the name", () => {
	it("an email code is no second factor for an address nobody verified", async () => {
		const h = identityHarness();
		const u = await h.signup();
		await enrolTotp(h, u.token);
		const challenge = await challengeFor(h, u.email);
		expect(challenge.methods).toEqual(["totp", "recovery_code"]);
		await expectProblem(await h.post("/v1/auth/mfa/email-code", { challengeToken: challenge.token }), 400);
		await expectProblem(
			await h.post("/v1/auth/mfa/verify", { challengeToken: challenge.token, method: "email_code", code: "123456" }),
			400,
		);
	});

	it("an account can refuse email codes; a sign-in finished by one is audited and mailed", async () => {
		const h = identityHarness();
		const u = await h.signupVerified();
		await enrolTotp(h, u.token);
		const first = await challengeFor(h, u.email);
		expect(first.methods).toContain("email_code");
		expect((await h.post("/v1/auth/mfa/email-code", { challengeToken: first.token })).status).toBe(202);
		const code = /code is (\d{6})/.exec(
			(await h.outbox(u.email)).find((m) => m.subject.includes("sign-in code"))?.text ?? "",
		)?.[1];
		const done = await h.post("/v1/auth/mfa/verify", { challengeToken: first.token, method: "email_code", code });
		expect(done.status).toBe(200);
		expect((await h.outbox(u.email))[0]?.subject).toBe("Keyward: was this you?");
		expect(h.audit.sent.some((e) => e.action === "auth.mfa.fallback_used" && e.metadata.method === "email_code")).toBe(
			true,
		);
		const signIn = h.audit.sent.filter((e) => e.action === "auth.login.succeeded").at(-1);
		expect(signIn?.metadata.factors).toEqual(["password", "email_code"]);

		await db
			.update(accounts)
			.set({ settings: JSON.stringify({ emailCodeSecondFactor: false }) })
			.where(eq(accounts.id, u.accountId));
		const second = await challengeFor(h, u.email);
		expect(second.methods).toEqual(["totp", "recovery_code"]);
	});

	it("recovery codes carry 120 bits in six easy groups, and are read back however they are typed", async () => {
		const h = identityHarness();
		const u = await h.signupVerified();
		const { recoveryCodes } = await enrolTotp(h, u.token);
		expect(recoveryCodes).toHaveLength(10);
		for (const code of recoveryCodes) expect(code).toMatch(/^([0-9a-hjkmnp-tv-z]{4}-){5}[0-9a-hjkmnp-tv-z]{4}$/);
		const typed = (recoveryCodes[0] ?? "").replaceAll("-", " ").toUpperCase().replaceAll("0", "O").replaceAll("1", "l");
		const challenge = await challengeFor(h, u.email);
		const res = await h.post("/v1/auth/mfa/verify", {
			challengeToken: challenge.token,
			method: "recovery_code",
			code: typed,
		});
		expect(res.status).toBe(200);
	});

	it("TOTP enrolment is throttled: five wrong codes end the session that made them", async () => {
		const h = identityHarness();
		const u = await h.signupVerified();
		const auth = { Authorization: `Bearer ${u.token}` };
		await h.request("/v1/me/mfa/totp", jsonRequest("POST", { password: PASSWORD }, auth));
		const tries = [];
		for (let i = 0; i < 6; i++)
			tries.push(await h.request("/v1/me/mfa/totp/confirm", jsonRequest("POST", { code: "000000" }, auth)));
		expect(tries.slice(0, 5).map((r) => r.status)).toEqual([400, 400, 400, 400, 400]);
		await expectProblem(tries[5] as Response, 401);
		expect(h.audit.sent.some((e) => e.action === "auth.lockout" && e.metadata.sessionEnded === true)).toBe(true);
	});

	it("a lost authenticator is replaced with a recovery code: old one retired, others signed out, mailed, new one enrolled", async () => {
		const h = identityHarness();
		const u = await h.signupVerified();
		const { secret: lost, recoveryCodes } = await enrolTotp(h, u.token);
		const elsewhere = await h.login(u.email); // a second, half-finished sign-in elsewhere
		expect(elsewhere.status).toBe(200);
		const other = (
			await (
				await h.post("/v1/auth/mfa/verify", {
					challengeToken: (await elsewhere.json<{ challenge: { token: string } }>()).challenge.token,
					method: "recovery_code",
					code: recoveryCodes[1],
				})
			).json<{ session: { token: string } }>()
		).session.token;
		const auth = { Authorization: `Bearer ${u.token}` };
		// The attacker's attempt: a made-up recovery code does nothing.
		await expectProblem(
			await h.request(
				"/v1/me/mfa/totp/replace",
				jsonRequest("POST", { password: PASSWORD, recoveryCode: "abcd-efgh-jkmn-pqrs-tvwx-yz01" }, auth),
			),
			400,
		);
		const replaced = await h.request(
			"/v1/me/mfa/totp/replace",
			jsonRequest("POST", { password: PASSWORD, recoveryCode: recoveryCodes[0] }, auth),
		);
		expect(replaced.status).toBe(200);
		const fresh = await replaced.json<{ secret: string; sessionsEnded: number }>();
		expect(fresh.sessionsEnded).toBeGreaterThanOrEqual(1);
		await expectProblem(await h.get("/v1/me", other), 401);
		expect((await h.outbox(u.email))[0]?.subject).toBe("Keyward: your authenticator was replaced");
		h.clock.advance(31_000);
		const confirm = await h.request(
			"/v1/me/mfa/totp/confirm",
			jsonRequest("POST", { code: await totpCode(fresh.secret, h.clock.now()) }, auth),
		);
		expect(confirm.status).toBe(200);
		// The lost device's codes no longer sign in.
		h.clock.advance(31_000);
		const challenge = await challengeFor(h, u.email);
		await expectProblem(
			await h.post("/v1/auth/mfa/verify", {
				challengeToken: challenge.token,
				method: "totp",
				code: await totpCode(lost, h.clock.now()),
			}),
			401,
		);
	});
});
