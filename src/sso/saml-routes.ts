/**
 * SAML 2.0 connections (issue #27), the second connection type beside OIDC: managed by the owner
 * with a fresh proof like an OIDC connection (one connection of either kind per account), with
 * Keyward's service provider metadata to give the provider, and the ACS URL the provider posts
 * assertions to. Sign-ins start where OIDC ones do (`/v1/auth/sso/start`); enforcement, domains,
 * just-in-time membership and proofs of identity are the same rules (src/sso/sign-in.ts).
 */
import { createRoute, z } from "@hono/zod-openapi";
import { getCookie } from "hono/cookie";
import { AccountParams } from "../accounts/schemas";
import { callerMembership } from "../middleware/authorize";
import type { App } from "../platform/app-env";
import { ApiError } from "../problems";
import { accountRoute } from "../routes/account-route";
import { Id, IssuedId, jsonBody, jsonContent, problemResponses, Timestamp } from "../routes/openapi-shared";
import { changedFields, connectionDepsOf, connectionOr404, HttpsUrl, origin, RoleMapping } from "./connection-routes";
import {
	createSamlConnection,
	deleteConnection,
	getConnection,
	publicSamlConnection,
	updateSamlConnection,
} from "./connections";
import { spMetadata } from "./saml";
import { clearedBrowserCookie, finishSamlSignIn, SSO_BROWSER_COOKIE } from "./sign-in";
import { auditedRefusal, signedInPage } from "./sign-in-routes";

const TAGS = ["Single sign-on"];

const ConnectionParams = AccountParams.extend({
	connectionId: Id("sso").openapi({ description: "The connection's id (`sso_` and 16 characters)" }),
});
const PublicConnectionParams = z.object({
	connectionId: Id("sso").openapi({ description: "The SAML connection's id (`sso_` and 16 characters)" }),
});

/** The example's certificate: a self-signed one made for the tests' fake provider (its key signs nothing real). */
const EXAMPLE_CERTIFICATE =
	"MIIDOTCCAiGgAwIBAgIUIg5NOoZ77CPXOTEO1N1gEPsfFSgwDQYJKoZIhvcNAQELBQAwLDEqMCgGA1UEAwwhS2V5d2FyZCB0ZXN0IElkUCAobm90IGEgcmVhbCBrZXkpMB4XDTI2MTIwNDAzMDk0MloXDTM2MTIwMTAzMDk0MlowLDEqMCgGA1UEAwwhS2V5d2FyZCB0ZXN0IElkUCAobm90IGEgcmVhbCBrZXkpMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAyD+6WfzzVU4AjwsR5MBq0/FsL6T6hYslFHLZxe1jXQYZKLormDLZS3+0fNarrcb+Fs46cI3InPPNWQWc4c2odmQnh5Eh/TU9uo3jsNN8QmOPRDWcGe42gOE+Wz4/3eJcARLvveXeeg++2vVR9agAgXWz3GUq5oEmJP8FzGKqV0lUKjN5ZMgJ2yKDadHRCJ/s3lHd7eUiThx27Ywc0UAQAfpbx9ijGEgoruEIzV9kBekruNvDfEdfS1gDlQeleQ5c3TAoyiW5D8A7KqMd45b5R2vx+KhnJIcEtoHDLwARvKviG8m06ShSxVB4ek/wfrvyp7O26YYR1ydmgxUPCfsZNQIDAQABo1MwUTAdBgNVHQ4EFgQU7pBHKMJRoHmFKV962DWgH/aSjLgwHwYDVR0jBBgwFoAU7pBHKMJRoHmFKV962DWgH/aSjLgwDwYDVR0TAQH/BAUwAwEB/zANBgkqhkiG9w0BAQsFAAOCAQEAqJlfT7Gq+zDft3uN5alohUdYYeL2DEQgQ0jPJoaAYiMfKj0ydKDiua607d5GKZofhldhP5ff3sXqZuCUJ0y932vQd0wt9Zkw7KxlpFQuXBmAjy9CkKEyv36wgBdabICpufaiL1JKGFIseSvMnC1iIfCaox+kUGtyWVGvUDcNhvsXO9s7zLK7r9QqeUCI5Fzfa+Y7gW42bRGUFxiM0a9zjgW7qkJsJwcz+ec1wvKGDxmgj8w2OB633I2d2pjr0+s4TohzcWLNpNgujFvhIhKjGFrZ929G2xVcIuMkHmV8n2xVrSZeuXbGDqcleQvl8woFNIrBWwKp3L+1yBcViMJFUQ==";

