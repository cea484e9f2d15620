/**
 * A software authenticator: real WebAuthn registration and assertion objects (CBOR, COSE keys,
 * authenticator data, client data, signatures) made with WebCrypto key pairs inside workerd, for
 * the passkey tests. Each instance holds one credential; options tweak what a test needs to break.
 */
import { decodeBase64urlIgnorePadding, encodeBase64urlNoPadding } from "@oslojs/encoding";

export const DEV_ORIGIN = "http://localhost:8787";
export const DEV_RP_ID = "localhost";

type Cbor = number | string | Uint8Array | Cbor[] | Map<Cbor, Cbor> | { [k: string]: Cbor };

const head = (major: number, n: number): number[] => {
	if (n < 24) return [(major << 5) | n];
	if (n < 0x100) return [(major << 5) | 24, n];
	if (n < 0x10000) return [(major << 5) | 25, n >> 8, n & 0xff];
	return [(major << 5) | 26, (n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
};

/** A minimal CBOR encoder (RFC 8949): integers, byte and text strings, arrays and maps. */
export function cbor(value: Cbor): Uint8Array {
	const out: number[] = [];
	const walk = (v: Cbor): void => {
		if (typeof v === "number") out.push(...(v >= 0 ? head(0, v) : head(1, -1 - v)));
		else if (typeof v === "string") {
			const b = new TextEncoder().encode(v);
			out.push(...head(3, b.length), ...b);
		} else if (v instanceof Uint8Array) out.push(...head(2, v.length), ...v);
		else if (Array.isArray(v)) {
			out.push(...head(4, v.length));
			for (const item of v) walk(item);
		} else {
			const entries = v instanceof Map ? [...v.entries()] : Object.entries(v);
			out.push(...head(5, entries.length));
			for (const [k, item] of entries) {
				walk(k);
				walk(item);
			}
		}
	};
	walk(value);
	return new Uint8Array(out);
}

const concat = (...parts: Uint8Array[]): Uint8Array => {
	const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
	let at = 0;
	for (const p of parts) {
		out.set(p, at);
		at += p.length;
	}
	return out;
};

const sha256 = async (data: Uint8Array | string) =>
	new Uint8Array(
		await crypto.subtle.digest("SHA-256", typeof data === "string" ? new TextEncoder().encode(data) : data),
	);

/** WebCrypto's r‖s as the DER an authenticator sends. */
function rawToDer(raw: Uint8Array): Uint8Array {
	const int = (bytes: Uint8Array) => {
		let b = bytes;
		while (b.length > 1 && b[0] === 0 && ((b[1] ?? 0) & 0x80) === 0) b = b.subarray(1);
		if (((b[0] ?? 0) & 0x80) !== 0) b = concat(new Uint8Array([0]), b);
		return concat(new Uint8Array([0x02, b.length]), b);
	};
	const body = concat(int(raw.subarray(0, raw.length / 2)), int(raw.subarray(raw.length / 2)));
	return concat(new Uint8Array([0x30, body.length]), body);
}

export type Algorithm = "ES256" | "RS256" | "Ed25519";

export interface CeremonyTweaks {
	origin?: string;
	rpId?: string;
	/** User verification (the UV flag); default true. */
	userVerified?: boolean;
	userPresent?: boolean;
	/** The counter to report (else the next one). */
	counter?: number;
	/** A challenge other than the options' (a replay of an old one, say). */
	challenge?: string;
	type?: string;
	crossOrigin?: boolean;
	/** Sign with another key than the registered one. */
	forgeSignature?: boolean;
	userHandle?: string | null;
	/** Registration only: another attestation format and statement. */
	fmt?: string;
	attStmt?: Record<string, Cbor>;
	/** The flags byte as given, instead of the one the other tweaks make. */
	flags?: number;
	/** Registration only: a P-256 key that is no point on the curve (x = y = 0). */
	offCurveKey?: boolean;
	/** Registration only: bytes after the public key, with no extensions flag. */
	trailingBytes?: boolean;
}

export class SoftAuthenticator {
	readonly credentialId = crypto.getRandomValues(new Uint8Array(32));
	counter: number;
	#keys: CryptoKeyPair | null = null;
	userHandle: string | null = null;

	constructor(
		readonly algorithm: Algorithm = "ES256",
		options: { counter?: number; backupEligible?: boolean } = {},
	) {
		this.counter = options.counter ?? 0;
		this.backupEligible = options.backupEligible ?? true;
	}

	readonly backupEligible: boolean;

	get id(): string {
		return encodeBase64urlNoPadding(this.credentialId);
	}

	async #pair(): Promise<CryptoKeyPair> {
		this.#keys ??= await newPair(this.algorithm);
		return this.#keys;
	}

	async #coseKey(): Promise<Uint8Array> {
		const jwk = (await crypto.subtle.exportKey("jwk", (await this.#pair()).publicKey)) as JsonWebKey;
		const b = (s: string | undefined) => decodeBase64urlIgnorePadding(s ?? "");
		if (this.algorithm === "ES256")
			return cbor(
				new Map<Cbor, Cbor>([
					[1, 2],
					[3, -7],
					[-1, 1],
					[-2, b(jwk.x)],
					[-3, b(jwk.y)],
				]),
			);
		if (this.algorithm === "RS256")
			return cbor(
				new Map<Cbor, Cbor>([
					[1, 3],
					[3, -257],
					[-1, b(jwk.n)],
					[-2, b(jwk.e)],
				]),
			);
		return cbor(
			new Map<Cbor, Cbor>([
				[1, 1],
				[3, -8],
				[-1, 6],
				[-2, b(jwk.x)],
			]),
		);
	}

	async #authData(rpId: string, t: CeremonyTweaks, attested: Uint8Array | null, counter: number): Promise<Uint8Array> {
		const flags =
			t.flags ??
			(t.userPresent === false ? 0 : 0x01) |
				(t.userVerified === false ? 0 : 0x04) |
				(this.backupEligible ? 0x18 : 0) |
				(attested ? 0x40 : 0);
		const count = new Uint8Array(4);
		new DataView(count.buffer).setUint32(0, counter);
		return concat(await sha256(rpId), new Uint8Array([flags]), count, attested ?? new Uint8Array());
	}

	#clientData(type: string, challenge: string, t: CeremonyTweaks): Uint8Array {
		return new TextEncoder().encode(
			JSON.stringify({
				type: t.type ?? type,
				challenge: t.challenge ?? challenge,
				origin: t.origin ?? DEV_ORIGIN,
				crossOrigin: t.crossOrigin ?? false,
			}),
		);
	}

	/** `navigator.credentials.create()` for the options POST /v1/me/passkeys/options gave, as `toJSON()`. */
	async create(options: { publicKey: { challenge: string; user: { id: string } } }, t: CeremonyTweaks = {}) {
		this.userHandle = options.publicKey.user.id;
		const idLength = new Uint8Array([0, this.credentialId.length]);
		const key = t.offCurveKey
			? cbor(
					new Map<Cbor, Cbor>([
						[1, 2],
						[3, -7],
						[-1, 1],
						[-2, new Uint8Array(32)],
						[-3, new Uint8Array(32)],
					]),
				)
			: await this.#coseKey();
		const attested = concat(
			new Uint8Array(16),
			idLength,
			this.credentialId,
			key,
			t.trailingBytes ? new Uint8Array([1, 2, 3]) : new Uint8Array(),
		);
		const authData = await this.#authData(t.rpId ?? DEV_RP_ID, t, attested, this.counter);
		const attestationObject = cbor({ fmt: t.fmt ?? "none", attStmt: t.attStmt ?? {}, authData });
		return {
			id: this.id,
			rawId: this.id,
			type: "public-key",
			response: {
				clientDataJSON: encodeBase64urlNoPadding(this.#clientData("webauthn.create", options.publicKey.challenge, t)),
				attestationObject: encodeBase64urlNoPadding(attestationObject),
				transports: ["internal", "hybrid"],
			},
			authenticatorAttachment: "platform",
			clientExtensionResults: {},
		};
	}

	/** `navigator.credentials.get()` for request options, as `toJSON()`. */
	async get(options: { publicKey: { challenge: string } }, t: CeremonyTweaks = {}) {
		const counter = t.counter ?? (this.counter === 0 ? 0 : this.counter + 1);
		if (t.counter === undefined && this.counter !== 0) this.counter = counter;
		const authData = await this.#authData(t.rpId ?? DEV_RP_ID, t, null, counter);
		const clientData = this.#clientData("webauthn.get", options.publicKey.challenge, t);
		const message = concat(authData, await sha256(clientData));
		const key = t.forgeSignature ? (await newPair(this.algorithm)).privateKey : (await this.#pair()).privateKey;
		const signature = await sign(this.algorithm, key, message);
		return {
			id: this.id,
			rawId: this.id,
			type: "public-key",
			response: {
				clientDataJSON: encodeBase64urlNoPadding(clientData),
				authenticatorData: encodeBase64urlNoPadding(authData),
				signature: encodeBase64urlNoPadding(signature),
				userHandle: t.userHandle === undefined ? this.userHandle : t.userHandle,
			},
			authenticatorAttachment: "platform",
			clientExtensionResults: {},
		};
	}
}

async function newPair(algorithm: Algorithm): Promise<CryptoKeyPair> {
	if (algorithm === "ES256")
		return (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
			"sign",
			"verify",
		])) as CryptoKeyPair;
	if (algorithm === "RS256")
		return (await crypto.subtle.generateKey(
			{ name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
			true,
			["sign", "verify"],
		)) as CryptoKeyPair;
	return (await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"])) as CryptoKeyPair;
}

async function sign(algorithm: Algorithm, key: CryptoKey, message: Uint8Array): Promise<Uint8Array> {
	if (algorithm === "ES256")
		return rawToDer(new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key, message)));
	if (algorithm === "RS256") return new Uint8Array(await crypto.subtle.sign("RSASSA-PKCS1-v1_5", key, message));
	return new Uint8Array(await crypto.subtle.sign("Ed25519", key, message));
}
