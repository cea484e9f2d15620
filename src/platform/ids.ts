import { encodeBase32LowerCaseNoPadding } from "@oslojs/encoding";

export type IdPrefix =
	| "acc"
	| "usr"
	| "key"
	| "ses"
	| "inv"
	| "evt"
	| "whk"
	| "msg"
	| "dlv"
	| "pky"
	| "svc"
	| "lgs"
	| "dom"
	| "grp"
	| "sso";

/** Opaque, unguessable ids with a type prefix (API.md §1): 80 random bits, base32. */
export function newId(prefix: IdPrefix): string {
	const bytes = new Uint8Array(10);
	crypto.getRandomValues(bytes);
	return `${prefix}_${encodeBase32LowerCaseNoPadding(bytes)}`;
}

/** What `newId(prefix)` returns, and nothing else: no separators, dots or escapes can ride along. */
export const idPattern = (prefix: IdPrefix): RegExp => new RegExp(`^${prefix}_[a-z2-7]{16}$`);

export const isIdOf = (prefix: IdPrefix, value: string): boolean => idPattern(prefix).test(value);
