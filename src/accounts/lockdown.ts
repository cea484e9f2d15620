/**
 * Incident response (API.md §7): one call that ends every member's sessions
 * and the chosen keys of an account, and marks the account as locked down.
 * Sessions live in each user's Durable Object and keys in the account's, both
 * consulted on every request, so the lockdown holds on the next request in
 * every location.
 *
 * The marker goes first: from the moment it commits, every key creation and
 * rotation (each a conditional write in src/keys/lifecycle.ts) is refused, so
 * the keys selected after it include everything created in flight. The keys
 * are then revoked (their object, then D1), swept once more, and the sessions
 * end; a failure partway is answered 503 and a retry finishes the job.
 */
import { eq } from "drizzle-orm";
import type { Database } from "../db";
import { accounts, memberships } from "../db/schema";
import { userObject } from "../durable/address";
import type { Env } from "../env";
import { revokeAccountKeys } from "../keys/lifecycle";

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
	await db
		.update(accounts)
		.set({ lockedDownAt: now, lockedDownReason: request.reason })
		.where(eq(accounts.id, accountId));
	const lifecycle = { env, db, now };
	const selection =
		request.revokeKeys === "all" ? {} : { keyIds: request.revokeKeys === "none" ? [] : request.revokeKeys };
	const keys = (await revokeAccountKeys(lifecycle, accountId, "lockdown", selection)).revoked;
	// Belt and braces: anything that still slipped in (nothing should, the marker refuses it) goes too.
	if (request.revokeKeys === "all") keys.push(...(await revokeAccountKeys(lifecycle, accountId, "lockdown")).revoked);
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
