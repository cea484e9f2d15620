import { createRoute, z } from "@hono/zod-openapi";
import type { App } from "../app";
import { userObject } from "../durable/address";
import { personalTrail } from "../identity/login";
import {
	consumeChallenge,
	consumeRecoveryCode,
	findChallenge,
	issueEmailCode,
	verifyEmailCode,
	verifyUserTotp,
} from "../identity/mfa";
import { getUser } from "../identity/users";
import { ApiError } from "../problems";
import { sha256Hex } from "../security/digest";
import { completeLogin } from "./auth";
import { CodeField, SessionSchema, TokenField, UserSchema } from "./identity-schemas";
import { jsonContent, problemResponses } from "./openapi-shared";

const body = <T extends z.ZodType>(schema: T) => ({ required: true, content: { "application/json": { schema } } });
const invalidChallenge = () =>
	new ApiError("unauthorized", { detail: "The challenge is invalid or has expired; sign in again" });

export const emailCodeRoute = createRoute({
	method: "post",
	path: "/v1/auth/mfa/email-code",
	tags: ["Authentication"],
	summary: "Email a 6-digit code for this challenge (valid 10 minutes, single use, 5 attempts)",
	request: { body: body(z.strictObject({ challengeToken: TokenField })) },
	responses: { 202: { description: "Sent" }, ...problemResponses(400, 401, 429) },
});

export const mfaVerifyRoute = createRoute({
	method: "post",
	path: "/v1/auth/mfa/verify",
	tags: ["Authentication"],
	summary: "Answer the second-factor challenge; a session on success",
	request: {
		body: body(
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
		const challenge = await findChallenge(db, challengeToken, clock.now());
		const user = challenge && (await getUser(db, challenge.userId));
		if (!challenge || !user) throw invalidChallenge();
		const code = await issueEmailCode(db, c.env.KEY_PEPPER ?? "", challenge.tokenHash, clock.now());
		await mailer.send({
			to: user.email,
			subject: "Keyward: your sign-in code",
			text: `Your Keyward sign-in code is ${code}. It is valid for 10 minutes. If you did not try to sign in, change your password.`,
		});
		return c.body(null, 202);
	});

	app.openapi(mfaVerifyRoute, async (c) => {
		const { challengeToken, method, code } = c.req.valid("json");
		const { db, clock } = c.get("services");
		const now = clock.now();
		const challenge = await findChallenge(db, challengeToken, now);
		const user = challenge && (await getUser(db, challenge.userId));
		if (!challenge || !user) throw invalidChallenge();

		const guard = userObject(c.env, user.id);
		const verdict = await guard.checkMfa(now.getTime());
		if (!verdict.allowed) {
			throw new ApiError("quota-exceeded", {
				detail: "Too many failed second-factor attempts; try again later",
				headers: { "Retry-After": String(verdict.retryAfterSeconds) },
			});
		}
		const pepper = c.env.KEY_PEPPER ?? "";
		const ok =
			method === "totp"
				? await verifyUserTotp(db, c.env.TOTP_ENCRYPTION_KEY ?? "", user, code, now)
				: method === "recovery_code"
					? user.totpSecret !== null && (await consumeRecoveryCode(db, pepper, user.id, code, now))
					: await verifyEmailCode(db, pepper, challenge.tokenHash, code, now);

		const audit = c.get("audit");
		const accountId = await personalTrail(c.get("services"), user.id);
		if (!ok) {
			const streak = await guard.recordMfaFailure(now.getTime());
			audit.record({
				action: "auth.mfa.failed",
				outcome: "failure",
				accountId,
				actor: { type: "user", id: user.id },
				metadata: { method },
			});
			if (streak.locked) {
				audit.record({
					action: "auth.lockout",
					outcome: "failure",
					accountId,
					actor: { type: "user", id: user.id },
					metadata: { factor: "second" },
				});
				await c
					.get("services")
					.mailer.send({
						to: user.email,
						subject: "Keyward: second-factor sign-in locked for 15 minutes",
						text: "There were 5 failed second-factor attempts on your Keyward account, so they are blocked for 15 minutes.",
					})
					.catch(() => undefined);
			}
			throw new ApiError("unauthorized", { detail: "The code is not valid" });
		}
		// Single use: only the request that deletes the challenge signs in.
		if (!(await consumeChallenge(db, await sha256Hex(challengeToken)))) throw invalidChallenge();
		await guard.recordMfaSuccess();
		return completeLogin(c, user.id);
	});
}
