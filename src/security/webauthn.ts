/**
 * WebAuthn ceremonies' checks (W3C WebAuthn Level 3 §7.1, §7.2), without HTTP or storage.
 * `@oslojs/webauthn` parses the client data, the attestation object, the authenticator data and
 * the COSE key; signatures are verified here with WebCrypto (ES256, RS256, Ed25519).
 *
 * What is checked: the client data's type, origin (one of the configured origins; never
 * cross-origin) and challenge (the caller spends it); the authenticator data's rpId hash, user
 * presence, user verification when asked for, and the signature counter. Attestation is
 * requested as `none`, and anything else is refused, so nothing about the authenticator's make
 * is claimed. A key WebCrypto will not import is refused at registration.
 */
import { decodeCBORNoLeftoverBytes, decodeCBORToNativeValueNoLeftoverBytes } from "@oslojs/cbor";
import { decodeBase64urlIgnorePadding, encodeBase64urlNoPadding } from "@oslojs/encoding";
import {
	ClientDataType,
	COSEKeyType,
	coseAlgorithmEdDSA,
	coseAlgorithmES256,
	coseAlgorithmRS256,
	coseEllipticCurveEd25519,
	coseEllipticCurveP256,
	createAssertionSignatureMessage,
	parseAuthenticatorData,
	parseClientDataJSON,
} from "@oslojs/webauthn";

export interface WebAuthnConfig {
	rpId: string;
	rpName: string;
	origins: readonly string[];
}

/** The algorithms offered at registration, most preferred first. */
export const SUPPORTED_ALGORITHMS = [coseAlgorithmEdDSA, coseAlgorithmES256, coseAlgorithmRS256] as const;

/** Why a ceremony was refused, as the audit trail names it (never the credential itself). */
export type RefusalReason =
	| "malformed"
	| "wrong_origin"
	| "wrong_rp_id"
	| "challenge_unknown"
	| "unknown_passkey"
	| "user_not_present"
	| "bad_signature"
	| "counter_regressed"
	| "user_not_verified"
	| "unsupported_key";

/** A refused ceremony: `field` names the part of the credential that failed (for the 400 or 401). */
export class WebAuthnRefusal extends Error {
	constructor(
		readonly field: string,
		message: string,
		readonly reason: RefusalReason = "malformed",
	) {
		super(message);
	}
}

const bytes = (field: string, value: string): Uint8Array => {
	try {
		return decodeBase64urlIgnorePadding(value);
	} catch {
		throw new WebAuthnRefusal(field, "Must be base64url");
	}
};

export interface ClientDataCheck {
	/** The challenge the browser signed: the caller looks it up and spends it. */
	challenge: Uint8Array;
	origin: string;
}

/** Parses and checks `clientDataJSON` for a registration (`create`) or an assertion (`get`). */
export function checkClientData(
	config: WebAuthnConfig,
	clientDataJSON: string,
	type: "create" | "get",
	field = "credential.response.clientDataJSON",
): ClientDataCheck {
	let data: ReturnType<typeof parseClientDataJSON>;
	try {
		data = parseClientDataJSON(bytes(field, clientDataJSON));
	} catch (err) {
		if (err instanceof WebAuthnRefusal) throw err;
		throw new WebAuthnRefusal(field, "Not a WebAuthn client data object");
	}
	if (data.type !== (type === "create" ? ClientDataType.Create : ClientDataType.Get))
		throw new WebAuthnRefusal(field, `Must be a webauthn.${type} response`);
	if (!config.origins.includes(data.origin))
		throw new WebAuthnRefusal(field, "Made on a site this service does not accept", "wrong_origin");
	if (data.crossOrigin === true)
		throw new WebAuthnRefusal(field, "Made inside a frame of another site", "wrong_origin");
	return { challenge: data.challenge, origin: data.origin };
}

interface Flags {
	userPresent: boolean;
	userVerified: boolean;
	backupEligible: boolean;
	backedUp: boolean;
}

const flagsOf = (authData: Uint8Array): Flags => {
	const f = authData[32] ?? 0;
	return {
		userPresent: (f & 0x01) !== 0,
		userVerified: (f & 0x04) !== 0,
		backupEligible: (f & 0x08) !== 0,
		backedUp: (f & 0x10) !== 0,
	};
};

