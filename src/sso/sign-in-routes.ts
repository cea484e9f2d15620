/** Single sign-on (issue #27): start at the provider, come back with a code, leave with a session. */
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { getCookie } from "hono/cookie";
import { memberJoinedAlert } from "../accounts/members";
import { raiseAlertFrom } from "../alerts/raise";
import { currentUser } from "../identity/me-routes";
import { takeAddressQuota } from "../identity/quotas";
import { replaceWithProvenSession } from "../identity/reauthenticate-routes";
import { EmailField } from "../identity/schemas";
import { issueSignIn } from "../identity/sign-in-routes";
import { requireUser } from "../middleware/authorize";
import type { App, AppEnv } from "../platform/app-env";
import { consoleUrl } from "../platform/console-url";
import { ApiError } from "../problems";
import { jsonBody, jsonContent, problemResponses } from "../routes/openapi-shared";
import { connectionDepsOf } from "./connection-routes";
import { connectionForEmail } from "./connections";
import {
	clearedBrowserCookie,
	finishSignIn,
	type SignedIn,
	SignInRefused,
	SSO_BROWSER_COOKIE,
	startSignIn,
} from "./sign-in";

const TAGS = ["Single sign-on"];

export const ssoStartRoute = createRoute({
	method: "get",
	path: "/v1/auth/sso/start",
	tags: TAGS,
	summary: "Start a single sign-on: redirects to the identity provider of the address's domain",
	description:
		"The address's domain must be verified by an account with a single sign-on connection (404 otherwise). Answers " +
		"302 to the provider: for OIDC its authorization endpoint (code flow, PKCE S256, `state`, `nonce`, " +
		"`login_hint`); for SAML its single sign-on URL with an AuthnRequest (HTTP-Redirect) and the `RelayState`. " +
		"Sets a short-lived cookie that ties the sign-in to this browser. Open it in the browser, not from a script.",
	request: {
		query: z.strictObject({
			email: EmailField.openapi({ description: "The person's work address", example: "ada@example.com" }),
		}),
	},
	responses: {
		302: { description: "To the identity provider (`Location`)" },
		...problemResponses(400, 404, 429),
	},
});

export const ssoCallbackRoute = createRoute({
	method: "get",
	path: "/v1/auth/sso/callback",
	tags: TAGS,
	summary: "Where the identity provider sends the browser back: checks everything, then signs in",
	description:
		"Redeems the code (with the PKCE verifier), checks the ID token (RS256 or ES256 signature against the " +
		"provider's JWKS; `iss`, `aud`, `exp`, `iat`, `nonce`; a verified email in a domain the account holds " +
		"verified), then starts a session (cookie) and answers a page that continues to the console. A first " +
		"sign-in creates the membership with the role the connection's `roleMapping` gives (never owner). Each " +
		"refusal is a problem naming the check that failed, and is audited (`auth.sso.failed`).",
	request: {
		query: z.object({
			state: z
				.string()
				.min(1)
				.max(256)
				.openapi({ description: "The `state` the sign-in started with", example: "k3q7m2xw5vhz4tnak3q7m2xw5vhz4tna" }),
			code: z
				.string()
				.min(1)
				.max(2048)
				.optional()
				.openapi({ description: "The authorization code", example: "c5Qd2x7WmK" }),
			error: z
				.string()
				.max(256)
				.optional()
				.openapi({ description: "The provider's error, when it refused", example: "access_denied" }),
			error_description: z
				.string()
				.max(1024)
				.optional()
				.openapi({ description: "Ignored", example: "The user is not assigned to the application" }),
			iss: z
				.string()
				.max(512)
				.optional()
				.openapi({ description: "RFC 9207 issuer identifier (ignored)", example: "https://acme.okta.com" }),
			session_state: z.string().max(512).optional().openapi({ description: "Ignored", example: "3f9a" }),
			scope: z.string().max(1024).optional().openapi({ description: "Ignored", example: "openid email" }),
		}),
	},
	responses: {
		200: {
			description: "Signed in: a page that continues to the console",
			content: { "text/html": { schema: z.string() } },
		},
		...problemResponses(400, 401, 403, 409, 423),
	},
});

/** A console path to continue at after a proof of identity: letters, digits, `_`, `-` and `/` under `/console`. */
const ConsolePath = z
	.string()
	.max(200)
	.regex(/^\/console(\/[A-Za-z0-9_-]+)*$/, { message: "A console path, such as /console/a/acc_…/keys" });

