import { createRoute, z } from "@hono/zod-openapi";
import { and, eq, gt, isNull, not, sql } from "drizzle-orm";
import { raiseAlertFrom } from "../alerts/raise";
import { accounts, invitations, memberships } from "../db/schema";
import { takeQuota } from "../identity/quotas";
import { EmailField, TokenField } from "../identity/schemas";
import { findUserByEmail, getUser, normalizeEmail } from "../identity/users";
import { logMailFailure } from "../mail";
import { callerMembership, requireUser } from "../middleware/authorize";
import type { App } from "../platform/app-env";
import { newId } from "../platform/ids";
import { ApiError } from "../problems";
import { accountRoute } from "../routes/account-route";
import { jsonBody, jsonContent, problemResponses } from "../routes/openapi-shared";
import { ListQuery, pageOf } from "../routes/pagination";
import { sha256Hex } from "../security/digest";
import { mintOpaqueToken } from "../security/secret-formats";
import { checkInviteRole } from "./member-rules";
import {
	accountLockedDown,
	getAccount,
	getMembership,
	grantLost,
	lockedDownProblem,
	pendingInvitations,
	publicInvitation,
	stillAllowed,
} from "./queries";
import { AccountParams, AssignableRole, InvitationParams, InvitationSchema, RoleSchema } from "./schemas";

const INVITATION_TTL_MS = 7 * 24 * 3_600_000;

export const createInvitationRoute = accountRoute(
	"members:manage",
	{
		method: "post",
		path: "/v1/accounts/{accountId}/invitations",
		tags: ["Members"],
		summary:
			"Invite someone by email (token emailed, single use, 7 days); replaces a pending invitation to the same email",
		request: { params: AccountParams, body: jsonBody(z.strictObject({ email: EmailField, role: AssignableRole })) },
		responses: {
			201: jsonContent(z.object({ invitation: InvitationSchema }), "Invited"),
			...problemResponses(400, 401, 403, 404, 409, 423, 429),
		},
	},
	{ grants: "role", reauthenticate: "invite someone into the account" },
);

export const listInvitationsRoute = accountRoute("members:read", {
	method: "get",
	path: "/v1/accounts/{accountId}/invitations",
	tags: ["Members"],
	summary: "Pending invitations",
	request: { params: AccountParams, query: ListQuery },
	responses: {
		200: jsonContent(z.object({ data: z.array(InvitationSchema), nextCursor: z.string().nullable() }), "Pending"),
		...problemResponses(400, 401, 403, 404),
	},
});

export const cancelInvitationRoute = accountRoute("members:manage", {
	method: "delete",
	path: "/v1/accounts/{accountId}/invitations/{invitationId}",
	tags: ["Members"],
	summary: "Cancel a pending invitation",
	request: { params: InvitationParams },
	responses: { 204: { description: "Cancelled" }, ...problemResponses(401, 403, 404) },
});

export const acceptInvitationRoute = createRoute({
	method: "post",
	path: "/v1/invitations/accept",
	tags: ["Members"],
	summary: "Join the account; the signed-in user's verified email must be the invited one",
	middleware: [requireUser()] as const,
	request: { body: jsonBody(z.strictObject({ token: TokenField })) },
	responses: {
		200: jsonContent(
			z.object({ membership: z.object({ accountId: z.string(), accountName: z.string(), role: RoleSchema }) }),
			"Joined",
		),
		...problemResponses(400, 401, 403, 409, 423),
	},
});

