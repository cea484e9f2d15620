import { describe, expect, it } from "vitest";
import { identityHarness, PASSWORD, totpCode, uniqueEmail } from "../support/identity";
import { jsonRequest } from "../support/request";

describe("secrets never leave where they belong", () => {
	it("no password, token, TOTP secret or code appears in logs, audit events or error bodies", async () => {
		const h = identityHarness();
		const secrets: string[] = [PASSWORD, "wrong-password-attempt-9"];
		const errorBodies: string[] = [];
		const send = async (path: string, init?: RequestInit) => {
			const res = await h.request(path, init);
			if (res.status >= 400) errorBodies.push(await res.clone().text());
			return res;
		};

		const email = uniqueEmail();
		const signup = await (
			await send("/v1/auth/signup", jsonRequest("POST", { email, password: PASSWORD, name: "Ada" }))
		).json<{
			session: { token: string };
		}>();
		const token = signup.session.token;
		secrets.push(token, token.split(".")[2] ?? "");
		const auth = { Authorization: `Bearer ${token}` };
		await send("/v1/auth/login", jsonRequest("POST", { email, password: "wrong-password-attempt-9" }));
		const enrol = await (await send("/v1/me/mfa/totp", jsonRequest("POST", { password: PASSWORD }, auth))).json<{
			secret: string;
		}>();
		secrets.push(enrol.secret);
		const code = await totpCode(enrol.secret, h.clock.now());
		secrets.push(code);
		const { recoveryCodes } = await (await send("/v1/me/mfa/totp/confirm", jsonRequest("POST", { code }, auth))).json<{
			recoveryCodes: string[];
		}>();
		secrets.push(...recoveryCodes);
		const challenge = await (await send("/v1/auth/login", jsonRequest("POST", { email, password: PASSWORD }))).json<{
			challenge: { token: string };
		}>();
		secrets.push(challenge.challenge.token);
		await send("/v1/auth/mfa/email-code", jsonRequest("POST", { challengeToken: challenge.challenge.token }));
		await send(
			"/v1/auth/mfa/verify",
			jsonRequest("POST", { challengeToken: challenge.challenge.token, method: "recovery_code", code: "nope-nope" }),
		);
		await send("/v1/auth/password-reset", jsonRequest("POST", { email }));
		for (const mail of await h.outbox(email)) {
			const found = /\n\n([a-z2-7]{40,})\n/.exec(mail.text)?.[1] ?? /code is (\d{6})/.exec(mail.text)?.[1];
			if (found) secrets.push(found);
		}
		await send(`/v1/me?token=${token}`);
		await send("/v1/me", { headers: { Authorization: `Bearer ${token}x` } });

		const written = [h.logs.join("\n"), JSON.stringify(h.audit.sent), errorBodies.join("\n")].join("\n");
		expect(h.audit.sent.length).toBeGreaterThan(10);
		for (const secret of secrets.filter((s) => s.length >= 6)) expect(written, "a secret leaked").not.toContain(secret);
	});
});