const SamlInput = z.strictObject({
	idpEntityId: z
		.string()
		.min(1)
		.max(1024)
		.regex(/^[\x21-\x7e]+$/, { message: "Printable ASCII without spaces" })
		.openapi({
			description: "The provider's entity id, exactly as its assertions name it (`Issuer`)",
			example: "http://www.okta.com/exk1a2b3c4d5e6f7g8h9",
		}),
	ssoUrl: HttpsUrl(1024).openapi({
		description: "The provider's single sign-on URL for the HTTP-Redirect binding: https, public",
		example: "https://acme.okta.com/app/acme_keyward/exk1a2b3c4d5e6f7g8h9/sso/saml",
	}),
	certificate: z
		.string()
		.min(1)
		.max(16_384)
		.openapi({
			description:
				"The provider's signing certificate (X.509, RSA key), PEM or the bare base64 of its metadata. Signatures " +
				"are checked against it alone, never against a key named inside an assertion",
			example: EXAMPLE_CERTIFICATE,
		}),
	roleMapping: RoleMapping.nullish(),
});

const SamlPatch = SamlInput.partial().refine((v) => Object.keys(v).length > 0, {
	message: "Name at least one field to change",
});

export const SamlConnectionSchema = z
	.object({
		id: IssuedId("sso", "The connection's id"),
		idpEntityId: z
			.string()
			.openapi({ description: "The provider's entity id", example: "http://www.okta.com/exk1a2b3c4d5e6f7g8h9" }),
		ssoUrl: z.string().openapi({
			description: "Where sign-ins are sent",
			example: "https://acme.okta.com/app/acme_keyward/exk1a2b3c4d5e6f7g8h9/sso/saml",
		}),
		certificateFingerprint: z.string().openapi({
			description: "The SHA-256 fingerprint of the pinned signing certificate",
			example: "5B:2A:…:9F",
		}),
		roleMapping: RoleMapping.nullable(),
		entityId: z.string().openapi({
			description: "Keyward's entity id (audience) to register at the provider",
			example: "https://keyward.example.com/v1/auth/sso/saml/sso_k3q7m2xw5vhz4tna/metadata",
		}),
		acsUrl: z.string().openapi({
			description: "The assertion consumer service URL (HTTP-POST) to register at the provider",
			example: "https://keyward.example.com/v1/auth/sso/saml/sso_k3q7m2xw5vhz4tna/acs",
		}),
		metadataUrl: z.string().openapi({
			description: "Keyward's service provider metadata, which most providers can import",
			example: "https://keyward.example.com/v1/auth/sso/saml/sso_k3q7m2xw5vhz4tna/metadata",
		}),
		createdAt: Timestamp("When it was made", "2026-12-01T09:30:00.000Z"),
		updatedAt: Timestamp("When it last changed", "2026-12-01T09:30:00.000Z"),
	})
	.openapi("SamlConnection", { description: "The account's SAML 2.0 identity provider" });

export const listSamlConnectionsRoute = accountRoute("account:read", {
	method: "get",
	path: "/v1/accounts/{accountId}/saml-connections",
	tags: TAGS,
	summary: "The account's SAML connection (none or one)",
	request: { params: AccountParams },
	responses: {
		200: jsonContent(
			z.object({ data: z.array(SamlConnectionSchema).openapi({ description: "The connection, if there is one" }) }),
			"Connections",
		),
		...problemResponses(401, 403, 404),
	},
});

