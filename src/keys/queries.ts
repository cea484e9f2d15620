/** Reading keys: the account's list, filtered and paged by a keyset cursor (newest first). */
import { and, desc, eq, gt, isNotNull, isNull, lt, lte, or, type SQL } from "drizzle-orm";
import type { Database } from "../db";
import { apiKeys } from "../db/schema";
import { accountGuard } from "../durable/address";
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
	const withCredits = page.filter((r) => r.credits).map((r) => r.id);
	const balances =
		withCredits.length > 0 ? await accountGuard(env, accountId).creditsOf(withCredits, now.getTime()) : {};
	return {
		data: page.map((r) => publicKey(r, now, balances)),
		nextCursor: rows.length > q.limit && last ? encodeKeysetCursor(last.createdAt, last.id) : null,
	};
}
