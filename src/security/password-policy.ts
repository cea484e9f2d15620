/**
 * Password rules after NIST SP 800-63B-4 §3.1.1.2 and OWASP ASVS 5 §6.2:
 * length is what matters (12 to 256 characters, counted in Unicode code
 * points after one NFKC normalisation), every character is allowed, nothing
 * is truncated, common passwords and passwords that are little more than the
 * account's own email address are refused (a long passphrase that happens to
 * contain the address's local part is not). Composition rules are an account option, off by
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
	/** For programs; never shown to a person. */
	rule: PasswordRule;
	/** A plain sentence for the person choosing the password. */
	message: string;
}

/** Fewer characters than this left once the email's parts are taken out: the password is the email. */
const OWN_CHARACTERS_MIN = 8;

/**
 * Whether the password is little more than the email address. The address's parts are taken out
 * (the address, its local part with and without separators, each word of it, its domain: each of
 * 3 characters or more), and runs of one repeated character count once. Refused when fewer than 8
 * characters are left, or when the parts made up half of it or more. "ada.lovelace2026!",
 * "ada.lovelace!!!!!!!!!!!!" and "lovelace.ada" for ada.lovelace@… are refused; "a perfectly long
 * dev passphrase" for dev@… is not.
 */
function mostlyEmail(lower: string, email: string | undefined): boolean {
	const address = email?.normalize("NFKC").toLowerCase() ?? "";
	const [localPart = "", domain = ""] = address.split("@");
	const words = localPart.split(/[._+-]+/);
	const parts = [address, localPart, words.join(""), ...words, domain]
		.filter((part) => part.length >= 3)
		.sort((a, b) => b.length - a.length);
	let rest = lower;
	for (const part of parts) rest = rest.split(part).join("");
	if (rest === lower) return false;
	const left = codePoints(rest.replace(/(.)\1+/gu, "$1"));
	return left < OWN_CHARACTERS_MIN || codePoints(lower) - codePoints(rest) >= codePoints(lower) / 2;
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
		out.push({ rule: "malformed", message: "The password holds broken text (an unpaired surrogate); type it again" });
	}
	if (length < policy.minLength) {
		out.push({
			rule: "min_length",
			message: `Use at least ${policy.minLength} characters; a few unrelated words make a strong one`,
		});
	}
	if (length > PASSWORD_MAX_LENGTH) {
		out.push({ rule: "max_length", message: `Use at most ${PASSWORD_MAX_LENGTH} characters` });
	}
	if (COMMON.has(lower)) {
		out.push({ rule: "common_password", message: "This password is one of the most common; choose another" });
	}
	if (mostlyEmail(lower, email)) {
		out.push({
			rule: "contains_email",
			message: "This password is mostly your email address, which others can guess; add words of your own",
		});
	}
	if (lower.includes(PRODUCT_NAME)) {
		out.push({ rule: "contains_product_name", message: "Leave the product's name out of the password" });
	}
	if (policy.composition) {
		const classes = [/\p{Ll}/u, /\p{Lu}/u, /\p{Nd}/u, /[^\p{L}\p{Nd}]/u];
		if (!classes.every((re) => re.test(normalized))) {
			out.push({
				rule: "composition",
				message: "This account asks for a lowercase letter, an uppercase letter, a digit and a symbol",
			});
		}
	}
	return out;
}
