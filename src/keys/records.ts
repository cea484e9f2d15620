/** API key rows: their public shape and status, and reading one. Every change goes through ./lifecycle.ts. */
import { and, eq } from "drizzle-orm";
import type { Database } from "../db";
import { apiKeys } from "../db/schema";

export type KeyRow = typeof apiKeys.$inferSelect;
export type KeyStatus = "active" | "expired" | "revoked";

export const keyStatus = (row: KeyRow, now: Date): KeyStatus =>
	row.revokedAt ? "revoked" : row.expiresAt <= now ? "expired" : "active";

export const publicKey = (row: KeyRow, now: Date) => ({
	id: row.id,
	name: row.name,
	start: row.start,
	last4: row.lastFour ?? null,
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

export const getKey = (db: Database, accountId: string, keyId: string) =>
	db.query.apiKeys.findFirst({ where: and(eq(apiKeys.accountId, accountId), eq(apiKeys.id, keyId)) });