export const ssoReauthenticateRoute = createRoute({
	method: "post",
	path: "/v1/me/reauthenticate/sso",
	tags: TAGS,
	summary: "Prove it is you again through the identity provider: answers where to send the browser",
	description:
		"For a person whose address is in a domain with a single sign-on connection (404 otherwise), with a session. " +
		"Answers the provider's URL (`max_age=0`, and `prompt=login` for every provider but Google, which refuses it: " +
		"the provider asks again even with a live session of its own; for SAML, `ForceAuthn`) and sets the browser " +
		"cookie; open `location` in the same browser. At the callback (or the SAML ACS URL) the provider must " +
		"name this same person and an `auth_time` (SAML: `AuthnInstant`) after the start; then a new session carries the proof (ten minutes " +
		"for the routes that need one), the presented one ends, and the page continues to `returnTo` in the console.",
	middleware: [requireUser()] as const,
	request: {
		body: jsonBody(
			z.strictObject({
				returnTo: ConsolePath.optional().openapi({
					description: "Where the console continues afterwards (default: the console's start)",
					example: "/console/a/acc_k3q7m2xw5vhz4tna/keys",
				}),
			}),
		),
	},
	responses: {
		200: jsonContent(
			z.object({
				location: z.string().openapi({
					description: "The provider's authorization URL: send the browser there",
					example: "https://acme.okta.com/oauth2/v1/authorize?response_type=code&prompt=login&max_age=0",
				}),
			}),
			"Go to the provider",
		),
		...problemResponses(400, 401, 404, 429),
	},
});

const escapeAttribute = (value: string) =>
	value.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

const continuePage = (destination: string) => {
	const to = escapeAttribute(destination);
	return (
		`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=${to}">` +
		`<title>Signed in</title></head><body><p>Signed in. <a href="${to}">Continue to Keyward</a>.</p></body></html>`
	);
};

export function registerSsoSignIn(app: App) {
	app.openapi(ssoStartRoute, async (c) => {
		const { email } = c.req.valid("query");
		await takeAddressQuota(c, "sso-start-per-address");
		const deps = connectionDepsOf(c);
		const connection = await connectionForEmail(deps.db, email);
		if (!connection)
			throw new ApiError("not-found", {
				detail: "No account signs in this address's domain with single sign-on; sign in with a password or passkey",
			});
		const { location, cookie } = await startSignIn(deps, connection, email, new URL(c.req.url).origin);
		c.header("Set-Cookie", cookie, { append: true });
		c.header("Cache-Control", "no-store");
		return c.redirect(location, 302);
	});

	app.openapi(ssoReauthenticateRoute, async (c) => {
		const { returnTo } = c.req.valid("json");
		const user = await currentUser(c);
		await takeAddressQuota(c, "sso-start-per-address");
		const deps = connectionDepsOf(c);
		const connection = await connectionForEmail(deps.db, user.email);
		if (!connection)
			throw new ApiError("not-found", {
				detail: "Your address's domain has no single sign-on: prove it is you with POST /v1/me/reauthenticate",
			});
		const { location, cookie } = await startSignIn(deps, connection, user.email, new URL(c.req.url).origin, {
			userId: user.id,
			sessionId: c.get("principal")?.sessionId ?? null,
			returnTo: returnTo ?? null,
		});
		c.header("Set-Cookie", cookie, { append: true });
		c.header("Cache-Control", "no-store");
		return c.json({ location }, 200);
	});

	app.openapi(ssoCallbackRoute, async (c) => {
		const query = c.req.valid("query");
		const deps = connectionDepsOf(c);
		c.header("Set-Cookie", clearedBrowserCookie(), { append: true });
		const signedIn = await auditedRefusal(c, () => {
			if (query.error || !query.code)
				throw new SignInRefused(
					query.error ? `the identity provider refused (${query.error})` : "the provider sent no code",
					null,
				);
			return finishSignIn(deps, {
				state: query.state,
				code: query.code,
				browser: getCookie(c, SSO_BROWSER_COOKIE),
				origin: new URL(c.req.url).origin,
			});
		});
		return signedInPage(c, signedIn);
	});
}

/** Runs a sign-in's checks; a refusal is audited in the account it was for (`auth.sso.failed`) and answered. */
export async function auditedRefusal(c: Context<AppEnv>, finish: () => Promise<SignedIn>): Promise<SignedIn> {
	try {
		return await finish();
	} catch (err) {
		if (err instanceof SignInRefused && err.accountId)
			c.get("audit").record({
				action: "auth.sso.failed",
				accountId: err.accountId,
				actor: { type: "system", id: "sso" },
				target: null,
				metadata: { reason: err.reason },
			});
		throw err;
	}
}

/** The end of every sign-in, OIDC or SAML: a proven session for a proof, else a session (and a joined member's audit and alert). */
export async function signedInPage(c: Context<AppEnv>, signedIn: SignedIn) {
	const { userId, accountId, connectionId, joined, provedAt, reauth } = signedIn;
	const consoleBase = consoleUrl(c.env, c.req.url);
	c.header("Cache-Control", "no-store");
	if (reauth) {
		await replaceWithProvenSession(c, userId, ["sso"], { replaces: reauth.replaces, cookie: true, provedAt });
		return c.html(continuePage(`${consoleBase}${(reauth.returnTo ?? "/console").slice("/console".length)}`), 200);
	}
	if (joined) {
		c.get("audit").record({
			action: "member.joined",
			accountId,
			actor: { type: "user", id: userId },
			target: { type: "user", id: userId },
			metadata: { role: joined, via: "sso" },
		});
		raiseAlertFrom(c, { ...memberJoinedAlert(accountId, userId, joined), actor: { type: "user", id: userId } });
	}
	await issueSignIn(c, userId, ["sso"], { connectionId, accountId }, provedAt);
	return c.html(continuePage(`${consoleBase}/a/${accountId}/keys`), 200);
}
