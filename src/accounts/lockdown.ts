/**
 * Incident response (API.md §7): one call that ends the members' sessions'
 * access and the chosen keys of an account, and marks the account as locked
 * down. Sessions live in each user's Durable Object and keys in the account's,
 * both consulted on every request, so the lockdown holds on the next request in
 * every location.
 *
 * The marker goes first: from the moment it commits, every key creation and
 * rotation (each a conditional write in src/keys/lifecycle.ts), invitation,
 * acceptance and webhook is refused, so the keys selected after it include
 * everything created in flight. The keys are then revoked (their object, then
 * D1) and swept once more.
 *
 * Sessions belong to people, and people can belong to other accounts. So the
 * marker also sets `sessionsNotBefore`: every session started before it stops
 * reaching this account (the gate refuses it), and only this account. A member
 * who holds no other account has their sessions ended outright, as a stolen
 * session has nothing else to reach then but their own settings. Locking one
 * account down can therefore never sign anyone out of another account.
 * A failure partway is answered 503 and a retry finishes the job.
 */
import { and, eq, inArray, isNotNull, ne } from "drizzle-orm";
import type { Alert } from "../alerts";
import type { Database } from "../db";
import { accounts, apiKeys, invitations, memberships } from "../db/schema";
import { userSessions } from "../durable/address";
import { revokeAccountKeys } from "../keys/lifecycle";
import type { Env } from "../platform/env";
import { validationError } from "../problems";

export interface LockdownRequest {
	reason: string;
	revokeSessions: boolean;
	revokeKeys: "all" | "none" | string[];
}

export interface LockdownResult {
	/** Sessions ended outright or cut off from this account. */
	sessionsRevoked: number;
	keysRevoked: number;
	keyIds: string[];
	members: number;
}

export async function lockDownAccount(
	env: Env,
	db: Database,
	accountId: string,
	request: LockdownRequest,
	now: Date,
): Promise<LockdownResult> {
	// Pending invitations go with the marker: one sent by a compromised admin must not be waiting
	// to be accepted the moment the lockdown is lifted.
	await db.batch([
		db
			.update(accounts)
			.set({
				lockedDownAt: now,
				lockedDownReason: request.reason,
				...(request.revokeSessions ? { sessionsNotBefore: now } : {}),
			})
			.where(eq(accounts.id, accountId)),
		db.delete(invitations).where(eq(invitations.accountId, accountId)),
	]);
	const lifecycle = { env, db, now };
	const selection =
		request.revokeKeys === "all" ? {} : { keyIds: request.revokeKeys === "none" ? [] : request.revokeKeys };
	const keys = (await revokeAccountKeys(lifecycle, accountId, "lockdown", selection)).revoked;
	// Belt and braces: anything that still slipped in (nothing should, the marker refuses it) goes too.
	if (request.revokeKeys === "all") keys.push(...(await revokeAccountKeys(lifecycle, accountId, "lockdown")).revoked);
	const members = (
		await db.select({ userId: memberships.userId }).from(memberships).where(eq(memberships.accountId, accountId))
	).map((m) => m.userId);
	const sessionsRevoked = request.revokeSessions ? await endSessionsHere(env, db, accountId, members, now) : 0;
	return { sessionsRevoked, keysRevoked: keys.length, keyIds: keys.map((k) => k.id), members: members.length };
}

/**
 * Ends the sessions of members who hold no other account; counts those the marker cut off for the
 * others. "Another account" is asked directly (a membership anywhere but here), not as a count of
 * memberships, so a member removed from this account while the lockdown runs still counts as
 * holding their own account and is not signed out of it.
 */
export async function endSessionsHere(
	env: Env,
	db: Database,
	accountId: string,
	members: string[],
	now: Date,
): Promise<number> {
	if (members.length === 0) return 0;
	const held = await db
		.selectDistinct({ userId: memberships.userId })
		.from(memberships)
		.where(and(inArray(memberships.userId, members), ne(memberships.accountId, accountId)));
	const elsewhere = new Set(held.map((h) => h.userId));
	const counts = await Promise.all(
		members.map(async (userId) => {
			const sessions = userSessions(env, userId);
			if (!elsewhere.has(userId)) return sessions.revokeSessionsExcept(null);
			return (await sessions.listSessions(now.getTime())).filter((s) => s.createdAt <= now.getTime()).length;
		}),
	);
	return counts.reduce((a, b) => a + b, 0);
}

/** Lifts a lockdown (an owner's act); sessions cut off by it stay cut off. False when there was none. */
export async function liftLockdown(db: Database, accountId: string): Promise<boolean> {
	const lifted = await db
		.update(accounts)
		.set({ lockedDownAt: null, lockedDownReason: null })
		.where(and(eq(accounts.id, accountId), isNotNull(accounts.lockedDownAt)))
		.returning({ id: accounts.id });
	return lifted.length === 1;
}

/** Every listed key must be this account's: an unknown id is a mistake to show, not to skip silently. */
export async function assertKeysOfAccount(db: Database, accountId: string, keyIds: string[]): Promise<void> {
	const found = await db
		.select({ id: apiKeys.id })
		.from(apiKeys)
		.where(and(eq(apiKeys.accountId, accountId), inArray(apiKeys.id, keyIds)));
	const known = new Set(found.map((k) => k.id));
	const unknown = keyIds.flatMap((id, i) =>
		known.has(id) ? [] : [{ path: `revokeKeys.${i}`, message: "No such key in this account" }],
	);
	if (unknown.length) throw validationError(unknown);
}

export const lockedDownAlert = (
	accountId: string,
	reason: string,
	metadata: { sessionsRevoked: number; keysRevoked: number } & Record<string, unknown>,
): Alert => ({
	accountId,
	type: "alert.lockdown",
	subject: "Keyward: your account was locked down",
	text:
		`Account ${accountId} was locked down: ${metadata.sessionsRevoked} sessions ended, ` +
		`${metadata.keysRevoked} keys revoked. Reason: ${reason}. Members must sign in again.`,
	data: metadata,
	target: { type: "account", id: accountId },
});

export const lockdownLiftedAlert = (accountId: string, reason: string): Alert => ({
	accountId,
	type: "alert.lockdown",
	subject: "Keyward: the lockdown of your account was lifted",
	text: `The lockdown of account ${accountId} was lifted by its owner. Reason: ${reason}.`,
	data: { lifted: true, reason },
	target: { type: "account", id: accountId },
});
