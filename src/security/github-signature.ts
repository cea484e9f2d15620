/**
 * GitHub's secret-scanning partner signature (issue #24): each report carries
 * `Github-Public-Key-Identifier` and `Github-Public-Key-Signature`, a base64
 * ASN.1 DER ECDSA P-256 signature of the raw body with SHA-256, made with one
 * of the keys GitHub publishes at `api.github.com/meta/public_keys/secret_scanning`.
 *
 * The key list comes from configuration (pinned) or a fetch cached for an
 * hour in the isolate. An unknown identifier refetches at most once a minute,
 * so a stream of made-up identifiers cannot turn into a stream of fetches.
 */
export const GITHUB_KEYS_URL = "https://api.github.com/meta/public_keys/secret_scanning";
const CACHE_MS = 3_600_000;
const REFETCH_MS = 60_000;

export interface PublicKeyEntry {
	key_identifier: string;
	key: string;
	is_current?: boolean;
}

export interface KeySource {
	pinned?: string;
	url?: string;
	fetch?: typeof fetch;
	now: number;
}

let cached: { keys: PublicKeyEntry[]; at: number; source: string } | null = null;

function parseKeyList(text: string): PublicKeyEntry[] {
	const parsed = JSON.parse(text) as { public_keys?: unknown };
	const list = Array.isArray(parsed.public_keys) ? parsed.public_keys : [];
	return list.filter(
		(k): k is PublicKeyEntry =>
			typeof k === "object" &&
			k !== null &&
			typeof (k as PublicKeyEntry).key_identifier === "string" &&
			typeof (k as PublicKeyEntry).key === "string",
	);
}

async function keyList(source: KeySource, refresh: boolean): Promise<PublicKeyEntry[]> {
	if (source.pinned) return parseKeyList(source.pinned);
	const url = source.url ?? GITHUB_KEYS_URL;
	const fresh = cached && cached.source === url && source.now - cached.at < (refresh ? REFETCH_MS : CACHE_MS);
	if (fresh && cached) return cached.keys;
	const res = await (source.fetch ?? fetch)(url, {
		headers: { Accept: "application/json", "User-Agent": "Keyward-Secret-Scanning/1" },
		signal: AbortSignal.timeout(5_000),
	});
	if (!res.ok) throw new Error(`key list answered ${res.status}`);
	const keys = parseKeyList(await res.text());
	cached = { keys, at: source.now, source: url };
	return keys;
}

const base64Bytes = (text: string): Uint8Array<ArrayBuffer> | null => {
	try {
		return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
	} catch {
		return null;
	}
};

/** An SPKI PEM to a WebCrypto P-256 verification key. */
async function importPem(pem: string): Promise<CryptoKey | null> {
	const body = pem.replace(/-----(BEGIN|END) PUBLIC KEY-----/g, "").replace(/\s+/g, "");
	const der = base64Bytes(body);
	if (!der) return null;
	try {
		return await crypto.subtle.importKey("spki", der, { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
	} catch {
		return null;
	}
}

/**
 * ASN.1 DER `SEQUENCE { INTEGER r, INTEGER s }` to the 64-byte r‖s WebCrypto
 * verifies; null for anything else (strictly: one sequence, two positive integers, no trailing bytes).
 */
export function derToRaw(der: Uint8Array): Uint8Array<ArrayBuffer> | null {
	if (der.length < 8 || der[0] !== 0x30 || der[1] !== der.length - 2) return null;
	const out = new Uint8Array(64);
	let offset = 2;
	for (const slot of [0, 32]) {
		if (der[offset] !== 0x02) return null;
		const length = der[offset + 1] ?? 0;
		let start = offset + 2;
		let size = length;
		if (length < 1 || length > 33 || start + length > der.length) return null;
		while (size > 32 && der[start] === 0) {
			start++;
			size--;
		}
		if (size > 32) return null;
		out.set(der.subarray(start, start + size), slot + 32 - size);
		offset += 2 + length;
	}
	return offset === der.length ? out : null;
}

/** Whether `body` was signed by the GitHub key named `identifier`. Never throws for bad input. */
export async function verifyGithubSignature(
	source: KeySource,
	identifier: string | undefined,
	signature: string | undefined,
	body: Uint8Array<ArrayBuffer>,
): Promise<boolean> {
	if (!identifier || !signature || identifier.length > 128 || signature.length > 256) return false;
	const der = base64Bytes(signature);
	const raw = der && derToRaw(der);
	if (!raw) return false;
	let entry = (await keyList(source, false)).find((k) => k.key_identifier === identifier);
	if (!entry && !source.pinned) entry = (await keyList(source, true)).find((k) => k.key_identifier === identifier);
	if (!entry) return false;
	const key = await importPem(entry.key);
	if (!key) return false;
	return crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, raw, body);
}
