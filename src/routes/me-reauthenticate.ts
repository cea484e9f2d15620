/**
 * `POST /v1/me/reauthenticate`: the proof of identity that sensitive actions
 * ask for (src/auth/recent-auth.ts). The password, or a TOTP or recovery code,
 * checked under the same per-user throttle as every other re-entered secret.
 * Success issues a new session and ends the presented one (ASVS 7.2.4): the
 * fresh proof travels with a token that nobody could have copied before it.
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { App } from "../app";
import { userSessions } from "../durable/address";
import { guardedUserCheck } from "../identity/guarded-check";
import { personalTrail } from "../identity/login";
import { consumeRecoveryCode, verifyUserTotp } from "../identity/mfa";
import { requestMeta, sessionCookie, startSession } from "../identity/sessions";
import { requireUser } from "../middleware/authorize";
import { verifyPassword } from "../security/password-hash";
import { CodeField, PasswordField, publicSession, SessionSchema } from "./identity-schemas";
import { currentUser, wrongSecret } from "./me";
import { jsonBody, jsonContent, problemResponses } from "./openapi-shared";

const Proof = z.union([
	z.strictObject({ password: PasswordField }),
	z.strictObject({ method: z.enum(["totp", "recovery_code"]), code: CodeField }),
]);

export const reauthenticateRoute = createRoute({
	method: "post",
	path: "/v1/me/reauthenticate",
	tags: ["Me"],
	summary: "Prove it is you again; answers a new session, and the presented one ends",
	description:
		'Send `{password}`, or `{method: "totp" | "recovery_code", code}`. Throttled like every re-entered ' +
		"secret: five failures lock that kind of check for 15 minutes (429 with Retry-After). The new session " +
		"counts as a proof for ten minutes: transfer ownership, delete an account, create a key with a reserved " +
		"scope, end other sessions, change the email, `ipAllowlist` or `requireMfa`.",
	middleware: [requireUser()] as const,
	request: { body: jsonBody(Proof) },
	responses: {
		200: jsonContent(z.object({ session: SessionSchema }), "Proved; use the new token from now on"),
		...problemResponses(400, 401, 429),
	},
});

export function registerMeReauthenticate(app: App) {
	app.openapi(reauthenticateRoute, async (c) => {
		const proof = c.req.valid("json");
		const user = await currentUser(c);
		const { db, clock } = c.get("services");
		const now = clock.now();
		const factor = "password" in proof ? "password" : proof.method;
		const wrong = () => wrongSecret("password" in proof ? "password" : "code", "That is not right");
		if ("password" in proof) {
			await guardedUserCheck(
				c,
				user,
				{ kind: "password", metadata: { factor }, onFailure: wrong },
				async () => (await verifyPassword(proof.password, user.passwordHash)).valid,
			);
		} else {
			await guardedUserCheck(c, user, { kind: "mfa", metadata: { factor }, onFailure: wrong }, async () =>
				proof.method === "totp"
					? verifyUserTotp(db, c.env.TOTP_ENCRYPTION_KEY ?? "", user, proof.code, now)
					: user.totpSecret !== null && consumeRecoveryCode(db, c.env.KEY_PEPPER ?? "", user.id, proof.code, now),
			);
		}
		const principal = c.get("principal");
		const session = await startSession(c.env, db, user.id, requestMeta(c), now);
		if (principal?.sessionId) await userSessions(c.env, user.id).revokeSession(principal.sessionId);
		c.get("audit").record({
			action: "auth.reauthenticated",
			accountId: await personalTrail(c.get("services"), user.id),
			target: { type: "session", id: session.id },
			metadata: { factor, replaced: principal?.sessionId ?? null },
		});
		if (principal?.via === "cookie") c.header("Set-Cookie", sessionCookie(session.token, session.maxAgeSeconds));
		return c.json({ session: publicSession(session) }, 200);
	});
}
