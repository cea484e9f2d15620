/** The account's OIDC connection (issue #27): read by members, managed by the owner with a fresh proof. */
import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { AccountParams } from "../accounts/schemas";
import { callerMembership } from "../middleware/authorize";
import type { App, AppEnv } from "../platform/app-env";
import { isDevelopment } from "../platform/env";
import { ApiError } from "../problems";
import { accountRoute } from "../routes/account-route";
import { Id, IssuedId, jsonBody, jsonContent, problemResponses, Timestamp } from "../routes/openapi-shared";
import {
	type ConnectionDeps,
	type ConnectionRow,
	createConnection,
	DEFAULT_SCOPES,
	deleteConnection,
	getConnection,
	publicConnection,
	updateConnection,
} from "./connections";

const ConnectionParams = AccountParams.extend({
	connectionId: Id("sso").openapi({ description: "The connection's id (`sso_` and 16 characters)" }),
});

const MappedRole = z.enum(["admin", "member", "readonly"]);

/** An http(s) URL (where it may point is checked with the deployment's environment, src/sso/connections.ts). */
export const HttpsUrl = (max: number, check?: (value: string) => string | null) =>
	z
		.string()
		.max(max)
		.superRefine((value, ctx) => {
			let url: URL | null = null;
			try {
				url = new URL(value);
			} catch {}
			const problem = !url || !/^https?:$/.test(url.protocol) ? "Must be an https URL" : (check?.(value) ?? null);
			if (problem) ctx.addIssue({ code: "custom", message: problem });
		});

const Issuer = HttpsUrl(512, (value) => (/[?#]/.test(value) ? "The issuer has no query or fragment" : null)).openapi({
	description:
		"The provider's issuer URL, exactly as its ID tokens name it (`iss`): https, public. Its discovery document " +
		"(`/.well-known/openid-configuration`) and JWKS are read when it is set",
	example: "https://acme.okta.com",
});

const Printable = (max: number, description: string, example: string) =>
	z
		.string()
		.min(1)
		.max(max)
		.regex(/^[\x21-\x7e]+$/, { message: "Printable ASCII without spaces" })
		.openapi({ description, example });

const ScopeList = z
	.array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]{1,64}$/, { message: "A scope token (RFC 6749 §3.3)" }))
	.min(1)
	.max(20)
	.refine((scopes) => scopes.includes("openid") && scopes.includes("email"), {
		message: "Must include openid and email",
	})
	.openapi({
		description: `The scopes asked for (default ${DEFAULT_SCOPES.join(", ")}); must include openid and email`,
		example: ["openid", "email", "profile", "groups"],
	});

export const RoleMapping = z
	.strictObject({
		claim: z.string().min(1).max(100).openapi({
			description: "The ID token claim (OIDC) or attribute name (SAML) to read: one value or several",
			example: "groups",
		}),
		values: z
			.record(z.string().min(1).max(256), MappedRole)
			.refine((r) => Object.keys(r).length <= 50, { message: "At most 50 values" })
			.refine((r) => !Object.keys(r).some((k) => k === "__proto__" || k === "constructor" || k === "prototype"), {
				message: "Reserved names cannot be mapped",
			})
			.openapi({
				description: "Claim value to role (never owner); the highest matched role wins",
				example: { "Keyward Admins": "admin", Auditors: "readonly" },
			}),
		default: MappedRole.default("member").openapi({
			description: "The role when nothing matches (default member)",
			example: "member",
		}),
	})
	.openapi("SsoRoleMapping", {
		description: "The role a first sign-in creates the membership with; never owner, never above these values",
	});

const ConnectionInput = z.strictObject({
	issuer: Issuer,
	clientId: Printable(256, "The client id the provider issued to Keyward", "0oa1b2c3d4e5f6g7h8i9"),
	clientSecret: Printable(512, "The client secret: stored sealed, never shown again", "s3cr3t-from-the-provider"),
	scopes: ScopeList.optional(),
	roleMapping: RoleMapping.nullish(),
});

const ConnectionPatch = ConnectionInput.partial().refine((v) => Object.keys(v).length > 0, {
	message: "Name at least one field to change",
});

export const ConnectionSchema = z
	.object({
		id: IssuedId("sso", "The connection's id"),
		issuer: z.string().openapi({ description: "The provider's issuer URL", example: "https://acme.okta.com" }),
		clientId: z
			.string()
			.openapi({ description: "Keyward's client id at the provider", example: "0oa1b2c3d4e5f6g7h8i9" }),
		scopes: z
			.array(z.string())
			.openapi({ description: "The scopes a sign-in asks for", example: ["openid", "email", "profile"] }),
		roleMapping: RoleMapping.nullable(),
		redirectUri: z.string().openapi({
			description: "Register this as the sign-in redirect URI at the provider",
			example: "https://keyward.example.com/v1/auth/sso/callback",
		}),
		endpoints: z
			.object({
				authorization: z.string().openapi({
					description: "Where sign-ins start",
					example: "https://acme.okta.com/oauth2/v1/authorize",
				}),
				token: z
					.string()
					.openapi({ description: "Where codes are redeemed", example: "https://acme.okta.com/oauth2/v1/token" }),
				jwks: z
					.string()
					.openapi({ description: "The provider's signing keys", example: "https://acme.okta.com/oauth2/v1/keys" }),
			})
			.openapi({ description: "From the provider's discovery document" }),
		createdAt: Timestamp("When it was made", "2026-12-01T09:30:00.000Z"),
		updatedAt: Timestamp("When it last changed", "2026-12-01T09:30:00.000Z"),
	})
	.openapi("SsoConnection", { description: "The account's OIDC identity provider; its client secret is never shown" });

const TAGS = ["Single sign-on"];

