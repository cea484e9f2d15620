/**
 * Membership changes an admin makes: a role change is one conditional batch
 * on the role that was read, and the alerts that tell the owner and admins.
 * (Joining is in `invitations.ts`, removal in `offboarding.ts`.)
 */
import { and, eq, isNull, sql } from "drizzle-orm";
import type { Alert } from "../alerts";
import type { Database } from "../db";
import { invitations, logStreams, memberships, webhooks } from "../db/schema";
import { ApiError } from "../problems";
import { LOG_STREAM_CREATOR_LEFT } from "../streams/streams";
import { accountLockedDown, grantLost, stillAllowed } from "./queries";

type Role = (typeof memberships.$inferSelect)["role"];

/**
 * The WHERE re-checks the role read before, so a concurrent transfer cannot be undone by this
 * change, and that the caller may still manage members and the account is not locked down, so a
 * change in flight when its caller was removed or the account locked down does not land. Below
 * admin, the member's pending invitations lose the authority that made them, and the webhooks they
 * added stop, and so do the log streams they added (disabled, not deleted: an owner or admin who
 * turns one back on answers for it): a person who may no longer read the account's events must
 * not keep receiving them. Returns the webhooks and log streams it disabled.
 */
export async function changeRole(
	db: Database,
	accountId: string,
	callerId: string,
	target: { userId: string; role: Role },
	role: Role,
	now: Date,
): Promise<{ webhooksDisabled: string[]; logStreamsDisabled: string[] }> {
	const demotedBelowAdmin = sql`${role} NOT IN ('admin', 'owner')`;
	// Only when this batch's role change landed.
	const landed = sql`EXISTS (SELECT 1 FROM ${memberships} WHERE ${and(
		eq(memberships.accountId, accountId),
		eq(memberships.userId, target.userId),
		eq(memberships.role, role),
	)})`;
	const [changed, , disabled, streams] = await db.batch([
		db
			.update(memberships)
			.set({ role })
			.where(
				and(
					eq(memberships.accountId, accountId),
					eq(memberships.userId, target.userId),
					eq(memberships.role, target.role),
					sql`NOT ${accountLockedDown(accountId)}`,
					stillAllowed(accountId, callerId, "members:manage"),
				),
			)
			.returning({ userId: memberships.userId }),
		db
			.delete(invitations)
			.where(and(eq(invitations.accountId, accountId), eq(invitations.invitedBy, target.userId), demotedBelowAdmin)),
		db
			.update(webhooks)
			.set({ disabledAt: now, disabledReason: WEBHOOK_CREATOR_DEMOTED, version: sql`${webhooks.version} + 1` })
			.where(
				and(
					eq(webhooks.accountId, accountId),
					eq(webhooks.createdBy, target.userId),
					isNull(webhooks.disabledAt),
					demotedBelowAdmin,
					landed,
				),
			)
			.returning({ id: webhooks.id }),
		db
			.update(logStreams)
			.set({
				disabledAt: now,
				disabledReason: LOG_STREAM_CREATOR_LEFT,
				version: sql`${logStreams.version} + 1`,
			})
			.where(
				and(
					eq(logStreams.accountId, accountId),
					eq(logStreams.createdBy, target.userId),
					isNull(logStreams.disabledAt),
					demotedBelowAdmin,
					landed,
				),
			)
			.returning({ id: logStreams.id }),
	]);
	if (changed.length !== 1)
		await grantLost(
			db,
			accountId,
			callerId,
			"members:manage",
			"no role can change",
			new ApiError("conflict", { detail: "The membership changed meanwhile; reload and try again" }),
		);
	return { webhooksDisabled: disabled.map((w) => w.id), logStreamsDisabled: streams.map((s) => s.id) };
}

export const WEBHOOK_CREATOR_DEMOTED = "the person who added it no longer manages webhooks";

const memberChanged = (accountId: string, userId: string, subject: string, text: string, data: object): Alert => ({
	accountId,
	type: "alert.member_changed",
	subject,
	text,
	data: { ...data, userId },
	target: { type: "user", id: userId },
});

export const roleChangedAlert = (accountId: string, userId: string, from: string, to: string) =>
	memberChanged(
		accountId,
		userId,
		"Keyward: a member's role changed",
		`User ${userId} in account ${accountId} changed from ${from} to ${to}.`,
		{ change: "role_changed", from, to },
	);

/** How many role changes a summary alert names one by one; the rest it counts. */
const NAMED_CHANGES = 20;

/**
 * One alert for the roles one SCIM group call changed, however many: each change has its own
 * audit event, and the owner and admins get one email per call, not one per person.
 */
export const rolesChangedAlert = (
	accountId: string,
	group: { id: string; displayName: string },
	changes: readonly { userId: string; from: string; to: string }[],
): Alert => {
	const named = changes.slice(0, NAMED_CHANGES).map(({ userId, from, to }) => ({ userId, from, to }));
	const more = changes.length - named.length;
	return {
		accountId,
		type: "alert.member_changed",
		subject: `Keyward: ${changes.length} members' roles changed`,
		text: [
			`The identity provider's group "${group.displayName}" (${group.id}) changed ${changes.length} roles in account ${accountId}:`,
			...named.map((n) => `  ${n.userId}: ${n.from} to ${n.to}`),
			...(more > 0 ? [`  and ${more} more (each is in the audit log as member.role_changed).`] : []),
		].join("\n"),
		data: { change: "roles_changed", via: "scim_group", groupId: group.id, count: changes.length, changes: named },
		target: { type: "scim_group", id: group.id },
	};
};

export const memberRemovedAlert = (
	accountId: string,
	userId: string,
	role: string | null,
	{ keysRevoked, webhooksRemoved }: { keysRevoked: number; webhooksRemoved: number },
) =>
	memberChanged(
		accountId,
		userId,
		"Keyward: a member was removed",
		`User ${userId} was removed from account ${accountId}; ${keysRevoked} of their keys were revoked ` +
			`and ${webhooksRemoved} of the webhooks they added were removed.`,
		{ change: "removed", role, keysRevoked, webhooksRemoved },
	);

export const memberJoinedAlert = (accountId: string, userId: string, role: string) =>
	memberChanged(
		accountId,
		userId,
		"Keyward: a member joined your account",
		`User ${userId} joined account ${accountId} as ${role}.`,
		{
			change: "joined",
			role,
		},
	);
