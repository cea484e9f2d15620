/**
 * Checking a Keyward webhook delivery on the receiving side (issue #24).
 *
 * `Keyward-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>]`, where each hex is
 * HMAC-SHA256 of `"<t>.<raw body>"` keyed with the UTF-8 bytes of a signing
 * secret. Two `v1=` appear while a rotated secret overlaps its successor;
 * either may match. The comparison is WebCrypto's `verify`, which compares
 * in constant time, and `t` must be within the tolerance of the receiver's
 * clock, so a captured delivery cannot be replayed later.
 */
import type { components } from "./schema.js";

export type WebhookPayload = components["schemas"]["WebhookPayload"];

export interface VerifyWebhookOptions {
	/** How far `t` may be from now, either way, in seconds. Default 300. */
	toleranceSeconds?: number;
	/** The receiver's clock, for tests. */
	now?: () => Date;
}

export type WebhookVerificationFailure =
	| "missing_signature"
	| "malformed_signature"
	| "stale"
	| "mismatch"
	| "malformed_body";

export class WebhookVerificationError extends Error {
	constructor(
		readonly reason: WebhookVerificationFailure,
		message: string,
	) {
		super(message);
		this.name = "WebhookVerificationError";
	}
}

type HeaderSource = Headers | Record<string, string | string[] | undefined>;

function header(headers: HeaderSource, name: string): string | null {
	if (typeof (headers as Headers).get === "function") return (headers as Headers).get(name);
	const entry = Object.entries(headers).find(([key]) => key.toLowerCase() === name.toLowerCase())?.[1];
	return Array.isArray(entry) ? (entry[0] ?? null) : (entry ?? null);
}

function hexBytes(hex: string): Uint8Array<ArrayBuffer> | null {
	if (!/^[0-9a-f]{64}$/.test(hex)) return null;
	const bytes = new Uint8Array(32);
	for (let i = 0; i < 32; i++) bytes[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
	return bytes;
}

function parseSignature(value: string): { t: number; macs: Uint8Array<ArrayBuffer>[] } | null {
	let t: number | null = null;
	const macs: Uint8Array<ArrayBuffer>[] = [];
	for (const part of value.split(",")) {
		const [key, ...rest] = part.trim().split("=");
		const text = rest.join("=");
		if (key === "t" && /^\d{1,12}$/.test(text)) t = Number(text);
		else if (key === "v1") {
			const mac = hexBytes(text);
			if (mac) macs.push(mac);
		}
	}
	return t === null || macs.length === 0 || macs.length > 4 ? null : { t, macs };
}

/**
 * Verifies a delivery and returns its parsed payload, or throws a
 * `WebhookVerificationError`. Pass the raw body exactly as received: a body
 * parsed and serialised again no longer matches its signature.
 */
export async function verifyWebhook(
	secret: string,
	headers: HeaderSource,
	body: string,
	options: VerifyWebhookOptions = {},
): Promise<WebhookPayload> {
	await verifySignature(secret, headers, body, options);
	try {
		return JSON.parse(body) as WebhookPayload;
	} catch {
		throw new WebhookVerificationError("malformed_body", "The body is not JSON");
	}
}

/**
 * Verifies a batch of an HMAC-signed `http` log stream (the same `Keyward-Signature` scheme), and
 * returns its NDJSON lines: the archive object's chain header first, then its events. Keep the
 * body as received (and deduplicate by `Keyward-Batch`): `npm run audit:verify -- --file` checks
 * the concatenation of the bodies kept.
 */
export async function verifyLogStreamBatch(
	secret: string,
	headers: HeaderSource,
	body: string,
	options: VerifyWebhookOptions = {},
): Promise<string[]> {
	await verifySignature(secret, headers, body, options);
	return body.split("\n").filter((line) => line.length > 0);
}

async function verifySignature(
	secret: string,
	headers: HeaderSource,
	body: string,
	options: VerifyWebhookOptions,
): Promise<void> {
	const value = header(headers, "Keyward-Signature");
	if (!value) throw new WebhookVerificationError("missing_signature", "No Keyward-Signature header");
	const parsed = parseSignature(value);
	if (!parsed) throw new WebhookVerificationError("malformed_signature", "Keyward-Signature is not t=…,v1=…");
	const tolerance = options.toleranceSeconds ?? 300;
	const now = Math.floor((options.now?.() ?? new Date()).getTime() / 1000);
	if (Math.abs(now - parsed.t) > tolerance)
		throw new WebhookVerificationError("stale", `The signature's time is more than ${tolerance} s from now`);
	const encoder = new TextEncoder();
	const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
		"verify",
	]);
	const signed = encoder.encode(`${parsed.t}.${body}`);
	// Every candidate is checked, so the time taken does not say which one matched.
	const results = await Promise.all(parsed.macs.map((mac) => crypto.subtle.verify("HMAC", key, mac, signed)));
	if (!results.includes(true)) throw new WebhookVerificationError("mismatch", "No signature matches this secret");
}
