import { describe, expect, it } from "vitest";
import { enrolTotp, identityHarness, PASSWORD, totpCode, uniqueIp } from "../support/identity";
import { expectProblem, jsonRequest } from "../support/request";

describe("throttles hold under concurrency and cover every secret check", () => {
	it("parallel wrong-password logins: at most 5 are tried, the rest are refused with rate-limit headers", async () => {
		const h = identityHarness();
		const { email } = await h.signup();
		const results = await Promise.all(
			Array.from({ length: 15 }, () => h.login(email, "wrong wrong wrong", uniqueIp())),
		);
		const tried = results.filter((r) => r.status === 401).length;
		expect(tried).toBeLessThanOrEqual(5);
		expect(results.filter((r) => r.status === 429).length).toBe(15 - tried);
		const refused = results.find((r) => r.status === 429);
		expect(refused?.headers.get("ratelimit-policy")).toBe('"login-email";q=5;w=900');
		expect(refused?.headers.get("ratelimit")).toMatch(/^"login-email";r=0;t=\d+$/);
		expect(refused?.headers.get("x-ratelimit-remaining")).toBe("0");
		expect(Number(refused?.headers.get("x-ratelimit-reset"))).toBeGreaterThan(0);
	});

	it("parallel second-factor guesses: at most 5 are tried before the lock", async () => {
		const h = identityHarness();
		const u = await h.signup();
		await enrolTotp(h, u.token);
		const challenge = (await (await h.login(u.email)).json<{ challenge: { token: string } }>()).challenge.token;
		const guesses = await Promise.all(
			Array.from({ length: 12 }, (_, i) =>
				h.post("/v1/auth/mfa/verify", { challengeToken: challenge, method: "totp", code: String(100000 + i) }),
			),
		);
		expect(guesses.filter((r) => r.status === 401).length).toBeLessThanOrEqual(5);
		expect(guesses.filter((r) => r.status === 429).length).toBeGreaterThanOrEqual(7);
	});

	it("re-entering the password on /v1/me is throttled too: the fifth failure ends the session that guessed", async () => {
		const h = identityHarness();
		const u = await h.signup();
		const auth = { Authorization: `Bearer ${u.token}` };
		const change = (currentPassword: string) =>
			h.request(
				"/v1/me/password",
				jsonRequest("POST", { currentPassword, newPassword: "another long passphrase" }, auth),
			);
		for (let i = 0; i < 5; i++) await expectProblem(await change(`guess number ${i} here`), 400);
		await expectProblem(await change(PASSWORD), 401);
		const lockouts = h.audit.sent.filter((e) => e.action === "auth.lockout" && e.metadata.check === "password");
		expect(lockouts).toHaveLength(1);
		expect(lockouts[0]?.metadata.sessionEnded).toBe(true);
		// Another session of the same user was never locked: it changes the password at once.
		const other = (await (await h.login(u.email)).json<{ session: { token: string } }>()).session.token;
		const changed = await h.request(
			"/v1/me/password",
			jsonRequest(
				"POST",
				{ currentPassword: PASSWORD, newPassword: "another long passphrase" },
				{ Authorization: `Bearer ${other}` },
			),
		);
		expect(changed.status).toBe(204);
	});

	it("an email code can be re-sent only after a minute", async () => {
		const h = identityHarness();
		const u = await h.signupVerified();
		await enrolTotp(h, u.token);
		const challenge = (await (await h.login(u.email)).json<{ challenge: { token: string } }>()).challenge.token;
		expect((await h.post("/v1/auth/mfa/email-code", { challengeToken: challenge })).status).toBe(202);
		await expectProblem(await h.post("/v1/auth/mfa/email-code", { challengeToken: challenge }), 429);
		h.clock.advance(61_000);
		expect((await h.post("/v1/auth/mfa/email-code", { challengeToken: challenge })).status).toBe(202);
	});

	it("a second-factor challenge from before a password reset is dead after it", async () => {
		const h = identityHarness();
		const u = await h.signup();
		const auth = { Authorization: `Bearer ${u.token}` };
		const { secret, recovery } = await (async () => {
			const s = (
				await (
					await h.request("/v1/me/mfa/totp", jsonRequest("POST", { password: PASSWORD }, auth))
				).json<{ secret: string }>()
			).secret;
			const r = await h.request(
				"/v1/me/mfa/totp/confirm",
				jsonRequest("POST", { code: await totpCode(s, h.clock.now()) }, auth),
			);
			return { secret: s, recovery: (await r.json<{ recoveryCodes: string[] }>()).recoveryCodes };
		})();
		const challenge = (await (await h.login(u.email)).json<{ challenge: { token: string } }>()).challenge.token;
		await h.post("/v1/auth/password-reset", { email: u.email });
		const mail = (await h.outbox(u.email)).find((m) => m.subject.includes("reset"));
		const token = /\n\n([a-z2-7]+)\n/.exec(mail?.text ?? "")?.[1] ?? "";
		expect(
			(await h.post("/v1/auth/password-reset/confirm", { token, newPassword: "a fresh passphrase now" })).status,
		).toBe(204);
		h.clock.advance(31_000);
		const late = await h.post("/v1/auth/mfa/verify", {
			challengeToken: challenge,
			method: "totp",
			code: await totpCode(secret, h.clock.now()),
		});
		await expectProblem(late, 401);
		expect(recovery).toHaveLength(10);
	});
});

describe("password change ends pending sign-ins", () => {
	it("a reset token issued before a password change no longer works", async () => {
		const h = identityHarness();
		const u = await h.signup();
		await h.post("/v1/auth/password-reset", { email: u.email });
		const mail = (await h.outbox(u.email)).find((m) => m.subject.includes("reset"));
		const token = /\n\n([a-z2-7]+)\n/.exec(mail?.text ?? "")?.[1] ?? "";
		const changed = await h.request(
			"/v1/me/password",
			jsonRequest(
				"POST",
				{ currentPassword: PASSWORD, newPassword: "changed in the meantime" },
				{ Authorization: `Bearer ${u.token}` },
			),
		);
		expect(changed.status).toBe(204);
		await expectProblem(
			await h.post("/v1/auth/password-reset/confirm", { token, newPassword: "attacker chosen words" }),
			400,
		);
	});
});
