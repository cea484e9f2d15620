/**
 * The one place an API key changes: creation, update, rotation and
 * revocation, for routes, console, sweeps, lockdown and offboarding alike.
 *
 * Two rules hold every transition together:
 * - Each is one conditional D1 write on the state it starts from (an update on
 *   the version it read, a rotation on "not rotated, not revoked, not expired,
 *   account not locked down"), so a burst of parallel requests cannot fork a
 *   key: one wins, the others get 409 and leave nothing behind.
 * - Revocation tells the account's Durable Object first and D1 second. If D1
 *   then fails, verify already refuses the key and a retry finishes the write;
 *   a repeat call on a key D1 already shows revoked pushes it again, so a
 *   revocation lost on its way to the object is repaired by the next try.
 *   The object keeps the highest version it was told of, and never forgets a
 *   revocation or lengthens an expiry (src/durable/key-store.ts), so a late
 *   push of an older record cannot bring a key back.
 */
import { and, eq, gt, inArray, isNull, type SQL, sql } from "drizzle-orm";
import { accountLockedDown, grantLost, stillAllowed } from "../accounts/queries";
import { type Role, roleAllows } from "../auth/permissions";
import { reauthenticationRequired } from "../auth/recent-auth";
import { type BatchItem, type BatchResults, chunk, D1_MAX_PARAMS, type Database } from "../db";
import { accounts, apiKeys, serviceAccounts } from "../db/schema";
import { accountGuard } from "../durable/address";
import { recordFromRow } from "../durable/key-store";
import { slotOf } from "../durable/shard-map";
import type { Env } from "../platform/env";
import { newId } from "../platform/ids";
import type { JsonObject } from "../platform/json";
import { ApiError, type FieldError, validationError } from "../problems";
import type { CreditPlan, CreditRefill } from "../security/credits";
import { openSecret, sealSecret } from "../security/secret-box";
import type { NamedLimit } from "../security/sliding-window";
import { keyClassFor, keyLastFour, keyStart, mintApiKeyInSlot } from "./format";
import {
	changeRefusals,
	excessOverKey,
	grantRefusals,
	type KeyGrant,
	type KeyIssuer,
	needsFreshProof,
	scopesBeyondRole,
} from "./policy";
import { getKey, getServiceAccount, type KeyRow } from "./records";

const DAY_MS = 86_400_000;
/** High enough for any real account; bounds what one tenant can make every sweep and lockdown walk. */
export const DEFAULT_MAX_KEYS_PER_ACCOUNT = 10_000;

export interface Lifecycle {
	env: Env;
	db: Database;
	now: Date;
}

/** Credits as a request gives them: a balance and an optional refill. */
export interface CreditsInput {
	remaining: number;
	refill?: CreditRefill | null;
}

export interface KeyAttributes {
	name: string;
	environment: KeyRow["environment"];
	scopes: string[];
	ipAllowlist: string[];
	/** The key's named limits, at least one. */
	rateLimits: NamedLimit[];
	externalId?: string | null;
	meta?: JsonObject | null;
	credits?: CreditsInput | null;
	/** The service account the key is made for (it acts as that account, not as its creator). */
	serviceAccountId?: string | null;
}

/** The change an update asks for; absent fields stay as they are. */
export interface KeyChange {
	name?: string;
	scopes?: string[];
	ipAllowlist?: string[];
	rateLimits?: NamedLimit[];
	externalId?: string | null;
	meta?: JsonObject | null;
	credits?: CreditsInput | null;
	enabled?: boolean;
}

const limitsOfRow = (row: KeyRow): NamedLimit[] =>
	row.rateLimits ?? [{ name: "default", limit: row.rateLimit, windowSeconds: row.rateLimitWindowSeconds }];

const grantOf = (row: KeyRow): KeyGrant => ({
	environment: row.environment,
	scopes: row.scopes,
	ipAllowlist: row.ipAllowlist,
	limits: limitsOfRow(row),
	expiresAt: row.expiresAt.getTime(),
	credits: row.credits ? { pool: row.credits.pool } : null,
	enabled: row.disabledAt === null,
});

