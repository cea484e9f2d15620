import { z } from "@hono/zod-openapi";
import { raiseAlertFrom } from "../alerts/raise";
import type { App } from "../platform/app-env";
import { ApiError } from "../problems";
import { accountRoute } from "../routes/account-route";
import { FreeText, Id, jsonBody, jsonContent, problemResponses, Timestamp } from "../routes/openapi-shared";
import { assertKeysOfAccount, liftLockdown, lockDownAccount, lockdownLiftedAlert, lockedDownAlert } from "./lockdown";
import { AccountParams } from "./schemas";

const LockdownBody = z.strictObject({
	reason: FreeText(500).openapi({
		description: "Why, for the audit trail and the alert: 1 to 500 characters after trimming, no control characters",
		example: "An admin's laptop was stolen",
	}),
	revokeSessions: z
		.boolean()
		.default(true)
		.openapi({
			description:
				"Cut off every member's sessions (default true): sessions started before the lockdown no longer reach " +
				"this account, and a member who belongs to no other account is signed out everywhere. Other accounts " +
				"are not touched.",
			example: true,
		}),
	revokeKeys: z
		.union([z.enum(["all", "none"]), z.array(Id("key")).min(1).max(50)])
		.default("all")
		.openapi({
			description:
				'"all" (default): every live key of the account; "none"; or the ids of the keys to revoke (1 to 50, each ' +
				"a key of this account, else 400)",
			example: "all",
		}),
});

export const lockdownRoute = accountRoute("lockdown", {
	method: "post",
	path: "/v1/accounts/{accountId}/lockdown",
	tags: ["Incident response"],
	summary: "Lock the account down: end members' sessions and revoke the chosen keys, effective on the next request",
	request: { params: AccountParams, body: jsonBody(LockdownBody) },
	responses: {
		200: jsonContent(
			z.object({
				sessionsRevoked: z
					.number()
					.int()
					.openapi({ description: "Sessions ended or cut off from this account", example: 7 }),
				keysRevoked: z.number().int().openapi({ description: "Keys revoked", example: 12 }),
				lockedDownAt: Timestamp("When the lockdown took effect", "2026-03-02T09:30:00.000Z"),
			}),
			"Locked down",
		),
		...problemResponses(400, 401, 403, 404, 413, 415),
	},
});

export const liftLockdownRoute = accountRoute(
	"lockdown:lift",
	{
		method: "post",
		path: "/v1/accounts/{accountId}/lockdown/lift",
		tags: ["Incident response"],
		summary: "Lift a lockdown (owner only): keys, invitations and webhooks can be made again",
		description:
			"Sessions the lockdown cut off stay cut off (their owners sign in again), and revoked keys stay revoked. " +
			"409 when the account is not locked down.",
		request: {
			params: AccountParams,
			body: jsonBody(
				z.strictObject({
					reason: FreeText(500).openapi({
						description: "Why it is lifted, for the audit trail and the alert: 1 to 500 characters",
						example: "Laptop recovered; credentials rotated",
					}),
				}),
			),
		},
		responses: {
			200: jsonContent(
				z.object({ liftedAt: Timestamp("When the lockdown was lifted", "2026-03-02T15:45:00.000Z") }),
				"Lifted",
			),
			...problemResponses(400, 401, 403, 404, 409, 413, 415),
		},
	},
	{ grants: "setting", reauthenticate: "lift the lockdown", ownerWhileLockedDown: true },
);

export function registerLockdown(app: App) {
	app.openapi(liftLockdownRoute, async (c) => {
		const { accountId } = c.req.valid("param");
		const { reason } = c.req.valid("json");
		const { db, clock } = c.get("services");
		if (!(await liftLockdown(db, accountId)))
			throw new ApiError("conflict", { detail: "The account is not locked down" });
		const now = clock.now();
		c.get("audit").record({
			action: "account.lockdown_lifted",
			target: { type: "account", id: accountId },
			metadata: { reason },
		});
		raiseAlertFrom(c, lockdownLiftedAlert(accountId, reason));

		return c.json({ liftedAt: now.toISOString() }, 200);
	});

	app.openapi(lockdownRoute, async (c) => {
		const { accountId } = c.req.valid("param");
		const input = c.req.valid("json");
		const { db, clock } = c.get("services");
		if (Array.isArray(input.revokeKeys)) await assertKeysOfAccount(db, accountId, input.revokeKeys);
		const now = clock.now();
		const result = await lockDownAccount(c.env, db, accountId, input, now);
		const metadata = {
			reason: input.reason,
			sessionsRevoked: result.sessionsRevoked,
			keysRevoked: result.keysRevoked,
			keyIds: result.keyIds.slice(0, 100),
			members: result.members,
		};
		c.get("audit").record({ action: "account.lockdown", target: { type: "account", id: accountId }, metadata });
		raiseAlertFrom(c, lockedDownAlert(accountId, input.reason, metadata));

		return c.json(
			{ sessionsRevoked: result.sessionsRevoked, keysRevoked: result.keysRevoked, lockedDownAt: now.toISOString() },
			200,
		);
	});
}
