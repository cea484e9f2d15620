import { createRoute, z } from "@hono/zod-openapi";
import { claimAddress } from "../accounts/claim";
import { logMailFailure } from "../mail";
import type { App } from "../platform/app-env";
import { ApiError } from "../problems";
import { jsonBody, problemResponses } from "../routes/openapi-shared";
import { assertPasswordNotBreached } from "./breached";
import { consumeEmailToken, consumeEmailTokenWithSubject, issueEmailToken, peekEmailToken } from "./email-tokens";
import { personalTrail } from "./login";
import { removePasskeysStatements } from "./passkeys";
import { endEveryAccess, RESET_MAIL } from "./password-reset";
import { takeAddressQuota, takeQuota } from "./quotas";
import { assertPasswordAcceptable, EmailField, NewPasswordField, TokenFrom } from "./schemas";
import { findUserByEmail, getUser, membershipsOf, normalizeEmail, setPassword } from "./users";

export const passwordResetRoute = createRoute({
	method: "post",
	path: "/v1/auth/password-reset",
	tags: ["Authentication"],
	summary: "Email a reset token if the address has an account; always 202 (no account enumeration)",
	request: {
		body: jsonBody(
			z.strictObject({
				email: EmailField.openapi({
					description:
						"The address to reset. The answer is 202 whether or not it has an account. At most 3 requests an " +
						"hour for one address, and 10 from one client address (then 429).",
				}),
			}),
		),
	},
	responses: { 202: { description: "Accepted" }, ...problemResponses(400, 429) },
});

export const passwordResetConfirmRoute = createRoute({
	method: "post",
	path: "/v1/auth/password-reset/confirm",
	tags: ["Authentication"],
	summary: "Set a new password with the emailed token (single use, 30 minutes); every session of the user ends",
	description:
		"The token proves the address. For a user whose address was not yet verified, it becomes verified, and " +
		"everything set up before that proof is undone: the keys, invitations, webhooks and other members of the " +
		"accounts they own, and their second factor (a squatter may have enrolled their own authenticator).",
	request: {
		body: jsonBody(
			z.strictObject({
				token: TokenFrom("The code from the reset email (single use, 30 minutes)"),
				newPassword: NewPasswordField,
			}),
		),
	},
	responses: { 204: { description: "Password changed" }, ...problemResponses(400, 503) },
});

export const notMeRoute = createRoute({
	method: "post",
	path: "/v1/auth/not-me",
	tags: ["Authentication"],
	summary: '"This wasn\'t me": signs the user out everywhere, stops the password working and starts a reset',
	description:
		"For the code in a new-device notice. Whoever signed in knew the password, so ending that one session is " +
		"not enough: every session of the user ends, pending sign-ins end, the password stops working, every " +
		"passkey is removed, devices stop being known to the address, and a reset code goes to the address.",
	request: {
		body: jsonBody(z.strictObject({ token: TokenFrom("The code from the new-device notice (single use, 7 days)") })),
	},
	responses: { 204: { description: "The session ended; a reset code went to the address" }, ...problemResponses(400) },
});

export function registerPasswordReset(app: App) {
	app.openapi(notMeRoute, async (c) => {
		const { db, clock, mailer } = c.get("services");
		const now = clock.now();
		const spent = await consumeEmailTokenWithSubject(db, c.req.valid("json").token, "not_me", now);
		const user = spent && (await getUser(db, spent.userId));
		if (!spent || !user)
			throw new ApiError("validation", {
				detail: "Invalid or expired code",
				errors: [{ path: "token", message: "Invalid or expired code" }],
			});
		// Nobody knows this password: the user sets a new one from the reset code. Whoever signed in
		// may have added a passkey, which needs no password: every passkey goes too.
		await setPassword(db, user.id, null);
		const [removed] = await db.batch(removePasskeysStatements(db, user.id));
		const sessionsEnded = await endEveryAccess(c.env, db, user);
		const reset = await issueEmailToken(db, user.id, "password_reset", now);
		c.executionCtx.waitUntil(
			mailer.send({ to: user.email, ...RESET_MAIL.afterNotMe(reset) }).catch(logMailFailure("password-reset")),
		);
		c.get("audit").record({
			action: "auth.not_me",
			accountId: await personalTrail(c.get("services"), user.id),
			actor: { type: "user", id: user.id },
			target: spent.subject ? { type: "session", id: spent.subject } : null,
			metadata: { sessionsEnded, passwordDisabled: true, webauthnRemoved: removed.length },
		});
		return c.body(null, 204);
	});

	app.openapi(passwordResetRoute, async (c) => {
		const { email } = c.req.valid("json");
		const { db, clock, mailer } = c.get("services");
		// Counted whether or not the address has an account, so a 429 says nothing about that.
		await takeAddressQuota(c, "reset-per-address");
		await takeQuota(c, "reset-per-email", normalizeEmail(email));
		// Everything after the answer, so it takes as long whether or not the account exists.
		c.executionCtx.waitUntil(
			(async () => {
				const user = await findUserByEmail(db, email);
				if (!user) return;
				const token = await issueEmailToken(db, user.id, "password_reset", clock.now());
				await mailer.send({ to: user.email, ...RESET_MAIL.requested(token) });
			})().catch(logMailFailure("password-reset")),
		);
		return c.body(null, 202);
	});

	app.openapi(passwordResetConfirmRoute, async (c) => {
		const { token, newPassword } = c.req.valid("json");
		const { db, clock } = c.get("services");
		const invalidToken = () =>
			new ApiError("validation", {
				detail: "Invalid or expired token",
				errors: [{ path: "token", message: "Invalid or expired token" }],
			});
		// The password is checked before the token is spent, so a rejected password does not burn the token.
		const owner = await peekEmailToken(db, token, "password_reset", clock.now());
		const user = owner ? await getUser(db, owner) : undefined;
		if (!user) throw invalidToken();
		const composition = (await membershipsOf(db, user.id)).some((m) => m.settings.passwordComposition);
		assertPasswordAcceptable(c.env, "newPassword", newPassword, user.email, composition);
		await assertPasswordNotBreached(c, "newPassword", newPassword);
		if ((await consumeEmailToken(db, token, "password_reset", clock.now())) !== user.id) throw invalidToken();
		await setPassword(db, user.id, newPassword);
		const ended = await endEveryAccess(c.env, db, user);
		// The emailed token proves the address: what was set up before that proof is undone.
		const claimed = await claimAddress(c.env, db, user.id, clock.now());
		c.get("audit").record({
			action: "auth.password.changed",
			accountId: await personalTrail(c.get("services"), user.id),
			actor: { type: "user", id: user.id },
			target: { type: "user", id: user.id },
			metadata: {
				via: "reset",
				sessionsEnded: ended,
				...(claimed && { addressClaimed: true, keysRevoked: claimed.keysRevoked, accounts: claimed.accounts }),
			},
		});
		return c.body(null, 204);
	});
}