function checkAuthenticatorData(
	config: WebAuthnConfig,
	authData: Uint8Array,
	field: string,
): ReturnType<typeof parseAuthenticatorData> & Flags {
	let parsed: ReturnType<typeof parseAuthenticatorData>;
	try {
		parsed = parseAuthenticatorData(authData);
	} catch {
		throw new WebAuthnRefusal(field, "Not valid authenticator data");
	}
	if (!parsed.verifyRelyingPartyIdHash(config.rpId))
		throw new WebAuthnRefusal(field, "Made for another relying party (rpId)", "wrong_rp_id");
	const flags = flagsOf(authData);
	if (!flags.userPresent)
		throw new WebAuthnRefusal(field, "The authenticator did not see a user present", "user_not_present");
	return Object.assign(parsed, flags);
}

export interface NewCredential {
	credentialId: string;
	/** The public key as a JWK string, ready for WebCrypto. */
	publicKey: string;
	algorithm: number;
	signCount: number;
	userVerified: boolean;
	backupEligible: boolean;
	backedUp: boolean;
}

const fixed = (n: bigint, length: number): Uint8Array => {
	const out = new Uint8Array(length);
	let v = n;
	for (let i = length - 1; i >= 0; i--) {
		out[i] = Number(v & 0xffn);
		v >>= 8n;
	}
	return out;
};
const minimal = (n: bigint): Uint8Array => fixed(n, Math.max(1, Math.ceil(n.toString(16).length / 2)));

/** The checks of a registration (§7.1 steps 5–26, attestation `none`). The caller spent the challenge. */
export async function checkAttestation(config: WebAuthnConfig, attestationObject: string): Promise<NewCredential> {
	const field = "credential.response.attestationObject";
	let authData: Uint8Array;
	try {
		const decoded = decodeCBORToNativeValueNoLeftoverBytes(bytes(field, attestationObject), 4) as {
			fmt?: unknown;
			attStmt?: unknown;
			authData?: unknown;
		};
		if (!(decoded.authData instanceof Uint8Array)) throw new Error("no authData");
		// Asked for `none`: anything else is a client that did not follow the request (§5.4.7).
		const statement = decoded.attStmt;
		if (
			decoded.fmt !== "none" ||
			typeof statement !== "object" ||
			statement === null ||
			Object.keys(statement).length > 0
		)
			throw new WebAuthnRefusal(field, 'The attestation must be "none" with an empty statement');
		authData = decoded.authData;
	} catch (err) {
		if (err instanceof WebAuthnRefusal) throw err;
		throw new WebAuthnRefusal(field, "Not a WebAuthn attestation object");
	}
	const parsed = checkAuthenticatorData(config, authData, field);
	const credential = parsed.credential;
	if (!credential) throw new WebAuthnRefusal(field, "Carries no credential");
	if (credential.id.length < 16 || credential.id.length > 1023)
		throw new WebAuthnRefusal(field, "The credential id must be 16 to 1023 bytes");
	// §6.3.3: backed up (BS) only when it may be (BE).
	if (parsed.backedUp && !parsed.backupEligible)
		throw new WebAuthnRefusal(field, "The flags say backed up but not backup-eligible");
	// Without extensions (ED), the public key is the last thing in the authenticator data.
	if (((authData[32] ?? 0) & 0x80) === 0) {
		try {
			decodeCBORNoLeftoverBytes(authData.subarray(55 + credential.id.length), 4);
		} catch {
			throw new WebAuthnRefusal(field, "Bytes follow the public key");
		}
	}
	const key = jwkOf(credential.publicKey, field);
	// A key WebCrypto will not take (a point off the curve, say) could never sign: refused now.
	if (!(await importable(key)))
		throw new WebAuthnRefusal(field, "The public key is not a valid key", "unsupported_key");
	return {
		credentialId: encodeBase64urlNoPadding(credential.id),
		...key,
		signCount: parsed.signatureCounter,
		userVerified: parsed.userVerified,
		backupEligible: parsed.backupEligible,
		backedUp: parsed.backedUp,
	};
}

function jwkOf(
	key: NonNullable<ReturnType<typeof parseAuthenticatorData>["credential"]>["publicKey"],
	field: string,
): { publicKey: string; algorithm: number } {
	const b64 = encodeBase64urlNoPadding;
	try {
		const alg = key.algorithm();
		if (alg === coseAlgorithmES256 && key.type() === COSEKeyType.EC2) {
			const ec = key.ec2();
			if (ec.curve !== coseEllipticCurveP256) throw new Error("curve");
			const jwk = { kty: "EC", crv: "P-256", x: b64(fixed(ec.x, 32)), y: b64(fixed(ec.y, 32)) };
			return { publicKey: JSON.stringify(jwk), algorithm: alg };
		}
		if (alg === coseAlgorithmRS256 && key.type() === COSEKeyType.RSA) {
			const rsa = key.rsa();
			if (rsa.n.toString(2).length < 2048) throw new Error("short");
			return {
				publicKey: JSON.stringify({ kty: "RSA", n: b64(minimal(rsa.n)), e: b64(minimal(rsa.e)) }),
				algorithm: alg,
			};
		}
		if (alg === coseAlgorithmEdDSA && key.type() === COSEKeyType.OKP) {
			const okp = key.okp();
			if (okp.curve !== coseEllipticCurveEd25519) throw new Error("curve");
			return { publicKey: JSON.stringify({ kty: "OKP", crv: "Ed25519", x: b64(okp.x) }), algorithm: alg };
		}
	} catch {
		// fall through to the refusal
	}
	throw new WebAuthnRefusal(
		field,
		"The key must be ES256 (P-256), RS256 (2048 bits or more) or Ed25519",
		"unsupported_key",
	);
}

