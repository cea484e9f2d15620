/**
 * Ending someone's access to an account. Membership rows are read on every
 * request (the session authenticator has no cache), so deleting the row ends
 * their access at the next request, everywhere; the API keys they created in
 * the account are revoked in the account's Durable Object and in D1, so the
 * next verify refuses them too. Keys they made for a service account stay:
 * they belong to the service account, which outlives them.
 */
import { and, eq, isNull, ne, sql } from "drizzle-orm";
import type { Database } from "../db";
import {
	accountDomains,
	accounts,
	invitations,
	logStreams,
	memberships,
	scimGroupMembers,
	scimGroups,
	scimUsers,
	serviceAccounts,
	ssoAttempts,
	ssoConnections,
	webhooks,
} from "../db/schema";
import { revokeAccountKeys } from "../keys/lifecycle";
import type { Env } from "../platform/env";
import { LOG_STREAM_ACCOUNT_DELETED, LOG_STREAM_CREATOR_LEFT } from "../streams/streams";

/**
 * Removes a non-owner member. The membership goes first, in one batch with the
 * invitations they sent and the webhooks they added (a webhook is a channel of
 * the account's alerts to a URL its creator chose; it leaves with them, as
 * their keys do). From that commit on, every grant they have in flight is
 * refused by its own conditional write (src/accounts/queries.ts
 * `stillAllowed`), so the keys selected after it include everything they made:
 * those are revoked next, the Durable Object first. Returns null when there
 * was nothing to end: no membership (or it had become the owner's) and no live
 * key of theirs. A retry after a failure between the two steps finds the
 * membership gone and their keys still live, and revokes them.
 */
export async function removeMembership(
	env: Env,
	db: Database,
	accountId: string,
	userId: string,
	now: Date,
): Promise<{
	keysRevoked: number;
	webhooksRemoved: number;
	logStreamsDisabled: string[];
	membershipEnded: boolean;
} | null> {
	const [ended, , hooks, streams] = await db.batch([
		db
			.delete(memberships)
			.where(and(eq(memberships.accountId, accountId), eq(memberships.userId, userId), ne(memberships.role, "owner")))
			.returning({ userId: memberships.userId }),
		db.delete(invitations).where(and(eq(invitations.accountId, accountId), eq(invitations.invitedBy, userId))),
		db
			.delete(webhooks)
			.where(and(eq(webhooks.accountId, accountId), eq(webhooks.createdBy, userId)))
			.returning({ id: webhooks.id }),
		// A log stream stops (its cursor kept, so an admin who resumes it loses nothing of the copy).
		db
			.update(logStreams)
			.set({ disabledAt: now, disabledReason: LOG_STREAM_CREATOR_LEFT, version: sql`${logStreams.version} + 1` })
			.where(and(eq(logStreams.accountId, accountId), eq(logStreams.createdBy, userId), isNull(logStreams.disabledAt)))
			.returning({ id: logStreams.id }),
	]);
	const { revoked } = await revokeAccountKeys({ env, db, now }, accountId, "member_removed", { createdBy: userId });
	if (ended.length === 0 && revoked.length === 0) return null;
	return {
		keysRevoked: revoked.length,
		webhooksRemoved: hooks.length,
		logStreamsDisabled: streams.map((s) => s.id),
		membershipEnded: ended.length === 1,
	};
}

/** Deletes the account, its memberships and invitations, and revokes every key, in one D1 batch; its audit trail stays. */
/**
 * Deletes the account with everything in it. `deleted` says whether this call removed the account
 * row: of a burst of deletions exactly one did, and only that one records `account.deleted`.
 */
export async function deleteAccount(
	env: Env,
	db: Database,
	accountId: string,
	now: Date,
): Promise<{ keysRevoked: number; deleted: boolean }> {
	const { revoked, results } = await revokeAccountKeys({ env, db, now }, accountId, "account_deleted", {}, [
		db.delete(invitations).where(eq(invitations.accountId, accountId)),
		db.delete(memberships).where(eq(memberships.accountId, accountId)),
		db.delete(serviceAccounts).where(eq(serviceAccounts.accountId, accountId)),
		// Its domains (another account may then verify them) and what its identity provider pushed.
		db.delete(accountDomains).where(eq(accountDomains.accountId, accountId)),
		db.delete(scimGroupMembers).where(eq(scimGroupMembers.accountId, accountId)),
		db.delete(scimGroups).where(eq(scimGroups.accountId, accountId)),
		db.delete(scimUsers).where(eq(scimUsers.accountId, accountId)),
		db.delete(ssoConnections).where(eq(ssoConnections.accountId, accountId)),
		db.delete(ssoAttempts).where(eq(ssoAttempts.accountId, accountId)),
		// Its streams stop: nobody could reach them through the API any more to pause them.
		db
			.update(logStreams)
			.set({ disabledAt: now, disabledReason: LOG_STREAM_ACCOUNT_DELETED, version: sql`${logStreams.version} + 1` })
			.where(and(eq(logStreams.accountId, accountId), isNull(logStreams.disabledAt))),
		db.delete(accounts).where(eq(accounts.id, accountId)).returning({ id: accounts.id }),
	]);
	return { keysRevoked: revoked.length, deleted: results[10].length === 1 };
}
