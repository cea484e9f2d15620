/** Reading keys: the account's list, filtered and paged by a keyset cursor (newest first). */
import { and, desc, eq, gt, isNotNull, isNull, lt, lte, or, type SQL } from "drizzle-orm";
import type { Database } from "../db";
import { apiKeys } from "../db/schema";
import { accountGuard } from "../durable/address";
import { shardOfSlot, slotOf } from "../durable/shard-map";
import type { Env } from "../platform/env";
import { decodeKeysetCursor, encodeKeysetCursor } from "../routes/pagination";
import { type KeyRow, type KeyStatus, publicKey } from "./records";

export interface KeyListQuery {
	environment?: KeyRow["environment"];
	createdBy?: string;
	externalId?: string;
	serviceAccountId?: string;
	status?: KeyStatus;
	cursor?: string;
	limit: number;
}

/** A page of keys; credit balances come from the account's object in one call, for the keys that have credits. */
export async function listKeys(env: Env, db: Database, accountId: string, q: KeyListQuery, now: Date) {
	const filters: (SQL | undefined)[] = [eq(apiKeys.accountId, accountId)];
	if (q.environment) filters.push(eq(apiKeys.environment, q.environment));
	if (q.createdBy) filters.push(eq(apiKeys.createdBy, q.createdBy));
	if (q.externalId) filters.push(eq(apiKeys.externalId, q.externalId));
	if (q.serviceAccountId) filters.push(eq(apiKeys.serviceAccountId, q.serviceAccountId));
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
	const withCredits = page.filter((r) => r.credits);
	const balances =
		withCredits.length > 0
			? await accountGuard(env, accountId).creditsOf(
					accountId,
					withCredits.map((r) => r.id),
					withCredits.map((r) => r.keyHash),
					now.getTime(),
				)
			: {};
	return {
		data: page.map((r) => publicKey(r, now, balances)),
		nextCursor: rows.length > q.limit && last ? encodeKeysetCursor(last.createdAt, last.id) : null,
	};
}

/**
 * The credit pools that `shards` shards would split: live keys sharing a pool (a rotation chain in
 * its grace period) whose hashes fall in different shards. Successors are minted in their
 * predecessor's slot, so only chains rotated before that can be split (docs/GLOBAL.md §7).
 */
export async function creditPoolsSplitAt(db: Database, accountId: string, shards: number, now: Date) {
	const rows = await db
		.select({ id: apiKeys.id, keyHash: apiKeys.keyHash, credits: apiKeys.credits })
		.from(apiKeys)
		.where(
			and(
				eq(apiKeys.accountId, accountId),
				isNotNull(apiKeys.credits),
				or(isNull(apiKeys.revokedAt), gt(apiKeys.revokedAt, now)),
				gt(apiKeys.expiresAt, now),
			),
		);
	const shardsOfPool = new Map<string, Set<number>>();
	for (const row of rows) {
		const pool = row.credits?.pool ?? row.id;
		const seen = shardsOfPool.get(pool) ?? new Set<number>();
		seen.add(shardOfSlot(slotOf(row.keyHash), shards));
		shardsOfPool.set(pool, seen);
	}
	return [...shardsOfPool].filter(([, seen]) => seen.size > 1).map(([pool]) => pool);
}