export interface StoredCredential {
	publicKey: string;
	algorithm: number;
	signCount: number;
}

export interface AssertionCheck {
	signCount: number;
	userVerified: boolean;
	backedUp: boolean;
}

/** The checks of an assertion (§7.2 steps 11–24) against a stored credential. The caller spent the challenge. */
export async function checkAssertion(
	config: WebAuthnConfig,
	stored: StoredCredential,
	response: { clientDataJSON: string; authenticatorData: string; signature: string },
	options: { userVerification: boolean } = { userVerification: false },
): Promise<AssertionCheck> {
	const field = "credential.response.authenticatorData";
	const authData = bytes(field, response.authenticatorData);
	const parsed = checkAuthenticatorData(config, authData, field);
	const message = createAssertionSignatureMessage(
		authData,
		bytes("credential.response.clientDataJSON", response.clientDataJSON),
	);
	const signature = bytes("credential.response.signature", response.signature);
	if (!(await verifySignature(stored, message, signature)))
		throw new WebAuthnRefusal("credential.response.signature", "The signature does not verify", "bad_signature");
	if (options.userVerification && !parsed.userVerified)
		throw new WebAuthnRefusal(field, "The passkey did not verify the user (PIN or biometrics)", "user_not_verified");
	// §7.2 step 22: a counter that does not move forward, when either side keeps one, is a clone.
	if ((parsed.signatureCounter !== 0 || stored.signCount !== 0) && parsed.signatureCounter <= stored.signCount)
		throw new WebAuthnRefusal(
			field,
			"The signature counter went backwards: this passkey may have been cloned",
			"counter_regressed",
		);
	return { signCount: parsed.signatureCounter, userVerified: parsed.userVerified, backedUp: parsed.backedUp };
}

const importKey = (stored: { publicKey: string; algorithm: number }) => {
	const jwk = JSON.parse(stored.publicKey) as JsonWebKey;
	if (stored.algorithm === coseAlgorithmES256)
		return crypto.subtle.importKey("jwk", jwk, { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
	if (stored.algorithm === coseAlgorithmRS256)
		return crypto.subtle.importKey("jwk", jwk, { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, false, ["verify"]);
	return crypto.subtle.importKey("jwk", jwk, { name: "Ed25519" }, false, ["verify"]);
};

const importable = (stored: { publicKey: string; algorithm: number }): Promise<boolean> =>
	importKey(stored).then(
		() => true,
		() => false,
	);

async function verifySignature(stored: StoredCredential, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
	try {
		const key = await importKey(stored);
		if (stored.algorithm === coseAlgorithmES256) {
			const raw = derToRaw(signature, 32);
			return raw !== null && crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, raw, message);
		}
		if (stored.algorithm === coseAlgorithmRS256)
			return crypto.subtle.verify("RSASSA-PKCS1-v1_5", key, signature, message);
		if (stored.algorithm === coseAlgorithmEdDSA) return crypto.subtle.verify("Ed25519", key, signature, message);
	} catch {
		return false;
	}
	return false;
}

/** An ASN.1 DER ECDSA signature (SEQUENCE of two INTEGERs) as WebCrypto's r‖s, or null when malformed. */
export function derToRaw(der: Uint8Array, size: number): Uint8Array | null {
	if (der[0] !== 0x30 || der[1] !== der.length - 2) return null;
	const out = new Uint8Array(size * 2);
	let at = 2;
	for (let part = 0; part < 2; part++) {
		if (der[at] !== 0x02) return null;
		const length = der[at + 1] ?? 0;
		let value = der.subarray(at + 2, at + 2 + length);
		if (value.length !== length || length === 0) return null;
		while (value.length > size && value[0] === 0) value = value.subarray(1);
		if (value.length > size) return null;
		out.set(value, part * size + size - value.length);
		at += 2 + length;
	}
	return at === der.length ? out : null;
}
