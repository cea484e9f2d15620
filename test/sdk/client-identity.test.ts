/**
 * The SDK's client against the real app inside workerd: sign-up, login, the
 * second factor, password reset, the signed-in user, and the service and
 * development routes, each through its typed method.
 */
import { describe, expect, it } from "vitest";
import { KeywardError, ReauthenticationRequiredError } from "../../sdk/src/index.js";
import { ManualClock } from "../../src/platform/clock";
import { testApp } from "../support/app";
import { PASSWORD, totpCode, uniqueEmail } from "../support/identity";
import { sdkClient, tokenInMail } from "./helpers";

const clock = new ManualClock("2026-09-01T00:00:00Z");
const t = testApp({ clock, log: () => {} });
const kw = (token?: string) => sdkClient(t.app, token ? { token } : {});

async function signedUp() {
	const email = uniqueEmail();
	const created = await kw().auth.signup({ body: { email, password: PASSWORD, name: "Ada Lovelace" } });
	return { email, token: created.session.token, accountId: created.account.id, userId: created.user.id };
}

const mailTo = async (email: string, subject: string) =>
	(await kw().dev.outbox({ query: { to: email } })).data.find((m) => m.subject.includes(subject))?.text;

describe("SDK client: service, auth, me and development routes", () => {
	it("service.health and the development routes", async () => {
		expect(await kw().service.health()).toEqual({ status: "ok" });
		const u = await signedUp();
		expect(await kw().dev.auditStats({ query: { stream: u.accountId } })).toEqual({
			indexed: expect.any(Number),
			archived: expect.any(Number),
			outbox: expect.any(Number),
			deadLetters: expect.any(Number),
			queue: { sendBatches: expect.any(Number), messages: expect.any(Number), events: expect.any(Number) },
		});
		expect(await kw().dev.objectStats({ query: { accountId: u.accountId } })).toMatchObject({
			keys: expect.any(Number),
		});
	});

	it("auth: sign-up, email verification, login and logout", async () => {
		const u = await signedUp();
		expect(u.token).toMatch(/\S{20,}/);
		expect(await kw(u.token).auth.verifyEmail({ body: { token: tokenInMail(await mailTo(u.email, "confirm")) } })).toBe(
			undefined,
		);
		const login = await kw().auth.login({ body: { email: u.email, password: PASSWORD } });
		if (!("session" in login)) throw new Error("expected a session");
		expect(login.user).toMatchObject({ email: u.email, emailVerified: true });
		expect(await kw(login.session.token).auth.logout()).toBe(undefined);
		const after = await kw(login.session.token)
			.me.get()
			.catch((e: unknown) => e);
		expect(after).toBeInstanceOf(KeywardError);
		expect((after as KeywardError).status).toBe(401);
		// The 401 says why, so a client can send its user to sign in again.
		expect((after as KeywardError).code).toBe("session_revoked");
		const none = await kw()
			.me.get()
			.catch((e: unknown) => e);
		expect((none as KeywardError).code).toBe("missing_credentials");
	});

	it("auth: second factor by TOTP, email code and recovery code; me: TOTP enrolment and removal", async () => {
		const u = await signedUp();
		// An email code is a second factor only for a verified address.
		await kw(u.token).auth.verifyEmail({ body: { token: tokenInMail(await mailTo(u.email, "confirm")) } });
		const me = kw(u.token).me;
		const { secret, uri, qrSvg } = await me.startTotp({ body: { password: PASSWORD } });
		expect(uri).toMatch(/^otpauth:\/\/totp\//);
		expect(qrSvg).toContain("<svg");
		const { recoveryCodes } = await me.confirmTotp({ body: { code: await totpCode(secret, clock.now()) } });
		expect(recoveryCodes).toHaveLength(10);

		const challenge = async () => {
			const login = await kw().auth.login({ body: { email: u.email, password: PASSWORD } });
			if (!("mfaRequired" in login)) throw new Error("expected a challenge");
			return login.challenge.token;
		};
		clock.advance(60_000); // a TOTP code is accepted once; move to the next step
		const byTotp = await kw().auth.verifyMfa({
			body: { challengeToken: await challenge(), method: "totp", code: await totpCode(secret, clock.now()) },
		});
		expect(byTotp.user.mfaEnabled).toBe(true);

		const emailChallenge = await challenge();
		expect(await kw().auth.sendEmailCode({ body: { challengeToken: emailChallenge } })).toBe(undefined);
		const code = /code is (\d{6})/.exec((await mailTo(u.email, "")) ?? "")?.[1] ?? "";
		const byEmail = await kw().auth.verifyMfa({ body: { challengeToken: emailChallenge, method: "email_code", code } });
		expect(byEmail.session.token).toBeTruthy();

		clock.advance(31_000); // the code byTotp used is spent: the next step's
		const fresh = await me.regenerateRecoveryCodes({
			body: { password: PASSWORD, code: await totpCode(secret, clock.now()) },
		});
		expect(fresh.recoveryCodes).toHaveLength(10);
		const byRecovery = await kw().auth.verifyMfa({
			body: { challengeToken: await challenge(), method: "recovery_code", code: fresh.recoveryCodes[0] ?? "" },
		});
		expect(byRecovery.user.id).toBe(u.userId);

		clock.advance(60_000);
		expect(
			await me.disableTotp({ body: { password: PASSWORD, code: await totpCode(secret, clock.now()) } }),
		).toBeUndefined();
		expect((await me.get()).user.mfaEnabled).toBe(false);
	});

	it("auth: password reset by email", async () => {
		const u = await signedUp();
		expect(await kw().auth.requestPasswordReset({ body: { email: u.email } })).toBeUndefined();
		const token = tokenInMail(await mailTo(u.email, "reset"));
		const newPassword = "a different passphrase, long";
		expect(await kw().auth.confirmPasswordReset({ body: { token, newPassword } })).toBeUndefined();
		const login = await kw().auth.login({ body: { email: u.email, password: newPassword } });
		expect("session" in login).toBe(true);
	});

	it("me: profile, password change, sessions listed and revoked", async () => {
		const u = await signedUp();
		const me = kw(u.token).me;
		expect(await me.get()).toMatchObject({ user: { email: u.email }, memberships: [{ accountId: u.accountId }] });
		const other = await kw().auth.login({ body: { email: u.email, password: PASSWORD } });
		if (!("session" in other)) throw new Error("expected a session");
		const third = await kw().auth.login({ body: { email: u.email, password: PASSWORD } });
		if (!("session" in third)) throw new Error("expected a session");
		const { data } = await me.listSessions();
		expect(data.filter((s) => s.current)).toHaveLength(1);
		expect(await me.revokeSession({ sessionId: other.session.id })).toBeUndefined();
		expect(await me.revokeOtherSessions()).toEqual({ revoked: 1 });
		expect(
			await me.changePassword({ body: { currentPassword: PASSWORD, newPassword: "yet another long passphrase" } }),
		).toBeUndefined();
	});
});

describe("SDK client: recent authentication", () => {
	it("throws ReauthenticationRequiredError, and me.reauthenticate gives the token that proves it", async () => {
		const u = await signedUp();
		clock.advance(11 * 60_000);
		const stale = await kw(u.token)
			.accounts.delete({ accountId: u.accountId })
			.catch((e: unknown) => e);
		expect(stale).toBeInstanceOf(ReauthenticationRequiredError);
		expect(stale).toBeInstanceOf(KeywardError);
		expect((stale as KeywardError).is("reauthentication-required")).toBe(true);
		const { session } = await kw(u.token).me.reauthenticate({ body: { password: PASSWORD } });
		expect(await kw(session.token).accounts.delete({ accountId: u.accountId })).toBe(undefined);
	});
});
