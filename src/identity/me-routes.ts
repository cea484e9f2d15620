import { createRoute, z } from "@hono/zod-openapi";
import { userSessions } from "../durable/address";
import { requireUser } from "../middleware/authorize";
import type { App } from "../platform/app-env";
import { ApiError } from "../problems";
import { IssuedId, jsonBody, jsonContent, problemResponses } from "../routes/openapi-shared";
import { verifyPassword } from "../security/password-hash";
import { connectionForEmail } from "../sso/connections";
import { assertPasswordNotBreached } from "./breached";
import { guardedUserCheck } from "./guarded-check";
import { personalTrail } from "./login";
import { endPendingSignIns } from "./mfa";
import {
	assertPasswordAcceptable,
	NewPasswordField,
	PasswordField,
	RecommendationsSchema,
	UserSchema,
} from "./schemas";
import { getUser, membershipsOf, publicUser, recommendationsFor, setPassword, type UserRow } from "./users";

/** The password asked again on /v1/me, to confirm it is the user. */
export const CurrentPassword = PasswordField.openapi({
	description: "The user's current password. Five wrong answers in a row end this session.",
});

export const meRoute = createRoute({
	method: "get",
	path: "/v1/me",
	tags: ["Me"],
	summary: "The signed-in user and their memberships",
	middleware: [requireUser()] as const,
	responses: {
		200: jsonContent(
			z.object({
				user: UserSchema,
				recommendations: RecommendationsSchema,
				memberships: z
					.array(
						z.object({
							accountId: IssuedId("acc", "The account's id"),
							accountName: z.string().openapi({ description: "The account's name", example: "Acme Corp" }),
							role: z.enum(["owner", "admin", "member", "readonly"]).openapi({
								description: "The user's role there: `owner`, `admin`, `member` or `readonly`",
								example: "admin",
							}),
						}),
					)
					.openapi({ description: "Every account the user belongs to" }),
				singleSignOn: z.boolean().openapi({
					description:
						"Whether the user's address is in a domain with a single sign-on connection: they may sign in, and " +
						"prove it is them again (`POST /v1/me/reauthenticate/sso`), through its identity provider",
					example: false,
				}),
			}),
			"You",
		),
		...problemResponses(401),
	},
});

export const changePasswordRoute = createRoute({
	method: "post",
	path: "/v1/me/password",
	tags: ["Me"],
	summary: "Change the password; other sessions end unless revokeOtherSessions is false",
	middleware: [requireUser()] as const,
	request: {
		body: jsonBody(
			z.strictObject({
				currentPassword: CurrentPassword,
				newPassword: NewPasswordField,
				revokeOtherSessions: z.boolean().default(true).openapi({
					description: "End every other session of the user (default true); this one stays",
					example: true,
				}),
			}),
		),
	},
	responses: { 204: { description: "Changed" }, ...problemResponses(400, 401, 403, 429) },
});

export const wrongSecret = (path: string, message: string) =>
	new ApiError("validation", { detail: message, errors: [{ path, message }] });

/**
 * The signed-in user's row; a session whose user is gone is no session. The session authenticator
 * read it for this request already, so that read is used; other callers read it now.
 */
export async function currentUser(c: {
	get(k: "principal"): { userId: string } | null;
	get(k: "services"): { db: import("../db").Database };
	get(k: "sessionUser"): { user: UserRow } | undefined;
}) {
	const principal = c.get("principal");
	const read = c.get("sessionUser")?.user;
	const user =
		principal && (read?.id === principal.userId ? read : await getUser(c.get("services").db, principal.userId));
	if (!user) throw new ApiError("unauthorized");
	return user;
}

export function registerMe(app: App) {
	app.openapi(meRoute, async (c) => {
		const user = await currentUser(c);
		const { db } = c.get("services");
		const read = c.get("sessionUser");
		const [memberships, connection] = await Promise.all([
			read?.user.id === user.id ? read.memberships : membershipsOf(db, user.id),
			connectionForEmail(db, user.email),
		]);
		return c.json(
			{
				user: publicUser(user),
				recommendations: recommendationsFor(user),
				memberships: memberships.map((m) => ({ accountId: m.accountId, accountName: m.accountName, role: m.role })),
				singleSignOn: connection !== undefined,
			},
			200,
		);
	});

	app.openapi(changePasswordRoute, async (c) => {
		const input = c.req.valid("json");
		const user = await currentUser(c);
		const { db } = c.get("services");
		await guardedUserCheck(
			c,
			user,
			{ kind: "password", onFailure: () => wrongSecret("currentPassword", "Wrong password") },
			async () => (await verifyPassword(input.currentPassword, user.passwordHash)).valid,
		);
		const composition = (await membershipsOf(db, user.id)).some((m) => m.settings.passwordComposition);
		assertPasswordAcceptable(c.env, "newPassword", input.newPassword, user.email, composition);
		await assertPasswordNotBreached(c, "newPassword", input.newPassword);
		await setPassword(db, user.id, input.newPassword);
		await endPendingSignIns(db, user.id);
		const ended = input.revokeOtherSessions
			? await userSessions(c.env, user.id).revokeSessionsExcept(c.get("principal")?.sessionId ?? null)
			: 0;
		c.get("audit").record({
			action: "auth.password.changed",
			accountId: await personalTrail(c.get("services"), user.id),
			target: { type: "user", id: user.id },
			metadata: { via: "change", sessionsEnded: ended },
		});
		return c.body(null, 204);
	});
}
