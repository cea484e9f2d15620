/**
 * The credentials each operation of the OpenAPI document takes, read off the
 * gates its route really runs (`requireUser`, `requireAccountPermission`, each
 * of which declares what it admits), not from a list kept by hand: a route
 * gated later is documented as gated without anyone writing it down, and
 * test/routes/openapi-security.test.ts calls every operation without a
 * credential to hold the document to what the routes do.
 */
import { SESSION_COOKIE } from "../identity/sessions";
import { type CredentialGate, credentialGateOf } from "../middleware/authorize";

export const SECURITY_SCHEMES = {
	bearerAuth: {
		type: "http",
		scheme: "bearer",
		description:
			"`Authorization: Bearer <token>`. The token is either a session token (`usr_….ses_….…`, returned by " +
			"sign-up, login, `POST /v1/auth/mfa/verify` and `POST /v1/me/reauthenticate`) or an API key " +
			"(`kw_live_…` for production keys, `kw_test_…` for the other environments). Routes under " +
			"`/v1/accounts/{accountId}` take an API key only when it holds the reserved scope named in the route's " +
			"description, and only within its creator's current role. Every other route that needs a caller " +
			"(`/v1/me*`, logout, email verification, creating an account, accepting an invitation) takes sessions " +
			"only. A credential in the query string is never read.",
	},
	sessionCookie: {
		type: "apiKey",
		in: "cookie",
		name: SESSION_COOKIE,
		description:
			`The \`${SESSION_COOKIE}\` cookie (HttpOnly, Secure, SameSite=Strict) that sign-up and sign-in set: the ` +
			"same session as its bearer token, for browsers. It is read only when the request has no " +
			"`Authorization` header. A POST, PATCH, PUT or DELETE authenticated by the cookie must come from this " +
			"site or an origin listed in `CORS_ORIGINS` (else 403). It is never an API key.",
	},
} as const;

type SecurityRequirement = Record<string, string[]>;
type Operation = { description?: string; security?: SecurityRequirement[] };
/** A route as Hono holds it: one entry per handler, route middleware included. */
type RouteHandler = { method: string; path: string; handler: unknown };

const SESSION: SecurityRequirement[] = [{ bearerAuth: [] }, { sessionCookie: [] }];

/**
 * For an ungated route whose handler reads a credential when one is sent: anonymous calls are
 * allowed (`{}`), and the listed schemes mean something to it.
 */
export const optionalCredential = (...schemes: (keyof typeof SECURITY_SCHEMES)[]): SecurityRequirement[] => [
	{},
	...schemes.map((scheme) => ({ [scheme]: [] })),
];

function credentialsNote(gate: CredentialGate): string {
	if (gate.accepts === "key")
		return (
			`**Credentials:** an API key holding the reserved \`${gate.keyScope}\` scope (its account is the key's ` +
			"own), acting with its creator's current role. A session is refused with 401 `invalid_token`."
		);
	if (gate.accepts === "session")
		return "**Credentials:** a session (bearer token or cookie). An API key is refused with 401 `invalid_token`.";
	if (gate.keyScope)
		return (
			"**Credentials:** a session (bearer token or cookie), or an API key holding the reserved " +
			`\`${gate.keyScope}\` scope, which acts with its creator's current role in this account.`
		);
	return "**Credentials:** a session (bearer token or cookie). No API key can call this route, whatever its scopes.";
}

/**
 * Sets `security` on every operation: the gate's credentials when its route runs one; otherwise
 * what the route declared itself (an optional credential, as verify's), or none (`[]`, public).
 */
export function withSecurity<D extends { paths?: object }>(doc: D, routes: readonly RouteHandler[]): D {
	for (const [path, item] of Object.entries(doc.paths ?? {}) as [string, Record<string, Operation>][]) {
		const honoPath = path.replaceAll(/\{(\w+)\}/g, ":$1");
		for (const [method, op] of Object.entries(item)) {
			const gate = routes
				.filter((r) => r.path === honoPath && r.method === method.toUpperCase())
				.map((r) => credentialGateOf(r.handler))
				.find((g) => g !== undefined);
			if (!gate) {
				op.security ??= [];
				continue;
			}
			op.security = gate.accepts === "key" ? [{ bearerAuth: [] }] : SESSION;
			const note = credentialsNote(gate);
			op.description = op.description ? `${op.description}\n\n${note}` : note;
		}
	}
	return doc;
}
