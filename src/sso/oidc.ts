/**
 * OpenID Connect, the parts Keyward needs as a relying party (issue #27): the provider's
 * discovery document and JWKS, fetched behind the SSRF guard webhooks use; the token request of
 * the authorization code flow with PKCE; and the ID token's checks (OIDC Core §3.1.3.7):
 * signature (RS256 or ES256, by WebCrypto, against the provider's JWKS), `iss`, `aud` (and `azp`),
 * `exp` and `iat` within a tolerance, `nonce`, and a verified email.
 */
import { decodeBase64urlIgnorePadding } from "@oslojs/encoding";
import { webhookUrlProblem } from "../security/webhook-url";

const TIMEOUT_MS = 5_000;
const MAX_BODY = 64 * 1024;
/** Clock skew allowed on `exp` and `iat`, and how old an ID token may be (its `iat`). */
export const SKEW_SECONDS = 120;
export const MAX_TOKEN_AGE_SECONDS = 600;

export interface Discovery {
	authorizationEndpoint: string;
	tokenEndpoint: string;
	jwksUri: string;
	tokenAuthMethod: "client_secret_basic" | "client_secret_post";
}

/** A JWK Keyward can verify with: RSA (RS256) or EC P-256 (ES256). */
export interface SigningKey {
	kty: "RSA" | "EC";
	kid?: string;
	n?: string;
	e?: string;
	crv?: string;
	x?: string;
	y?: string;
}

export class OidcError extends Error {
	constructor(readonly reason: string) {
		super(reason);
	}
}

/**
 * Why a URL the provider (or the owner) names must not be called, or null: https, public, no
 * credentials. In development a provider on this machine (`http://localhost:…`, `127.0.0.1`) is
 * allowed too, so a local stack can run against a fake provider; never in any other environment.
 */
export function providerUrlProblem(raw: string, development = false): string | null {
	if (development) {
		try {
			const url = new URL(raw);
			if (/^https?:$/.test(url.protocol) && (url.hostname === "localhost" || url.hostname === "127.0.0.1")) return null;
		} catch {}
	}
	return webhookUrlProblem(raw);
}

/** GET or POST a provider URL (never following redirects) and read a JSON object of at most 64 KiB. */
async function providerJson(
	outbound: typeof fetch,
	url: string,
	what: string,
	init: RequestInit = {},
	development = false,
): Promise<Record<string, unknown>> {
	const problem = providerUrlProblem(url, development);
	if (problem) throw new OidcError(`the ${what} URL ${problem}`);
	let text: string;
	let status: number;
	try {
		const res = await outbound(url, {
			...init,
			headers: { Accept: "application/json", ...(init.headers ?? {}) },
			signal: AbortSignal.timeout(TIMEOUT_MS),
			redirect: "manual",
		});
		status = res.status;
		text = await res.text();
	} catch {
		throw new OidcError(`the ${what} did not answer`);
	}
	if (status < 200 || status > 299) throw new OidcError(`the ${what} answered ${status}`);
	if (text.length > MAX_BODY) throw new OidcError(`the ${what} is larger than 64 KiB`);
	try {
		const body = JSON.parse(text) as unknown;
		if (body && typeof body === "object" && !Array.isArray(body)) return body as Record<string, unknown>;
	} catch {}
	throw new OidcError(`the ${what} is not a JSON object`);
}

export const discoveryUrl = (issuer: string) => `${issuer.replace(/\/$/, "")}/.well-known/openid-configuration`;

/** The provider's endpoints, from its discovery document, which must name the same issuer. */
export async function discover(outbound: typeof fetch, issuer: string, development = false): Promise<Discovery> {
	const doc = await providerJson(outbound, discoveryUrl(issuer), "discovery document", {}, development);
	if (doc.issuer !== issuer)
		throw new OidcError(`the discovery document names the issuer ${JSON.stringify(doc.issuer)}, not ${issuer}`);
	const endpoint = (name: string): string => {
		const value = doc[name];
		if (typeof value !== "string") throw new OidcError(`the discovery document has no ${name}`);
		const problem = providerUrlProblem(value, development);
		if (problem) throw new OidcError(`the discovery document's ${name} ${problem}`);
		return value;
	};
	const algs = doc.id_token_signing_alg_values_supported;
	if (Array.isArray(algs) && !algs.some((a) => a === "RS256" || a === "ES256"))
		throw new OidcError("the provider signs ID tokens with neither RS256 nor ES256");
	const methods = doc.token_endpoint_auth_methods_supported;
	const tokenAuthMethod =
		!Array.isArray(methods) || methods.includes("client_secret_basic") ? "client_secret_basic" : "client_secret_post";
	if (Array.isArray(methods) && !methods.includes(tokenAuthMethod))
		throw new OidcError("the provider takes neither client_secret_basic nor client_secret_post");
	return {
		authorizationEndpoint: endpoint("authorization_endpoint"),
		tokenEndpoint: endpoint("token_endpoint"),
		jwksUri: endpoint("jwks_uri"),
		tokenAuthMethod,
	};
}

