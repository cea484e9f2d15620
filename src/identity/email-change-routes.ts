/** Email change (src/identity/email-change.ts): start it, confirm it from the new address, cancel it from the old. */
import { createRoute, z } from "@hono/zod-openapi";
import { undoSetUpSince } from "../accounts/claim";
import { requireRecentAuthentication } from "../auth/recent-auth";
import { requireUser } from "../middleware/authorize";
import type { App } from "../platform/app-env";
import { ApiError } from "../problems";
import { optionalCredential } from "../routes/openapi-security";
import { jsonBody, jsonContent, problemResponses, Timestamp } from "../routes/openapi-shared";
import { cancelEmailChange, confirmEmailChange, startEmailChange } from "./email-change";
import { personalTrail } from "./login";
import { currentUser } from "./me-routes";
import { takeQuota } from "./quotas";
import { EmailField, TokenFrom } from "./schemas";

export const startEmailChangeRoute = createRoute({
	method: "post",
	path: "/v1/me/email",
	tags: ["Me"],
	summary: "Change your email address: the new address confirms, the old one is told and can cancel for 72 hours",
	description:
		"Needs a proof of identity from the last ten minutes (`POST /v1/me/reauthenticate`). Nothing changes until " +
		"the new address confirms (`POST /v1/auth/email-change/confirm`); the old address can cancel the change, " +
		"and lock the account, with `POST /v1/auth/email-change/cancel`.",
	middleware: [requireUser(), requireRecentAuthentication("change your email address")] as const,
	request: {
		body: jsonBody(
			z.strictObject({
				email: EmailField.openapi({
					description:
						"The new address (at most 254 characters). It must not be another user's (409); a confirmation code " +
						"goes to it. At most 5 changes an hour.",
					example: "ada.lovelace@example.org",
				}),
			}),
		),
	},
	responses: {
		202: jsonContent(
			z.object({
				pending: z
					.object({
						email: z
							.string()
							.openapi({ description: "The new address, lowercased", example: "ada.lovelace@example.org" }),
						expiresAt: Timestamp(
							"When the confirmation code expires: 24 hours after it was sent",
							"2026-03-03T09:30:00.000Z",
						),
					})
					.openapi({ description: "The change waiting for the new address to confirm it" }),
			}),
			"Confirmation sent",
		),
		...problemResponses(400, 401, 403, 409),
	},
});

export const confirmEmailChangeRoute = createRoute({
	method: "post",
	path: "/v1/auth/email-change/confirm",
	tags: ["Authentication"],
	summary: "Confirm a new email address with the code sent to it; the user's other sessions end",
	description:
		"Needs no credential: the code proves the new address. Sent with one of the user's own sessions, that " +
		"session stays and every other one ends; sent without, every session of the user ends.",
	security: optionalCredential("bearerAuth", "sessionCookie"),
	request: {
		body: jsonBody(z.strictObject({ token: TokenFrom("The code sent to the new address (single use, 24 hours)") })),
	},
	responses: { 204: { description: "The address is changed" }, ...problemResponses(400, 409) },
});

export const cancelEmailChangeRoute = createRoute({
	method: "post",
	path: "/v1/auth/email-change/cancel",
	tags: ["Authentication"],
	summary: "It was not you: undo an email change (72 hours) and lock the account until a password reset",
	request: {
		body: jsonBody(
			z.strictObject({ token: TokenFrom("The code in the notice sent to the old address (single use, 72 hours)") }),
		),
	},
	responses: { 204: { description: "Cancelled; a reset code went to the old address" }, ...problemResponses(400) },
});

const invalidToken = () =>
	new ApiError("validation", {
		detail: "Invalid or expired code",
		errors: [{ path: "token", message: "Invalid or expired code" }],
	});

export function registerMeEmail(app: App) {
	app.openapi(startEmailChangeRoute, async (c) => {
		const user = await currentUser(c);
		await takeQuota(c, "email-change-per-user", user.id);
		const pending = await startEmailChange(c.get("services"), user, c.req.valid("json").email);
		c.get("audit").record({
			action: "auth.email_change.requested",
			accountId: await personalTrail(c.get("services"), user.id),
			target: { type: "user", id: user.id },
			metadata: { from: user.email, to: pending.newEmail },
		});
		return c.json({ pending: { email: pending.newEmail, expiresAt: pending.expiresAt.toISOString() } }, 202);
	});

	app.openapi(confirmEmailChangeRoute, async (c) => {
		// The session that confirmed it (if it is the user's own) stays; every other one of theirs ends.
		const keep = c.get("principal")?.sessionId ?? null;
		const changed = await confirmEmailChange(c.env, c.get("services"), c.req.valid("json").token, keep);
		if (!changed) throw invalidToken();
		c.get("audit").record({
			action: "auth.email_change.confirmed",
			accountId: await personalTrail(c.get("services"), changed.after.id),
			actor: { type: "user", id: changed.after.id },
			target: { type: "user", id: changed.after.id },
			metadata: { from: changed.before.email, to: changed.after.email, sessionsEnded: changed.sessionsEnded },
		});
		return c.body(null, 204);
	});

	app.openapi(cancelEmailChangeRoute, async (c) => {
		const { db, clock } = c.get("services");
		const cancelled = await cancelEmailChange(c.env, c.get("services"), c.req.valid("json").token);
		if (!cancelled) throw invalidToken();
		const undone = await undoSetUpSince(c.env, db, cancelled.user.id, cancelled.since, clock.now());
		c.get("audit").record({
			action: "auth.email_change.cancelled",
			accountId: await personalTrail(c.get("services"), cancelled.user.id),
			actor: { type: "user", id: cancelled.user.id },
			target: { type: "user", id: cancelled.user.id },
			metadata: { reverted: cancelled.reverted, locked: true, sessionsEnded: cancelled.sessionsEnded, ...undone },
		});
		return c.body(null, 204);
	});
}
