import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { AccountParams } from "../accounts/schemas";
import { raiseAlertFrom } from "../alerts/raise";
import { roleAllows } from "../auth/permissions";
import { provedRecently } from "../auth/recent-auth";
import { callerMembership } from "../middleware/authorize";
import type { App, AppEnv } from "../platform/app-env";
import { ApiError } from "../problems";
import { accountRoute } from "../routes/account-route";
import {
	EXAMPLE_SECRETS,
	FreeText,
	Id,
	IssuedId,
	jsonBody,
	jsonContent,
	NextCursor,
	problemResponses,
	Timestamp,
} from "../routes/openapi-shared";
import { CursorQuery, KEYSET_CURSOR_EXAMPLE, LimitQuery } from "../routes/pagination";
import { type Lifecycle, managePermission, revealParkedSecret, revokeKey, updateKey } from "./lifecycle";
import { grantOfRecord, type KeyIssuer } from "./policy";
import { listKeys } from "./queries";
import { getKey, type KeyRow, publicKey } from "./records";
import {
	CreditsSchema,
	Environment,
	ExternalId,
	KeyIpAllowlist,
	KeyMeta,
	KeyParams,
	KeySchema,
	RATE_LIMIT_RULE,
	RateLimitSchema,
	RateLimitsSchema,
	Scopes,
	UsageSchema,
} from "./schemas";
import {
	checkMeta,
	issueKey,
	keyCreatedAlert,
	keyWithUsage,
	publicKeyWithCredits,
	refuseDroppedMetaKeys,
	refuseWildcardInProduction,
	requestedLimits,
	rotateUnderPolicy,
} from "./service";