const B64URL = /^[A-Za-z0-9_-]+$/;
const isB64 = (v: unknown): v is string => typeof v === "string" && v.length > 0 && v.length <= 1024 && B64URL.test(v);

/** The signing keys of a JWKS that Keyward can use (RSA, and EC on P-256; never encryption keys). */
export function signingKeys(jwks: unknown): SigningKey[] {
	const keys = (jwks as { keys?: unknown })?.keys;
	if (!Array.isArray(keys)) return [];
	const out: SigningKey[] = [];
	for (const k of keys.slice(0, 50)) {
		if (!k || typeof k !== "object" || (k.use !== undefined && k.use !== "sig")) continue;
		const kid = typeof k.kid === "string" && k.kid.length <= 256 ? k.kid : undefined;
		if (k.kty === "RSA" && isB64(k.n) && isB64(k.e)) out.push({ kty: "RSA", kid, n: k.n, e: k.e });
		if (k.kty === "EC" && k.crv === "P-256" && isB64(k.x) && isB64(k.y))
			out.push({ kty: "EC", kid, crv: "P-256", x: k.x, y: k.y });
	}
	return out;
}

export async function fetchJwks(outbound: typeof fetch, jwksUri: string, development = false): Promise<SigningKey[]> {
	const keys = signingKeys(await providerJson(outbound, jwksUri, "JWKS", {}, development));
	if (keys.length === 0) throw new OidcError("the JWKS holds no RS256 or ES256 signing key");
	return keys;
}

/** Redeems an authorization code (RFC 6749 §4.1.3, with the PKCE verifier of RFC 7636) for an ID token. */
export async function redeemCode(
	outbound: typeof fetch,
	connection: { tokenEndpoint: string; tokenAuthMethod: string; clientId: string },
	clientSecret: string,
	params: { code: string; redirectUri: string; verifier: string },
	development = false,
): Promise<string> {
	const form = new URLSearchParams({
		grant_type: "authorization_code",
		code: params.code,
		redirect_uri: params.redirectUri,
		code_verifier: params.verifier,
	});
	const headers: Record<string, string> = { "Content-Type": "application/x-www-form-urlencoded" };
	if (connection.tokenAuthMethod === "client_secret_post") {
		form.set("client_id", connection.clientId);
		form.set("client_secret", clientSecret);
	} else {
		// RFC 6749 §2.3.1: each part form-urlencoded before the Basic encoding.
		const part = (v: string) => encodeURIComponent(v).replace(/%20/g, "+");
		headers.Authorization = `Basic ${btoa(`${part(connection.clientId)}:${part(clientSecret)}`)}`;
	}
	const body = await providerJson(
		outbound,
		connection.tokenEndpoint,
		"token endpoint",
		{ method: "POST", headers, body: form.toString() },
		development,
	);
	if (typeof body.id_token !== "string" || body.id_token.length > 16 * 1024)
		throw new OidcError("the token endpoint answered no ID token");
	return body.id_token;
}

export interface IdTokenClaims {
	sub: string;
	email: string;
	claims: Record<string, unknown>;
}

const decodeJson = (part: string): Record<string, unknown> => {
	const value = JSON.parse(new TextDecoder().decode(decodeBase64urlIgnorePadding(part))) as unknown;
	if (!value || typeof value !== "object" || Array.isArray(value)) throw new Error("not an object");
	return value as Record<string, unknown>;
};

