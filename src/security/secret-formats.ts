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
import { API_KEY_PATTERN } from "../keys/format";
import { randomToken } from "./random";
import { SESSION_TOKEN_PATTERN } from "./session-token";

/** Email verification and password reset tokens, invitation tokens, sign-in challenge tokens: 256 bits. */
export const mintOpaqueToken = (): string => randomToken(32);
// No word boundaries here or below (but for recovery codes): a secret glued to other text
// ("x<token>", "<token>_") is still that secret. Case-insensitive: a pasted secret may be upper-cased.
const OPAQUE_TOKEN_PATTERN = /[a-z2-7]{52}/i;

/**
 * Recovery codes (ASVS 6.5.2): 24 characters of Crockford's base32 (no i, l, o or u, so nothing
 * reads as another character), 120 bits, in six groups of four: `7kq2-9mxa-…`. Typed back with
 * any case, spaces or dashes, and with o, i and l read as 0, 1 and 1. Ten at a time, single use,
 * stored as HMAC-SHA256 under the pepper (at 120 bits, a fast keyed hash is enough).
 */
const CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz";
const RECOVERY_CODE_CHARS = 24;

export function mintRecoveryCode(): string {
	const bytes = crypto.getRandomValues(new Uint8Array(RECOVERY_CODE_CHARS));
	const chars = [...bytes].map((b) => CROCKFORD[b & 31]).join("");
	return chars.match(/.{4}/g)?.join("-") ?? chars;
}

/** The stored form of a typed recovery code, or null when it cannot be one. */
export function canonicalRecoveryCode(typed: string): string | null {
	const typedBare = typed.toLowerCase().replace(/[\s-]/g, "");
	// Codes issued before 120-bit codes existed: ten RFC 4648 base32 characters, `xxxxx-xxxxx`, whose
	// alphabet has i, l and o (so they are read before the Crockford look-alike mapping below).
	if (/^[a-z2-7]{10}$/.test(typedBare)) return `${typedBare.slice(0, 5)}-${typedBare.slice(5)}`;
	const bare = typedBare.replace(/o/g, "0").replace(/[il]/g, "1");
	if (/^[0-9a-hjkmnp-tv-z]{24}$/.test(bare)) return bare.match(/.{4}/g)?.join("-") ?? null;
	return null;
}
// Case-insensitive: a person may paste one in capitals. Six groups of four are distinctive
// enough to need no word boundaries; glued to other text they are still found.
const RECOVERY_CODE_PATTERN = /[0-9a-hjkmnp-tv-z]{4}(-?[0-9a-hjkmnp-tv-z]{4}){5}/i;

/** Webhook signing secrets, shown once. */
export const mintWebhookSecret = (): string => `whsec_${randomToken(32)}`;
const WEBHOOK_SECRET_PATTERN = /whsec_[a-z2-7]{20,}/i;

/**
 * A browser's device id, in the signed `__Host-keyward_device` cookie (src/identity/devices.ts):
 * a device that has signed in before keeps its own login budget. Not a credential by itself, but
 * whoever holds it escapes the per-email lock, so it is treated as one.
 */
export const mintDeviceId = (): string => `dev_${randomToken(16)}`;
const DEVICE_ID_PATTERN = /dev_[a-z2-7]{26}/i;

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
	deviceId: DEVICE_ID_PATTERN,
};

/** Zero-width and other invisible format characters someone may have slipped inside a secret. */
const INVISIBLE = /\p{Cf}/gu;

/** True when `value` contains anything shaped like a secret Keyward mints. */
export function containsMintedSecret(value: string): boolean {
	const visible = value.replace(INVISIBLE, "");
	return Object.values(SECRET_FORMATS).some((pattern) => pattern.test(visible));
}
