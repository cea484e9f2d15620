/** Account, member and invitation reads and writes. Queries only; the rules live in member-rules.ts. */
import { and, eq, gt, inArray, isNotNull, sql } from "drizzle-orm";
import { type Permission, rolesWith } from "../auth/permissions";
import type { Database } from "../db";
import { accounts, invitations, memberships, serviceAccounts, users } from "../db/schema";
import { hasSecondFactor, strongestFactor } from "../identity/users";
import { getServiceAccount } from "../keys/records";
import { ApiError } from "../problems";

export const getAccount = (db: Database, id: string) => db.query.accounts.findFirst({ where: eq(accounts.id, id) });

export function getMembership(db: Database, accountId: string, userId: string) {
	return db.query.memberships.findFirst({
		where: and(eq(memberships.accountId, accountId), eq(memberships.userId, userId)),
	});
}

export async function listMembers(db: Database, accountId: string) {
	const rows = await db
		.select({
			userId: memberships.userId,
			email: users.email,
			name: users.name,
			role: memberships.role,
			totpSecret: users.totpSecret,
			passkeyCount: users.passkeyCount,
			joinedAt: memberships.joinedAt,
			lastActiveAt: memberships.lastActiveAt,
		})
		.from(memberships)
		.innerJoin(users, eq(users.id, memberships.userId))
		.where(eq(memberships.accountId, accountId))
		.orderBy(memberships.joinedAt);
	return rows.map(({ totpSecret, passkeyCount, ...r }) => ({
		...r,
		type: "person" as const,
		mfaEnabled: hasSecondFactor({ totpSecret, passkeyCount }),
		strongestFactor: strongestFactor({ totpSecret, passkeyCount }),
		joinedAt: r.joinedAt.toISOString(),
		lastActiveAt: r.lastActiveAt?.toISOString() ?? null,
	}));
}

export const pendingInvitations = (db: Database, accountId: string, now: Date) =>
	db
		.select()
		.from(invitations)
		.where(and(eq(invitations.accountId, accountId), gt(invitations.expiresAt, now)))
		.orderBy(invitations.createdAt);

export const publicInvitation = (i: typeof invitations.$inferSelect) => ({
	id: i.id,
	email: i.email,
	role: i.role,
	expiresAt: i.expiresAt.toISOString(),
});

/**
 * True, in SQL, while the account is locked down. Every write that grants (a key, an invitation,
 * a membership, a webhook) checks it in the same statement or batch, so a grant racing a lockdown
 * either commits before the marker (and the lockdown's sweep sees it) or not at all.
 */
export const accountLockedDown = (accountId: string) =>
	sql`EXISTS (SELECT 1 FROM ${accounts} WHERE ${accounts.id} = ${accountId} AND ${accounts.lockedDownAt} IS NOT NULL)`;

export const lockedDownProblem = (refused: string) =>
	new ApiError("locked", {
		detail: `The account is locked down: ${refused} until an owner lifts it (POST …/lockdown/lift)`,
	});

/**
 * True, in SQL, while the user still holds a role with the permission in the account. A grant
 * checks it in the same batch as it writes, so a request that passed the gate just before its
 * caller was removed or demoted cannot land after: the removal or demotion wins, the grant is undone.
 */
export const stillAllowed = (accountId: string, actorId: string, permission: Permission) =>
	isServiceAccountId(actorId)
		? sql`EXISTS (SELECT 1 FROM ${serviceAccounts} WHERE ${and(
				eq(serviceAccounts.accountId, accountId),
				eq(serviceAccounts.id, actorId),
				inArray(
					serviceAccounts.role,
					rolesWith(permission).filter((r) => r !== "owner"),
				),
			)})`
		: sql`EXISTS (SELECT 1 FROM ${memberships} WHERE ${and(
				eq(memberships.accountId, accountId),
				eq(memberships.userId, actorId),
				inArray(memberships.role, rolesWith(permission)),
			)})`;

/** Service accounts' ids start `svc_`, people's `usr_`: the actor of a key is one or the other. */
export const isServiceAccountId = (id: string): boolean => id.startsWith("svc_");

/** Why a grant's conditional write was undone, from the state that beat it. */
export async function grantLost(
	db: Database,
	accountId: string,
	userId: string,
	permission: Permission,
	refused: string,
	otherwise: ApiError,
): Promise<never> {
	const [account, membership] = await Promise.all([
		getAccount(db, accountId),
		isServiceAccountId(userId) ? getServiceAccount(db, accountId, userId) : getMembership(db, accountId, userId),
	]);
	if (!account) throw new ApiError("not-found");
	if (account.lockedDownAt) throw lockedDownProblem(refused);
	if (!membership || !rolesWith(permission).includes(membership.role))
		throw new ApiError("forbidden", { detail: "Your membership of this account changed meanwhile" });
	throw otherwise;
}

/** Members whose last sign-in found their password in a breach corpus (for the security report only). */
export const membersWithBreachedPasswords = async (db: Database, accountId: string): Promise<string[]> =>
	(
		await db
			.select({ userId: memberships.userId })
			.from(memberships)
			.innerJoin(users, eq(users.id, memberships.userId))
			.where(and(eq(memberships.accountId, accountId), isNotNull(users.passwordBreachedAt)))
	).map((r) => r.userId);
