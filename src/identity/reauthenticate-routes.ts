/**
 * `POST /v1/me/reauthenticate`: the proof of identity that sensitive actions
 * ask for (src/auth/recent-auth.ts). A full proof (ASVS 7.5.1): the password,
 * and the second factor too when the user has one, each checked under the
 * session's throttle (five failures end the session). One factor alone is not
 * enough: a stolen session plus one leaked code must not become a fresh proof.
 * Success issues a new session and ends the presented one (ASVS 7.2.4): the
 * fresh proof travels with a token that nobody could have copied before it.
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { userSessions } from "../durable/address";
import type { SessionFactor } from "../durable/session-store";
import { requireUser } from "../middleware/authorize";
import type { App, AppEnv } from "../platform/app-env";
import { validationError } from "../problems";
import { jsonBody, jsonContent, problemResponses } from "../routes/openapi-shared";
import { verifyPassword } from "../security/password-hash";
import { WebAuthnRefusal } from "../security/webauthn";
import { guardedUserCheck } from "./guarded-check";
import { personalTrail } from "./login";
import { currentUser, wrongSecret } from "./me-routes";
import { consumeRecoveryCode, verifyUserTotp } from "./mfa";
import { verifyPasskeyAssertion } from "./passkey-ceremony";
import { AssertionCredential } from "./passkey-schemas";
import { CodeField, PasswordField, publicSession, SessionSchema } from "./schemas";
import { requestMeta, sessionCookie, startSession } from "./sessions";
import type { UserRow } from "./users";

const Proof = z.strictObject({
	password: PasswordField.optional().openapi({
		description: "The user's password (unless `credential` is sent). Five wrong answers in a row end this session.",
	}),
	credential: AssertionCredential.optional().openapi({
		description:
			"Instead of the password and code: a passkey's answer (with user verification) to options from POST " +
			"/v1/auth/passkey/options, from one of the caller's own passkeys. It proves both factors.",
	}),
	method: z
		.enum(["totp", "recovery_code"])
		.optional()
		.openapi({
			description:
				"With a second factor (and only then): which one `code` is, `totp` or `recovery_code` (a recovery code " +
				"is used up by this)",
			example: "totp",
		}),
	code: CodeField.optional().openapi({
		description:
			"With a second factor (and only then): its current code, 6 digits for `totp`. Five wrong codes in a row end " +
			"this session.",
	}),
});

export const reauthenticateRoute = createRoute({
	method: "post",
	path: "/v1/me/reauthenticate",
	tags: ["Me"],
	summary: "Prove it is you again; answers a new session, and the presented one ends",
	description:
		'Send `{password}`, and with TOTP `{password, method: "totp" | "recovery_code", code}`: both ' +
		"factors, never one alone. Or `{credential}`: a passkey that verified the user, which is both (a user whose " +
		"only second factor is a passkey must use it). Five failures in this session end it. The new session " +
		"counts as a proof for ten minutes for every route that hands power out (keys with a reserved scope, " +
		"invitations, role changes, settings, webhooks, lifting a lockdown, ownership, deleting an account) and " +
		"for ending other sessions or changing the email.",
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
		if (proof.credential) {
			const extra = (["password", "method", "code"] as const).filter((k) => proof[k] !== undefined);
			if (extra.length > 0)
				throw validationError(
					extra.map((path) => ({ path, message: "Not with a passkey: it proves both factors" })),
					"Send the passkey alone, or the password and code",
				);
			const credential = proof.credential;
			await guardedUserCheck(
				c,
				user,
				{
					kind: "mfa",
					metadata: { factor: "passkey" },
					onFailure: () => wrongSecret("credential", "The passkey could not be verified"),
				},
				() =>
					verifyPasskeyAssertion(c, credential, "sign_in", { userId: user.id, userVerification: true }).then(
						() => true,
						(err: unknown) => {
							if (err instanceof WebAuthnRefusal) return false;
							throw err;
						},
					),
			);
			return proven(c, user, ["passkey"]);
		}
		if (proof.password === undefined)
			throw validationError([{ path: "password", message: "Required (or send credential)" }], "A proof is needed");
		if (user.totpSecret === null && user.passkeyCount > 0)
			throw validationError(
				[{ path: "credential", message: "Your second factor is a passkey: prove it is you with it" }],
				"A proof needs the password and the second factor",
			);
		const password = proof.password;
		const second = user.totpSecret !== null;
		if (second && (!proof.method || !proof.code))
			throw validationError(
				[
					...(proof.method
						? []
						: [{ path: "method", message: "Your account has a second factor: totp or recovery_code" }]),
					...(proof.code ? [] : [{ path: "code", message: "Your account has a second factor: send its code too" }]),
				],
				"A proof needs the password and the second factor",
			);
		if (!second && (proof.method || proof.code))
			throw validationError(
				[{ path: proof.method ? "method" : "code", message: "No second factor is enrolled; send the password alone" }],
				"No second factor is enrolled",
			);
		await guardedUserCheck(
			c,
			user,
			{
				kind: "password",
				metadata: { factor: "password" },
				onFailure: () => wrongSecret("password", "That is not right"),
			},
			async () => (await verifyPassword(password, user.passwordHash)).valid,
		);
		const { method, code } = proof;
		if (second && method && code)
			await guardedUserCheck(
				c,
				user,
				{ kind: "mfa", metadata: { factor: method }, onFailure: () => wrongSecret("code", "That is not right") },
				async () =>
					method === "totp"
						? verifyUserTotp(db, c.env.TOTP_ENCRYPTION_KEY ?? "", user, code, now)
						: consumeRecoveryCode(db, c.env.KEY_PEPPER ?? "", user.id, code, now),
			);
		return proven(c, user, second && method ? ["password", method] : ["password"]);
	});
}

/** The proof holds: a new session carries it (and its factors), and the presented one ends. */
async function proven(c: Context<AppEnv>, user: UserRow, factors: SessionFactor[]) {
	const principal = c.get("principal");
	const session = await replaceWithProvenSession(c, user.id, factors, {
		replaces: principal?.sessionId ?? null,
		cookie: principal?.via === "cookie",
	});
	return c.json({ session: publicSession(session) }, 200);
}

/**
 * The one transition of every proof of identity (a password and code, a passkey, a single sign-on
 * through the provider): a new session carries the proof, the replaced one ends, it is audited,
 * and a browser gets the new cookie.
 */
export async function replaceWithProvenSession(
	c: Context<AppEnv>,
	userId: string,
	factors: SessionFactor[],
	options: { replaces: string | null; cookie: boolean; provedAt?: number },
) {
	const { db, clock } = c.get("services");
	const now = clock.now();
	const session = await startSession(
		c.env,
		db,
		userId,
		requestMeta(c),
		now,
		factors,
		options.provedAt ?? now.getTime(),
	);
	if (options.replaces) await userSessions(c.env, userId).revokeSession(options.replaces);
	c.get("audit").record({
		action: "auth.reauthenticated",
		accountId: await personalTrail(c.get("services"), userId),
		actor: { type: "user", id: userId },
		target: { type: "session", id: session.id },
		metadata: { factor: factors.join("+"), replaced: options.replaces },
	});
	if (options.cookie) c.header("Set-Cookie", sessionCookie(session.token, session.maxAgeSeconds), { append: true });
	return session;
}