export const listConnectionsRoute = accountRoute("account:read", {
	method: "get",
	path: "/v1/accounts/{accountId}/sso-connections",
	tags: TAGS,
	summary: "The account's OIDC connection (none or one)",
	request: { params: AccountParams },
	responses: {
		200: jsonContent(
			z.object({ data: z.array(ConnectionSchema).openapi({ description: "The connection, if there is one" }) }),
			"Connections",
		),
		...problemResponses(401, 403, 404),
	},
});

export const createConnectionRoute = accountRoute(
	"sso:manage",
	{
		method: "post",
		path: "/v1/accounts/{accountId}/sso-connections",
		tags: TAGS,
		summary: "Connect an OIDC identity provider",
		description:
			"Only the owner, with a proof of identity from the last ten minutes. Reads the issuer's discovery document and " +
			"JWKS first (400 naming `issuer` when they cannot be used). One connection per account (409 for a second). " +
			"People of the account's verified domains then sign in through it at `/v1/auth/sso/start`.",
		request: { params: AccountParams, body: jsonBody(ConnectionInput) },
		responses: {
			201: jsonContent(z.object({ connection: ConnectionSchema }), "Connected"),
			...problemResponses(400, 401, 403, 404, 409, 423),
		},
	},
	{ grants: "setting", reauthenticate: "connect single sign-on" },
);

export const updateConnectionRoute = accountRoute(
	"sso:manage",
	{
		method: "patch",
		path: "/v1/accounts/{accountId}/sso-connections/{connectionId}",
		tags: TAGS,
		summary: "Change the connection: issuer, client, secret, scopes or role mapping",
		description: "Only the owner, with a fresh proof. A new issuer is read from its discovery document again.",
		request: { params: ConnectionParams, body: jsonBody(ConnectionPatch) },
		responses: {
			200: jsonContent(z.object({ connection: ConnectionSchema }), "Changed"),
			...problemResponses(400, 401, 403, 404, 409, 423),
		},
	},
	{ grants: "setting", reauthenticate: "change single sign-on" },
);

export const deleteConnectionRoute = accountRoute(
	"sso:manage",
	{
		method: "delete",
		path: "/v1/accounts/{accountId}/sso-connections/{connectionId}",
		tags: TAGS,
		summary: "Remove the connection; sign-ins in flight through it end",
		description: "Only the owner, with a fresh proof. Sessions already signed in stay until they end.",
		request: { params: ConnectionParams },
		responses: { 204: { description: "Removed" }, ...problemResponses(401, 403, 404) },
	},
	{ reauthenticate: "remove single sign-on" },
);

/** What the connection services need from a request: the database, the outside world's fetch, the sealing key, now. */
export const connectionDepsOf = (c: Context<AppEnv>): ConnectionDeps => {
	const { db, clock, fetch } = c.get("services");
	return {
		db,
		fetch,
		sealingKey: c.env.TOTP_ENCRYPTION_KEY ?? "",
		now: clock.now(),
		development: isDevelopment(c.env),
	};
};
export const origin = (c: Context<AppEnv>) => new URL(c.req.url).origin;

export async function connectionOr404(
	c: Context<AppEnv>,
	accountId: string,
	id: string,
	protocol: ConnectionRow["protocol"] = "oidc",
) {
	const row = await getConnection(c.get("services").db, accountId);
	if (!row || row.id !== id || row.protocol !== protocol)
		throw new ApiError("not-found", { detail: "No such connection" });
	return row;
}

/** What changed, for the audit trail: field names only, never a secret's value. */
export const changedFields = (patch: Record<string, unknown>) => Object.keys(patch).sort();

export function registerSsoConnections(app: App) {
	app.openapi(listConnectionsRoute, async (c) => {
		const { accountId } = c.req.valid("param");
		const row = await getConnection(c.get("services").db, accountId);
		return c.json({ data: row?.protocol === "oidc" ? [publicConnection(row, origin(c))] : [] }, 200);
	});

	app.openapi(createConnectionRoute, async (c) => {
		const { accountId } = c.req.valid("param");
		const input = c.req.valid("json");
		const actor = callerMembership(c, accountId).principal.userId;
		const row = await createConnection(connectionDepsOf(c), accountId, actor, input);
		c.get("audit").record({
			action: "sso.connection_created",
			target: { type: "sso_connection", id: row.id },
			metadata: { issuer: row.issuer, clientId: row.clientId, scopes: row.scopes, roleMapping: row.roleMapping },
		});
		return c.json({ connection: publicConnection(row, origin(c)) }, 201);
	});

	app.openapi(updateConnectionRoute, async (c) => {
		const { accountId, connectionId } = c.req.valid("param");
		const patch = c.req.valid("json");
		const current = await connectionOr404(c, accountId, connectionId);
		const actor = callerMembership(c, accountId).principal.userId;
		const row = await updateConnection(connectionDepsOf(c), current, actor, patch);
		c.get("audit").record({
			action: "sso.connection_updated",
			target: { type: "sso_connection", id: row.id },
			metadata: { changed: changedFields(patch), issuer: row.issuer, roleMapping: row.roleMapping },
		});
		return c.json({ connection: publicConnection(row, origin(c)) }, 200);
	});

	app.openapi(deleteConnectionRoute, async (c) => {
		const { accountId, connectionId } = c.req.valid("param");
		const current = await connectionOr404(c, accountId, connectionId);
		if (!(await deleteConnection(c.get("services").db, current)))
			throw new ApiError("not-found", { detail: "No such connection" });
		c.get("audit").record({
			action: "sso.connection_deleted",
			target: { type: "sso_connection", id: current.id },
			metadata: { issuer: current.issuer },
		});
		return c.body(null, 204);
	});
}
