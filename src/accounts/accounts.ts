/**
 * An account's own transitions: creation with its owner, a settings write
 * conditional on the settings the rules were checked against, and the
 * ownership transfer. Each is one write or one batch.
 */
import { and, eq, sql } from "drizzle-orm";
import type { Database } from "../db";
import { accounts, memberships } from "../db/schema";
import { newId } from "../platform/ids";
import { ApiError } from "../problems";
import type { AccountSettings } from "./settings";

type AccountRow = typeof accounts.$inferSelect;

/** A new account and its owner's membership, together or not at all. */
export async function createAccount(db: Database, ownerId: string, name: string, now: Date): Promise<AccountRow> {
	const account: AccountRow = {
		id: newId("acc"),
		name,
		settings: "{}",
		createdAt: now,
		lockedDownAt: null,
		lockedDownReason: null,
		sessionsNotBefore: null,
	};
	await db.batch([
		db.insert(accounts).values(account),
		db.insert(memberships).values({ accountId: account.id, userId: ownerId, role: "owner", joinedAt: now }),
	]);
	return account;
}

/**
 * Name and settings, conditional on the settings the rules were checked against, so two changes
 * cannot interleave (the name is last-writer-wins: no rule depends on it).
 */
export async function writeSettings(db: Database, account: AccountRow, name: string, settings: AccountSettings) {
	const [updated] = await db
		.update(accounts)
		.set({ name, settings: JSON.stringify(settings) })
		.where(and(eq(accounts.id, account.id), eq(accounts.settings, account.settings)))
		.returning();
	if (!updated) throw new ApiError("conflict", { detail: "The account changed meanwhile; reload and try again" });
	return updated;
}

/**
 * One transaction, each step conditional: promote only while the caller is still the owner, demote
 * the caller only once the target is the owner. Concurrent transfers cannot make two owners, and a
 * target removed meanwhile cannot leave none.
 */
export async function transferOwnership(db: Database, accountId: string, ownerId: string, userId: string) {
	const isOwner = (id: string) =>
		sql`EXISTS (SELECT 1 FROM memberships m WHERE m.account_id = ${accountId} AND m.user_id = ${id} AND m.role = 'owner')`;
	const [promoted] = await db.batch([
		db
			.update(memberships)
			.set({ role: "owner" })
			.where(and(eq(memberships.accountId, accountId), eq(memberships.userId, userId), isOwner(ownerId)))
			.returning({ userId: memberships.userId }),
		db
			.update(memberships)
			.set({ role: "admin" })
			.where(and(eq(memberships.accountId, accountId), eq(memberships.userId, ownerId), isOwner(userId))),
	]);
	if (promoted.length !== 1)
		throw new ApiError("conflict", { detail: "Ownership changed meanwhile; reload and try again" });
}
