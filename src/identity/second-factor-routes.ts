import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { Database } from "../db";
import { userSessions } from "../durable/address";
import { logMailFailure } from "../mail";
import type { App, AppEnv } from "../platform/app-env";
import { ApiError, validationError } from "../problems";
import { jsonBody, jsonContent, problemResponses } from "../routes/openapi-shared";
import { throttledHeaders } from "../security/rate-limit-headers";
import { WebAuthnRefusal } from "../security/webauthn";
import { guardedUserCheck, throttledUserCheck } from "./guarded-check";
import { personalTrail } from "./login";
import {
	assertMethodOffered,
	consumeChallenge,
	consumeRecoveryCode,
	findChallenge,
	issueEmailCode,
	type MfaMethod,
	mfaMethodsOf,
	verifyEmailCode,
	verifyUserTotp,
} from "./mfa";
import { verifyPasskeyAssertion } from "./passkey-ceremony";
import { AssertionCredential, type AssertionCredentialJson } from "./passkey-schemas";
import { CodeField, SessionSchema, TokenFrom, UserSchema } from "./schemas";
import { requestMeta } from "./sessions";
import { completeLogin } from "./sign-in-routes";
import { getUser, membershipsOf, type UserRow } from "./users";

const ChallengeToken = TokenFrom("The `challenge.token` from the login answer (single use, 10 minutes)");

const invalidChallenge = () =>
	new ApiError("unauthorized", { detail: "The challenge is invalid or has expired; sign in again" });

export const emailCodeRoute = createRoute({
	method: "post",
	path: "/v1/auth/mfa/email-code",
	tags: ["Authentication"],
	summary: "Email a 6-digit code for this challenge (valid 10 minutes, single use, 5 attempts)",
	request: { body: jsonBody(z.strictObject({ challengeToken: ChallengeToken })) },
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
				challengeToken: ChallengeToken,
				method: z.enum(["passkey", "totp", "recovery_code", "email_code"]).openapi({
					description:
						"What answers the challenge: `passkey` (send `credential`, the browser's answer to the options from " +
						"POST /v1/auth/mfa/passkey-options), or a `code`: `totp` (the authenticator app's current code), " +
						"`recovery_code` (one of the user's recovery codes, used up by this) or `email_code` (the code from " +
						"POST /v1/auth/mfa/email-code). It must be one of the challenge's `methods` (else 400).",
					example: "totp",
				}),
				code: CodeField.optional().openapi({
					description:
						"For every method but `passkey`: 6 digits for `totp` and `email_code`; for `recovery_code`, the code " +
						"as shown (`xxxx-xxxx-xxxx-xxxx-xxxx-xxxx`; case, spaces and dashes do not matter). Five wrong " +
						"answers in a row lock second-factor checks for 15 minutes (429).",
				}),
				credential: AssertionCredential.optional().openapi({
					description: "For `passkey` only: what `navigator.credentials.get()` resolved with, as `toJSON()` gives it",
				}),
			}),
		),
	},
	responses: {
		200: jsonContent(z.object({ session: SessionSchema, user: UserSchema }), "Signed in"),
		...problemResponses(400, 401, 429),
	},
});

/** What answers the challenge: a passkey's assertion, or a code; the other one is refused (400). */
function answerOf(
	method: MfaMethod,
	code: string | undefined,
	credential: AssertionCredentialJson | undefined,
):
	| { method: "passkey"; credential: AssertionCredentialJson }
	| { method: Exclude<MfaMethod, "passkey">; code: string } {
	if (method === "passkey") {
		if (credential && code === undefined) return { method, credential };
		throw validationError(
			[
				...(credential ? [] : [{ path: "credential", message: "Required with method passkey" }]),
				...(code === undefined ? [] : [{ path: "code", message: "Not with method passkey: send credential" }]),
			],
			"A passkey answers with its credential",
		);
	}
	if (code !== undefined && !credential) return { method, code };
	throw validationError(
		[
			...(code === undefined ? [{ path: "code", message: `Required with method ${method}` }] : []),
			...(credential ? [{ path: "credential", message: "Only with method passkey" }] : []),
		],
		"This method answers with a code",
	);
}

