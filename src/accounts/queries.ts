/** Account, member and invitation reads and writes. Queries only; the rules live in member-rules.ts. */
import { and, eq, gt } from "drizzle-orm";
import type { Database } from "../db";
import { accounts, invitations, memberships, users } from "../db/schema";

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
			joinedAt: memberships.joinedAt,
			lastActiveAt: memberships.lastActiveAt,
		})
		.from(memberships)
		.innerJoin(users, eq(users.id, memberships.userId))
		.where(eq(memberships.accountId, accountId))
		.orderBy(memberships.joinedAt);
	return rows.map(({ totpSecret, ...r }) => ({
		...r,
		mfaEnabled: totpSecret !== null,
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
