/** `DELETE /v1/me` (issue #26): the caller erases themselves, through the erasure lifecycle (`erasure.ts`). */
import { createRoute } from "@hono/zod-openapi";
import { requireRecentAuthentication } from "../auth/recent-auth";
import { requireUser } from "../middleware/authorize";
import type { App } from "../platform/app-env";
import { ApiError } from "../problems";
import { problemResponses } from "../routes/openapi-shared";
import { eraseUser } from "./erasure";

export const eraseMeRoute = createRoute({
	method: "delete",
	path: "/v1/me",
	tags: ["Me"],
	summary:
		"Erase yourself: sessions, factors, memberships, your keys and your personal data (needs a recent proof of identity)",
	description:
		"Ends every session, removes passkeys, the authenticator and recovery codes, ends every membership (the keys you " +
		"made there are revoked; keys of service accounts stay), deletes the accounts you own alone, and destroys your " +
		"data key, so your address, IP addresses and browsers in every audit trail read `[erased]` from now on while the " +
		"trail still verifies. The address can sign up again as a new person. Refused with 409, naming each account, " +
		"while you are the only owner of an account that has other members: transfer ownership or remove them first. " +
		"Recorded as `user.erased` (counts only) and confirmed by a last email.",
	middleware: [requireUser(), requireRecentAuthentication("erase your account")] as const,
	responses: {
		204: { description: "Erased; the session that asked has ended too" },
		...problemResponses(401, 403, 409),
	},
});

export function registerErasure(app: App) {
	app.openapi(eraseMeRoute, async (c) => {
		const principal = c.get("principal");
		if (!principal || principal.type !== "user") throw new ApiError("unauthorized");
		const { db, clock, mailer } = c.get("services");
		const audit = c.get("audit");
		const outcome = await eraseUser(
			{ env: c.env, db, mailer, now: clock.now(), record: (input) => audit.record(input) },
			principal.userId,
			"self",
		);
		if (outcome.kind === "refused") {
			throw new ApiError("conflict", {
				detail:
					"You are the only owner of accounts that have other members: transfer ownership or remove the members first",
				errors: outcome.accounts.map((a) => ({
					path: `accounts/${a.accountId}`,
					message: `You own “${a.accountName}” alone and it has ${a.members} members`,
				})),
			});
		}
		return c.body(null, 204);
	});
}
