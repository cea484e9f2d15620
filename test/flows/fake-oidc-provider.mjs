// A fake OpenID Connect provider for the browser journey (the outside world of issue #27): a node
// server with discovery, JWKS, an authorize endpoint that signs in whoever the login hint names at
// once (as a provider with a live session would), and a token endpoint that checks the client's
// secret, the redirect URI and the PKCE verifier before it hands out an RS256 ID token.
import { createHash, generateKeyPairSync, randomBytes, sign } from "node:crypto";
import { createServer } from "node:http";

const b64url = (buffer) => Buffer.from(buffer).toString("base64url");

/**
 * Starts the provider on 127.0.0.1 (a random port). `groupsOf(email)` gives the `groups` claim of
 * a person; `names` their display name. Answers { issuer, clientId, clientSecret, signIns, close }.
 */
export async function startFakeOidcProvider({ groupsOf = () => [], nameOf = () => "Sam Provider" } = {}) {
	const clientId = "keyward-journey";
	const clientSecret = `journey-secret-${randomBytes(8).toString("hex")}`;
	const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
	const jwk = { ...publicKey.export({ format: "jwk" }), kid: "journey-1", use: "sig", alg: "RS256" };
	const codes = new Map();
	const signIns = [];
	let issuer = "";

	const idToken = (claims) => {
		const header = b64url(JSON.stringify({ alg: "RS256", typ: "JWT", kid: jwk.kid }));
		const payload = b64url(JSON.stringify(claims));
		const signature = sign("sha256", Buffer.from(`${header}.${payload}`), privateKey);
		return `${header}.${payload}.${b64url(signature)}`;
	};
	const json = (res, status, body) => {
		res.writeHead(status, { "Content-Type": "application/json", "Cache-Control": "no-store" });
		res.end(JSON.stringify(body));
	};
	const readBody = (req) =>
		new Promise((resolve) => {
			let body = "";
			req.on("data", (chunk) => {
				body += chunk;
			});
			req.on("end", () => resolve(body));
		});

	const server = createServer(async (req, res) => {
		const url = new URL(req.url ?? "/", issuer);
		if (url.pathname === "/.well-known/openid-configuration")
			return json(res, 200, {
				issuer,
				authorization_endpoint: `${issuer}/authorize`,
				token_endpoint: `${issuer}/token`,
				jwks_uri: `${issuer}/keys`,
				response_types_supported: ["code"],
				subject_types_supported: ["public"],
				id_token_signing_alg_values_supported: ["RS256"],
				token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post"],
				code_challenge_methods_supported: ["S256"],
			});
		if (url.pathname === "/keys") return json(res, 200, { keys: [jwk] });
		if (url.pathname === "/authorize") {
			const q = url.searchParams;
			const email = q.get("login_hint") ?? "";
			if (q.get("client_id") !== clientId || q.get("response_type") !== "code" || !q.get("code_challenge"))
				return json(res, 400, { error: "invalid_request" });
			const code = b64url(randomBytes(16));
			const now = Math.floor(Date.now() / 1000);
			codes.set(code, {
				challenge: q.get("code_challenge"),
				redirectUri: q.get("redirect_uri"),
				claims: {
					iss: issuer,
					aud: clientId,
					sub: `00u-${createHash("sha256").update(email).digest("hex").slice(0, 16)}`,
					email,
					email_verified: true,
					name: nameOf(email),
					groups: groupsOf(email),
					nonce: q.get("nonce"),
					auth_time: now,
					iat: now,
					exp: now + 300,
				},
			});
			signIns.push(email);
			const back = new URL(q.get("redirect_uri") ?? "");
			back.searchParams.set("code", code);
			back.searchParams.set("state", q.get("state") ?? "");
			res.writeHead(302, { Location: back.toString() });
			return res.end();
		}
		if (url.pathname === "/token" && req.method === "POST") {
			const form = new URLSearchParams(await readBody(req));
			const basic = req.headers.authorization ?? "";
			const [id, secret] = basic.startsWith("Basic ")
				? Buffer.from(basic.slice(6), "base64").toString().split(":").map(decodeURIComponent)
				: [form.get("client_id"), form.get("client_secret")];
			if (id !== clientId || secret !== clientSecret) return json(res, 401, { error: "invalid_client" });
			const grant = codes.get(form.get("code") ?? "");
			codes.delete(form.get("code") ?? "");
			const verifier = form.get("code_verifier") ?? "";
			if (
				!grant ||
				form.get("redirect_uri") !== grant.redirectUri ||
				b64url(createHash("sha256").update(verifier).digest()) !== grant.challenge
			)
				return json(res, 400, { error: "invalid_grant" });
			return json(res, 200, {
				access_token: b64url(randomBytes(16)),
				token_type: "Bearer",
				expires_in: 300,
				id_token: idToken(grant.claims),
			});
		}
		json(res, 404, { error: "not_found" });
	});
	await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
	issuer = `http://127.0.0.1:${server.address().port}`;
	return { issuer, clientId, clientSecret, signIns, close: () => server.close() };
}