/** The row's rate-limit columns from its named limits: the first is kept in the single-limit columns. */
function limitColumns(limits: NamedLimit[]) {
	const [first] = limits;
	if (!first) throw validationError([{ path: "rateLimits", message: "A key needs at least one rate limit" }]);
	const single = limits.length === 1 && first.name === "default";
	return { rateLimit: first.limit, rateLimitWindowSeconds: first.windowSeconds, rateLimits: single ? null : limits };
}

/**
 * A credit plan as set now: a new version of the pool's balance, which replaces the live one. The
 * version is the time it was set with the key's row version below it (each write of a row bumps
 * that, so two settings of one key in one millisecond still order), and never below the last one
 * plus one: higher than any earlier setting of the pool, even after credits were removed.
 */
function creditPlan(
	input: CreditsInput,
	pool: string,
	previous: CreditPlan | null,
	now: Date,
	rowVersion: number,
): CreditPlan {
	const stamped = now.getTime() * 1024 + (rowVersion % 1024);
	return {
		remaining: input.remaining,
		refill: input.refill ?? null,
		version: Math.max((previous?.version ?? 0) + 1, stamped),
		pool,
		setAt: now.getTime(),
	};
}

function refuse(refusals: FieldError[]): void {
	if (refusals.length === 0) return;
	throw new ApiError("forbidden", {
		detail: `You cannot grant this: ${refusals.map((r) => r.message).join("; ")}`,
		errors: refusals,
	});
}

/**
 * Managing a key one created needs `keys:manage-own`; anyone else's, or any service account's
 * key (it acts as the service account, not as its creator), `keys:manage-any`.
 */
export const managePermission = (issuer: { userId: string }, key: Pick<KeyRow, "createdBy" | "serviceAccountId">) =>
	key.createdBy === issuer.userId && (key.serviceAccountId === null || key.serviceAccountId === issuer.userId)
		? ("keys:manage-own" as const)
		: ("keys:manage-any" as const);

/** The live keys of the account, counted in SQL, exceed the cap (checked in the batch that adds one). */
const overKeyCap = (accountId: string, cap: number, now: Date) =>
	sql`(SELECT COUNT(*) FROM ${apiKeys} WHERE ${apiKeys.accountId} = ${accountId} AND ${apiKeys.revokedAt} IS NULL AND ${apiKeys.expiresAt} > ${now.getTime()}) > ${cap}`;

export const maxKeysPerAccount = (env: Env): number => {
	const configured = Number(env.MAX_KEYS_PER_ACCOUNT);
	return Number.isInteger(configured) && configured > 0 ? configured : DEFAULT_MAX_KEYS_PER_ACCOUNT;
};

const accountGone = (accountId: string) =>
	sql`NOT EXISTS (SELECT 1 FROM ${accounts} WHERE ${accounts.id} = ${accountId})`;

async function mintRow(
	env: Env,
	accountId: string,
	attributes: KeyAttributes,
	createdBy: string,
	now: Date,
	expiresAt: Date,
	rotatedFrom: string | null,
	/** Mint in this key's slot (a rotation's successor sharing its credit pool; docs/GLOBAL.md §7). */
	sameSlotAs?: string,
) {
	const { secret, hash } = await mintApiKeyInSlot(
		env.KEY_PEPPER ?? "",
		accountId,
		keyClassFor(attributes.environment),
		sameSlotAs ? slotOf(sameSlotAs) : null,
	);
	const row: KeyRow = {
		id: newId("key"),
		accountId,
		name: attributes.name,
		environment: attributes.environment,
		scopes: attributes.scopes,
		keyHash: hash,
		start: keyStart(secret),
		lastFour: keyLastFour(secret),
		createdAt: now,
		createdBy,
		expiresAt,
		lastUsedAt: null,
		revokedAt: null,
		revokedReason: null,
		rotatedFrom,
		rotatedTo: null,
		expiryRecordedAt: null,
		ipAllowlist: attributes.ipAllowlist,
		...limitColumns(attributes.rateLimits),
		version: 0,
		serviceAccountId: attributes.serviceAccountId ?? null,
		externalId: attributes.externalId ?? null,
		meta: attributes.meta ?? null,
		disabledAt: null,
		disabledBy: null,
		credits: null,
		revealSealed: null,
		revealUntil: null,
	};
	return { row, secret };
}

