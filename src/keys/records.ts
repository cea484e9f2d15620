/** API key rows: their public shape, their status, and pushing them to the account's Durable Object. */
import { and, eq, inArray, isNull } from "drizzle-orm";
import { type BatchItem, type BatchResults, chunk, D1_MAX_PARAMS, type Database } from "../db";
import { apiKeys } from "../db/schema";
import { accountObject } from "../durable/address";
import { recordFromRow } from "../durable/key-store";
import type { Env } from "../env";

export type KeyRow = typeof apiKeys.$inferSelect;
export type KeyStatus = "active" | "expired" | "revoked";

export const keyStatus = (row: KeyRow, now: Date): KeyStatus =>
	row.revokedAt ? "revoked" : row.expiresAt <= now ? "expired" : "active";

export const publicKey = (row: KeyRow, now: Date) => ({
	id: row.id,
	name: row.name,
	start: row.start,
	environment: row.environment,
	scopes: row.scopes,
	status: keyStatus(row, now),
	createdAt: row.createdAt.toISOString(),
	createdBy: row.createdBy,
	expiresAt: row.expiresAt.toISOString(),
	lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
	revokedAt: row.revokedAt?.toISOString() ?? null,
	revokedReason: row.revokedReason,
	rotatedFrom: row.rotatedFrom,
	rotatedTo: row.rotatedTo,
	ipAllowlist: row.ipAllowlist,
	rateLimit: { limit: row.rateLimit, windowSeconds: row.rateLimitWindowSeconds },
});

/** After every D1 write of a key: the account's object serves the new state from the next verify on. */
/** One call per account (all of an account's keys live in its one object), however many keys change. */
export async function pushKeys(env: Env, rows: KeyRow[]): Promise<void> {
	const byAccount = Map.groupBy(rows, (row) => row.accountId);
	await Promise.all(
		[...byAccount].map(([accountId, list]) => accountObject(env, accountId).upsertKeys(list.map(recordFromRow))),
	);
}

export const getKey = (db: Database, accountId: string, keyId: string) =>
	db.query.apiKeys.findFirst({ where: and(eq(apiKeys.accountId, accountId), eq(apiKeys.id, keyId)) });

/** Which live keys of an account to revoke: all, those one person created, or the listed ones. */
export interface KeySelection {
	createdBy?: string;
	keyIds?: string[];
}

/**
 * Revokes the live keys of the account that match the selection, together
 * with `alongside` (other writes of the same action) in one D1 batch, so the
 * action lands whole or not at all. The account's Durable Object is told
 * first: if D1 then fails, verify already refuses the keys (the safe side),
 * nothing in D1 changed, and a retry finds the same keys and finishes.
 * Returns the revoked keys and the results of `alongside`.
 */
export async function revokeAccountKeys<const T extends BatchItem[] = []>(
	env: Env,
	db: Database,
	accountId: string,
	reason: string,
	now: Date,
	only: KeySelection = {},
	alongside: T = [] as unknown as T,
): Promise<{ revoked: KeyRow[]; results: BatchResults<T> }> {
	const live =
		only.keyIds?.length === 0
			? []
			: await db
					.select()
					.from(apiKeys)
					.where(
						and(
							eq(apiKeys.accountId, accountId),
							isNull(apiKeys.revokedAt),
							only.createdBy === undefined ? undefined : eq(apiKeys.createdBy, only.createdBy),
							only.keyIds === undefined ? undefined : inArray(apiKeys.id, only.keyIds),
						),
					);
	const revoked = live.map((row) => ({ ...row, revokedAt: now, revokedReason: reason }));
	await pushKeys(env, revoked);
	// D1 binds at most 100 parameters per statement, so the ids go in chunks, all in the one batch.
	const updates = chunk(
		live.map((r) => r.id),
		D1_MAX_PARAMS - 5,
	).map((ids) =>
		db
			.update(apiKeys)
			.set({ revokedAt: now, revokedReason: reason })
			.where(and(inArray(apiKeys.id, ids), isNull(apiKeys.revokedAt))),
	);
	const statements = [...alongside, ...updates];
	const [first, ...rest] = statements;
	const results = first ? await db.batch([first, ...rest]) : [];
	return { revoked, results: results.slice(0, alongside.length) as BatchResults<T> };
}
