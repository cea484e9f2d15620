/**
 * Setting up an authenticator in the console (issue #21): a wrong code keeps the enrolment on
 * screen, the same secret and QR code, with the API's message next to the code field, so the
 * entry the person's app already holds is not left dead.
 */
import { describe, expect, it } from "vitest";
import { SESSION_COOKIE } from "../../src/identity/sessions";
import { BASE } from "../support/app";
import { identityHarness, PASSWORD, totpCode } from "../support/identity";

const h = identityHarness();

const form = (token: string, fields: Record<string, string>): RequestInit => ({
	method: "POST",
	headers: {
		Cookie: `${SESSION_COOKIE}=${token}`,
		Origin: new URL(BASE).origin,
		"Content-Type": "application/x-www-form-urlencoded",
	},
	body: new URLSearchParams(fields).toString(),
});

const htmlUnescape = (s: string) => s.replaceAll("&amp;", "&").replaceAll("&#39;", "'").replaceAll("&quot;", '"');
const secretIn = (page: string) => /id="totp-secret"[^>]*>\s*([A-Z2-7]+)\s*</.exec(page)?.[1] ?? "";
const uriIn = (page: string) => htmlUnescape(/name="uri" value="([^"]+)"/.exec(page)?.[1] ?? "");

describe("console: TOTP enrolment", () => {
	it("a wrong code keeps the same enrolment on screen with the message at the code field; the right one finishes", async () => {
		const u = await h.signup();
		const started = await h.request("/console/security/totp", form(u.token, { password: PASSWORD }));
		expect(started.status).toBe(200);
		const page = await started.text();
		const secret = secretIn(page);
		expect(secret).toMatch(/^[A-Z2-7]{16,}$/);
		expect(uriIn(page)).toContain(`secret=${secret}`);

		const wrong = await h.request(
			"/console/security/totp/confirm",
			form(u.token, { code: "000000", uri: uriIn(page) }),
		);
		expect(wrong.status).toBe(400);
		const again = await wrong.text();
		expect(secretIn(again)).toBe(secret);
		expect(again).toContain('class="qr"');
		// The API's own sentence, next to the field (announced with it), not a raw code or jargon.
		expect(again).toMatch(/id="code-error"[^>]*>[^<]*does not match/);
		expect(again).toMatch(/aria-describedby="code-error"/);

		const right = await h.request(
			"/console/security/totp/confirm",
			form(u.token, { code: await totpCode(secret, h.clock.now()), uri: uriIn(again) }),
		);
		expect(right.status).toBe(200);
		expect(await right.text()).toContain('id="recovery-codes"');
	});

	it("a posted value that is not an otpauth URI is not rendered as an enrolment", async () => {
		const u = await h.signup();
		await h.request("/console/security/totp", form(u.token, { password: PASSWORD }));
		for (const uri of [
			"javascript:alert(1)",
			"otpauth://totp/x?secret=lower",
			"https://evil.example/?secret=ABCDEFGHIJKLMNOP",
		]) {
			const res = await h.request("/console/security/totp/confirm", form(u.token, { code: "000000", uri }));
			const body = await res.text();
			expect(body, uri).not.toContain('id="totp-secret"');
			expect(body, uri).toContain("does not match");
		}
	});
});
