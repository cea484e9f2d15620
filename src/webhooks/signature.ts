/**
 * Webhook signatures (API.md §7): `Keyward-Signature: t=<unix>,v1=<hex>`, the
 * hex HMAC-SHA256 of `"<t>.<body>"` under the endpoint's secret. The
 * timestamp is signed with the body so a receiver can refuse replays of an old
 * delivery; it is the scheme Stripe and Standard Webhooks use, so receivers
 * already know how to check it.
 *
 * While a rotated secret overlaps its successor, the header carries one `v1=`
 * per secret, newest first, so a receiver holding either accepts the delivery.
 */

export const SIGNATURE_HEADER = "Keyward-Signature";

/** A fresh signing secret; shown once at creation. */
export { mintWebhookSecret as newWebhookSecret } from "../security/secret-formats";

const hex = (buffer: ArrayBuffer): string =>
	[...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, "0")).join("");

/** The key is the UTF-8 bytes of the whole secret string, as documented for receivers. */
async function hmacHex(secret: string, message: string): Promise<string> {
	const encoder = new TextEncoder();
	const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
		"sign",
	]);
	return hex(await crypto.subtle.sign("HMAC", key, encoder.encode(message)));
}

/** `t=<unix>,v1=<hex>[,v1=<hex>]`: one signature per live secret, the current one first. */
export async function signWebhookBody(secrets: readonly string[], body: string, unixSeconds: number): Promise<string> {
	const macs = await Promise.all(secrets.map((secret) => hmacHex(secret, `${unixSeconds}.${body}`)));
	return [`t=${unixSeconds}`, ...macs.map((mac) => `v1=${mac}`)].join(",");
}