async function importKey(key: SigningKey): Promise<CryptoKey> {
	return key.kty === "RSA"
		? crypto.subtle.importKey(
				"jwk",
				{ kty: "RSA", n: key.n, e: key.e, alg: "RS256", ext: true },
				{ name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
				false,
				["verify"],
			)
		: crypto.subtle.importKey(
				"jwk",
				{ kty: "EC", crv: "P-256", x: key.x, y: key.y, ext: true },
				{ name: "ECDSA", namedCurve: "P-256" },
				false,
				["verify"],
			);
}

/** The keys that may have signed a token: by `kid` when it names one, else every key of the algorithm's type. */
export const candidateKeys = (keys: readonly SigningKey[], alg: "RS256" | "ES256", kid: unknown): SigningKey[] =>
	keys.filter((k) => k.kty === (alg === "RS256" ? "RSA" : "EC") && (typeof kid !== "string" || k.kid === kid));

/**
 * Checks an ID token (OIDC Core §3.1.3.7) and answers who it names, or throws `OidcError` saying
 * which check failed. `keys` are the provider's; the caller refetches them once when no key
 * matches the token's `kid` (a rotation), through `refresh`.
 */
export async function verifyIdToken(
	token: string,
	expected: { issuer: string; clientId: string; nonce: string; now: Date },
	keys: readonly SigningKey[],
	refresh: () => Promise<readonly SigningKey[]>,
): Promise<IdTokenClaims> {
	const parts = token.split(".");
	if (parts.length !== 3 || !parts.every((p) => B64URL.test(p))) throw new OidcError("the ID token is not a JWS");
	const [h, p, s] = parts as [string, string, string];
	let header: Record<string, unknown>;
	let claims: Record<string, unknown>;
	try {
		header = decodeJson(h);
		claims = decodeJson(p);
	} catch {
		throw new OidcError("the ID token is not readable");
	}
	const alg = header.alg;
	if (alg !== "RS256" && alg !== "ES256") throw new OidcError(`the ID token is signed with ${String(alg)}`);
	if (header.crit !== undefined) throw new OidcError("the ID token has critical header parameters");
	let candidates = candidateKeys(keys, alg, header.kid);
	if (candidates.length === 0) candidates = candidateKeys(await refresh(), alg, header.kid);
	if (candidates.length === 0) throw new OidcError("no key of the provider's JWKS matches the ID token");
	const signed = new TextEncoder().encode(`${h}.${p}`);
	const signature = decodeBase64urlIgnorePadding(s);
	const params = alg === "RS256" ? { name: "RSASSA-PKCS1-v1_5" } : { name: "ECDSA", hash: "SHA-256" };
	let valid = false;
	for (const key of candidates) {
		try {
			if (await crypto.subtle.verify(params, await importKey(key), signature, signed)) valid = true;
		} catch {}
		if (valid) break;
	}
	if (!valid) throw new OidcError("the ID token's signature does not verify");

	if (claims.iss !== expected.issuer) throw new OidcError("the ID token's issuer is not the connection's");
	const aud = claims.aud;
	const audiences = typeof aud === "string" ? [aud] : Array.isArray(aud) ? aud : [];
	if (!audiences.includes(expected.clientId)) throw new OidcError("the ID token is not for this client");
	if (audiences.length > 1 && claims.azp !== undefined && claims.azp !== expected.clientId)
		throw new OidcError("the ID token was issued to another client (azp)");
	const now = Math.floor(expected.now.getTime() / 1000);
	if (typeof claims.exp !== "number" || claims.exp <= now - SKEW_SECONDS) throw new OidcError("the ID token expired");
	if (typeof claims.iat !== "number" || claims.iat > now + SKEW_SECONDS)
		throw new OidcError("the ID token is issued in the future");
	if (claims.iat < now - MAX_TOKEN_AGE_SECONDS - SKEW_SECONDS) throw new OidcError("the ID token is too old");
	if (typeof claims.nonce !== "string" || claims.nonce !== expected.nonce)
		throw new OidcError("the ID token's nonce is missing or not this sign-in's");
	if (typeof claims.sub !== "string" || claims.sub.length === 0 || claims.sub.length > 255)
		throw new OidcError("the ID token names no subject");
	if (typeof claims.email !== "string" || claims.email.length > 254)
		throw new OidcError("the ID token carries no email address");
	// Entra ID says it with the optional claim `xms_edov` (the domain owner verified the address).
	if (claims.email_verified !== true && claims.xms_edov !== true)
		throw new OidcError("the provider does not say the email address is verified");
	return { sub: claims.sub, email: claims.email.toLowerCase(), claims };
}
