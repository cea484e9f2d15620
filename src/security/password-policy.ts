/**
 * Password rules after NIST SP 800-63B-4 §3.1.1.2 and OWASP ASVS 5 §6.2:
 * length is what matters (12 to 256 characters, counted in Unicode code
 * points after one NFKC normalisation), every character is allowed, nothing
 * is truncated, common passwords and passwords built from the account's own
 * identifiers are refused. Composition rules are an account option, off by
 * default, because NIST advises against them.
 */
import { dictionary } from "@zxcvbn-ts/language-common";
import { COMMON_LONG_PASSWORDS } from "./generated/common-passwords";

export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 256;
const PRODUCT_NAME = "keyward";

// Common passwords, lowercase, loaded once per isolate: zxcvbn's ~49,000 (of which 308 are 12 or
// more characters long), and the 10,000 most common of 12 or more from OWASP SecLists (ASVS 6.2.4;
// generated at install by scripts/common-passwords.mjs).
const COMMON = new Set([...dictionary["passwords-common"], ...COMMON_LONG_PASSWORDS]);

export type PasswordRule =
	| "min_length"
	| "max_length"
	| "common_password"
	| "contains_email"
	| "contains_product_name"
	| "composition"
	| "malformed";

export interface PasswordPolicy {
	/** Never below 12; deployments may raise it (PASSWORD_MIN_LENGTH). */
	minLength: number;
	/** The account option `passwordComposition`: at least one lowercase, uppercase, digit and symbol. */
	composition: boolean;
}

export interface PasswordViolation {
	rule: PasswordRule;
	message: string;
}

/** The one normalisation applied before checking and hashing, so the same password always hashes the same. */
export const normalizePassword = (password: string): string => password.normalize("NFKC");

const codePoints = (s: string): number => [...s].length;

export function passwordPolicyFrom(minLengthVar: string | undefined, composition = false): PasswordPolicy {
	const configured = Number.parseInt(minLengthVar ?? "", 10);
	return {
		minLength: Number.isFinite(configured)
			? Math.min(PASSWORD_MAX_LENGTH, Math.max(PASSWORD_MIN_LENGTH, configured))
			: PASSWORD_MIN_LENGTH,
		composition,
	};
}

/** Every rule the password breaks; empty when it is acceptable. */
export function checkPassword(password: string, policy: PasswordPolicy, email?: string): PasswordViolation[] {
	const normalized = normalizePassword(password);
	const lower = normalized.toLowerCase();
	const length = codePoints(normalized);
	const out: PasswordViolation[] = [];
	// An unpaired surrogate has no encoding: every one hashes as U+FFFD, so two different such passwords would match.
	if (!password.isWellFormed()) {
		out.push({ rule: "malformed", message: "malformed: the password holds an unpaired surrogate (broken text)" });
	}
	if (length < policy.minLength) {
		out.push({ rule: "min_length", message: `min_length: use at least ${policy.minLength} characters` });
	}
	if (length > PASSWORD_MAX_LENGTH) {
		out.push({ rule: "max_length", message: `max_length: use at most ${PASSWORD_MAX_LENGTH} characters` });
	}
	if (COMMON.has(lower)) {
		out.push({ rule: "common_password", message: "common_password: this password is too common" });
	}
	const localPart = email?.split("@")[0]?.normalize("NFKC").toLowerCase() ?? "";
	if (localPart.length >= 3 && lower.includes(localPart)) {
		out.push({ rule: "contains_email", message: "contains_email: do not use your email address in the password" });
	}
	if (lower.includes(PRODUCT_NAME)) {
		out.push({ rule: "contains_product_name", message: "contains_product_name: do not use the product name" });
	}
	if (policy.composition) {
		const classes = [/\p{Ll}/u, /\p{Lu}/u, /\p{Nd}/u, /[^\p{L}\p{Nd}]/u];
		if (!classes.every((re) => re.test(normalized))) {
			out.push({
				rule: "composition",
				message: "composition: this account requires a lowercase letter, an uppercase letter, a digit and a symbol",
			});
		}
	}
	return out;
}