const KeyWithSecret = z.object({
	key: KeySchema,
	secret: z.string().openapi({
		description:
			"The API key itself, 73 characters: shown only here, so store it now (Keyward keeps only a keyed hash). " +
			"The example is made up and fails the checksum.",
		example: EXAMPLE_SECRETS.apiKey,
	}),
});
const KeyName = FreeText(100).openapi({
	description: "A name to tell the key apart: 1 to 100 characters after trimming, no control characters",
	example: "orders-service production",
});

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
			"the management API, and `keys:verify` lets a key vouch for the `ip` it sends to verify; they are " +
			"granted only by name (`*` and `keys:*` cover product scopes, never " +
			"reserved ones), only by someone whose role holds them, and a key is never used beyond its creator's " +
			"current role. A key caller (`keys:write`) can create only keys that fit inside itself: scopes it " +
			"holds, its environment, an IP allowlist inside its own, a rate limit no higher and a lifetime no " +
			"longer than its own (the default lifetime is cut to the caller's). Refused while the account is " +
			"locked down (423) or until its owner's email is verified (403).",
		request: {
			params: AccountParams,
			body: jsonBody(
				z
					.strictObject({
						name: KeyName,
						environment: Environment,
						scopes: Scopes,
						expiresInDays: z
							.number()
							.int()
							.min(1)
							.max(365)
							.optional()
							.openapi({
								description:
									"Days until the key expires: 1 to 365, and no more than the account's `keyMaxLifetimeDays` (90 " +
									"unless changed). Default: that maximum. A key made by another key never outlives it.",
								example: 30,
							}),
						expiresIn: z
							.number()
							.int()
							.min(60)
							.max(365 * 86_400)
							.optional()
							.openapi({
								description:
									"For a short-lived key: seconds until it expires, 60 up to the account's `keyMaxLifetimeDays` in " +
									"seconds. Give this or `expiresInDays`, not both.",
								example: 900,
							}),
						ipAllowlist: KeyIpAllowlist.default([]),
						rateLimit: RateLimitSchema.optional().openapi({
							description: `The limit named \`default\`. ${RATE_LIMIT_RULE} Default: 1000 per 3600 seconds. Give this or \`rateLimits\`.`,
						}),
						rateLimits: RateLimitsSchema.optional(),
						owner: z
							.strictObject({
								serviceAccountId: Id("svc").openapi({ description: "The service account that will own the key" }),
							})
							.optional()
							.openapi({
								description:
									"Make the key for a service account (admins and the owner only): it acts with the service account's " +
									"role, its reserved scopes are capped by that role, and removing its creator does not touch it. A " +
									"service account's own key makes keys for that service account only (the default for it).",
							}),
						externalId: ExternalId.optional(),
						meta: KeyMeta.optional(),
						credits: CreditsSchema.optional(),
					})
					.openapi({
						example: {
							name: "orders-service production",
							environment: "production",
							scopes: ["orders:read", "orders:write"],
							expiresInDays: 30,
							ipAllowlist: ["203.0.113.0/24"],
							rateLimits: [
								{ name: "default", limit: 1000, windowSeconds: 3600 },
								{ name: "burst", limit: 20, windowSeconds: 1 },
							],
							externalId: "cus_8f3a21",
							meta: { plan: "pro", region: "eu" },
							credits: { remaining: 5000, refill: { amount: 5000, interval: "monthly", day: 1 } },
						},
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
			status: z
				.enum(["active", "expired", "revoked"])
				.optional()
				.openapi({ description: "Only keys with this status", example: "active" }),
			environment: Environment.optional().openapi({ description: "Only keys of this environment" }),
			createdBy: Id("usr").optional().openapi({ description: "Only keys made (or rotated in) by this user" }),
			externalId: ExternalId.optional().openapi({ description: "Only the keys of this customer (your `externalId`)" }),
			serviceAccountId: Id("svc").optional().openapi({ description: "Only the keys this service account owns" }),
			limit: LimitQuery,
			cursor: CursorQuery(KEYSET_CURSOR_EXAMPLE),
		}),
	},
	responses: {
		200: jsonContent(
			z.object({
				data: z.array(KeySchema).openapi({ description: "The keys, newest first" }),
				nextCursor: NextCursor(KEYSET_CURSOR_EXAMPLE),
			}),
			"A page of keys",
		),
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
		summary:
			"Change a key: name, scopes, IP allowlist, limits, customer id, metadata, credits, enabled (members: their own keys only)",
		description:
			"Renaming, narrowing and disabling are always allowed to whoever manages the key. Anything that widens it (a " +
			"scope, a looser limit, more credits, enabling it) is a grant of the whole resulting key, under the same rules " +
			"as creating one. A key disabled by someone is enabled again only by them, an admin or the owner. Setting " +
			"`credits` sets the balance; `null` removes them (unlimited) and is a widening. Disabling and enabling are " +
			"audited as `key.disabled` and `key.enabled`.",
		request: {
			params: KeyParams,
			body: jsonBody(
				z
					.strictObject({
						name: KeyName.optional(),
						scopes: Scopes.optional(),
						ipAllowlist: KeyIpAllowlist.optional(),
						rateLimit: RateLimitSchema.optional().openapi({
							description: `Replaces every limit with this one, named \`default\`. ${RATE_LIMIT_RULE}`,
						}),
						rateLimits: RateLimitsSchema.optional(),
						externalId: ExternalId.nullable().optional().openapi({ description: "Your customer's id; null clears it" }),
						meta: KeyMeta.nullable().optional().openapi({ description: "Replaces the metadata; null clears it" }),
						credits: CreditsSchema.nullable().optional().openapi({
							description: "Sets the balance (and refill); null removes the credits: the key becomes unlimited",
						}),
						enabled: z.boolean().optional().openapi({
							description: "false: verify answers `DISABLED` until it is set back to true (unlike a revocation)",
							example: false,
						}),
					})
					.openapi({
						example: {
							name: "orders-service production",
							scopes: ["orders:read"],
							rateLimits: [{ name: "default", limit: 500, windowSeconds: 3600 }],
							externalId: "cus_8f3a21",
							meta: { plan: "pro" },
							credits: { remaining: 1000 },
							enabled: false,
						},
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
			body: jsonBody(
				z.strictObject({
					gracePeriodHours: z
						.number()
						.int()
						.min(0)
						.max(168)
						.optional()
						.openapi({
							description:
								"How long the old key keeps working beside its successor: 0 to 168 hours. Default: the account's " +
								"`rotationGraceHours` (24 unless changed).",
							example: 24,
						}),
				}),
			),
		},
		responses: {
			201: jsonContent(
				KeyWithSecret.extend({
					previous: z
						.object({
							id: IssuedId("key", "The old key's id"),
							expiresAt: Timestamp(
								"When the old key stops working: the end of the grace period",
								"2026-03-03T09:30:00.000Z",
							),
						})
						.openapi({ description: "The key that was rotated" }),
				}),
				"Rotated",
			),
			...problemResponses(400, 401, 403, 404, 409, 423),
		},
	},
	{ grants: "credential", reauthenticateWhen: "the key reaches the management API (a reserved scope)" },
);

export const revealSecretRoute = accountRoute(
	"keys:reveal",
	{
		method: "post",
		path: "/v1/accounts/{accountId}/keys/{keyId}/reveal-secret",
		tags: ["API keys"],
		summary:
			"Reveal, once, the secret of a key made because its predecessor leaked (`secretWaiting`); a person's session only",
		request: { params: KeyParams },
		responses: {
			200: jsonContent(KeyWithSecret, "The secret, now no longer kept"),
			...problemResponses(401, 403, 404),
		},
	},
	// A secret handed out: a fresh proof, and never to an API key (the console is where it is shown).
	{ grants: "credential", reauthenticate: "reveal a key's secret" },
);

export const revokeKeyRoute = accountRoute("keys:manage-own", {
	method: "post",
	path: "/v1/accounts/{accountId}/keys/{keyId}/revoke",
	tags: ["API keys"],
	summary: "Revoke a key (idempotent); refused on the very next verify, everywhere",
	request: {
		params: KeyParams,
		body: jsonBody(
			z.strictObject({
				reason: FreeText(200).openapi({
					description:
						"Why, kept on the key as `revokedReason` and in the audit trail: 1 to 200 characters after trimming, no " +
						"control characters",
					example: "Leaked in a CI log",
				}),
			}),
		),
	},
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
	if (managePermission(principal, key) !== "keys:manage-own")
		throw new ApiError("forbidden", {
			detail: "Members manage only the keys they created for themselves (a service account's keys: admins)",
		});
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
		return {
			type: "key",
			userId: principal.userId,
			role: membership.role,
			keyId: principal.id,
			key: grantOfRecord(principal.key),
			creditPlan: principal.key.credits ?? null,
		};
	return { type: "user", userId: principal.userId, role: membership.role, provedRecently: provedRecently(c) };
}

const lifecycleOf = (c: Context<AppEnv>): Lifecycle => ({
	env: c.env,
	db: c.get("services").db,
	now: c.get("services").clock.now(),
});

export function registerKeys(app: App) {
	app.openapi(createKeyRoute, async (c) => {
		const { accountId } = c.req.valid("param");
		const lc = lifecycleOf(c);
		refuseDroppedMetaKeys(await c.req.json());
		const { row, secret } = await issueKey(lc, issuerOf(c, accountId), accountId, c.req.valid("json"));
		c.get("audit").record({
			action: "key.created",
			target: { type: "key", id: row.id },
			metadata: {
				environment: row.environment,
				scopes: row.scopes,
				expiresAt: row.expiresAt.toISOString(),
				last4: row.lastFour,
				...(row.serviceAccountId ? { serviceAccountId: row.serviceAccountId } : {}),
			},
		});
		raiseAlertFrom(c, keyCreatedAlert(row));
		return c.json({ key: await publicKeyWithCredits(lc, row), secret }, 201);
	});

	app.openapi(listKeysRoute, async (c) => {
		const { accountId } = c.req.valid("param");
		const { db, clock } = c.get("services");
		return c.json(await listKeys(c.env, db, accountId, c.req.valid("query"), clock.now()), 200);
	});

	app.openapi(getKeyRoute, async (c) => {
		const { accountId, keyId } = c.req.valid("param");
		const lc = lifecycleOf(c);
		const key = await getKey(lc.db, accountId, keyId);
		if (!key) throw new ApiError("not-found", { detail: "No such key" });
		return c.json(await keyWithUsage(lc, key), 200);
	});

	app.openapi(updateKeyRoute, async (c) => {
		const { accountId, keyId } = c.req.valid("param");
		const input = c.req.valid("json");
		const lc = lifecycleOf(c);
		const key = await loadManagedKey(c, accountId, keyId);
		if (input.scopes) refuseWildcardInProduction(key.environment, input.scopes);
		checkMeta(input.meta);
		refuseDroppedMetaKeys(await c.req.json());
		const { enabled, rateLimit: _single, ...rest } = input;
		const updated = await updateKey(lc, issuerOf(c, accountId), key, {
			...rest,
			rateLimits: requestedLimits(input),
			enabled,
		});
		const changed = Object.keys(input).filter((k) => k !== "enabled");
		if (changed.length > 0)
			c.get("audit").record({ action: "key.updated", target: { type: "key", id: key.id }, metadata: { changed } });
		if (enabled !== undefined && (updated.disabledAt === null) !== (key.disabledAt === null))
			c.get("audit").record({ action: enabled ? "key.enabled" : "key.disabled", target: { type: "key", id: key.id } });
		return c.json({ key: await publicKeyWithCredits(lc, updated) }, 200);
	});

	app.openapi(rotateKeyRoute, async (c) => {
		const { accountId, keyId } = c.req.valid("param");
		const { gracePeriodHours } = c.req.valid("json");
		const lc = lifecycleOf(c);
		const key = await loadManagedKey(c, accountId, keyId);
		const { successor, secret, previous } = await rotateUnderPolicy(lc, issuerOf(c, accountId), key, gracePeriodHours);
		const previousExpiresAt = previous.expiresAt.toISOString();
		c.get("audit").record({
			action: "key.rotated",
			target: { type: "key", id: key.id },
			metadata: {
				successorId: successor.id,
				previousExpiresAt,
				last4: key.lastFour,
				successorLast4: successor.lastFour,
			},
		});
		return c.json(
			{
				key: await publicKeyWithCredits(lc, successor),
				secret,
				previous: { id: key.id, expiresAt: previousExpiresAt },
			},
			201,
		);
	});

	app.openapi(revealSecretRoute, async (c) => {
		const { accountId, keyId } = c.req.valid("param");
		const lc = lifecycleOf(c);
		const key = await loadManagedKey(c, accountId, keyId);
		const secret = await revealParkedSecret(lc, key, c.env.TOTP_ENCRYPTION_KEY ?? "");
		c.get("audit").record({
			action: "key.secret_revealed",
			target: { type: "key", id: key.id },
			metadata: { last4: key.lastFour },
		});
		const current = { ...key, revealSealed: null, revealUntil: null };
		return c.json({ key: await publicKeyWithCredits(lc, current), secret }, 200);
	});

	app.openapi(revokeKeyRoute, async (c) => {
		const { accountId, keyId } = c.req.valid("param");
		const { reason } = c.req.valid("json");
		const lc = lifecycleOf(c);
		const key = await loadManagedKey(c, accountId, keyId);
		const { row: current, revoked } = await revokeKey(lc, key, reason);
		if (revoked)
			c.get("audit").record({
				action: "key.revoked",
				target: { type: "key", id: key.id },
				metadata: { reason, last4: key.lastFour },
			});
		return c.json({ key: publicKey(current, lc.now) }, 200);
	});
}
