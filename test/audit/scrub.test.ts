/// <reference types="vite/client" />
import { describe, expect, it } from "vitest";
import { isSecretFieldName, REDACTED, scrubActor, scrubMetadata } from "../../src/audit/scrub";
import { generateApiKey } from "../../src/keys/format";
import { newId } from "../../src/platform/ids";
import {
	mintDeviceId,
	mintOpaqueToken,
	mintRecoveryCode,
	mintWebhookSecret,
	SECRET_FORMATS,
	totpSecretText,
} from "../../src/security/secret-formats";
import { generateSessionToken } from "../../src/security/session-token";
import { newTotpKey } from "../../src/security/totp";

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

describe("the scrubber knows every secret Keyward mints", () => {
	const SAMPLES: Record<string, () => string> = {
		apiKey: () => generateApiKey(newId("acc"), "live"),
		sessionToken: () => generateSessionToken(newId("usr")).token,
		opaqueToken: mintOpaqueToken,
		recoveryCode: mintRecoveryCode,
		webhookSecret: mintWebhookSecret,
		totpSecret: () => totpSecretText(newTotpKey()),
		deviceId: mintDeviceId,
	};

	it("redacts a freshly minted secret of each format wherever it is pasted", () => {
		expect(Object.keys(SAMPLES).sort()).toEqual(Object.keys(SECRET_FORMATS).sort());
		for (const [format, mint] of Object.entries(SAMPLES)) {
			for (let i = 0; i < 20; i++) {
				const secret = mint();
				const out = scrubMetadata({ reason: `revoked because ${secret} was pasted in chat`, note: [secret] });
				expect(JSON.stringify(out), format).not.toContain(secret);
				expect(out.reason, format).toBe(REDACTED);
				// Dressed up: upper-cased, with an invisible character inside, glued to other text.
				const mid = Math.floor(secret.length / 2);
				const disguises = [secret.toUpperCase(), `${secret.slice(0, mid)}\u200b${secret.slice(mid)}`];
				if (format !== "recoveryCode") disguises.push(`x${secret}`, `${secret}_`, `0${secret}9`);
				for (const disguised of disguises)
					expect(scrubMetadata({ reason: disguised }).reason, `${format}: ${disguised}`).toBe(REDACTED);
			}
		}
	});

	it("a secret in the client's User-Agent (or address) does not reach the actor either", () => {
		const token = generateSessionToken(newId("usr")).token;
		const actor = scrubActor({ type: "user", id: null, ip: "192.0.2.1", userAgent: `curl/8 ${token}` });
		expect(actor).toEqual({ type: "user", id: null, ip: "192.0.2.1", userAgent: REDACTED });
		expect(scrubActor({ ip: null, userAgent: "Mozilla/5.0 (X11; Linux x86_64)" }).userAgent).toBe(
			"Mozilla/5.0 (X11; Linux x86_64)",
		);
	});

	it("an address in a User-Agent is masked like one in metadata (a key's script names its author)", () => {
		expect(scrubActor({ ip: null, userAgent: "OwnerScript/9 (laptop; own1@example.com)" }).userAgent).toBe(
			"OwnerScript/9 (laptop; o***@example.com)",
		);
	});

	it("randomness is drawn only where the formats are defined, so no secret format escapes the list", () => {
		// The modules allowed to draw random values, each with what it draws.
		const ALLOWED: Record<string, string> = {
			"/src/security/random.ts": "the primitive itself",
			"/src/security/secret-formats.ts": "opaque tokens, recovery codes, webhook secrets",
			"/src/keys/format.ts": "API keys (API_KEY_PATTERN)",
			"/src/security/session-token.ts": "session tokens (SESSION_TOKEN_PATTERN)",
			"/src/security/totp.ts": "TOTP keys (shown through totpSecretText)",
			"/src/security/secret-box.ts": "AES-GCM nonces, never shown",
			"/src/platform/ids.ts": "public ids, not secrets",
			"/src/identity/mfa.ts": "6-digit email codes (randomDigits; too short to recognise, redacted by field name)",
			"/src/middleware/request-id/index.ts": "request ids, public",
			"/src/console/components/render.tsx": "CSP nonces, public",
			"/src/routes/docs.ts": "CSP nonces, public",
			"/src/audit/consumer.ts": "dead-letter object names, public",
			"/src/identity/passkeys.ts": "WebAuthn challenges: sent to the browser to be signed, stored hashed, single use",
			"/src/streams/pump.ts": "log-stream lease tokens: kept on the stream's row, never shown",
			"/src/privacy/data-keys.ts": "people's data keys: stored only sealed under PII_WRAPPING_KEY, never shown",
			"/src/privacy/sealing.ts": "AES-GCM nonces of sealed audit fields, public by design",
			"/src/durable/regional-guard.ts":
				"a regional guard's incarnation: names a share holder between two objects, never shown, not a credential",
			"/src/durable/account-guard.ts":
				"shard move ids: name one hand-over of slots between two of an account's objects, never shown, not a credential",
			"/src/sso/domains.ts": "domain challenges: published in DNS by design, proof of control not a credential",
			"/src/sso/sign-in.ts":
				"single sign-on state, nonce, PKCE verifier and browser binding: stored hashed or sealed, ten minutes, single use",
		};
		const sources = import.meta.glob("/src/**/*.{ts,tsx}", { query: "?raw", import: "default", eager: true });
		expect(Object.keys(sources).length).toBeGreaterThan(50);
		const drawing = Object.entries(sources)
			.filter(([, text]) => /getRandomValues|randomUUID|randomToken\(|randomDigits\(/.test(String(text)))
			.map(([path]) => path);
		expect(drawing.filter((path) => !(path in ALLOWED))).toEqual([]);
	});
});
