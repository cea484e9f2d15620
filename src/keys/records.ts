/** API key rows: their public shape and status, and reading one. Every change goes through ./lifecycle.ts. */
import { and, eq } from "drizzle-orm";
import type { Database } from "../db";
import { apiKeys, serviceAccounts } from "../db/schema";

export type KeyRow = typeof apiKeys.$inferSelect;
export type KeyStatus = "active" | "expired" | "revoked";
export type ServiceAccountRow = typeof serviceAccounts.$inferSelect;

export const keyStatus = (row: KeyRow, now: Date): KeyStatus =>
	row.revokedAt ? "revoked" : row.expiresAt <= now ? "expired" : "active";

/** A key's public record; `credits` are the live balances by key id (from the account's object), when read. */
export const publicKey = (row: KeyRow, now: Date, credits?: Record<string, number>) => ({
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
	secretWaiting: row.revealSealed !== null && row.revealUntil !== null && row.revealUntil > now && !row.revokedAt,
	ipAllowlist: row.ipAllowlist,
	rateLimit: { limit: row.rateLimit, windowSeconds: row.rateLimitWindowSeconds },
	rateLimits: row.rateLimits ?? [{ name: "default", limit: row.rateLimit, windowSeconds: row.rateLimitWindowSeconds }],
	enabled: row.disabledAt === null,
	owner: row.serviceAccountId
		? { type: "service_account" as const, id: row.serviceAccountId }
		: { type: "user" as const, id: row.createdBy },
	externalId: row.externalId,
	meta: row.meta,
	credits: row.credits
		? {
				remaining: credits === undefined ? null : (credits[row.id] ?? null),
				refill: row.credits.refill,
			}
		: null,
});

export const getKey = (db: Database, accountId: string, keyId: string) =>
	db.query.apiKeys.findFirst({ where: and(eq(apiKeys.accountId, accountId), eq(apiKeys.id, keyId)) });

export const getServiceAccount = (db: Database, accountId: string, id: string) =>
	db.query.serviceAccounts.findFirst({
		where: and(eq(serviceAccounts.accountId, accountId), eq(serviceAccounts.id, id)),
	});