export const createSamlConnectionRoute = accountRoute(
	"sso:manage",
	{
		method: "post",
		path: "/v1/accounts/{accountId}/saml-connections",
		tags: TAGS,
		summary: "Connect a SAML 2.0 identity provider",
		description:
			"Only the owner, with a proof of identity from the last ten minutes. One connection per account, OIDC or " +
			"SAML (409 for a second). Register the answer's `entityId` and `acsUrl` (or import `metadataUrl`) at the " +
			"provider; assertions must be signed with the pinned certificate and not encrypted.",
		request: { params: AccountParams, body: jsonBody(SamlInput) },
		responses: {
			201: jsonContent(z.object({ connection: SamlConnectionSchema }), "Connected"),
			...problemResponses(400, 401, 403, 404, 409, 423),
		},
	},
	{ grants: "setting", reauthenticate: "connect single sign-on" },
);

export const updateSamlConnectionRoute = accountRoute(
	"sso:manage",
	{
		method: "patch",
		path: "/v1/accounts/{accountId}/saml-connections/{connectionId}",
		tags: TAGS,
		summary: "Change the SAML connection: entity id, URL, certificate or role mapping",
		description: "Only the owner, with a fresh proof. A new certificate replaces the old one at once.",
		request: { params: ConnectionParams, body: jsonBody(SamlPatch) },
		responses: {
			200: jsonContent(z.object({ connection: SamlConnectionSchema }), "Changed"),
			...problemResponses(400, 401, 403, 404, 409, 423),
		},
	},
	{ grants: "setting", reauthenticate: "change single sign-on" },
);

export const deleteSamlConnectionRoute = accountRoute(
	"sso:manage",
	{
		method: "delete",
		path: "/v1/accounts/{accountId}/saml-connections/{connectionId}",
		tags: TAGS,
		summary: "Remove the SAML connection; sign-ins in flight through it end",
		description: "Only the owner, with a fresh proof. Sessions already signed in stay until they end.",
		request: { params: ConnectionParams },
		responses: { 204: { description: "Removed" }, ...problemResponses(401, 403, 404) },
	},
	{ reauthenticate: "remove single sign-on" },
);

export const samlMetadataRoute = createRoute({
	method: "get",
	path: "/v1/auth/sso/saml/{connectionId}/metadata",
	tags: TAGS,
	summary: "Keyward's SAML service provider metadata for one connection (also its entity id)",
	request: { params: PublicConnectionParams },
	responses: {
		200: { description: "SAML metadata", content: { "application/samlmetadata+xml": { schema: z.string() } } },
		...problemResponses(400, 404),
	},
});

export const samlAcsRoute = createRoute({
	method: "post",
	path: "/v1/auth/sso/saml/{connectionId}/acs",
	tags: TAGS,
	summary: "Where the SAML provider posts the assertion: checks everything, then signs in",
	description:
		"The provider's auto-submitted form (HTTP-POST binding). The response must answer a sign-in started here " +
		"in this browser (`RelayState`, `InResponseTo`, ten minutes, once) and hold exactly one assertion, signed " +
		"(RSA-SHA256 or RSA-SHA512) with the connection's certificate, issued by its entity id, for this audience " +
		"and ACS URL, within its time bounds; facts are read only from what the signature covers. The address must " +
		"be in a domain the account holds verified. Then as the OIDC callback: a session and a page that continues " +
		"to the console. Each refusal is a problem naming the check that failed, audited as `auth.sso.failed`.",
	request: {
		params: PublicConnectionParams,
		body: {
			required: true,
			content: {
				"application/x-www-form-urlencoded": {
					schema: z.object({
						SAMLResponse: z
							.string()
							.min(1)
							.max(700_000)
							.openapi({ description: "The base64 SAML Response", example: "PHNhbWxwOlJlc3BvbnNlIC4uLg==" }),
						RelayState: z
							.string()
							.min(1)
							.max(256)
							.openapi({ description: "The sign-in's state", example: "k3q7m2xw5vhz4tnak3q7m2xw5vhz4tna" }),
					}),
				},
			},
		},
	},
	responses: {
		200: {
			description: "Signed in: a page that continues to the console",
			content: { "text/html": { schema: z.string() } },
		},
		...problemResponses(400, 401, 403, 409, 413, 415, 423),
	},
});

