/**
 * Invitations: issuing one (a re-invite replaces the pending one), cancelling,
 * and joining with its code. Each grant is one conditional batch on the state
 * it starts from, so an inviter removed or an account locked down while the
 * request is in flight leaves nothing behind.
 */
import { and, eq, gt, isNull, not, sql } from "drizzle-orm";
import type { Database } from "../db";
import { accounts, invitations, memberships } from "../db/schema";
import type { Mailer } from "../mail";
import { logMailFailure } from "../mail";
import { newId } from "../platform/ids";
import { ApiError } from "../problems";
import { sha256Hex } from "../security/digest";
import { mintOpaqueToken } from "../security/secret-formats";
import { accountLockedDown, getAccount, getMembership, grantLost, lockedDownProblem, stillAllowed } from "./queries";

export const INVITATION_TTL_MS = 7 * 86_400_000;

type Role = (typeof invitations.$inferSelect)["role"];

const invalidToken = () =>
	new ApiError("validation", {
		detail: "Invalid or expired invitation",
		errors: [{ path: "token", message: "Invalid or expired invitation" }],
	});

/** The invitation email: a link that leads through sign-up or sign-in to acceptance, and the code as a fallback. */
export const invitationText = (accountName: string, role: Role, consoleUrl: string, token: string) =>
	`You are invited to join ${accountName} on Keyward as ${role}.\n\n` +
	`Accept the invitation (valid 7 days):\n${consoleUrl}/invitations/accept?token=${token}\n\n` +
	"The link asks you to sign in, or to create your account, with this email address, and to confirm it. " +
	"If the link does not open, sign in and enter this code on the invitation page:\n\n" +
	`${token}\n`;

/**
 * Issues (or re-issues) an invitation and mails its code. The write is conditional, in one batch,
 * on the account not being locked down and the inviter still being allowed to invite.
 */
export async function issueInvitation(
	deps: { db: Database; mailer: Mailer; now: Date; waitUntil: (p: Promise<unknown>) => void; consoleUrl: string },
	accountId: string,
	inviterId: string,
	email: string,
	role: Role,
) {
	const { db, now } = deps;
	const token = mintOpaqueToken();
	const row = {
		id: newId("inv"),
		accountId,
		email,
		role,
		tokenHash: await sha256Hex(token),
		invitedBy: inviterId,
		createdAt: now,
		expiresAt: new Date(now.getTime() + INVITATION_TTL_MS),
	};
	const allowed = sql`(NOT ${accountLockedDown(accountId)} AND ${stillAllowed(accountId, inviterId, "members:manage")})`;
	const [, , undone] = await db.batch([
		db.delete(invitations).where(and(eq(invitations.accountId, accountId), eq(invitations.email, email), allowed)),
		db.insert(invitations).values(row),
		db
			.delete(invitations)
			.where(and(eq(invitations.id, row.id), not(allowed)))
			.returning({ id: invitations.id }),
	]);
	if (undone.length > 0)
		await grantLost(db, accountId, inviterId, "members:manage", "nobody can be invited", new ApiError("conflict"));
	const account = await getAccount(db, accountId);
	deps.waitUntil(
		deps.mailer
			.send({
				to: email,
				subject: `Keyward: you are invited to ${account?.name ?? "an account"}`,
				text: invitationText(account?.name ?? "an account", role, deps.consoleUrl, token),
			})
			.catch(logMailFailure("invitation")),
	);
	return row;
}

/** Withdraws a pending invitation; false when there was none. */
export async function cancelInvitation(db: Database, accountId: string, invitationId: string): Promise<boolean> {
	const gone = await db
		.delete(invitations)
		.where(and(eq(invitations.id, invitationId), eq(invitations.accountId, accountId)))
		.returning({ id: invitations.id });
	return gone.length > 0;
}

/**
 * What an invitation's code opens, for its holder to see before joining: the account's name and
 * id, the role, the invited address and the expiry. Refused like a wrong code when it is not
 * pending (expired, used, cancelled or replaced).
 */
export async function previewInvitation(db: Database, now: Date, token: string) {
	const invitation = await db.query.invitations.findFirst({
		where: and(eq(invitations.tokenHash, await sha256Hex(token)), gt(invitations.expiresAt, now)),
	});
	if (!invitation) throw invalidToken();
	const account = await getAccount(db, invitation.accountId);
	if (!account) throw invalidToken();
	return {
		accountId: account.id,
		accountName: account.name,
		role: invitation.role,
		email: invitation.email,
		expiresAt: invitation.expiresAt.toISOString(),
	};
}

/**
 * Joins with an invitation's code, for the verified user it names. Joining is one batch: the
 * membership is inserted from the account's row joined with the invitation's, so only while the
 * account is open and the invitation still exists (not cancelled, replaced, or withdrawn with its
 * inviter meanwhile); then the invitation goes.
 */
export async function acceptInvitation(
	db: Database,
	now: Date,
	user: { id: string; email: string; emailVerifiedAt: Date | null },
	token: string,
) {
	const invitation = await db.query.invitations.findFirst({
		where: and(eq(invitations.tokenHash, await sha256Hex(token)), gt(invitations.expiresAt, now)),
	});
	if (!invitation) throw invalidToken();
	if (invitation.email !== user.email)
		throw new ApiError("forbidden", { detail: "This invitation is for another email address" });
	if (!user.emailVerifiedAt) throw new ApiError("forbidden", { detail: "Verify your email address first" });
	if (await getMembership(db, invitation.accountId, user.id))
		throw new ApiError("conflict", { detail: "You are already a member" });
	const [joined] = await db.batch([
		db
			.insert(memberships)
			.select(
				db
					.select({
						accountId: accounts.id,
						userId: sql<string>`${user.id}`.as("user_id"),
						role: invitations.role,
						joinedAt: sql<number>`${now.getTime()}`.as("joined_at"),
						lastActiveAt: sql<null>`NULL`.as("last_active_at"),
					})
					.from(accounts)
					.innerJoin(invitations, eq(invitations.accountId, accounts.id))
					.where(
						and(
							eq(accounts.id, invitation.accountId),
							isNull(accounts.lockedDownAt),
							eq(invitations.id, invitation.id),
							gt(invitations.expiresAt, now),
						),
					),
			)
			.onConflictDoNothing()
			.returning({ role: memberships.role }),
		db.delete(invitations).where(and(eq(invitations.id, invitation.id), not(accountLockedDown(invitation.accountId)))),
	]);
	const account = await getAccount(db, invitation.accountId);
	if (joined.length === 0) {
		if (account?.lockedDownAt) throw lockedDownProblem("nobody can join");
		if (!(await db.query.invitations.findFirst({ where: eq(invitations.id, invitation.id) }))) throw invalidToken();
		throw new ApiError("conflict", { detail: "You are already a member" });
	}
	return { invitation, accountName: account?.name ?? "" };
}
