import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { raiseAlertFrom } from "../alerts/raise";
import { maskEmail, unmaskedRead } from "../audit/masking";
import { callerMembership } from "../middleware/authorize";
import type { App, AppEnv } from "../platform/app-env";
import { ApiError } from "../problems";
import { accountRoute } from "../routes/account-route";
import { jsonBody, jsonContent, NextCursor, problemResponses } from "../routes/openapi-shared";
import { ListQuery, OFFSET_CURSOR_EXAMPLE, pageOf } from "../routes/pagination";
import { LOG_STREAM_CREATOR_LEFT } from "../streams/streams";
import { checkRemoval, checkRoleChange, type MemberChangeRefusal } from "./member-rules";
import { changeRole, memberRemovedAlert, roleChangedAlert, WEBHOOK_CREATOR_DEMOTED } from "./members";
import { removeMembership } from "./offboarding";
import { getMembership, listMembers } from "./queries";
import { AccountParams, AssignableRole, MemberParams, MemberSchema } from "./schemas";
import { listServiceAccounts, serviceAccountKeyStats } from "./service-accounts";

export const listMembersRoute = accountRoute("members:read", {
	method: "get",
	path: "/v1/accounts/{accountId}/members",
	tags: ["Members"],
	summary: "Members with role, MFA status, joined and last-active times; service accounts among them, marked",
	request: { params: AccountParams, query: ListQuery },
	responses: {
		200: jsonContent(
			z.object({
				data: z.array(MemberSchema).openapi({ description: "The members, in the order they joined" }),
				nextCursor: NextCursor(OFFSET_CURSOR_EXAMPLE),
			}),
			"Members",
		),
		...problemResponses(400, 401, 403, 404),
	},
});

export const updateMemberRoute = accountRoute(
	"members:manage",
	{
		method: "patch",
		path: "/v1/accounts/{accountId}/members/{userId}",
		tags: ["Members"],
		summary: "Change a member's role (never to owner; never above your own)",
		request: {
			params: MemberParams,
			body: jsonBody(
				z.strictObject({
					role: AssignableRole.openapi({
						description:
							"The new role: `admin`, `member` or `readonly`. Never `owner` (ownership moves only by " +
							"transfer-ownership), never above the caller's own role, and never for the owner.",
					}),
				}),
			),
		},
		responses: {
			200: jsonContent(z.object({ member: MemberSchema }), "Updated"),
			...problemResponses(400, 401, 403, 404, 409),
		},
	},
	{ grants: "role", reauthenticate: "change a member's role" },
);

export const removeMemberRoute = accountRoute("members:manage", {
	method: "delete",
	path: "/v1/accounts/{accountId}/members/{userId}",
	tags: ["Members"],
	summary: "Remove a member: their access ends at their next request",
	description:
		"Their keys in this account are revoked, and the invitations they sent and the webhooks they added are " +
		"removed. Grants they had in flight when the removal committed are refused. A retry after a failure " +
		"finishes revoking their keys; 404 when there is no such member and nothing of theirs left.",
	request: { params: MemberParams },
	responses: { 204: { description: "Removed" }, ...problemResponses(401, 403, 404, 409) },
});

const refuse = (refusal: MemberChangeRefusal) => {
	if (refusal) throw new ApiError(refusal.status === 409 ? "conflict" : "forbidden", { detail: refusal.detail });
};

/** The audit trail's word on each log stream a demotion or removal stopped. */
export function recordStreamsStopped(c: Context<AppEnv>, ids: readonly string[]) {
	for (const id of ids)
		c.get("audit").record({
			action: "log_stream.disabled",
			target: { type: "log_stream", id },
			metadata: { reason: LOG_STREAM_CREATOR_LEFT },
		});
}

export interface RecordedRoleChange {
	userId: string;
	from: string;
	to: string;
	webhooksDisabled: readonly string[];
	logStreamsDisabled: readonly string[];
}

/**
 * The audit trail's word on a role change and what it stopped (the members route's and SCIM's
 * alike), without its alert: a SCIM group call alerts once for all the roles it changed.
 */
