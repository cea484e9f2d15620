/**
 * Masking applied to every audit event before it leaves the handler (queue,
 * fallback table, archive, logs). Two independent nets: field names that can
 * hold a secret are removed whatever their value, and values that look like a
 * credential are removed whatever their field. Personal data in metadata is
 * masked; the actor's IP and user agent stay (they are what an audit is for).
 */
import { containsMintedSecret } from "../security/secret-formats";

export const REDACTED = "[REDACTED]";
const MAX_DEPTH = 8;
const MAX_STRING = 1024;

// Field names that can carry a secret, compared lowercase with separators removed.
const SECRET_NAME =
	/pass(word|wd|phrase)?|secret|token|authorization|cookie|recovery|otp|totp|pepper|signature|credential|privatekey|apikey|session$/;
const SECRET_EXACT = new Set([
	"key",
	"code",
	"pin",
	"pwd",
	"auth",
	"jwt",
	"nonce",
	"salt",
	"mfacode",
	"emailcode",
	"bearer",
	"hash",
]);
const SECRET_SUFFIX = ["key", "code"];
// Names that end like a secret but hold none.
const NOT_SECRET = new Set(["statuscode", "errorcode", "countrycode", "reasoncode", "resultcode", "keyid"]);

// Credentials of other systems and credential-bearing URLs; Keyward's own formats come from
// SECRET_FORMATS, the same module that mints them.
const CREDENTIAL_VALUE =
	/\bbearer\s+\S+|\bbasic\s+[A-Za-z0-9+/=]{8,}|otpauth:\/\/|[?&]([\w-]*[_-])?(token|secret|code|key|password)=|-----BEGIN [A-Z ]*PRIVATE KEY|LS0tLS1CRUdJT|\beyJ[\w-]{8,}\.eyJ[\w-]{8,}|\b(AKIA|ASIA)[0-9A-Z]{16}\b|\b(gh[pousr]_[A-Za-z0-9]{30,}|github_pat_\w{30,}|[sr]k_(live|test)_[A-Za-z0-9]{16,}|xox[abpr]-[\w-]{10,})/i;

/**
 * A value that is, or carries, a credential: one of Keyward's own formats, a bearer or basic
 * header, a credential in a URL, a private key, a JWT, or a well-known vendor key (AWS, GitHub,
 * Stripe, Slack). The scrubber redacts such values; places that must not hold one (key
 * metadata) refuse them.
 */
export const looksLikeCredential = (value: string): boolean =>
	CREDENTIAL_VALUE.test(value) ||
	containsMintedSecret(value) ||
	(percentDecoded(value) !== value && looksLikeCredential(percentDecoded(value)));

/** The value with its percent-escapes decoded (once), or itself when it has none or they are malformed. */
function percentDecoded(value: string): string {
	if (!value.includes("%")) return value;
	try {
		return decodeURIComponent(value);
	} catch {
		return value;
	}
}
const EMAIL_VALUE = /([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})/g;
/** Field names (normalised) whose values name a person: masked when recorded, sealed when archived. */
export const PERSONAL_NAME = new Set([
	"name",
	"fullname",
	"displayname",
	"username",
	"firstname",
	"lastname",
	"phone",
	"address",
]);
/** Field names (normalised) whose values are IP addresses. */
export const IP_NAME = new Set(["ip", "ipaddress", "clientip", "remoteip"]);

/** A field name lowercased with separators removed, as the name sets above hold them. */
export const normalise = (name: string) => name.toLowerCase().replace(/[^a-z0-9]/g, "");

export function isSecretFieldName(name: string): boolean {
	const n = normalise(name);
	if (NOT_SECRET.has(n)) return false;
	if (SECRET_EXACT.has(n) || SECRET_NAME.test(n)) return true;
	return SECRET_SUFFIX.some((suffix) => n.endsWith(suffix));
}

export const maskEmail = (value: string): string => value.replace(EMAIL_VALUE, "$1***@$2");

export function maskIp(value: string): string {
	if (value.includes(".")) return value.replace(/\.\d+$/, ".0");
	if (value.includes(":")) return `${value.split(":").slice(0, 3).join(":")}::`;
	return REDACTED;
}

function scrubValue(name: string, value: unknown, depth: number): unknown {
	if (isSecretFieldName(name)) return REDACTED;
	if (value === null || typeof value === "number" || typeof value === "boolean") return value;
	if (value instanceof Date) return value.toISOString();
	if (typeof value === "string") {
		if (looksLikeCredential(value)) return REDACTED;
		const n = normalise(name);
		if (IP_NAME.has(n)) return maskIp(value);
		if (PERSONAL_NAME.has(n)) return value.length > 0 ? `${value[0]}***` : value;
		const masked = maskEmail(value);
		return masked.length > MAX_STRING ? `${masked.slice(0, MAX_STRING)}…` : masked;
	}
	if (depth >= MAX_DEPTH) return REDACTED;
	if (Array.isArray(value)) return value.slice(0, 100).map((item) => scrubValue(name, item, depth + 1));
	if (typeof value === "object") return scrubObject(value as Record<string, unknown>, depth + 1);
	return undefined; // functions, symbols, bigints: never serialised
}

function scrubObject(input: Record<string, unknown>, depth: number): Record<string, unknown> {
	// A null prototype means a `__proto__` key in the input stays an ordinary key.
	const out: Record<string, unknown> = Object.create(null);
	for (const [name, value] of Object.entries(input)) {
		const clean = scrubValue(name, value, depth);
		if (clean !== undefined) out[name] = clean;
	}
	return { ...out };
}

/**
 * The actor's address and user agent are kept (they are what an audit is for), but they are the
 * client's own text: a token pasted into a User-Agent header must not reach the trail either.
 */
export const scrubActor = <A extends { ip: string | null; userAgent: string | null }>(actor: A): A => ({
	...actor,
	ip: actor.ip && containsMintedSecret(actor.ip) ? REDACTED : actor.ip,
	// A script's user agent may carry its author's address ("deploy/1 (ada@example.com)"): masked like metadata's.
	userAgent:
		actor.userAgent && containsMintedSecret(actor.userAgent) ? REDACTED : actor.userAgent && maskEmail(actor.userAgent),
});

/** Returns a masked deep copy of audit metadata. */
export const scrubMetadata = (metadata: Record<string, unknown>): Record<string, unknown> => scrubObject(metadata, 0);
