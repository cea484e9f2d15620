/**
 * Every kind of secret Keyward hands out, each with the one pattern that
 * recognises it. The modules that mint secrets mint them here (or, for API keys
 * and session tokens, export their format from their own module, listed
 * below), and the audit scrubber redacts every pattern of `SECRET_FORMATS`
 * wherever it appears in a value. A test mints one of each and scrubs it, and
 * another refuses randomness drawn anywhere but the modules listed here, so a
 * new secret format cannot be added without the scrubber knowing it.
 */
import { encodeBase32UpperCaseNoPadding } from "@oslojs/encoding";
import { API_KEY_PATTERN } from "./api-key-format";
import { randomToken } from "./random";
import { SESSION_TOKEN_PATTERN } from "./session-token";

/** Email verification and password reset tokens, invitation tokens, sign-in challenge tokens: 256 bits. */
export const mintOpaqueToken = (): string => randomToken(32);
// No word boundaries here or below (but for recovery codes): a secret glued to other text
// ("x<token>", "<token>_") is still that secret. Case-insensitive: a pasted secret may be upper-cased.
const OPAQUE_TOKEN_PATTERN = /[a-z2-7]{52}/i;

/** Recovery codes: `xxxxx-xxxxx`, 50 bits each, ten at a time, single use. */
export function mintRecoveryCode(): string {
	const raw = randomToken(8).slice(0, 10);
	return `${raw.slice(0, 5)}-${raw.slice(5, 10)}`;
}
// Case-insensitive: a person may paste one in capitals. It can match an ordinary word pair
// ("stale-token"); redacting that from an audit reason is the cheaper mistake. Unlike the others it
// keeps its word boundaries: without them every hyphenated phrase would go ("member-removed").
const RECOVERY_CODE_PATTERN = /\b[a-z2-7]{5}-[a-z2-7]{5}\b/i;

/** Webhook signing secrets, shown once. */
export const mintWebhookSecret = (): string => `whsec_${randomToken(32)}`;
const WEBHOOK_SECRET_PATTERN = /whsec_[a-z2-7]{20,}/i;

/** A TOTP secret as authenticator apps are given it (RFC 4648 base32 of 20 bytes). */
export const totpSecretText = (key: Uint8Array): string => encodeBase32UpperCaseNoPadding(key);
const TOTP_SECRET_PATTERN = /[A-Z2-7]{32}/i;

export const SECRET_FORMATS: Readonly<Record<string, RegExp>> = {
	apiKey: API_KEY_PATTERN,
	sessionToken: SESSION_TOKEN_PATTERN,
	opaqueToken: OPAQUE_TOKEN_PATTERN,
	recoveryCode: RECOVERY_CODE_PATTERN,
	webhookSecret: WEBHOOK_SECRET_PATTERN,
	totpSecret: TOTP_SECRET_PATTERN,
};

/** Zero-width and other invisible format characters someone may have slipped inside a secret. */
const INVISIBLE = /\p{Cf}/gu;

/** True when `value` contains anything shaped like a secret Keyward mints. */
export function containsMintedSecret(value: string): boolean {
	const visible = value.replace(INVISIBLE, "");
	return Object.values(SECRET_FORMATS).some((pattern) => pattern.test(visible));
}
