import { createRoute, z } from "@hono/zod-openapi";
import type { App } from "../app";
import { userObject } from "../durable/address";
import { guardedUserCheck, throttledUserCheck } from "../identity/guarded-check";
import {
	consumeChallenge,
	consumeRecoveryCode,
	findChallenge,
	issueEmailCode,
	verifyEmailCode,
	verifyUserTotp,
} from "../identity/mfa";
import { getUser } from "../identity/users";
import { logMailFailure } from "../mail";
import { ApiError } from "../problems";
import { throttledHeaders } from "../security/rate-limit-headers";
import { completeLogin } from "./auth";
import { CodeField, SessionSchema, TokenField, UserSchema } from "./identity-schemas";
import { jsonBody, jsonContent, problemResponses } from "./openapi-shared";

const invalidChallenge = () =>
	new ApiError("unauthorized", { detail: "The challenge is invalid or has expired; sign in again" });

export const emailCodeRoute = createRoute({
	method: "post",
	path: "/v1/auth/mfa/email-code",
	tags: ["Authentication"],
	summary: "Email a 6-digit code for this challenge (valid 10 minutes, single use, 5 attempts)",
	request: { body: jsonBody(z.strictObject({ challengeToken: TokenField })) },
	responses: { 202: { description: "Sent" }, ...problemResponses(400, 401, 429) },
});

export const mfaVerifyRoute = createRoute({
	method: "post",
	path: "/v1/auth/mfa/verify",
	tags: ["Authentication"],
	summary: "Answer the second-factor challenge; a session on success",
	request: {
		body: jsonBody(
			z.strictObject({
				challengeToken: TokenField,
				method: z.enum(["totp", "recovery_code", "email_code"]),
				code: CodeField,
			}),
		),
	},
	responses: {
		200: jsonContent(z.object({ session: SessionSchema, user: UserSchema }), "Signed in"),
		...problemResponses(400, 401, 429),
	},
});

export function registerAuthMfa(app: App) {
	app.openapi(emailCodeRoute, async (c) => {
		const { challengeToken } = c.req.valid("json");
		const { db, clock, mailer } = c.get("services");
		const now = clock.now();
		const challenge = await findChallenge(db, challengeToken, now);
		const user = challenge && (await getUser(db, challenge.userId));
		if (!challenge || !user) throw invalidChallenge();
		const blocked = await userObject(c.env, user.id).userAttemptsBlocked("mfa", now.getTime());
		if (!blocked.allowed) throw throttledUserCheck("mfa", blocked.retryAfterSeconds, now);
		const code = await issueEmailCode(db, c.env.KEY_PEPPER ?? "", challenge.tokenHash, now);
		if (code === null) {
			throw new ApiError("quota-exceeded", {
				detail: "A code was sent less than a minute ago",
				headers: throttledHeaders({ name: "email-code", limit: 1, windowSeconds: 60, now }, 60),
			});
		}
		c.executionCtx.waitUntil(
			mailer
				.send({
					to: user.email,
					subject: "Keyward: your sign-in code",
					text: `Your Keyward sign-in code is ${code}. It is valid for 10 minutes. If you did not try to sign in, change your password.`,
				})
				.catch(logMailFailure("email-code")),
		);
		return c.body(null, 202);
	});

	app.openapi(mfaVerifyRoute, async (c) => {
		const { challengeToken, method, code } = c.req.valid("json");
		const { db, clock } = c.get("services");
		const now = clock.now();
		const challenge = await findChallenge(db, challengeToken, now);
		const user = challenge && (await getUser(db, challenge.userId));
		if (!challenge || !user) throw invalidChallenge();
		const pepper = c.env.KEY_PEPPER ?? "";
		// A recovery code is spent by checking it, so the challenge is claimed first: a concurrent
		// request cannot burn the code and lose the race for the session.
		if (method === "recovery_code" && !(await consumeChallenge(db, challenge.tokenHash))) throw invalidChallenge();
		await guardedUserCheck(
			c,
			user,
			{
				kind: "mfa",
				metadata: { method },
				onFailure: () => new ApiError("unauthorized", { detail: "The code is not valid" }),
			},
			async () =>
				method === "totp"
					? verifyUserTotp(db, c.env.TOTP_ENCRYPTION_KEY ?? "", user, code, now)
					: method === "recovery_code"
						? user.totpSecret !== null && consumeRecoveryCode(db, pepper, user.id, code, now)
						: verifyEmailCode(db, pepper, challenge.tokenHash, code, now),
		);
		// Single use: only the request that deletes the challenge signs in.
		if (method !== "recovery_code" && !(await consumeChallenge(db, challenge.tokenHash))) throw invalidChallenge();
		return completeLogin(c, user.id);
	});
}