/** A key caller's keys live no longer than the caller; a person's, the account's maximum. */
function lifetimeEnd(issuer: KeyIssuer, now: Date, days: number): Date {
	const end = now.getTime() + days * DAY_MS;
	return new Date(issuer.type === "key" ? Math.min(end, issuer.key.expiresAt) : end);
}

/**
 * Creates a key. The insert and its conditions are one D1 batch: the row is
 * deleted again in the same transaction when the account is locked down, gone,
 * or over its key cap, or its creator no longer holds a role that may create
 * keys, so a creation racing a lockdown or the creator's removal either lands
 * before it (and the lockdown's or removal's sweep revokes it) or not at all.
 */
export async function createKey(
	lc: Lifecycle,
	issuer: KeyIssuer,
	accountId: string,
	attributes: KeyAttributes,
	lifetime: { ms: number; explicit: boolean },
	serviceAccount: ServiceAccountOwner | null = null,
): Promise<{ row: KeyRow; secret: string }> {
	const { env, db, now } = lc;
	const expiresAt = lifetime.explicit
		? new Date(now.getTime() + lifetime.ms)
		: lifetimeEnd(issuer, now, lifetime.ms / DAY_MS);
	const minted = await mintRow(
		env,
		accountId,
		{ ...attributes, serviceAccountId: serviceAccount?.id ?? null },
		issuer.userId,
		now,
		expiresAt,
		null,
	);
	const { secret } = minted;
	// A key with credits makes keys that spend its own balance: more balances would be more uses.
	const inherited = issuer.type === "key" ? issuer.creditPlan : null;
	if (inherited && attributes.credits)
		refuse([{ path: "credits", message: "The calling key has credits: the keys it makes spend its balance" }]);
	const row: KeyRow = {
		...minted.row,
		credits: inherited ?? (attributes.credits ? creditPlan(attributes.credits, minted.row.id, null, now, 0) : null),
	};
	refuse(grantRefusals(issuer, grantOf(row)));
	// A service account's key is capped by the service account's role, not its creator's.
	if (serviceAccount) {
		refuse(scopesBeyondRole(serviceAccount.role, row.scopes));
		assertMayEmpowerServiceAccount(issuer, serviceAccount.id);
	}
	if (needsFreshProof(issuer, grantOf(row)))
		throw reauthenticationRequired("create a key that reaches the management API");
	const cap = maxKeysPerAccount(env);
	const overCap = overKeyCap(accountId, cap, now);
	// For a service account: the creator must still manage every key, and the service account still exist.
	const permission = serviceAccount && serviceAccount.id !== issuer.userId ? "keys:manage-any" : "keys:create";
	const ownerGone = serviceAccount
		? sql` OR NOT EXISTS (SELECT 1 FROM ${serviceAccounts} WHERE ${serviceAccounts.id} = ${serviceAccount.id} AND ${serviceAccounts.accountId} = ${accountId})`
		: sql``;
	const [, undone] = await db.batch([
		db.insert(apiKeys).values(row),
		db
			.delete(apiKeys)
			.where(
				and(
					eq(apiKeys.id, row.id),
					sql`(${accountLockedDown(accountId)} OR ${accountGone(accountId)} OR ${overCap} OR NOT ${stillAllowed(accountId, issuer.userId, permission)}${ownerGone})`,
				),
			)
			.returning({ id: apiKeys.id }),
	]);
	if (undone.length > 0) {
		if (serviceAccount && !(await getServiceAccount(db, accountId, serviceAccount.id)))
			throw new ApiError("not-found", { detail: "The service account was deleted meanwhile" });
		await grantLost(
			db,
			accountId,
			issuer.userId,
			permission,
			"no keys can be created or rotated",
			new ApiError("conflict", { detail: `An account has at most ${cap} live keys; revoke some first` }),
		);
	}
	await pushKeys(env, [row]);
	return { row, secret };
}

/** The service account a key is made for, as read by the caller: its role caps the key. */
export interface ServiceAccountOwner {
	id: string;
	role: Role;
}

