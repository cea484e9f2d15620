/**
 * AES-256-GCM for secrets that must be read back (TOTP secrets), under the
 * TOTP_ENCRYPTION_KEY binding. Stored form: `v1.<iv b64>.<ciphertext b64>`;
 * the user id is bound as associated data, so a ciphertext copied onto
 * another user's row does not decrypt.
 */
const keys = new Map<string, Promise<CryptoKey>>();

const b64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
const unb64 = (text: string) => Uint8Array.from(atob(text), (ch) => ch.charCodeAt(0));

function importKey(base64Key: string): Promise<CryptoKey> {
	let key = keys.get(base64Key);
	if (!key) {
		key = crypto.subtle.importKey("raw", unb64(base64Key), "AES-GCM", false, ["encrypt", "decrypt"]);
		keys.set(base64Key, key);
	}
	return key;
}

export async function sealSecret(base64Key: string, plaintext: Uint8Array, boundTo: string): Promise<string> {
	return seal(await importKey(base64Key), plaintext, boundTo);
}

export async function openSecret(base64Key: string, sealed: string, boundTo: string): Promise<Uint8Array> {
	return open(await importKey(base64Key), sealed, boundTo);
}

async function seal(key: CryptoKey, plaintext: Uint8Array, boundTo: string): Promise<string> {
	const iv = crypto.getRandomValues(new Uint8Array(12));
	const ciphertext = await crypto.subtle.encrypt(
		{ name: "AES-GCM", iv, additionalData: new TextEncoder().encode(boundTo) },
		key,
		plaintext,
	);
	return `v1.${b64(iv)}.${b64(new Uint8Array(ciphertext))}`;
}

async function open(key: CryptoKey, sealed: string, boundTo: string): Promise<Uint8Array> {
	const [version, iv, ciphertext] = sealed.split(".");
	if (version !== "v1" || !iv || !ciphertext) throw new Error("unknown secret box format");
	const plaintext = await crypto.subtle.decrypt(
		{ name: "AES-GCM", iv: unb64(iv), additionalData: new TextEncoder().encode(boundTo) },
		key,
		unb64(ciphertext),
	);
	return new Uint8Array(plaintext);
}

/**
 * AES-256-GCM under a key derived from `handle` (SHA-256), for a value parked where the handle is
 * not (the console's shown-once pages: the handle is in the visitor's cookie, the ciphertext in
 * their object). Same stored form as `sealSecret`; `boundTo` is the associated data.
 */
export async function sealUnderHandle(handle: string, plaintext: Uint8Array, boundTo: string): Promise<string> {
	return seal(await handleKey(handle), plaintext, boundTo);
}

/** Opens what `sealUnderHandle` sealed; throws when the handle, the binding or the text is not the one sealed. */
export async function openUnderHandle(handle: string, sealed: string, boundTo: string): Promise<Uint8Array> {
	return open(await handleKey(handle), sealed, boundTo);
}

async function handleKey(handle: string): Promise<CryptoKey> {
	const raw = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`sealed-under-handle:${handle}`));
	return crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
}
