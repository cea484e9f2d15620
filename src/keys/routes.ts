import { z } from "@hono/zod-openapi";
import { and, desc, eq, gt, isNotNull, isNull, lt, lte, or, type SQL } from "drizzle-orm";
import type { Context } from "hono";
import { getAccount } from "../accounts/queries";
import { AccountParams } from "../accounts/schemas";
import { parseSettings } from "../accounts/settings";
import { raiseAlertFrom } from "../alerts/raise";
import { roleAllows } from "../auth/permissions";
import { provedRecently } from "../auth/recent-auth";
import { apiKeys } from "../db/schema";
import { accountGuard } from "../durable/address";
import { callerMembership } from "../middleware/authorize";
import type { App, AppEnv } from "../platform/app-env";
import { ApiError, validationError } from "../problems";
import { accountRoute } from "../routes/account-route";
import { FreeText, Id, jsonBody, jsonContent, problemResponses } from "../routes/openapi-shared";
import { decodeKeysetCursor, encodeKeysetCursor } from "../routes/pagination";
import { createKey, type Lifecycle, revokeKey, rotateKey, updateKey } from "./lifecycle";
import type { KeyIssuer } from "./policy";
import { getKey, type KeyRow, keyStatus, publicKey } from "./records";
import { Environment, KeyIpAllowlist, KeyParams, KeySchema, RateLimitSchema, Scopes, UsageSchema } from "./schemas";

const DEFAULT_RATE_LIMIT = { limit: 1000, windowSeconds: 3600 };
const KeyWithSecret = z.object({ key: KeySchema, secret: z.string().openapi({ description: "Shown only here" }) });

export const createKeyRoute = accountRoute(
	"keys:create",
	{
		method: "post",
		path: "/v1/accounts/{accountId}/keys",
		tags: ["API keys"],
		summary: "Create a key; the secret is returned once",
		description:
			"Scopes are `resource:action`, `resource:*` or `*` (`*` is refused on production keys). The reserved " +
			"scopes `keys:read`, `keys:write`, `members:read`, `members:write`, `audit:read` and `account:read` open " +
			"the management API; they are granted only by name (`*` and `keys:*` cover product scopes, never " +
			"reserved ones), only by someone whose role holds them, and a key is never used beyond its creator's " +
			"current role. A key caller (`keys:write`) can create only keys that fit inside itself: scopes it " +
			"holds, its environment, an IP allowlist inside its own, a rate limit no higher and a lifetime no " +
			"longer than its own (the default lifetime is cut to the caller's). Refused while the account is " +
			"locked down (423) or until its owner's email is verified (403).",
		request: {
			params: AccountParams,
			body: jsonBody(
				z.strictObject({
					name: FreeText(100),
					environment: Environment,
					scopes: Scopes,
					expiresInDays: z.number().int().min(1).max(365).optional(),
					ipAllowlist: KeyIpAllowlist.default([]),
					rateLimit: RateLimitSchema.default(DEFAULT_RATE_LIMIT),
				}),
			),
		},
		responses: { 201: jsonContent(KeyWithSecret, "Created"), ...problemResponses(400, 401, 403, 404, 409, 423) },
	},
	{ grants: "credential", reauthenticateWhen: "the key reaches the management API (a reserved scope)" },
);

export const listKeysRoute = accountRoute("keys:read", {
	method: "get",
	path: "/v1/accounts/{accountId}/keys",
	tags: ["API keys"],
	summary: "Keys of the account (metadata only), newest first",
	request: {
		params: AccountParams,
		query: z.strictObject({
			status: z.enum(["active", "expired", "revoked"]).optional(),
			environment: Environment.optional(),
			createdBy: Id("usr").optional(),
			limit: z.coerce.number().int().min(1).max(100).default(50),
			cursor: z.string().min(1).max(200).optional(),
		}),
	},
	responses: {
		200: jsonContent(z.object({ data: z.array(KeySchema), nextCursor: z.string().nullable() }), "A page of keys"),
		...problemResponses(400, 401, 403, 404),
	},
});

export const getKeyRoute = accountRoute("keys:read", {
	method: "get",
	path: "/v1/accounts/{accountId}/keys/{keyId}",
	tags: ["API keys"],
	summary: "One key with its usage over the last 24 hours",
	request: { params: KeyParams },
	responses: {
		200: jsonContent(z.object({ key: KeySchema, usage: UsageSchema }), "The key"),
		...problemResponses(401, 403, 404),
	},
});

export const updateKeyRoute = accountRoute(
	"keys:manage-own",
	{
		method: "patch",
		path: "/v1/accounts/{accountId}/keys/{keyId}",
		tags: ["API keys"],
		summary: "Rename a key or change its scopes, IP allowlist or rate limit (members: their own keys only)",
		request: {
			params: KeyParams,
			body: jsonBody(
				z.strictObject({
					name: FreeText(100).optional(),
					scopes: Scopes.optional(),
					ipAllowlist: KeyIpAllowlist.optional(),
					rateLimit: RateLimitSchema.optional(),
				}),
			),
		},
		responses: {
			200: jsonContent(z.object({ key: KeySchema }), "Updated"),
			...problemResponses(400, 401, 403, 404, 409),
		},
	},
	{ grants: "credential", reauthenticateWhen: "the key reaches the management API (a reserved scope)" },
);