export function registerSaml(app: App) {
	app.openapi(listSamlConnectionsRoute, async (c) => {
		const { accountId } = c.req.valid("param");
		const row = await getConnection(c.get("services").db, accountId);
		return c.json({ data: row?.protocol === "saml" ? [publicSamlConnection(row, origin(c))] : [] }, 200);
	});

	app.openapi(createSamlConnectionRoute, async (c) => {
		const { accountId } = c.req.valid("param");
		const input = c.req.valid("json");
		const actor = callerMembership(c, accountId).principal.userId;
		const row = await createSamlConnection(connectionDepsOf(c), accountId, actor, input);
		const shown = publicSamlConnection(row, origin(c));
		c.get("audit").record({
			action: "sso.connection_created",
			target: { type: "sso_connection", id: row.id },
			metadata: {
				protocol: "saml",
				issuer: row.issuer,
				certificateFingerprint: shown.certificateFingerprint,
				roleMapping: row.roleMapping,
			},
		});
		return c.json({ connection: shown }, 201);
	});

	app.openapi(updateSamlConnectionRoute, async (c) => {
		const { accountId, connectionId } = c.req.valid("param");
		const patch = c.req.valid("json");
		const current = await connectionOr404(c, accountId, connectionId, "saml");
		const actor = callerMembership(c, accountId).principal.userId;
		const row = await updateSamlConnection(connectionDepsOf(c), current, actor, patch);
		const shown = publicSamlConnection(row, origin(c));
		c.get("audit").record({
			action: "sso.connection_updated",
			target: { type: "sso_connection", id: row.id },
			metadata: {
				protocol: "saml",
				changed: changedFields(patch),
				issuer: row.issuer,
				certificateFingerprint: shown.certificateFingerprint,
				roleMapping: row.roleMapping,
			},
		});
		return c.json({ connection: shown }, 200);
	});

	app.openapi(deleteSamlConnectionRoute, async (c) => {
		const { accountId, connectionId } = c.req.valid("param");
		const current = await connectionOr404(c, accountId, connectionId, "saml");
		if (!(await deleteConnection(c.get("services").db, current)))
			throw new ApiError("not-found", { detail: "No such connection" });
		c.get("audit").record({
			action: "sso.connection_deleted",
			target: { type: "sso_connection", id: current.id },
			metadata: { protocol: "saml", issuer: current.issuer },
		});
		return c.body(null, 204);
	});

	app.openapi(samlMetadataRoute, async (c) => {
		const { connectionId } = c.req.valid("param");
		const row = await c.get("services").db.query.ssoConnections.findFirst({
			where: (t, { and, eq }) => and(eq(t.id, connectionId), eq(t.protocol, "saml")),
		});
		if (!row) throw new ApiError("not-found", { detail: "No such SAML connection" });
		return c.body(spMetadata(origin(c), row.id), 200, { "Content-Type": "application/samlmetadata+xml" });
	});

	app.openapi(samlAcsRoute, async (c) => {
		const { connectionId } = c.req.valid("param");
		const form = c.req.valid("form");
		const deps = connectionDepsOf(c);
		c.header("Set-Cookie", clearedBrowserCookie(), { append: true });
		const signedIn = await auditedRefusal(c, () =>
			finishSamlSignIn(deps, {
				relayState: form.RelayState,
				samlResponse: form.SAMLResponse,
				browser: getCookie(c, SSO_BROWSER_COOKIE),
				origin: origin(c),
				connectionId,
			}),
		);
		return signedInPage(c, signedIn);
	});
}