/**
 * Who may hand out a service account's power (make, rotate, widen or enable one of its keys): a
 * person with a fresh proof of identity, or that service account's own key. Not another key: a
 * key is bounded by its creator's membership, and a service account's key outlives it.
 */
export function assertMayEmpowerServiceAccount(issuer: KeyIssuer, serviceAccountId: string): void {
	if (issuer.type === "key" && issuer.userId !== serviceAccountId)
		throw new ApiError("forbidden", {
			detail: "Only a person (or the service account's own key) hands out a service account's keys",
		});
	if (issuer.type === "user" && !issuer.provedRecently)
		throw reauthenticationRequired("hand out a service account's key (it outlives you)");
}

/**
 * Changes a key: its name, scopes, allowlist, limits, customer id, metadata, credits, or whether
 * it is enabled. One write on the version read, while the account is not locked down and the
 * caller still holds the role to manage that key. Anything that widens the key (a scope, a looser
 * limit, more credits, enabling it) is a grant of the whole result, checked as one; and a key
 * disabled by someone is enabled again only by them or by someone who may manage every key.
 */
export async function updateKey(lc: Lifecycle, issuer: KeyIssuer, key: KeyRow, change: KeyChange): Promise<KeyRow> {
	const { env, db, now } = lc;
	if (key.revokedAt) throw new ApiError("conflict", { detail: "A revoked key cannot change" });
	if (change.credits !== undefined && key.rotatedTo)
		throw new ApiError("conflict", {
			detail: "A rotated key spends its successor's credits: set them on the successor",
		});
	const enabling = change.enabled === true && key.disabledAt !== null;
	const disabling = change.enabled === false && key.disabledAt === null;
	const next: KeyRow = {
		...key,
		name: change.name ?? key.name,
		scopes: change.scopes ?? key.scopes,
		ipAllowlist: change.ipAllowlist ?? key.ipAllowlist,
		...(change.rateLimits ? limitColumns(change.rateLimits) : {}),
		externalId: change.externalId === undefined ? key.externalId : change.externalId,
		meta: change.meta === undefined ? key.meta : change.meta,
		credits:
			change.credits === undefined
				? key.credits
				: change.credits === null
					? null
					: creditPlan(change.credits, key.credits?.pool ?? key.id, key.credits, now, key.version + 1),
		disabledAt: enabling ? null : disabling ? now : key.disabledAt,
		disabledBy: enabling ? null : disabling ? issuer.userId : key.disabledBy,
	};
	// Setting credits sets the balance, so it can hand back what was spent: always a grant.
	const settingCredits = change.credits !== undefined && change.credits !== null;
	const widens = settingCredits || excessOverKey(grantOf(key), grantOf(next)).length > 0;
	refuse(widens ? grantRefusals(issuer, grantOf(next)) : changeRefusals(issuer, grantOf(key), grantOf(next)));
	if (settingCredits && issuer.type === "key" && (issuer.creditPlan || issuer.keyId === key.id))
		refuse([{ path: "credits", message: "A key sets no credits on itself, and a key with credits sets none at all" }]);
	if (key.serviceAccountId && widens) {
		assertMayEmpowerServiceAccount(issuer, key.serviceAccountId);
		const owner = await getServiceAccount(db, key.accountId, key.serviceAccountId);
		if (!owner) throw new ApiError("conflict", { detail: "The key's service account is gone" });
		refuse(scopesBeyondRole(owner.role, next.scopes));
	}
	if (enabling && key.disabledBy !== issuer.userId && !roleAllows(issuer.role, "keys:manage-any"))
		throw new ApiError("forbidden", {
			detail: "Someone else disabled this key: only they or an admin can enable it again",
		});
	if (widens && needsFreshProof(issuer, grantOf(next)))
		throw reauthenticationRequired("widen a key that reaches the management API");
	const unchanged =
		next.name === key.name &&
		JSON.stringify(grantOf(next)) === JSON.stringify(grantOf(key)) &&
		next.externalId === key.externalId &&
		JSON.stringify(next.meta) === JSON.stringify(key.meta) &&
		change.credits === undefined;
	if (unchanged) return key;
	const permission = managePermission(issuer, key);
	const [updated] = await db
		.update(apiKeys)
		.set({
			name: next.name,
			scopes: next.scopes,
			ipAllowlist: next.ipAllowlist,
			rateLimit: next.rateLimit,
			rateLimitWindowSeconds: next.rateLimitWindowSeconds,
			rateLimits: next.rateLimits,
			externalId: next.externalId,
			meta: next.meta,
			credits: next.credits,
			disabledAt: next.disabledAt,
			disabledBy: next.disabledBy,
			version: key.version + 1,
		})
		.where(
			and(
				eq(apiKeys.id, key.id),
				eq(apiKeys.version, key.version),
				isNull(apiKeys.revokedAt),
				sql`NOT ${accountLockedDown(key.accountId)}`,
				stillAllowed(key.accountId, issuer.userId, permission),
			),
		)
		.returning();
	if (!updated)
		await grantLost(
			db,
			key.accountId,
			issuer.userId,
			permission,
			"no key can be changed",
			new ApiError("conflict", { detail: "The key changed meanwhile; reload and try again" }),
		);
	if (!updated) throw new ApiError("conflict");
	await pushKeys(env, [updated]);
	return updated;
}