export function auditRoleChanged(
	c: Context<AppEnv>,
	change: RecordedRoleChange,
	metadata: Record<string, unknown> = {},
) {
	c.get("audit").record({
		action: "member.role_changed",
		target: { type: "user", id: change.userId },
		metadata: { from: change.from, to: change.to, ...metadata },
	});
	for (const id of change.webhooksDisabled)
		c.get("audit").record({
			action: "webhook.disabled",
			target: { type: "webhook", id },
			metadata: { reason: WEBHOOK_CREATOR_DEMOTED },
		});
	recordStreamsStopped(c, change.logStreamsDisabled);
}

/** A role change's audit trail and its alert to the owner and admins. */
export function recordRoleChanged(
	c: Context<AppEnv>,
	accountId: string,
	change: RecordedRoleChange,
	metadata: Record<string, unknown> = {},
) {
	auditRoleChanged(c, change, metadata);
	raiseAlertFrom(c, roleChangedAlert(accountId, change.userId, change.from, change.to));
}

export function registerMembers(app: App) {
	app.openapi(listMembersRoute, async (c) => {
		const { accountId } = c.req.valid("param");
		const { db, clock } = c.get("services");
		const [people, services, stats] = await Promise.all([
			listMembers(db, accountId),
			listServiceAccounts(db, accountId),
			serviceAccountKeyStats(db, accountId, clock.now()),
		]);
		// Service accounts are members too, marked non-human; they never sign in.
		const members = [
			...people,
			...services.map((s) => ({
				userId: s.id,
				type: "service_account" as const,
				email: null,
				name: s.name,
				role: s.role,
				mfaEnabled: false,
				strongestFactor: "none" as const,
				joinedAt: s.createdAt.toISOString(),
				lastActiveAt: stats.get(s.id)?.lastUsedAt?.toISOString() ?? null,
			})),
		].sort((a, b) => a.joinedAt.localeCompare(b.joinedAt));
		const page = pageOf(members, c.req.valid("query"));
		// A readonly member sees the others' addresses masked (their own stays whole); an owner's or admin's read is recorded.
		const self = callerMembership(c, accountId).principal.userId;
		if (!unmaskedRead(c, accountId, "members", page.data.length))
			page.data = page.data.map((m) =>
				m.userId === self || m.email === null ? m : { ...m, email: maskEmail(m.email) },
			);
		return c.json(page, 200);
	});

	app.openapi(updateMemberRoute, async (c) => {
		const { accountId, userId } = c.req.valid("param");
		const { role } = c.req.valid("json");
		const { db, clock } = c.get("services");
		const target = await getMembership(db, accountId, userId);
		if (!target) throw new ApiError("not-found", { detail: "No such member" });
		const caller = callerMembership(c, accountId);
		refuse(checkRoleChange(caller.membership.role, target.role, role));
		const { webhooksDisabled, logStreamsDisabled } = await changeRole(
			db,
			accountId,
			caller.principal.userId,
			target,
			role,
			clock.now(),
		);
		recordRoleChanged(c, accountId, { userId, from: target.role, to: role, webhooksDisabled, logStreamsDisabled });

		const member = (await listMembers(db, accountId)).find((m) => m.userId === userId);
		if (!member) throw new ApiError("not-found");
		return c.json({ member }, 200);
	});

	app.openapi(removeMemberRoute, async (c) => {
		const { accountId, userId } = c.req.valid("param");
		const { db } = c.get("services");
		const target = await getMembership(db, accountId, userId);
		// No membership: not a member, or one whose removal stopped after the membership went and
		// before their keys did; the retry finishes it (and answers 404 when there is nothing left).
		if (target) refuse(checkRemoval(callerMembership(c, accountId).membership.role, target.role));
		const removed = await removeMembership(c.env, db, accountId, userId, c.get("services").clock.now());
		if (removed === null) {
			if (target) throw new ApiError("conflict", { detail: "The membership changed meanwhile; reload and try again" });
			throw new ApiError("not-found", { detail: "No such member" });
		}
		const { keysRevoked, webhooksRemoved } = removed;
		c.get("audit").record({
			action: "member.removed",
			target: { type: "user", id: userId },
			metadata: {
				role: target?.role ?? null,
				keysRevoked,
				webhooksRemoved,
				finishedEarlierRemoval: !removed.membershipEnded,
			},
		});
		recordStreamsStopped(c, removed.logStreamsDisabled);
		raiseAlertFrom(c, memberRemovedAlert(accountId, userId, target?.role ?? null, removed));

		return c.body(null, 204);
	});
}