export const rotateKeyRoute = accountRoute(
	"keys:manage-own",
	{
		method: "post",
		path: "/v1/accounts/{accountId}/keys/{keyId}/rotate",
		tags: ["API keys"],
		summary: "Make a successor; the old key keeps working for the grace period and then stops",
		request: {
			params: KeyParams,
			body: jsonBody(z.strictObject({ gracePeriodHours: z.number().int().min(0).max(168).optional() })),
		},
		responses: {
			201: jsonContent(
				KeyWithSecret.extend({ previous: z.object({ id: z.string(), expiresAt: z.string() }) }),
				"Rotated",
			),
			...problemResponses(400, 401, 403, 404, 409, 423),
		},
	},
	{ grants: "credential", reauthenticateWhen: "the key reaches the management API (a reserved scope)" },
);

export const revokeKeyRoute = accountRoute("keys:manage-own", {
	method: "post",
	path: "/v1/accounts/{accountId}/keys/{keyId}/revoke",
	tags: ["API keys"],
	summary: "Revoke a key (idempotent); refused on the very next verify, everywhere",
	request: { params: KeyParams, body: jsonBody(z.strictObject({ reason: FreeText(200) })) },
	responses: { 200: jsonContent(z.object({ key: KeySchema }), "Revoked"), ...problemResponses(400, 401, 403, 404) },
});

/** Members manage only the keys they created; admins and the owner anyone's (API.md §4). */
function assertMayManage(c: Context<AppEnv>, accountId: string, key: KeyRow): void {
	const { principal, membership } = callerMembership(c, accountId);
	// A credential of one environment never touches another's keys: a leaked ci key must not be able
	// to revoke or rename production keys.
	if (principal.type === "key" && principal.key && principal.key.environment !== key.environment)
		throw new ApiError("forbidden", {
			detail: `A ${principal.key.environment} key manages only ${principal.key.environment} keys`,
		});
	if (roleAllows(membership.role, "keys:manage-any")) return;
	if (key.createdBy !== principal.userId)
		throw new ApiError("forbidden", { detail: "Members manage only the keys they created" });
}

async function loadManagedKey(c: Context<AppEnv>, accountId: string, keyId: string): Promise<KeyRow> {
	const key = await getKey(c.get("services").db, accountId, keyId);
	if (!key) throw new ApiError("not-found", { detail: "No such key" });
	assertMayManage(c, accountId, key);
	return key;
}

/** The caller as the lifecycle sees it: a person with a role, or a key bounded by its own record. */
function issuerOf(c: Context<AppEnv>, accountId: string): KeyIssuer {
	const { principal, membership } = callerMembership(c, accountId);
	if (principal.type === "key" && principal.key)
		return { type: "key", userId: principal.userId, role: membership.role, keyId: principal.id, key: principal.key };
	return { type: "user", userId: principal.userId, role: membership.role, provedRecently: provedRecently(c) };
}

const lifecycleOf = (c: Context<AppEnv>): Lifecycle => ({
	env: c.env,
	db: c.get("services").db,
	now: c.get("services").clock.now(),
});

function refuseWildcardInProduction(environment: string, scopes: string[]): void {
	const index = scopes.indexOf("*");
	if (environment === "production" && index >= 0) {
		throw validationError([
			{ path: `scopes.${index}`, message: "* is not allowed on production keys; name the scopes" },
		]);
	}
}

