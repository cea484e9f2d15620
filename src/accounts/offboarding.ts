/**
 * Ending someone's access to an account. Membership rows are read on every
 * request (the session authenticator has no cache), so deleting the row ends
 * their access at the next request, everywhere; the API keys they created in
 * the account are revoked in D1 and in the account's Durable Object, so the
 * next verify refuses them too.
 */
import { and, eq, ne } from "drizzle-orm";
import type { Database } from "../db";
import { accounts, invitations, memberships } from "../db/schema";
import type { Env } from "../env";
import { revokeAccountKeys } from "../keys/lifecycle";

/**
 * Removes a non-owner member: their keys are revoked (in the account's Durable
 * Object first), then the revocations, the membership and any invitation they
 * sent go in one D1 batch, all or nothing. Returns the revoked key count, or
 * null when the member was not there (or had become the owner meanwhile).
 */
export async function removeMembership(
	env: Env,
	db: Database,
	accountId: string,
	userId: string,
	now: Date,
): Promise<number | null> {
	const { revoked, results } = await revokeAccountKeys(
		{ env, db, now },
		accountId,
		"member_removed",
		{ createdBy: userId },
		[
			db
				.delete(memberships)
				.where(and(eq(memberships.accountId, accountId), eq(memberships.userId, userId), ne(memberships.role, "owner")))
				.returning({ userId: memberships.userId }),
			db.delete(invitations).where(and(eq(invitations.accountId, accountId), eq(invitations.invitedBy, userId))),
		],
	);
	return results[0].length === 1 ? revoked.length : null;
}

/** Deletes the account, its memberships and invitations, and revokes every key, in one D1 batch; its audit trail stays. */
export async function deleteAccount(env: Env, db: Database, accountId: string, now: Date): Promise<number> {
	const { revoked } = await revokeAccountKeys({ env, db, now }, accountId, "account_deleted", {}, [
		db.delete(invitations).where(eq(invitations.accountId, accountId)),
		db.delete(memberships).where(eq(memberships.accountId, accountId)),
		db.delete(accounts).where(eq(accounts.id, accountId)),
	]);
	return revoked.length;
}