/**
 * Rotates a key: one D1 batch marks the old key rotated (only if it is still
 * the version that was read, active, unrotated, the account not locked down,
 * the caller still allowed to manage it, and the account not over its key cap
 * once the successor counts), inserts the successor, and deletes the successor
 * again unless the old key now names it. So at most one successor ever exists,
 * none after a revocation or lockdown won, and none with powers a concurrent
 * change had just taken from the key.
 */
export async function rotateKey(
	lc: Lifecycle,
	issuer: KeyIssuer,
	key: KeyRow,
	policy: {
		graceMs: number;
		lifetimeDays: number;
		/** Keep the successor's secret sealed on its row, for a person to reveal once (a leaked key's rotation). */
		park?: { sealingKey: string; until: Date };
	},
): Promise<{ successor: KeyRow; secret: string; previous: KeyRow }> {
	const { env, db, now } = lc;
	if (key.disabledAt) throw new ApiError("conflict", { detail: "A disabled key cannot be rotated; enable it first" });
	const attributes: KeyAttributes = { ...key, rateLimits: limitsOfRow(key) };
	// A short-lived key (under a day) is succeeded by one as short-lived; others get the policy's lifetime.
	const ownLifetimeDays = (key.expiresAt.getTime() - key.createdAt.getTime()) / DAY_MS;
	const expiresAt = lifetimeEnd(issuer, now, ownLifetimeDays < 1 ? ownLifetimeDays : policy.lifetimeDays);
	const minted = await mintRow(
		env,
		key.accountId,
		attributes,
		issuer.userId,
		now,
		expiresAt,
		key.id,
		key.credits ? key.keyHash : undefined,
	);
	const { secret } = minted;
	// The successor spends the same balance as the old key (one pool along the chain), never a copy of it.
	const successor: KeyRow = { ...minted.row, credits: key.credits };
	if (policy.park) {
		successor.revealSealed = await sealSecret(
			policy.park.sealingKey,
			new TextEncoder().encode(secret),
			revealBinding(successor.id),
		);
		successor.revealUntil = policy.park.until;
	}
	// A successor is a fresh secret with the old key's powers: only someone who could grant those may have it.
	refuse(grantRefusals(issuer, grantOf(successor)));
	if (key.serviceAccountId) assertMayEmpowerServiceAccount(issuer, key.serviceAccountId);
	if (needsFreshProof(issuer, grantOf(successor)))
		throw reauthenticationRequired("rotate a key that reaches the management API");
	const graceEnd = now.getTime() + policy.graceMs;
	const [marked, , undone] = await db.batch([
		db
			.update(apiKeys)
			.set({
				rotatedTo: successor.id,
				expiresAt: sql`min(${apiKeys.expiresAt}, ${graceEnd})`,
				version: sql`${apiKeys.version} + 1`,
			})
			.where(
				and(
					eq(apiKeys.id, key.id),
					isNull(apiKeys.rotatedTo),
					isNull(apiKeys.revokedAt),
					isNull(apiKeys.disabledAt),
					gt(apiKeys.expiresAt, now),
					eq(apiKeys.version, key.version),
					sql`NOT ${accountLockedDown(key.accountId)}`,
					stillAllowed(key.accountId, issuer.userId, managePermission(issuer, key)),
					// With a grace period the old key stays live beside its successor: at the cap that is one
					// too many, so a chain of rotations cannot outgrow it (a rotation without grace can).
					policy.graceMs > 0 ? sql`NOT ${overKeyCap(key.accountId, maxKeysPerAccount(env) - 1, now)}` : undefined,
					// A service account's key is rotated only while the service account exists: a rotation
					// racing its deletion cannot leave a live successor behind.
					key.serviceAccountId
						? sql`EXISTS (SELECT 1 FROM ${serviceAccounts} WHERE ${serviceAccounts.id} = ${key.serviceAccountId})`
						: undefined,
				),
			)
			.returning(),
		db.insert(apiKeys).values(successor),
		db
			.delete(apiKeys)
			.where(
				and(
					eq(apiKeys.id, successor.id),
					sql`NOT EXISTS (SELECT 1 FROM ${apiKeys} AS old WHERE old.id = ${key.id} AND old.rotated_to = ${successor.id})`,
				),
			)
			.returning({ id: apiKeys.id }),
	]);
	const previous = marked[0];
	if (!previous || undone.length > 0)
		await grantLost(
			db,
			key.accountId,
			issuer.userId,
			managePermission(issuer, key),
			"no keys can be created or rotated",
			new ApiError("conflict", {
				detail:
					"Only an active, unrotated key can be rotated, and it changed meanwhile; or the account is at its key cap " +
					"(rotate with gracePeriodHours: 0, or revoke keys first)",
			}),
		);
	if (!previous) throw new ApiError("conflict");
	await pushKeys(env, [successor, previous]);
	return { successor, secret, previous };
}