export function registerInvitations(app: App) {
	app.openapi(createInvitationRoute, async (c) => {
		const { accountId } = c.req.valid("param");
		const input = c.req.valid("json");
		const { db, clock, mailer } = c.get("services");
		const { principal, membership: actor } = callerMembership(c, accountId);
		const refusal = checkInviteRole(actor.role, input.role);
		if (refusal) throw new ApiError("forbidden", { detail: refusal.detail });
		await takeQuota(c, "invitations-per-account", accountId);
		await takeQuota(c, "invitations-per-user", principal.userId);
		const email = normalizeEmail(input.email);
		const existing = await findUserByEmail(db, email);
		if (existing && (await getMembership(db, accountId, existing.id))) {
			throw new ApiError("conflict", { detail: "This person is already a member" });
		}
		const now = clock.now();
		const token = mintOpaqueToken();
		const row = {
			id: newId("inv"),
			accountId,
			email,
			role: input.role,
			tokenHash: await sha256Hex(token),
			invitedBy: principal.userId,
			createdAt: now,
			expiresAt: new Date(now.getTime() + INVITATION_TTL_MS),
		};
		// Re-inviting replaces the pending invitation (and its token). Both writes are conditional, in
		// the same batch, on the account not being locked down and the inviter still being allowed to
		// invite: an admin removed or demoted while this request was in flight leaves no invitation.
		const allowed = sql`(NOT ${accountLockedDown(accountId)} AND ${stillAllowed(accountId, principal.userId, "members:manage")})`;
		const [, , undone] = await db.batch([
			db.delete(invitations).where(and(eq(invitations.accountId, accountId), eq(invitations.email, email), allowed)),
			db.insert(invitations).values(row),
			db
				.delete(invitations)
				.where(and(eq(invitations.id, row.id), not(allowed)))
				.returning({ id: invitations.id }),
		]);
		if (undone.length > 0)
			await grantLost(
				db,
				accountId,
				principal.userId,
				"members:manage",
				"nobody can be invited",
				new ApiError("conflict"),
			);
		const account = await getAccount(db, accountId);
		c.executionCtx.waitUntil(
			mailer
				.send({
					to: email,
					subject: `Keyward: you are invited to ${account?.name ?? "an account"}`,
					text: `You are invited to join ${account?.name ?? "an account"} on Keyward as ${input.role}. Sign in with this email address and accept with this code (valid 7 days):\n\n${token}\n`,
				})
				.catch(logMailFailure("invitation")),
		);
		c.get("audit").record({
			action: "member.invited",
			target: { type: "invitation", id: row.id },
			metadata: { email, role: input.role },
		});
		return c.json({ invitation: publicInvitation(row) }, 201);
	});

	app.openapi(listInvitationsRoute, async (c) => {
		const { db, clock } = c.get("services");
		const rows = await pendingInvitations(db, c.req.valid("param").accountId, clock.now());
		return c.json(pageOf(rows.map(publicInvitation), c.req.valid("query")), 200);
	});

	app.openapi(cancelInvitationRoute, async (c) => {
		const { accountId, invitationId } = c.req.valid("param");
		const gone = await c
			.get("services")
			.db.delete(invitations)
			.where(and(eq(invitations.id, invitationId), eq(invitations.accountId, accountId)))
			.returning({ id: invitations.id });
		if (gone.length === 0) throw new ApiError("not-found", { detail: "No such invitation" });
		c.get("audit").record({ action: "member.invitation_cancelled", target: { type: "invitation", id: invitationId } });
		return c.body(null, 204);
	});

	app.openapi(acceptInvitationRoute, async (c) => {
		const { token } = c.req.valid("json");
		const { db, clock } = c.get("services");
		const principal = c.get("principal");
		const user = principal && (await getUser(db, principal.userId));
		if (!user) throw new ApiError("unauthorized");
		const now = clock.now();
		const invitation = await db.query.invitations.findFirst({
			where: and(eq(invitations.tokenHash, await sha256Hex(token)), gt(invitations.expiresAt, now)),
		});
		if (!invitation) {
			throw new ApiError("validation", {
				detail: "Invalid or expired invitation",
				errors: [{ path: "token", message: "Invalid or expired invitation" }],
			});
		}
		if (invitation.email !== user.email)
			throw new ApiError("forbidden", { detail: "This invitation is for another email address" });
		if (!user.emailVerifiedAt) throw new ApiError("forbidden", { detail: "Verify your email address first" });
		if (await getMembership(db, invitation.accountId, user.id))
			throw new ApiError("conflict", { detail: "You are already a member" });
		// Joining is one batch: the membership is inserted from the account's row joined with the
		// invitation's, so only while the account is open and the invitation still exists (not
		// cancelled, replaced, or withdrawn with its inviter meanwhile); then the invitation goes.
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
			db
				.delete(invitations)
				.where(and(eq(invitations.id, invitation.id), not(accountLockedDown(invitation.accountId)))),
		]);
		if (joined.length === 0) {
			const account = await getAccount(db, invitation.accountId);
			if (account?.lockedDownAt) throw lockedDownProblem("nobody can join");
			if (!(await db.query.invitations.findFirst({ where: eq(invitations.id, invitation.id) })))
				throw new ApiError("validation", {
					detail: "Invalid or expired invitation",
					errors: [{ path: "token", message: "Invalid or expired invitation" }],
				});
			throw new ApiError("conflict", { detail: "You are already a member" });
		}
		const audit = c.get("audit");
		audit.accountId = invitation.accountId;
		audit.record({
			action: "member.joined",
			target: { type: "user", id: user.id },
			metadata: { role: invitation.role, invitationId: invitation.id },
		});
		raiseAlertFrom(c, {
			accountId: invitation.accountId,
			type: "alert.member_changed",
			subject: "Keyward: a member joined your account",
			text: `User ${user.id} joined account ${invitation.accountId} as ${invitation.role}.`,
			data: { change: "joined", userId: user.id, role: invitation.role },
			target: { type: "user", id: user.id },
		});
		const account = await getAccount(db, invitation.accountId);
		return c.json(
			{ membership: { accountId: invitation.accountId, accountName: account?.name ?? "", role: invitation.role } },
			200,
		);
	});
}
