/**
 * Incident response (API.md §7): one call that ends every member's sessions
 * and the chosen keys of an account, and marks the account as locked down.
 * Sessions live in each user's Durable Object and keys in the account's, both
 * consulted on every request, so the lockdown holds on the next request in
 * every location. Keys go first (their Durable Object, then D1 in one batch
 * with the account's marker), then the sessions; a failure partway is
 * answered 503 and a retry finishes the job.
 */
import { eq } from "drizzle-orm";
import type { Database } from "../db";
import { accounts, memberships } from "../db/schema";
import { userObject } from "../durable/address";
import type { Env } from "../env";
import { revokeAccountKeys } from "../keys/records";

export interface LockdownRequest {
	reason: string;
	revokeSessions: boolean;
	revokeKeys: "all" | "none" | string[];
}

export interface LockdownResult {
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
	const marker = db
		.update(accounts)
		.set({ lockedDownAt: now, lockedDownReason: request.reason })
		.where(eq(accounts.id, accountId));
	const { revoked: keys } = await revokeAccountKeys(
		env,
		db,
		accountId,
		"lockdown",
		now,
		request.revokeKeys === "all" ? {} : { keyIds: request.revokeKeys === "none" ? [] : request.revokeKeys },
		[marker],
	);
	const members = await db
		.select({ userId: memberships.userId })
		.from(memberships)
		.where(eq(memberships.accountId, accountId));
	let sessionsRevoked = 0;
	if (request.revokeSessions) {
		const counts = await Promise.all(members.map((m) => userObject(env, m.userId).revokeSessionsExcept(null)));
		sessionsRevoked = counts.reduce((a, b) => a + b, 0);
	}
	return { sessionsRevoked, keysRevoked: keys.length, keyIds: keys.map((k) => k.id), members: members.length };
}
