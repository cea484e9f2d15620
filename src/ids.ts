import { encodeBase32LowerCaseNoPadding } from "@oslojs/encoding";

export type IdPrefix = "acc" | "usr" | "key" | "ses" | "inv" | "evt" | "whk" | "msg" | "dlv";

/** Opaque, unguessable ids with a type prefix (API.md §1): 80 random bits, base32. */
export function newId(prefix: IdPrefix): string {
	const bytes = new Uint8Array(10);
	crypto.getRandomValues(bytes);
	return `${prefix}_${encodeBase32LowerCaseNoPadding(bytes)}`;
}
