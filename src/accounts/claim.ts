/**
 * Claiming an address. Anyone can sign up with someone else's email; until the
 * address is verified, that account grants nothing (the gate refuses every
 * granting route). When the real owner later proves the address through a
 * password reset, whatever was set up before the proof is undone: the
 * accounts the user owns lose their keys, invitations, webhooks, other members,
 * service accounts and any lockdown, and the user's second factor and passkeys (possibly the
 * squatter's) are removed. The reset itself ends every session.
 */
import { and, eq, gte, inArray, isNull, ne, or } from "drizzle-orm";
import type { Database } from "../db";
import {
	accounts,
	apiKeys,
	invitations,
	logStreams,
	memberships,
	recoveryCodes,
	serviceAccounts,
	users,
	webhooks,
} from "../db/schema";
import { removePasskeysStatements } from "../identity/passkeys";
import { revokeAccountKeys, revokeKeyRows } from "../keys/lifecycle";
import type { Env } from "../platform/env";

export interface ClaimResult {
	accounts: string[];
	keysRevoked: number;
}

/** Marks the address verified and undoes what was granted before; nothing to undo for a verified user. */
export async function claimAddress(env: Env, db: Database, userId: string, now: Date): Promise<ClaimResult | null> {
	const user = await db.query.users.findFirst({ where: eq(users.id, userId) });
	if (!user || user.emailVerifiedAt) return null;
	const owned = (
		await db
			.select({ accountId: memberships.accountId })
			.from(memberships)
			.where(and(eq(memberships.userId, userId), eq(memberships.role, "owner")))
	).map((m) => m.accountId);
	let keysRevoked = 0;
	for (const accountId of owned) {
		const { revoked } = await revokeAccountKeys({ env, db, now }, accountId, "address_claimed");
		keysRevoked += revoked.length;
	}
	const inOwned = <T extends { accountId: Parameters<typeof inArray>[0] }>(table: T) =>
		owned.length > 0 ? inArray(table.accountId, owned) : undefined;
	await db.batch([
		db
			.update(users)
			.set({ emailVerifiedAt: now, totpSecret: null, totpPendingSecret: null, totpLastStep: null })
			.where(eq(users.id, userId)),
		db.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId)),
		// A squatter's passkey would sign in without the password the real owner just set.
		...removePasskeysStatements(db, userId),
		...(owned.length > 0
			? [
					db.delete(invitations).where(inOwned(invitations)),
					db.delete(webhooks).where(inOwned(webhooks)),
					db.delete(logStreams).where(inOwned(logStreams)),
					db.delete(memberships).where(and(inOwned(memberships), ne(memberships.userId, userId))),
					// Their keys went with every key of the account above; a squatter's service account goes too.
					db.delete(serviceAccounts).where(inOwned(serviceAccounts)),
					// A squatter's lockdown would otherwise hold the real owner out of key creation.
					db.update(accounts).set({ lockedDownAt: null, lockedDownReason: null }).where(inArray(accounts.id, owned)),
				]
			: []),
	]);
	return { accounts: owned, keysRevoked };
}

/**
 * A takeover was reported (the old address cancelled an email change): what the user made since
 * `since`, in any account, is undone: their keys are revoked, their pending invitations, their
 * webhooks and the passkeys added since deleted, in one batch with the revocations. What they made before stays (the audit
 * trail shows it); an attacker who held the session earlier is the owner's to review.
 */
export async function undoSetUpSince(env: Env, db: Database, userId: string, since: Date, now: Date) {
	// Service accounts the intruder made go, with every key of theirs (whoever made it).
	const services = (
		await db
			.select({ id: serviceAccounts.id })
			.from(serviceAccounts)
			.where(and(eq(serviceAccounts.createdBy, userId), gte(serviceAccounts.createdAt, since)))
	).map((s) => s.id);
	const keys = await db
		.select()
		.from(apiKeys)
		.where(
			and(
				isNull(apiKeys.revokedAt),
				or(
					and(eq(apiKeys.createdBy, userId), gte(apiKeys.createdAt, since)),
					services.length > 0 ? inArray(apiKeys.serviceAccountId, services) : undefined,
				),
			),
		);
	const { revoked, results } = await revokeKeyRows({ env, db, now }, keys, "takeover_reported", [
		db
			.delete(invitations)
			.where(and(eq(invitations.invitedBy, userId), gte(invitations.createdAt, since)))
			.returning({ id: invitations.id }),
		db
			.delete(webhooks)
			.where(and(eq(webhooks.createdBy, userId), gte(webhooks.createdAt, since)))
			.returning({ id: webhooks.id }),
		// A log stream the intruder added copies every later event to them.
		db
			.delete(logStreams)
			.where(and(eq(logStreams.createdBy, userId), gte(logStreams.createdAt, since)))
			.returning({ id: logStreams.id }),
		// A passkey the intruder added would sign them back in without any password.
		...removePasskeysStatements(db, userId, since),
		...(services.length > 0 ? [db.delete(serviceAccounts).where(inArray(serviceAccounts.id, services))] : []),
	]);
	return {
		keysRevoked: revoked.length,
		invitationsDeleted: results[0].length,
		webhooksDeleted: results[1].length,
		// Not `passkeys…`: the audit scrubber redacts any field named like a password.
		logStreamsDeleted: results[2].length,
		webauthnRemoved: results[3].length,
		serviceAccountsDeleted: services.length,
	};
}
