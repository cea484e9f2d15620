import { createRoute, z } from "@hono/zod-openapi";
import { raiseAlertFrom } from "../alerts/raise";
import { maskEmail, unmaskedRead } from "../audit/masking";
import { takeQuota } from "../identity/quotas";
import { EmailField, TokenField } from "../identity/schemas";
import { findUserByEmail, getUser, normalizeEmail } from "../identity/users";
import { callerMembership, requireUser } from "../middleware/authorize";
import type { App } from "../platform/app-env";
import { consoleUrl } from "../platform/console-url";
import { inviteeSubject } from "../privacy/invitee";
import { ApiError } from "../problems";
import { accountRoute } from "../routes/account-route";
import { IssuedId, jsonBody, jsonContent, NextCursor, problemResponses } from "../routes/openapi-shared";
import { ListQuery, OFFSET_CURSOR_EXAMPLE, pageOf } from "../routes/pagination";
import { acceptInvitation, cancelInvitation, issueInvitation, previewInvitation } from "./invitations";
import { checkInviteRole } from "./member-rules";
import { memberJoinedAlert } from "./members";
import { getMembership, pendingInvitations, publicInvitation } from "./queries";
import { AccountParams, AssignableRole, InvitationParams, InvitationSchema, RoleSchema } from "./schemas";

export const createInvitationRoute = accountRoute(
	"members:manage",
	{
		method: "post",
		path: "/v1/accounts/{accountId}/invitations",
		tags: ["Members"],
		summary:
			"Invite someone by email (token emailed, single use, 7 days); replaces a pending invitation to the same email",
		request: {
			params: AccountParams,
			body: jsonBody(
				z.strictObject({
					email: EmailField.openapi({
						description:
							"The address to invite; the invitation's code is emailed there. A pending invitation to the same " +
							"address is replaced. At most 30 invitations an hour per account, and 30 per inviter.",
						example: "grace@example.com",
					}),
					role: AssignableRole.openapi({
						description: "The role the invitee gets: `admin`, `member` or `readonly`, never above the caller's own",
					}),
				}),
			),
		},
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
		200: jsonContent(
			z.object({
				data: z.array(InvitationSchema).openapi({ description: "The pending invitations, oldest first" }),
				nextCursor: NextCursor(OFFSET_CURSOR_EXAMPLE),
			}),
			"Pending",
		),
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

/** The invitation's code, as preview and accept take it. */
const InvitationCodeBody = jsonBody(
	z.strictObject({
		token: TokenField.openapi({
			description: "The code from the invitation email (single use, 7 days). The example is made up.",
		}),
	}),
);

export const previewInvitationRoute = createRoute({
	method: "post",
	path: "/v1/invitations/preview",
	tags: ["Members"],
	summary: "What an invitation's code opens: the account, the role, the invited address and the expiry",
	description:
		"For the invitation's holder to check before signing up or joining, with no session needed: the code is " +
		"the credential (256 random bits, single use, 7 days). A code that is not pending (expired, used, cancelled " +
		"or replaced) is a 400, like a wrong one. Nothing is changed.",
	security: [],
	request: { body: InvitationCodeBody },
	responses: {
		200: jsonContent(
			z.object({
				invitation: z
					.object({
						accountId: IssuedId("acc", "The account the invitation joins"),
						accountName: z.string().openapi({ description: "Its name, as its owner wrote it", example: "Acme Corp" }),
						role: AssignableRole.openapi({ description: "The role joining gives", example: "admin" }),
						email: z.string().openapi({
							description: "The address the invitation was sent to: sign in or sign up with it, verified",
							example: "bea@example.com",
						}),
						expiresAt: z.string().openapi({
							description: "When the code stops working (ISO 8601, UTC)",
							example: "2026-03-09T09:30:00.000Z",
						}),
					})
					.openapi({ description: "The pending invitation" }),
			}),
			"The invitation",
		),
		...problemResponses(400),
	},
});

export const acceptInvitationRoute = createRoute({
	method: "post",
	path: "/v1/invitations/accept",
	tags: ["Members"],
	summary: "Join the account; the signed-in user's verified email must be the invited one",
	middleware: [requireUser()] as const,
	request: { body: InvitationCodeBody },
	responses: {
		200: jsonContent(
			z.object({
				membership: z
					.object({
						accountId: IssuedId("acc", "The account joined"),
						accountName: z.string().openapi({ description: "Its name", example: "Acme Corp" }),
						role: RoleSchema.openapi({ description: "The role the invitation gave", example: "member" }),
					})
					.openapi({ description: "The new membership" }),
			}),
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
		if (existing && (await getMembership(db, accountId, existing.id)))
			throw new ApiError("conflict", { detail: "This person is already a member" });
		const waitUntil = (p: Promise<unknown>) => c.executionCtx.waitUntil(p);
		const row = await issueInvitation(
			{ db, mailer, now: clock.now(), waitUntil, consoleUrl: consoleUrl(c.env, c.req.url) },
			accountId,
			principal.userId,
			email,
			input.role,
		);
		c.get("audit").record({
			action: "member.invited",
			target: { type: "invitation", id: row.id },
			// The address is sealed under the invitee's own key (not the inviter's), named by a keyed hash.
			metadata: { email, role: input.role, invitee: await inviteeSubject(c.env.PII_WRAPPING_KEY ?? "", email) },
		});
		return c.json({ invitation: publicInvitation(row) }, 201);
	});

	app.openapi(listInvitationsRoute, async (c) => {
		const { db, clock } = c.get("services");
		const { accountId } = c.req.valid("param");
		const rows = await pendingInvitations(db, accountId, clock.now());
		const page = pageOf(rows.map(publicInvitation), c.req.valid("query"));
		// An invitee's address is someone else's personal data: masked for member and readonly callers.
		if (!unmaskedRead(c, accountId, "invitations", page.data.length))
			page.data = page.data.map((i) => ({ ...i, email: maskEmail(i.email) }));
		return c.json(page, 200);
	});

	app.openapi(cancelInvitationRoute, async (c) => {
		const { accountId, invitationId } = c.req.valid("param");
		if (!(await cancelInvitation(c.get("services").db, accountId, invitationId)))
			throw new ApiError("not-found", { detail: "No such invitation" });
		c.get("audit").record({ action: "member.invitation_cancelled", target: { type: "invitation", id: invitationId } });
		return c.body(null, 204);
	});

	app.openapi(previewInvitationRoute, async (c) => {
		const { token } = c.req.valid("json");
		const { db, clock } = c.get("services");
		return c.json({ invitation: await previewInvitation(db, clock.now(), token) }, 200);
	});

	app.openapi(acceptInvitationRoute, async (c) => {
		const { token } = c.req.valid("json");
		const { db, clock } = c.get("services");
		const principal = c.get("principal");
		const user = principal && (await getUser(db, principal.userId));
		if (!user) throw new ApiError("unauthorized");
		const { invitation, accountName } = await acceptInvitation(db, clock.now(), user, token);
		const audit = c.get("audit");
		audit.accountId = invitation.accountId;
		audit.record({
			action: "member.joined",
			target: { type: "user", id: user.id },
			metadata: { role: invitation.role, invitationId: invitation.id },
		});
		raiseAlertFrom(c, memberJoinedAlert(invitation.accountId, user.id, invitation.role));
		return c.json({ membership: { accountId: invitation.accountId, accountName, role: invitation.role } }, 200);
	});
}
