/** Hashing and comparison primitives on WebCrypto. Imports nothing relative (the Node scripts load it). */

const hex = (buffer: ArrayBuffer): string =>
	[...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, "0")).join("");

export async function sha256Hex(data: Uint8Array | string): Promise<string> {
	const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
	return hex(await crypto.subtle.digest("SHA-256", bytes));
}

const hmacKeys = new Map<string, ReturnType<typeof crypto.subtle.importKey>>();

/** HMAC-SHA256 under a base64 secret (the KEY_PEPPER binding); for low-entropy secrets such as codes. */
export async function hmacSha256Hex(base64Key: string, message: string): Promise<string> {
	let key = hmacKeys.get(base64Key);
	if (!key) {
		const raw = Uint8Array.from(atob(base64Key), (ch) => ch.charCodeAt(0));
		key = crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
		hmacKeys.set(base64Key, key);
	}
	return hex(await crypto.subtle.sign("HMAC", await key, new TextEncoder().encode(message)));
}

/** Compares two strings in time that depends only on their length. */
export function constantTimeEqual(a: string, b: string): boolean {
	const x = new TextEncoder().encode(a);
	const y = new TextEncoder().encode(b);
	if (x.length !== y.length) return false;
	let diff = 0;
	for (let i = 0; i < x.length; i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
	return diff === 0;
}
