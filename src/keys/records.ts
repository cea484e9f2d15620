/** API key rows: their public shape, their status, and pushing them to the account's Durable Object. */
import { and, eq, inArray, isNull } from "drizzle-orm";
import { chunk, D1_MAX_PARAMS, type Database, runInBatch } from "../db";
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
export async function pushKeys(env: Env, rows: KeyRow[]): Promise<void> {
	await Promise.all(rows.map((row) => accountObject(env, row.accountId).upsertKey(recordFromRow(row))));
}

export const getKey = (db: Database, accountId: string, keyId: string) =>
	db.query.apiKeys.findFirst({ where: and(eq(apiKeys.accountId, accountId), eq(apiKeys.id, keyId)) });

/** Which live keys of an account to revoke: all, those one person created, or the listed ones. */
export interface KeySelection {
	createdBy?: string;
	keyIds?: string[];
}

/**
 * Revokes every live key of the account that matches the selection.
 * The account's Durable Object is told first and D1 second: if the push
 * fails nothing is marked, so a retry finds the same keys and tries again.
 */
export async function revokeAccountKeys(
	env: Env,
	db: Database,
	accountId: string,
	reason: string,
	now: Date,
	only: KeySelection = {},
): Promise<KeyRow[]> {
	if (only.keyIds?.length === 0) return [];
	const where = and(
		eq(apiKeys.accountId, accountId),
		isNull(apiKeys.revokedAt),
		only.createdBy === undefined ? undefined : eq(apiKeys.createdBy, only.createdBy),
		only.keyIds === undefined ? undefined : inArray(apiKeys.id, only.keyIds),
	);
	const live = await db.select().from(apiKeys).where(where);
	if (live.length === 0) return [];
	const revoked = live.map((row) => ({ ...row, revokedAt: now, revokedReason: reason }));
	await pushKeys(env, revoked);
	// D1 binds at most 100 parameters per statement; one batch keeps the chunks all-or-nothing.
	await runInBatch(
		db,
		chunk(
			live.map((r) => r.id),
			D1_MAX_PARAMS - 5,
		).map((ids) =>
			db
				.update(apiKeys)
				.set({ revokedAt: now, revokedReason: reason })
				.where(and(inArray(apiKeys.id, ids), isNull(apiKeys.revokedAt))),
		),
	);
	return revoked;
}