export function registerKeys(app: App) {
	app.openapi(createKeyRoute, async (c) => {
		const { accountId } = c.req.valid("param");
		const input = c.req.valid("json");
		const { db } = c.get("services");
		refuseWildcardInProduction(input.environment, input.scopes);
		const account = await getAccount(db, accountId);
		if (!account) throw new ApiError("not-found");
		const maxDays = parseSettings(account.settings).keyMaxLifetimeDays;
		if ((input.expiresInDays ?? maxDays) > maxDays) {
			throw validationError([
				{ path: "expiresInDays", message: `At most ${maxDays} days under this account's policy` },
			]);
		}
		const { row, secret } = await createKey(lifecycleOf(c), issuerOf(c, accountId), accountId, input, {
			days: input.expiresInDays ?? maxDays,
			explicit: input.expiresInDays !== undefined,
		});
		c.get("audit").record({
			action: "key.created",
			target: { type: "key", id: row.id },
			metadata: { environment: row.environment, scopes: row.scopes, expiresAt: row.expiresAt.toISOString() },
		});
		raiseAlertFrom(c, {
			accountId,
			type: "alert.key_created",
			subject: `Keyward: a new ${row.environment} API key was created`,
			text: `Key ${row.id} ("${row.name}", ${row.start}…) was created by ${row.createdBy} with scopes ${row.scopes.join(", ")}.`,
			data: {
				keyId: row.id,
				name: row.name,
				environment: row.environment,
				scopes: row.scopes,
				createdBy: row.createdBy,
			},
			target: { type: "key", id: row.id },
		});
		return c.json({ key: publicKey(row, c.get("services").clock.now()), secret }, 201);
	});

	app.openapi(listKeysRoute, async (c) => {
		const { accountId } = c.req.valid("param");
		const q = c.req.valid("query");
		const { db, clock } = c.get("services");
		const now = clock.now();
		const filters: (SQL | undefined)[] = [eq(apiKeys.accountId, accountId)];
		if (q.environment) filters.push(eq(apiKeys.environment, q.environment));
		if (q.createdBy) filters.push(eq(apiKeys.createdBy, q.createdBy));
		if (q.status === "revoked") filters.push(isNotNull(apiKeys.revokedAt));
		if (q.status === "active") filters.push(isNull(apiKeys.revokedAt), gt(apiKeys.expiresAt, now));
		if (q.status === "expired") filters.push(isNull(apiKeys.revokedAt), lte(apiKeys.expiresAt, now));
		if (q.cursor) {
			const { time, id } = decodeKeysetCursor(q.cursor);
			filters.push(or(lt(apiKeys.createdAt, time), and(eq(apiKeys.createdAt, time), lt(apiKeys.id, id))));
		}
		const rows = await db
			.select()
			.from(apiKeys)
			.where(and(...filters))
			.orderBy(desc(apiKeys.createdAt), desc(apiKeys.id))
			.limit(q.limit + 1);
		const page = rows.slice(0, q.limit);
		const last = page.at(-1);
		return c.json(
			{
				data: page.map((r) => publicKey(r, now)),
				nextCursor: rows.length > q.limit && last ? encodeKeysetCursor(last.createdAt, last.id) : null,
			},
			200,
		);
	});

	app.openapi(getKeyRoute, async (c) => {
		const { accountId, keyId } = c.req.valid("param");
		const { db, clock } = c.get("services");
		const key = await getKey(db, accountId, keyId);
		if (!key) throw new ApiError("not-found", { detail: "No such key" });
		const now = clock.now();
		const usage = await accountGuard(c.env, accountId).keyUsage(key.id, now.getTime());
		const lastUsed = Math.max(usage.lastUsedAt ?? 0, key.lastUsedAt?.getTime() ?? 0);
		const lastUsedAt = lastUsed > 0 ? new Date(lastUsed).toISOString() : null;
		return c.json({ key: { ...publicKey(key, now), lastUsedAt }, usage: { ...usage, lastUsedAt } }, 200);
	});

	app.openapi(updateKeyRoute, async (c) => {
		const { accountId, keyId } = c.req.valid("param");
		const input = c.req.valid("json");
		const key = await loadManagedKey(c, accountId, keyId);
		if (input.scopes) refuseWildcardInProduction(key.environment, input.scopes);
		const updated = await updateKey(lifecycleOf(c), issuerOf(c, accountId), key, input);
		c.get("audit").record({
			action: "key.updated",
			target: { type: "key", id: key.id },
			metadata: { changed: Object.keys(input) },
		});
		return c.json({ key: publicKey(updated, c.get("services").clock.now()) }, 200);
	});

	app.openapi(rotateKeyRoute, async (c) => {
		const { accountId, keyId } = c.req.valid("param");
		const { gracePeriodHours } = c.req.valid("json");
		const { db, clock } = c.get("services");
		const now = clock.now();
		const key = await loadManagedKey(c, accountId, keyId);
		if (keyStatus(key, now) !== "active" || key.rotatedTo)
			throw new ApiError("conflict", { detail: "Only an active, unrotated key can be rotated" });
		const settings = parseSettings((await getAccount(db, accountId))?.settings);
		const { successor, secret, previous } = await rotateKey(lifecycleOf(c), issuerOf(c, accountId), key, {
			graceMs: (gracePeriodHours ?? settings.rotationGraceHours) * 3_600_000,
			lifetimeDays: settings.keyMaxLifetimeDays,
		});
		const previousExpiresAt = previous.expiresAt;
		c.get("audit").record({
			action: "key.rotated",
			target: { type: "key", id: key.id },
			metadata: { successorId: successor.id, previousExpiresAt: previousExpiresAt.toISOString() },
		});
		return c.json(
			{ key: publicKey(successor, now), secret, previous: { id: key.id, expiresAt: previousExpiresAt.toISOString() } },
			201,
		);
	});

	app.openapi(revokeKeyRoute, async (c) => {
		const { accountId, keyId } = c.req.valid("param");
		const { reason } = c.req.valid("json");
		const now = c.get("services").clock.now();
		const key = await loadManagedKey(c, accountId, keyId);
		const { row: current, revoked } = await revokeKey(lifecycleOf(c), key, reason);
		if (revoked)
			c.get("audit").record({ action: "key.revoked", target: { type: "key", id: key.id }, metadata: { reason } });
		return c.json({ key: publicKey(current, now) }, 200);
	});
}
