/**
 * What the key routes ask for, beyond one lifecycle call: the account's policy
 * applied to the request (lifetime cap, no wildcard in production, the grace
 * period), the alert a new key raises, and a key's usage. The lifecycle
 * (`lifecycle.ts`) stays the one place each transition is written.
 */
import { getAccount, isServiceAccountId } from "../accounts/queries";
import { parseSettings } from "../accounts/settings";
import type { Alert } from "../alerts";
import { roleAllows } from "../auth/permissions";
import { accountGuard } from "../durable/address";
import type { JsonObject } from "../platform/json";
import { ApiError, validationError } from "../problems";
import type { NamedLimit } from "../security/sliding-window";
import { type CreditsInput, createKey, type Lifecycle, rotateKey } from "./lifecycle";
import { metaRefusals } from "./meta";
import type { KeyIssuer } from "./policy";
import { getServiceAccount, type KeyRow, keyStatus, publicKey } from "./records";

/** `*` grants every scope; a production key must name the ones it needs. */
export function refuseWildcardInProduction(environment: string, scopes: string[]): void {
	const index = scopes.indexOf("*");
	if (environment === "production" && index >= 0) {
		throw validationError([
			{ path: `scopes.${index}`, message: "* is not allowed on production keys; name the scopes" },
		]);
	}
}

async function accountSettings(lc: Lifecycle, accountId: string) {
	const account = await getAccount(lc.db, accountId);
	if (!account) throw new ApiError("not-found");
	return parseSettings(account.settings);
}

/** What POST …/keys takes, as the route validated it. */
export interface KeyRequest {
	name: string;
	environment: KeyRow["environment"];
	scopes: string[];
	ipAllowlist: string[];
	expiresInDays?: number;
	expiresIn?: number;
	rateLimit?: { limit: number; windowSeconds: number };
	rateLimits?: NamedLimit[];
	owner?: { serviceAccountId: string };
	externalId?: string | null;
	meta?: JsonObject | null;
	credits?: CreditsInput | null;
}

export const DEFAULT_RATE_LIMIT = { limit: 1000, windowSeconds: 3600 };

/** `rateLimit` is the limit named `default`; `rateLimits` replaces it; never both. */
export function requestedLimits(input: {
	rateLimit?: NamedLimit | { limit: number; windowSeconds: number };
	rateLimits?: NamedLimit[];
}) {
	if (input.rateLimit && input.rateLimits)
		throw validationError([
			{ path: "rateLimits", message: "Give rateLimits or rateLimit (the limit named default), not both" },
		]);
	if (input.rateLimits) return input.rateLimits;
	return input.rateLimit ? [{ name: "default", ...input.rateLimit }] : undefined;
}

/**
 * Refuses a `meta` whose own `__proto__` key the schema dropped silently on parsing (zod skips it
 * to avoid prototype pollution): the request as sent, read again from the parsed body.
 */
export function refuseDroppedMetaKeys(body: unknown): void {
	const meta = body && typeof body === "object" ? (body as { meta?: unknown }).meta : undefined;
	if (meta && typeof meta === "object" && Object.hasOwn(meta, "__proto__"))
		throw validationError([{ path: "meta.__proto__", message: "__proto__ cannot be a field name" }]);
}

/** Refuses metadata that is too large or holds something that looks like a credential. */
export function checkMeta(meta: JsonObject | null | undefined): void {
	if (meta) {
		const refusals = metaRefusals(meta);
		if (refusals.length > 0) throw validationError(refusals);
	}
}

/**
 * A new key under the account's policy: its lifetime is the request's (`expiresInDays`, or
 * `expiresIn` seconds for a short-lived key), capped by the account's maximum. With `owner`, the
 * key belongs to a service account: only someone who may manage every key makes one, its scopes
 * are capped by the service account's role, and it outlives its creator's membership. A service
 * account's own key makes keys for that service account only.
 */
