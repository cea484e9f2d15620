/** Reading keys: the account's list, filtered and paged by a keyset cursor (newest first). */
import { and, desc, eq, gt, isNotNull, isNull, lt, lte, or, type SQL } from "drizzle-orm";
import type { Database } from "../db";
import { apiKeys } from "../db/schema";
import { decodeKeysetCursor, encodeKeysetCursor } from "../routes/pagination";
import { type KeyRow, type KeyStatus, publicKey } from "./records";

export interface KeyListQuery {
	environment?: KeyRow["environment"];
	createdBy?: string;
	status?: KeyStatus;
	cursor?: string;
	limit: number;
}

export async function listKeys(db: Database, accountId: string, q: KeyListQuery, now: Date) {
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
	return {
		data: page.map((r) => publicKey(r, now)),
		nextCursor: rows.length > q.limit && last ? encodeKeysetCursor(last.createdAt, last.id) : null,
	};
}
