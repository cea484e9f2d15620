/**
 * Ending someone's access to an account. Membership rows are read on every
 * request (the session authenticator has no cache), so deleting the row ends
 * their access at the next request, everywhere. API keys they created in the
 * account are revoked here too once keys exist (issue #6 adds that step).
 */
import { and, eq } from "drizzle-orm";
import type { Database } from "../db";
import { accounts, invitations, memberships } from "../db/schema";

export async function removeMembership(db: Database, accountId: string, userId: string): Promise<void> {
	await db.delete(memberships).where(and(eq(memberships.accountId, accountId), eq(memberships.userId, userId)));
}

/** Deletes the account, its memberships and invitations in one batch; its audit trail stays. */
export async function deleteAccount(db: Database, accountId: string): Promise<void> {
	await db.batch([
		db.delete(invitations).where(eq(invitations.accountId, accountId)),
		db.delete(memberships).where(eq(memberships.accountId, accountId)),
		db.delete(accounts).where(eq(accounts.id, accountId)),
	]);
}