export async function issueKey(lc: Lifecycle, issuer: KeyIssuer, accountId: string, input: KeyRequest) {
	refuseWildcardInProduction(input.environment, input.scopes);
	checkMeta(input.meta);
	const rateLimits = requestedLimits(input) ?? [{ name: "default", ...DEFAULT_RATE_LIMIT }];
	const maxDays = (await accountSettings(lc, accountId)).keyMaxLifetimeDays;
	if (input.expiresInDays !== undefined && input.expiresIn !== undefined)
		throw validationError([{ path: "expiresIn", message: "Give expiresIn (seconds) or expiresInDays, not both" }]);
	if ((input.expiresInDays ?? maxDays) > maxDays)
		throw validationError([{ path: "expiresInDays", message: `At most ${maxDays} days under this account's policy` }]);
	if (input.expiresIn !== undefined && input.expiresIn > maxDays * 86_400)
		throw validationError([
			{
				path: "expiresIn",
				message: `At most ${maxDays * 86_400} seconds (${maxDays} days) under this account's policy`,
			},
		]);
	const lifetimeMs =
		input.expiresIn !== undefined ? input.expiresIn * 1000 : (input.expiresInDays ?? maxDays) * 86_400_000;
	const owner = await keyOwner(lc, issuer, accountId, input.owner?.serviceAccountId);
	return createKey(
		lc,
		issuer,
		accountId,
		{ ...input, rateLimits },
		{ ms: lifetimeMs, explicit: input.expiresInDays !== undefined || input.expiresIn !== undefined },
		owner,
	);
}

/** The service account a new key is for (null: the caller's own key), after the rules on who may ask. */
async function keyOwner(lc: Lifecycle, issuer: KeyIssuer, accountId: string, requested: string | undefined) {
	const own = isServiceAccountId(issuer.userId) ? issuer.userId : undefined;
	if (own && requested !== undefined && requested !== own)
		throw new ApiError("forbidden", { detail: "A service account's key makes keys for that service account only" });
	const id = requested ?? own;
	if (id === undefined) return null;
	if (!own && !roleAllows(issuer.role, "keys:manage-any"))
		throw new ApiError("forbidden", { detail: "Only an admin or the owner makes keys for a service account" });
	const row = await getServiceAccount(lc.db, accountId, id);
	if (!row) throw new ApiError("not-found", { detail: "No such service account" });
	return { id: row.id, role: row.role };
}

/** A successor for an active, unrotated key; the old one lives on for the grace period (the account's, unless given). */
export async function rotateUnderPolicy(lc: Lifecycle, issuer: KeyIssuer, key: KeyRow, gracePeriodHours?: number) {
	if (keyStatus(key, lc.now) !== "active" || key.rotatedTo)
		throw new ApiError("conflict", { detail: "Only an active, unrotated key can be rotated" });
	const settings = parseSettings((await getAccount(lc.db, key.accountId))?.settings);
	return rotateKey(lc, issuer, key, {
		graceMs: (gracePeriodHours ?? settings.rotationGraceHours) * 3_600_000,
		lifetimeDays: settings.keyMaxLifetimeDays,
	});
}

/** `alert.key_created`: the owner and admins hear of every new key (never its secret). */
export const keyCreatedAlert = (row: KeyRow): Alert => ({
	accountId: row.accountId,
	type: "alert.key_created",
	subject: `Keyward: a new ${row.environment} API key was created`,
	text: `Key ${row.id} ("${row.name}", ${row.start}…${row.lastFour ?? ""}) was created by ${row.createdBy} with scopes ${row.scopes.join(", ")}.`,
	data: { keyId: row.id, name: row.name, environment: row.environment, scopes: row.scopes, createdBy: row.createdBy },
	target: { type: "key", id: row.id },
});

/** A key with its usage from the account's object; last use is the later of the object's and the stored one. */
export async function keyWithUsage(lc: Lifecycle, key: KeyRow) {
	const { credits, ...usage } = await accountGuard(lc.env, key.accountId).keyUsage(
		key.accountId,
		key.id,
		key.keyHash,
		lc.now.getTime(),
	);
	const lastUsed = Math.max(usage.lastUsedAt ?? 0, key.lastUsedAt?.getTime() ?? 0);
	const lastUsedAt = lastUsed > 0 ? new Date(lastUsed).toISOString() : null;
	const balances = credits === null ? {} : { [key.id]: credits };
	return { key: { ...publicKey(key, lc.now, balances), lastUsedAt }, usage: { ...usage, lastUsedAt } };
}

/** A key's public record with its live credit balance (one object call, only for a key with credits). */
export async function publicKeyWithCredits(lc: Lifecycle, row: KeyRow) {
	const balances = row.credits
		? await accountGuard(lc.env, row.accountId).creditsOf(row.accountId, [row.id], [row.keyHash], lc.now.getTime())
		: {};
	return publicKey(row, lc.now, balances);
}
