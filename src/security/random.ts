import { encodeBase32LowerCaseNoPadding } from "@oslojs/encoding";

/** A random string of `bytes` bytes of entropy, lowercase base32 (URL- and header-safe). */
export function randomToken(bytes = 20): string {
	const buffer = new Uint8Array(bytes);
	crypto.getRandomValues(buffer);
	return encodeBase32LowerCaseNoPadding(buffer);
}

/** A uniformly random string of decimal digits (rejection sampling, no modulo bias). */
export function randomDigits(length: number): string {
	let out = "";
	const buffer = new Uint8Array(1);
	while (out.length < length) {
		crypto.getRandomValues(buffer);
		const byte = buffer[0] ?? 255;
		if (byte < 250) out += String(byte % 10);
	}
	return out;
}
