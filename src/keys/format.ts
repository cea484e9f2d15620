/**
 * The API key format, after GitHub's token format:
 *
 *   kw_live_<account: 16 base32><secret: 43 base62><checksum: 6 base62>
 *   kw_test_…  (every environment but production)
 *
 * - The account part is the owning account id without its `acc_` prefix, so
 *   verify finds the account's Durable Object with no database lookup (Stripe
 *   embeds the account the same way).
 * - The secret is 32 random bytes (256 bits), base62, padded to 43 characters.
 * - The checksum is CRC32 of everything before it, base62, padded to 6: a
 *   mistyped, truncated or made-up key is refused before any storage access,
 *   and secret scanners can recognise real keys without calling us.
 *
 * Keys are stored only as HMAC-SHA256 under the KEY_PEPPER binding, plus
 * `start` (the first 12 characters) and `last4` (the last 4, from the
 * checksum) for display.
 */
import { slotOf } from "../durable/shard-map";
import { hmacSha256Hex } from "../security/digest";

export type KeyClass = "live" | "test";

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const ACCOUNT_LEN = 16;
const SECRET_LEN = 43;
const CHECKSUM_LEN = 6;
const FORMAT = new RegExp(
	`^kw_(live|test)_([a-z2-7]{${ACCOUNT_LEN}})([0-9A-Za-z]{${SECRET_LEN}})([0-9A-Za-z]{${CHECKSUM_LEN}})$`,
);
export const KEY_START_LENGTH = 12;
/** Recognises a key anywhere in text (the scrubber's net; checksum not checked). */
export const API_KEY_PATTERN = /kw_(live|test)_[A-Za-z0-9]+/i;

const CRC_TABLE = (() => {
	const table = new Uint32Array(256);
	for (let n = 0; n < 256; n++) {
		let c = n;
		for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
		table[n] = c >>> 0;
	}
	return table;
})();

export function crc32(text: string): number {
	let crc = 0xffffffff;
	for (const byte of new TextEncoder().encode(text)) crc = (CRC_TABLE[(crc ^ byte) & 0xff] ?? 0) ^ (crc >>> 8);
	return (crc ^ 0xffffffff) >>> 0;
}

export function toBase62(value: bigint, width: number): string {
	let out = "";
	let v = value;
	while (v > 0n) {
		out = BASE62[Number(v % 62n)] + out;
		v /= 62n;
	}
	return out.padStart(width, "0");
}

const bytesToBigInt = (bytes: Uint8Array) => bytes.reduce((acc, b) => (acc << 8n) | BigInt(b), 0n);

export const keyClassFor = (environment: string): KeyClass => (environment === "production" ? "live" : "test");

/** A fresh key for the account; the only time its plaintext exists. */
export function generateApiKey(accountId: string, keyClass: KeyClass): string {
	const account = accountId.replace(/^acc_/, "");
	if (!/^[a-z2-7]{16}$/.test(account)) throw new Error("unexpected account id shape");
	const secret = toBase62(bytesToBigInt(crypto.getRandomValues(new Uint8Array(32))), SECRET_LEN);
	const body = `kw_${keyClass}_${account}${secret}`;
	return body + toBase62(BigInt(crc32(body)), CHECKSUM_LEN);
}

export interface ParsedApiKey {
	keyClass: KeyClass;
	accountId: string;
}

/** The key's account and class when its shape and checksum are right; null otherwise (no storage touched). */
export function parseApiKey(key: string): ParsedApiKey | null {
	const match = FORMAT.exec(key);
	if (!match) return null;
	const [, keyClass, account, secret, checksum] = match;
	const body = `kw_${keyClass}_${account}${secret}`;
	if (toBase62(BigInt(crc32(body)), CHECKSUM_LEN) !== checksum) return null;
	return { keyClass: keyClass as KeyClass, accountId: `acc_${account}` };
}

export const keyStart = (key: string): string => key.slice(0, KEY_START_LENGTH);

/**
 * The last 4 characters, for telling keys apart (Stripe and GitHub show the same). They are the
 * end of the checksum, a CRC32 of the rest: about 24 bits of a linear function of the key,
 * leaving some 232 of the secret's 256 bits unknown.
 */
export const keyLastFour = (key: string): string => key.slice(-4);

export const hashApiKey = (pepper: string, key: string): Promise<string> => hmacSha256Hex(pepper, `api-key:${key}`);

/** Tries before minting in a slot gives up (expected 256; this many fail with odds below 1 in 10^6). */
const SLOT_TRIES = 4_000;

/**
 * A fresh key whose hash is in `slot` (docs/GLOBAL.md §7), with its hash: a rotation's successor
 * keeps its predecessor's slot, so the credit pool they share is in one shard whatever the shard
 * count. The secret stays 256 random bits; only which of them is kept depends on one byte of its
 * HMAC, which says nothing of the secret to anyone without the pepper.
 */
export async function mintApiKeyInSlot(
	pepper: string,
	accountId: string,
	keyClass: KeyClass,
	slot: number | null,
): Promise<{ secret: string; hash: string }> {
	for (let i = 0; i < SLOT_TRIES; i++) {
		const secret = generateApiKey(accountId, keyClass);
		const hash = await hashApiKey(pepper, secret);
		if (slot === null || slotOf(hash) === slot) return { secret, hash };
	}
	throw new Error("no key minted in the slot");
}