/**
 * A sign-in finished without the enrolled authenticator (an emailed code or a recovery code) is
 * audited and mailed: if it was not the user, it was someone holding their password and mailbox.
 */
async function noticeFallbackSignIn(c: Context<AppEnv>, user: UserRow, method: MfaMethod): Promise<void> {
	const { mailer } = c.get("services");
	c.get("audit").record({
		action: "auth.mfa.fallback_used",
		accountId: await personalTrail(c.get("services"), user.id),
		actor: { type: "user", id: user.id },
		target: { type: "user", id: user.id },
		metadata: { method },
	});
	const meta = requestMeta(c);
	c.executionCtx.waitUntil(
		mailer
			.send({
				to: user.email,
				subject: "Keyward: was this you?",
				text:
					`Someone signed in to your Keyward account with ${method === "email_code" ? "an emailed code" : "a recovery code"} ` +
					`instead of your authenticator app or passkey${meta.country ? `, from ${meta.country}` : ""}. ` +
					"If this was not you, reset your password now and replace your authenticator.",
			})
			.catch(logMailFailure("security-notice")),
	);
}

export function registerAuthMfa(app: App) {
	app.openapi(emailCodeRoute, async (c) => {
		const { challengeToken } = c.req.valid("json");
		const { db, clock, mailer } = c.get("services");
		const now = clock.now();
		const challenge = await findChallenge(db, challengeToken, now);
		const user = challenge && (await getUser(db, challenge.userId));
		if (!challenge || !user) throw invalidChallenge();
		await assertMethodOffered(db, user, "email_code");
		const blocked = await userSessions(c.env, user.id).checkBlocked("mfa", now.getTime());
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
		const { challengeToken, method, code, credential } = c.req.valid("json");
		const answer = answerOf(method, code, credential);
		const { db, clock } = c.get("services");
		const now = clock.now();
		const challenge = await findChallenge(db, challengeToken, now);
		const user = challenge && (await getUser(db, challenge.userId));
		if (!challenge || !user) throw invalidChallenge();
		await assertMethodOffered(db, user, method);
		if (answer.method === "passkey") {
			await guardedUserCheck(
				c,
				user,
				{
					kind: "mfa",
					metadata: { method },
					onFailure: () => new ApiError("unauthorized", { detail: "The passkey could not be verified" }),
				},
				() =>
					verifyPasskeyAssertion(c, answer.credential, "second_factor", {
						userId: user.id,
						loginChallengeHash: challenge.tokenHash,
					}).then(
						() => true,
						(err: unknown) => {
							if (err instanceof WebAuthnRefusal) return false;
							throw err;
						},
					),
			);
			if (!(await consumeChallenge(db, challenge.tokenHash))) throw invalidChallenge();
			return completeLogin(c, user.id, ["password", "passkey"]);
		}
		const codeOf = answer.code;
		const pepper = c.env.KEY_PEPPER ?? "";
		// A recovery code is spent by checking it, so the challenge is claimed first: a concurrent
		// request cannot burn the code and lose the race for the session.
		if (answer.method === "recovery_code" && !(await consumeChallenge(db, challenge.tokenHash)))
			throw invalidChallenge();
		await guardedUserCheck(
			c,
			user,
			{
				kind: "mfa",
				metadata: { method },
				onFailure: () => new ApiError("unauthorized", { detail: "The code is not valid" }),
			},
			async () =>
				answer.method === "totp"
					? verifyUserTotp(db, c.env.TOTP_ENCRYPTION_KEY ?? "", user, codeOf, now)
					: answer.method === "recovery_code"
						? user.totpSecret !== null && consumeRecoveryCode(db, pepper, user.id, codeOf, now)
						: verifyEmailCode(db, pepper, challenge.tokenHash, codeOf, now),
		);
		// Single use: only the request that deletes the challenge signs in.
		if (answer.method !== "recovery_code" && !(await consumeChallenge(db, challenge.tokenHash)))
			throw invalidChallenge();
		if (answer.method !== "totp") await noticeFallbackSignIn(c, user, answer.method);
		return completeLogin(c, user.id, ["password", answer.method]);
	});
}
