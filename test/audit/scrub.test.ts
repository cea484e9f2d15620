import { describe, expect, it } from "vitest";
import { isSecretFieldName, REDACTED, scrubMetadata } from "../../src/audit/scrub";

describe("audit metadata scrubber", () => {
	it("removes every field that could hold a secret, at any depth", () => {
		const out = scrubMetadata({
			password: "hunter2",
			newPassword: "hunter3",
			nested: { deeper: { sessionToken: "tok", apiKey: "k", recoveryCodes: ["a", "b"], totp_code: "123456" } },
			headers: { Authorization: "Bearer abc", cookie: "__Host-keyward_session=x" },
			list: [{ secret: "s" }, { clientSecret: "c" }],
			code: "654321",
			mfaCode: "1",
		});
		const text = JSON.stringify(out);
		for (const secret of [
			"hunter2",
			"hunter3",
			'"tok"',
			'"k"',
			'"a"',
			"123456",
			"Bearer abc",
			"654321",
			'"s"',
			'"c"',
		]) {
			expect(text).not.toContain(secret);
		}
		expect(out.password).toBe(REDACTED);
		expect((out.nested as { deeper: Record<string, unknown> }).deeper.recoveryCodes).toBe(REDACTED);
	});

	it("keeps identifiers and ordinary fields", () => {
		const out = scrubMetadata({
			keyId: "key_1",
			scopes: ["db:read"],
			status: 200,
			statusCode: 401,
			keysRevoked: 3,
			method: "GET",
		});
		expect(out).toEqual({
			keyId: "key_1",
			scopes: ["db:read"],
			status: 200,
			statusCode: 401,
			keysRevoked: 3,
			method: "GET",
		});
	});

	it("removes credential-looking values under innocent names", () => {
		const out = scrubMetadata({ note: "kw_live_abcdefghijklmnop", via: "Bearer xyz" });
		expect(out).toEqual({ note: REDACTED, via: REDACTED });
	});

	it("masks personal data in metadata: emails, names, IPs", () => {
		const out = scrubMetadata({
			email: "ada.lovelace@example.com",
			fullName: "Ada",
			invited: "bob@example.org joined",
			ip: "198.51.100.23",
		});
		expect(out).toEqual({
			email: "a***@example.com",
			fullName: "A***",
			invited: "b***@example.org joined",
			ip: "198.51.100.0",
		});
	});

	it("keeps a __proto__ key as data without touching prototypes", () => {
		const input = JSON.parse('{"__proto__": {"polluted": true}, "ok": 1}');
		const out = scrubMetadata(input);
		expect(({} as Record<string, unknown>).polluted).toBeUndefined();
		expect(out.ok).toBe(1);
	});

	it("classifies names", () => {
		expect(isSecretFieldName("X-Api-Key")).toBe(true);
		expect(isSecretFieldName("resetToken")).toBe(true);
		expect(isSecretFieldName("keyId")).toBe(false);
		expect(isSecretFieldName("countryCode")).toBe(false);
	});
});

describe("audit metadata scrubber, secret shapes", () => {
	it("removes short secret names, TOTP URIs and secrets in URLs; keeps dates readable", () => {
		const out = scrubMetadata({
			pwd: "p",
			auth: "a",
			jwt: "j",
			uri: "otpauth://totp/Keyward:ada?secret=JBSWY3DPEHPK3PXP&issuer=Keyward",
			link: "https://example.com/reset?token=abc123",
			at: new Date("2026-01-02T03:04:05Z"),
		});
		expect(out).toEqual({
			pwd: REDACTED,
			auth: REDACTED,
			jwt: REDACTED,
			uri: REDACTED,
			link: REDACTED,
			at: "2026-01-02T03:04:05.000Z",
		});
	});
});
