import { describe, expect, it } from "vitest";
import { identityHarness, PASSWORD, totpCode } from "../support/identity";
import { expectProblem, jsonRequest } from "../support/request";

async function enrolledUser(h: ReturnType<typeof identityHarness>) {
	const user = await h.signupVerified(); // an email code is a second factor only for a verified address
	const auth = { Authorization: `Bearer ${user.token}` };
	const start = await h.request("/v1/me/mfa/totp", jsonRequest("POST", { password: PASSWORD }, auth));
	expect(start.status).toBe(200);
	const { secret, uri, qrSvg } = await start.json<{ secret: string; uri: string; qrSvg: string }>();
	expect(uri).toMatch(/^otpauth:\/\/totp\/Keyward:.+\?.*issuer=Keyward/);
	expect(qrSvg).toMatch(/^<svg[\s\S]*<\/svg>$/);
	const code = await totpCode(secret, h.clock.now());
	const confirm = await h.request("/v1/me/mfa/totp/confirm", jsonRequest("POST", { code }, auth));
	expect(confirm.status).toBe(200);
	const { recoveryCodes } = await confirm.json<{ recoveryCodes: string[] }>();
	return { ...user, auth, secret, recoveryCodes };
}

describe("TOTP two-factor", () => {
	it("enrols, then login answers a challenge and a TOTP code finishes it; the code cannot be replayed", async () => {
		const h = identityHarness();
		const u = await enrolledUser(h);
		expect(u.recoveryCodes).toHaveLength(10);
		expect(new Set(u.recoveryCodes).size).toBe(10);
		const me = await (await h.get("/v1/me", u.token)).json<{ user: { mfaEnabled: boolean } }>();
		expect(me.user.mfaEnabled).toBe(true);

		h.clock.advance(30_000);
		const login = await (await h.login(u.email)).json<{
			mfaRequired: boolean;
			challenge: { token: string; methods: string[] };
		}>();
		expect(login.mfaRequired).toBe(true);
		expect(login.challenge.methods).toEqual(["totp", "recovery_code", "email_code"]);
		const code = await totpCode(u.secret, h.clock.now());
		const done = await h.post("/v1/auth/mfa/verify", { challengeToken: login.challenge.token, method: "totp", code });
		expect(done.status).toBe(200);
		expect((await done.json<{ session: { token: string } }>()).session.token).toMatch(/^usr_/);
		// The challenge was single use, and the same code on a new challenge is a replay.
		await expectProblem(
			await h.post("/v1/auth/mfa/verify", { challengeToken: login.challenge.token, method: "totp", code }),
			401,
		);
		const again = await (await h.login(u.email)).json<{ challenge: { token: string } }>();
		await expectProblem(
			await h.post("/v1/auth/mfa/verify", { challengeToken: again.challenge.token, method: "totp", code }),
			401,
		);
	});

	it("recovery codes work once each; regenerating retires the old ones", async () => {
		const h = identityHarness();
		const u = await enrolledUser(h);
		const challenge = async () =>
			(await (await h.login(u.email)).json<{ challenge: { token: string } }>()).challenge.token;
		const [first, second] = u.recoveryCodes;
		expect(
			(await h.post("/v1/auth/mfa/verify", { challengeToken: await challenge(), method: "recovery_code", code: first }))
				.status,
		).toBe(200);
		await expectProblem(
			await h.post("/v1/auth/mfa/verify", { challengeToken: await challenge(), method: "recovery_code", code: first }),
			401,
		);
		// The password alone does not make new codes: they replace the authenticator, so it takes the authenticator.
		await expectProblem(
			await h.request("/v1/me/mfa/recovery-codes", jsonRequest("POST", { password: PASSWORD }, u.auth)),
			400,
		);
		h.clock.advance(31_000);
		const regen = await h.request(
			"/v1/me/mfa/recovery-codes",
			jsonRequest("POST", { password: PASSWORD, code: await totpCode(u.secret, h.clock.now()) }, u.auth),
		);
		expect(regen.status).toBe(200);
		expect(h.audit.sent.some((e) => e.action === "auth.mfa.recovery_codes_replaced")).toBe(true);
		expect((await h.outbox(u.email)).some((m) => m.subject === "Keyward: new recovery codes")).toBe(true);
		const fresh = (await regen.json<{ recoveryCodes: string[] }>()).recoveryCodes;
		await expectProblem(
			await h.post("/v1/auth/mfa/verify", { challengeToken: await challenge(), method: "recovery_code", code: second }),
			401,
		);
		expect(
			(
				await h.post("/v1/auth/mfa/verify", {
					challengeToken: await challenge(),
					method: "recovery_code",
					code: fresh[0],
				})
			).status,
		).toBe(200);
	});

	it("email codes: sent to the outbox, single use, five attempts", async () => {
		const h = identityHarness();
		const u = await enrolledUser(h);
		const token = (await (await h.login(u.email)).json<{ challenge: { token: string } }>()).challenge.token;
		expect((await h.post("/v1/auth/mfa/email-code", { challengeToken: token })).status).toBe(202);
		const code = /code is (\d{6})/.exec((await h.outbox(u.email))[0]?.text ?? "")?.[1] ?? "";
		expect(code).toMatch(/^\d{6}$/);
		expect((await h.post("/v1/auth/mfa/verify", { challengeToken: token, method: "email_code", code })).status).toBe(
			200,
		);

		const t2 = (await (await h.login(u.email)).json<{ challenge: { token: string } }>()).challenge.token;
		await h.post("/v1/auth/mfa/email-code", { challengeToken: t2 });
		const code2 = /code is (\d{6})/.exec((await h.outbox(u.email))[0]?.text ?? "")?.[1] ?? "";
		for (let i = 0; i < 4; i++) {
			await expectProblem(
				await h.post("/v1/auth/mfa/verify", { challengeToken: t2, method: "email_code", code: "000000" }),
				401,
			);
		}
		// The fifth failure locks the second factor for 15 minutes, for every method.
		await expectProblem(
			await h.post("/v1/auth/mfa/verify", { challengeToken: t2, method: "email_code", code: "000000" }),
			401,
		);
		const blocked = await h.post("/v1/auth/mfa/verify", { challengeToken: t2, method: "email_code", code: code2 });
		await expectProblem(blocked, 429);
		expect(Number(blocked.headers.get("retry-after"))).toBe(900);
		expect(
			h.audit.sent.filter((e) => e.action === "auth.mfa.failed" && e.metadata.reason === "wrong_secret"),
		).toHaveLength(5);
		expect(
			h.audit.sent.filter((e) => e.action === "auth.mfa.failed" && e.metadata.reason === "throttled"),
		).toHaveLength(1);
		expect((await h.outbox(u.email)).some((m) => m.subject.includes("second-factor"))).toBe(true);
	});

	it("disabling needs the password and a current code", async () => {
		const h = identityHarness();
		const u = await enrolledUser(h);
		h.clock.advance(30_000);
		const code = await totpCode(u.secret, h.clock.now());
		const badPassword = await h.request(
			"/v1/me/mfa/totp",
			jsonRequest("DELETE", { password: "not my password!", code }, u.auth),
		);
		await expectProblem(badPassword, 400);
		expect(
			(await h.request("/v1/me/mfa/totp", jsonRequest("DELETE", { password: PASSWORD, code }, u.auth))).status,
		).toBe(204);
		expect((await (await h.login(u.email)).json<{ session?: unknown }>()).session).toBeDefined();
		expect(h.audit.sent.map((e) => e.action)).toEqual(
			expect.arrayContaining(["auth.mfa.enabled", "auth.mfa.disabled"]),
		);
	});
});