/**
 * Revokes one key (idempotent). Returns the key as it stands and whether this
 * call revoked it. An already revoked key is pushed to the object again.
 */
/** What a parked secret is sealed to: its own key, so a sealed value moved to another row does not open. */
export const revealBinding = (keyId: string) => `reveal:${keyId}`;

/**
 * Reveals a parked successor secret once: one conditional write clears it on
 * the value read, so of parallel reveals exactly one gets the secret.
 */
export async function revealParkedSecret(lc: Lifecycle, key: KeyRow, sealingKey: string): Promise<string> {
	const sealed = key.revealSealed;
	if (!sealed || !key.revealUntil || key.revealUntil <= lc.now || key.revokedAt)
		throw new ApiError("not-found", { detail: "This key has no secret waiting to be revealed" });
	const taken = await lc.db
		.update(apiKeys)
		.set({ revealSealed: null, revealUntil: null })
		.where(and(eq(apiKeys.id, key.id), eq(apiKeys.revealSealed, sealed)))
		.returning({ id: apiKeys.id });
	if (taken.length === 0) throw new ApiError("not-found", { detail: "This key's secret was already revealed" });
	return new TextDecoder().decode(await openSecret(sealingKey, sealed, revealBinding(key.id)));
}

export async function revokeKey(
	lc: Lifecycle,
	key: KeyRow,
	reason: string,
): Promise<{ row: KeyRow; revoked: boolean }> {
	if (key.revokedAt) {
		await pushKeys(lc.env, [key]);
		return { row: key, revoked: false };
	}
	const { revoked } = await revokeKeyRows(lc, [key], reason);
	if (revoked.length === 1 && revoked[0]) return { row: revoked[0], revoked: true };
	// Another revocation won the write: push what D1 holds, so the object agrees with it.
	const current = (await getKey(lc.db, key.accountId, key.id)) ?? key;
	await pushKeys(lc.env, [current]);
	return { row: current, revoked: false };
}

/**
 * Revokes the given live rows: the objects first, then one D1 batch with the
 * conditional updates and `alongside` (the other writes of the same action:
 * a membership deletion, audit outbox rows), all or nothing. Returns the rows
 * this call revoked (a row another call revoked first is not among them) and
 * the results of `alongside`.
 */
