/**
 * A fake OpenID Connect provider (the outside world of issue #27's single sign-on): discovery,
 * JWKS, an authorize step the test drives, and a token endpoint that checks the client's secret,
 * the redirect URI and the PKCE verifier before it hands out an ID token, signed RS256 or ES256
 * with a key pair made here. Handed to the app as its `fetch`.
 */
import { env } from "cloudflare:test";
import type { Database } from "../../src/db";
import { ssoConnections } from "../../src/db/schema";
import { newId } from "../../src/platform/ids";
import { sealSecret } from "../../src/security/secret-box";

const b64url = (bytes: Uint8Array) =>
	btoa(String.fromCharCode(...bytes))
		.replace(/\+/g, "-")
		.replace(/\//g, "_")
		.replace(/=+$/, "");
const json64 = (value: unknown) => b64url(new TextEncoder().encode(JSON.stringify(value)));

type Alg = "RS256" | "ES256";
interface Signer {
	alg: Alg;
	kid: string;
	key: CryptoKey;
}

export interface IssueOptions {
	alg?: Alg;
	/** Sign with a key the provider's JWKS does not hold (a forged token). */
	forged?: boolean;
	/** Claims to set; `undefined` removes a claim. */
	claims?: Record<string, unknown>;
}

interface Grant {
	challenge: string;
	redirectUri: string;
	idToken: string;
}

async function signer(alg: Alg, kid: string): Promise<{ signer: Signer; jwk: JsonWebKey }> {
	const pair = (await (alg === "RS256"
		? crypto.subtle.generateKey(
				{ name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
				true,
				["sign", "verify"],
			)
		: crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]))) as CryptoKeyPair;
	const jwk = (await crypto.subtle.exportKey("jwk", pair.publicKey)) as JsonWebKey;
	return { signer: { alg, kid, key: pair.privateKey }, jwk: { ...jwk, kid, use: "sig", alg } as JsonWebKey };
}

