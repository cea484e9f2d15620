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
	const iv = crypto.getRandomValues(new Uint8Array(12));
	const ciphertext = await crypto.subtle.encrypt(
		{ name: "AES-GCM", iv, additionalData: new TextEncoder().encode(boundTo) },
		await importKey(base64Key),
		plaintext,
	);
	return `v1.${b64(iv)}.${b64(new Uint8Array(ciphertext))}`;
}

export async function openSecret(base64Key: string, sealed: string, boundTo: string): Promise<Uint8Array> {
	const [version, iv, ciphertext] = sealed.split(".");
	if (version !== "v1" || !iv || !ciphertext) throw new Error("unknown secret box format");
	const plaintext = await crypto.subtle.decrypt(
		{ name: "AES-GCM", iv: unb64(iv), additionalData: new TextEncoder().encode(boundTo) },
		await importKey(base64Key),
		unb64(ciphertext),
	);
	return new Uint8Array(plaintext);
}