export async function revokeKeyRows<const T extends BatchItem[] = []>(
	lc: Lifecycle,
	rows: KeyRow[],
	reason: string,
	alongside: T = [] as unknown as T,
): Promise<{ revoked: KeyRow[]; results: BatchResults<T> }> {
	const { env, db, now } = lc;
	const live = rows.filter((r) => !r.revokedAt);
	await pushKeys(
		env,
		live.map((row) => ({ ...row, revokedAt: now, revokedReason: reason, version: row.version + 1 })),
	);
	const updates = chunk(
		live.map((r) => r.id),
		D1_MAX_PARAMS - 5,
	).map((ids) =>
		db
			.update(apiKeys)
			.set({ revokedAt: now, revokedReason: reason, version: sql`${apiKeys.version} + 1` })
			.where(and(inArray(apiKeys.id, ids), isNull(apiKeys.revokedAt)))
			.returning(),
	);
	const statements = [...alongside, ...updates];
	const [first, ...rest] = statements;
	const results = first ? ((await db.batch([first, ...rest])) as unknown[]) : [];
	const revoked = (results.slice(alongside.length) as KeyRow[][]).flat();
	return { revoked, results: results.slice(0, alongside.length) as BatchResults<T> };
}

/** Which live keys of an account to revoke: all, those one person created, or the listed ones. */
export interface KeySelection {
	/** A person's keys: those they made for themselves (keys they made for a service account stay). */
	createdBy?: string;
	keyIds?: string[];
	/** The keys a service account owns. */
	serviceAccountId?: string;
}

const liveKeysOf = (db: Database, accountId: string, only: KeySelection): Promise<KeyRow[]> => {
	if (only.keyIds?.length === 0) return Promise.resolve([]);
	const filters: (SQL | undefined)[] = [
		eq(apiKeys.accountId, accountId),
		isNull(apiKeys.revokedAt),
		only.createdBy === undefined ? undefined : eq(apiKeys.createdBy, only.createdBy),
		only.createdBy === undefined ? undefined : isNull(apiKeys.serviceAccountId),
		only.serviceAccountId === undefined ? undefined : eq(apiKeys.serviceAccountId, only.serviceAccountId),
		only.keyIds === undefined ? undefined : inArray(apiKeys.id, only.keyIds),
	];
	return db
		.select()
		.from(apiKeys)
		.where(and(...filters));
};

/** Revokes the account's live keys that match the selection, with `alongside` in the same D1 batch. */
export async function revokeAccountKeys<const T extends BatchItem[] = []>(
	lc: Lifecycle,
	accountId: string,
	reason: string,
	only: KeySelection = {},
	alongside: T = [] as unknown as T,
): Promise<{ revoked: KeyRow[]; results: BatchResults<T> }> {
	return revokeKeyRows(lc, await liveKeysOf(lc.db, accountId, only), reason, alongside);
}

/** One object call per account (all of an account's keys live in its one object), however many keys change. */
async function pushKeys(env: Env, rows: KeyRow[]): Promise<void> {
	const byAccount = Map.groupBy(rows, (row) => row.accountId);
	await Promise.all(
		[...byAccount].map(([accountId, list]) => accountGuard(env, accountId).upsertKeys(list.map(recordFromRow))),
	);
}

/** What an erased person's keys are called from then on. */
export const ERASED_KEY_NAME = "[erased]";

/**
 * An erasure's last word on the person's own keys (issue #26): their names, which people write
 * freely ("Ada's laptop"), become `[erased]`. Only keys already revoked, and never a service
 * account's (those stay live, and their names are the service's). The name is not in the account
 * object's record, so this is one D1 write and no push. Idempotent.
 */
export async function forgetKeyNames(db: Database, userId: string): Promise<number> {
	const renamed = await db
		.update(apiKeys)
		.set({ name: ERASED_KEY_NAME })
		.where(
			and(
				eq(apiKeys.createdBy, userId),
				isNull(apiKeys.serviceAccountId),
				sql`${apiKeys.revokedAt} IS NOT NULL`,
				sql`${apiKeys.name} <> ${ERASED_KEY_NAME}`,
			),
		)
		.returning({ id: apiKeys.id });
	return renamed.length;
}
