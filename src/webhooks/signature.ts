/**
 * Webhook signatures (API.md §7): `Keyward-Signature: t=<unix>,v1=<hex>`, the
 * hex HMAC-SHA256 of `"<t>.<body>"` under the endpoint's secret. The
 * timestamp is signed with the body so a receiver can refuse replays of an old
 * delivery; it is the scheme Stripe and Standard Webhooks use, so receivers
 * already know how to check it.
 */

export const SIGNATURE_HEADER = "Keyward-Signature";

/** A fresh signing secret; shown once at creation. */
export { mintWebhookSecret as newWebhookSecret } from "../security/secret-formats";

const hex = (buffer: ArrayBuffer): string =>
	[...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, "0")).join("");

/** The key is the UTF-8 bytes of the whole secret string, as documented for receivers. */
export async function signWebhookBody(secret: string, body: string, unixSeconds: number): Promise<string> {
	const encoder = new TextEncoder();
	const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
		"sign",
	]);
	const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(`${unixSeconds}.${body}`));
	return `t=${unixSeconds},v1=${hex(mac)}`;
}