export async function fakeIdp(options: { issuer?: string; clientId?: string; clientSecret?: string; now: () => Date }) {
	const issuer = options.issuer ?? "https://idp.acme-sso.com";
	const clientId = options.clientId ?? "keyward-client";
	const clientSecret = options.clientSecret ?? "provider-issued-secret-1";
	const rsa = await signer("RS256", "rsa-1");
	const ec = await signer("ES256", "ec-1");
	const rogue = await signer("RS256", "rsa-1");
	const grants = new Map<string, Grant>();
	let lastAuthorize: URLSearchParams | null = null;
	const calls: { url: string; method: string; body: string; authorization: string | null }[] = [];
	const discovery: Record<string, unknown> = {
		issuer,
		authorization_endpoint: `${issuer}/authorize`,
		token_endpoint: `${issuer}/token`,
		jwks_uri: `${issuer}/keys`,
		id_token_signing_alg_values_supported: ["RS256", "ES256"],
		token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post"],
		code_challenge_methods_supported: ["S256"],
	};

	async function sign(claims: Record<string, unknown>, alg: Alg, forged: boolean): Promise<string> {
		const s = forged ? rogue.signer : alg === "RS256" ? rsa.signer : ec.signer;
		const input = `${json64({ alg: s.alg, kid: s.kid, typ: "JWT" })}.${json64(claims)}`;
		const params = s.alg === "RS256" ? { name: "RSASSA-PKCS1-v1_5" } : { name: "ECDSA", hash: "SHA-256" };
		const signature = new Uint8Array(await crypto.subtle.sign(params, s.key, new TextEncoder().encode(input)));
		return `${input}.${b64url(signature)}`;
	}

	const fetch: typeof globalThis.fetch = async (input, init) => {
		const request = new Request(input, init);
		const url = new URL(request.url);
		const body = request.method === "POST" ? await request.text() : "";
		calls.push({
			url: url.toString(),
			method: request.method,
			body,
			authorization: request.headers.get("Authorization"),
		});
		if (!url.toString().startsWith(issuer)) return new Response("unknown host", { status: 502 });
		const path = url.pathname.slice(new URL(issuer).pathname.replace(/\/$/, "").length);
		if (path === "/.well-known/openid-configuration") return Response.json(discovery);
		if (path === "/keys") return Response.json({ keys: [rsa.jwk, ec.jwk] });
		if (path === "/token" && request.method === "POST") {
			const form = new URLSearchParams(body);
			const basic = request.headers.get("Authorization");
			const [id, secret] = basic?.startsWith("Basic ")
				? atob(basic.slice(6)).split(":").map(decodeURIComponent)
				: [form.get("client_id"), form.get("client_secret")];
			if (id !== clientId || secret !== clientSecret)
				return Response.json({ error: "invalid_client" }, { status: 401 });
			const code = form.get("code") ?? "";
			const grant = grants.get(code);
			grants.delete(code);
			if (!grant || form.get("grant_type") !== "authorization_code")
				return Response.json({ error: "invalid_grant" }, { status: 400 });
			if (form.get("redirect_uri") !== grant.redirectUri)
				return Response.json({ error: "invalid_grant" }, { status: 400 });
			const verifier = form.get("code_verifier") ?? "";
			const challenge = b64url(
				new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))),
			);
			if (challenge !== grant.challenge) return Response.json({ error: "invalid_grant" }, { status: 400 });
			return Response.json({ access_token: "opaque", token_type: "Bearer", expires_in: 300, id_token: grant.idToken });
		}
		return new Response("not found", { status: 404 });
	};

	return {
		issuer,
		clientId,
		clientSecret,
		fetch,
		calls,
		discovery,
		/** The parameters of the last authorize request (to see `prompt` and `max_age`). */
		get lastAuthorize() {
			return lastAuthorize;
		},
		/**
		 * The provider's authorize step, as a person who signed in there would get it: checks the
		 * request Keyward sent and answers the code and state for the callback.
		 */
		async authorize(location: string, issue: IssueOptions = {}) {
			const url = new URL(location);
			const q = url.searchParams;
			lastAuthorize = q;
			if (`${url.origin}${url.pathname}` !== discovery.authorization_endpoint)
				throw new Error(`not our authorize: ${location}`);
			if (q.get("response_type") !== "code" || q.get("client_id") !== clientId)
				throw new Error("bad authorize request");
			if (q.get("code_challenge_method") !== "S256" || !q.get("code_challenge")) throw new Error("no PKCE");
			const now = Math.floor(options.now().getTime() / 1000);
			const claims: Record<string, unknown> = {
				iss: issuer,
				aud: clientId,
				sub: `00u${q.get("login_hint")}`,
				email: q.get("login_hint"),
				email_verified: true,
				name: "Ada Lovelace",
				nonce: q.get("nonce"),
				// The person signed in at the provider just now (a provider with a live session would name an earlier time).
				auth_time: now,
				iat: now,
				exp: now + 300,
			};
			for (const [name, value] of Object.entries(issue.claims ?? {}))
				if (value === undefined) delete claims[name];
				else claims[name] = value;
			const code = b64url(crypto.getRandomValues(new Uint8Array(16)));
			grants.set(code, {
				challenge: q.get("code_challenge") ?? "",
				redirectUri: q.get("redirect_uri") ?? "",
				idToken: await sign(claims, issue.alg ?? "RS256", issue.forged ?? false),
			});
			return { code, state: q.get("state") ?? "" };
		},
	};
}

export type FakeIdp = Awaited<ReturnType<typeof fakeIdp>>;

/** A connection row as `POST …/sso-connections` leaves it (secret sealed under the test key), for fixtures. */
export async function seedConnection(
	db: Database,
	s: { accountId: string; ownerId: string },
	now: Date,
	options: { id?: string; issuer?: string; clientId?: string; clientSecret?: string } = {},
) {
	const id = options.id ?? newId("sso");
	const issuer = options.issuer ?? "https://acme.okta.com";
	await db.insert(ssoConnections).values({
		id,
		accountId: s.accountId,
		issuer,
		clientId: options.clientId ?? "keyward-client",
		clientSecretSealed: await sealSecret(
			env.TOTP_ENCRYPTION_KEY ?? "",
			new TextEncoder().encode(options.clientSecret ?? "provider-issued-secret-1"),
			`sso-connection:${id}`,
		),
		scopes: ["openid", "email", "profile"],
		roleMapping: null,
		authorizationEndpoint: `${issuer}/authorize`,
		tokenEndpoint: `${issuer}/token`,
		jwksUri: `${issuer}/keys`,
		tokenAuthMethod: "client_secret_basic",
		jwks: "[]",
		jwksFetchedAt: now,
		createdBy: s.ownerId,
		createdAt: now,
		updatedAt: now,
		version: 1,
	});
	return id;
}
