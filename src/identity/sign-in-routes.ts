import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { Alert } from "../alerts";
import { raiseAlertFrom } from "../alerts/raise";
import { emailThrottle, userSessions } from "../durable/address";
import type { SessionFactor } from "../durable/session-store";
import { logMailFailure } from "../mail";
import { requireUser } from "../middleware/authorize";
import type { App, AppEnv } from "../platform/app-env";
import { consoleUrl } from "../platform/console-url";
import { ApiError } from "../problems";
import {
	EXAMPLE_SECRETS,
	FreeText,
	IssuedId,
	jsonBody,
	jsonContent,
	problemResponses,
	Timestamp,
} from "../routes/openapi-shared";
import { hashPassword } from "../security/password-hash";
import { throttledHeaders } from "../security/rate-limit-headers";
import { decideSignIn, enforcingAccount } from "../sso/enforcement";
import { assertPasswordNotBreached } from "./breached";
import { deviceIdOf, newDevice } from "./devices";
import { addressInUse } from "./email-change";
import { consumeEmailToken, issueEmailToken, peekEmailToken } from "./email-tokens";
import { attemptPasswordLogin, personalTrail } from "./login";
import { createChallenge, mfaMethodsOf } from "./mfa";
import { noticeSignIn } from "./new-device";
import { takeAddressQuota, takeQuota } from "./quotas";
import {
	assertPasswordAcceptable,
	EmailField,
	NewPasswordField,
	PasswordField,
	publicSession,
	RecommendationsSchema,
	SessionSchema,
	TokenFrom,
	UserSchema,
} from "./schemas";
import { clearedSessionCookie, requestMeta, sessionCookie, startSession } from "./sessions";
import {
	createUserWithAccount,
	getUser,
	hasSecondFactor,
	markEmailVerified,
	membershipsOf,
	publicUser,
	recommendationsFor,
} from "./users";

const AccountSummary = z
	.object({
		id: IssuedId("acc", "The account's id"),
		name: z
			.string()
			.openapi({ description: "Named after the user: `<name>'s account`", example: "Ada Lovelace's account" }),
		createdAt: Timestamp("When it was made: at sign-up", "2026-01-12T08:15:00.000Z"),
	})
	.openapi({ description: "The personal account made for the new user, who owns it" });

export const signupRoute = createRoute({
	method: "post",
	path: "/v1/auth/signup",
	tags: ["Authentication"],
	summary: "Create a user, their personal account and a session; a verification email is sent",
	request: {
		body: jsonBody(
			z.strictObject({
				email: EmailField.openapi({
					description:
						"The new user's email address (at most 254 characters). A verification code goes there; until the " +
						"address is verified, the user's accounts grant nothing. An address already in use is 409.",
				}),
				password: NewPasswordField,
				name: FreeText(100).openapi({
					description: "The user's name: 1 to 100 characters after trimming, no control characters",
					example: "Ada Lovelace",
				}),
			}),
		),
	},
	responses: {
		201: jsonContent(
			z.object({
				user: UserSchema,
				account: AccountSummary,
				session: SessionSchema,
				recommendations: RecommendationsSchema,
			}),
			"Signed up",
		),
		...problemResponses(400, 409, 413, 415, 429, 503),
	},
});

export const verifyEmailRoute = createRoute({
	method: "post",
	path: "/v1/auth/verify-email",
	tags: ["Authentication"],
	summary: "Confirm the email address with the emailed token (single use, 24 hours), signed in as its user",
	description:
		"Needs the session of the user the email was sent to. Anyone can sign up with someone else's address; if " +
		"the address's real owner could verify it with the emailed code alone, the squatter's session would " +
		"inherit a verified account. The real owner claims such an address with a password reset instead, which " +
		"undoes what was set up before the proof.",
	middleware: [requireUser()] as const,
	request: {
		body: jsonBody(z.strictObject({ token: TokenFrom("The code from the verification email (single use, 24 hours)") })),
	},
	responses: { 204: { description: "Verified" }, ...problemResponses(400, 401, 403) },
});

export const resendVerificationRoute = createRoute({
	method: "post",
	path: "/v1/auth/verify-email/resend",
	tags: ["Authentication"],
	summary: "Send the signed-in user a new verification email (3 an hour); the earlier code stops working",
	middleware: [requireUser()] as const,
	responses: { 202: { description: "Sent (or already verified: nothing to send)" }, ...problemResponses(401, 429) },
});

const MfaChallenge = z
	.object({
		token: z.string().openapi({
			description:
				"Send it as `challengeToken` to POST /v1/auth/mfa/verify (and to POST /v1/auth/mfa/email-code for an " +
				"emailed code). Single use. The example is made up.",
			example: EXAMPLE_SECRETS.opaqueToken,
		}),
		methods: z.array(z.enum(["passkey", "totp", "recovery_code", "email_code"])).openapi({
			description:
				"The second factors that can finish this sign-in: `passkey` when the user has one (options from POST " +
				"/v1/auth/mfa/passkey-options), `totp` and `recovery_code` with an authenticator app, and `email_code` " +
				"when the address is verified and none of the user's accounts turns `emailCodeSecondFactor` off",
			example: ["passkey", "totp", "recovery_code", "email_code"],
		}),
		expiresAt: Timestamp(
			"When the challenge expires: 10 minutes after the password was accepted",
			"2026-03-02T09:40:00.000Z",
		),
	})
	.openapi({ description: "The second-factor challenge to answer" });

export const loginRoute = createRoute({
	method: "post",
	path: "/v1/auth/login",
	tags: ["Authentication"],
	summary: "Password login; answers a second-factor challenge instead of a session when the user has MFA",
	request: {
		body: jsonBody(
			z.strictObject({
				email: EmailField.openapi({ description: "The user's email address (any case)" }),
				password: PasswordField.openapi({
					description:
						"The user's password. A wrong email and a wrong password get the same 401; repeated failures are " +
						"throttled per email and per address (429 with Retry-After).",
				}),
			}),
		),
	},
	responses: {
		200: jsonContent(
			z.union([
				z.object({ session: SessionSchema, user: UserSchema }),
				z.object({
					mfaRequired: z.literal(true).openapi({
						description: "Present, and true, when the user has a second factor: no session yet",
						example: true,
					}),
					challenge: MfaChallenge,
				}),
			]),
			"A session, or a second-factor challenge",
		),
		...problemResponses(400, 401, 413, 415, 429),
	},
});

export const logoutRoute = createRoute({
	method: "post",
	path: "/v1/auth/logout",
	tags: ["Authentication"],
	summary: "End the current session everywhere at once",
	middleware: [requireUser()] as const,
	responses: { 204: { description: "Logged out" }, ...problemResponses(401, 403) },
});

const VERIFICATION_SUBJECT = "Keyward: confirm your email address";
const verificationText = (token: string, console: string) =>
	`Confirm your email address for Keyward (valid 24 hours): open this link in the browser you use Keyward in.\n\n` +
	`${console}/verify-email?token=${token}\n\n` +
	`Or enter this code on the Security page:\n\n${token}\n`;

export function registerAuth(app: App) {
	app.openapi(signupRoute, async (c) => {
		const input = c.req.valid("json");
		const { db, clock, mailer } = c.get("services");
		await takeAddressQuota(c, "signup-per-address");
		assertPasswordAcceptable(c.env, "password", input.password, input.email);
		await assertPasswordNotBreached(c, "password", input.password);
		if (await addressInUse(db, input.email, clock.now())) {
			throw new ApiError("conflict", { detail: "An account with this email already exists; sign in instead" });
		}
		const now = clock.now();
		const { user, account } = await createUserWithAccount(db, {
			...input,
			passwordHash: await hashPassword(input.password),
			now,
		}).catch((err: unknown) => {
			if (String(err).includes("UNIQUE"))
				throw new ApiError("conflict", { detail: "An account with this email already exists" });
			throw err;
		});
		const session = await startSession(c.env, db, user.id, requestMeta(c), now, ["password"]);
		// The browser that signed up is the account's first known device.
		const device = await newDevice(c.env.KEY_PEPPER ?? "");
		await emailThrottle(c.env, user.email).rememberDevice(device.id, now.getTime());
		await noticeSignIn(c, user, session.id, device.id);
		c.header("Set-Cookie", device.cookie, { append: true });
		const token = await issueEmailToken(db, user.id, "verify_email", now);
		// After the response: a mail outage must not fail a sign-up that already happened.
		c.executionCtx.waitUntil(
			mailer
				.send({
					to: user.email,
					subject: VERIFICATION_SUBJECT,
					text: verificationText(token, consoleUrl(c.env, c.req.url)),
				})
				.catch(logMailFailure("email-verification")),
		);
		const audit = c.get("audit");
		audit.accountId = account.id;
		audit.record({
			action: "auth.signup",
			actor: { type: "user", id: user.id },
			target: { type: "user", id: user.id },
		});
		c.header("Set-Cookie", sessionCookie(session.token, session.maxAgeSeconds), { append: true });
		return c.json(
			{
				user: publicUser(user),
				recommendations: recommendationsFor(user),
				account: { id: account.id, name: account.name, createdAt: account.createdAt.toISOString() },
				session: publicSession(session),
			},
			201,
		);
	});

	app.openapi(verifyEmailRoute, async (c) => {
		const { token } = c.req.valid("json");
		const { db, clock } = c.get("services");
		const holder = await peekEmailToken(db, token, "verify_email", clock.now());
		if (holder && holder !== c.get("principal")?.userId)
			throw new ApiError("forbidden", { detail: "Sign in as the user this email was sent to, then verify" });
		const userId = holder && (await consumeEmailToken(db, token, "verify_email", clock.now()));
		if (!userId) {
			throw new ApiError("validation", {
				detail: "Invalid or expired token",
				errors: [{ path: "token", message: "Invalid or expired token" }],
			});
		}
		await markEmailVerified(db, userId, clock.now());
		return c.body(null, 204);
	});

	app.openapi(resendVerificationRoute, async (c) => {
		const { db, clock, mailer } = c.get("services");
		const user = await getUser(db, c.get("principal")?.userId ?? "");
		if (!user) throw new ApiError("unauthorized");
		if (user.emailVerifiedAt) return c.body(null, 202);
		await takeQuota(c, "verification-per-user", user.id);
		const token = await issueEmailToken(db, user.id, "verify_email", clock.now());
		c.executionCtx.waitUntil(
			mailer
				.send({
					to: user.email,
					subject: VERIFICATION_SUBJECT,
					text: verificationText(token, consoleUrl(c.env, c.req.url)),
				})
				.catch(logMailFailure("email-verification")),
		);
		return c.body(null, 202);
	});

	app.openapi(loginRoute, async (c) => {
		const input = c.req.valid("json");
		const services = c.get("services");
		const meta = requestMeta(c);
		const outcome = await attemptPasswordLogin(
			c.env,
			services,
			c.get("audit"),
			{
				...input,
				ip: meta.ip,
				deviceId: await deviceIdOf(c, c.env.KEY_PEPPER ?? ""),
				requestId: c.get("requestId"),
			},
			(work) => c.executionCtx.waitUntil(work),
		);
		if (outcome.kind === "throttled") {
			throw new ApiError("quota-exceeded", {
				detail: "Too many failed sign-in attempts; try again later",
				headers: throttledHeaders({ ...outcome.policy, now: services.clock.now() }, outcome.retryAfterSeconds),
			});
		}
		if (outcome.kind === "failed") throw new ApiError("unauthorized", { detail: "Invalid email or password" });

		const { user } = outcome;
		if (hasSecondFactor(user)) {
			const challenge = await createChallenge(services.db, user.id, services.clock.now());
			return c.json(
				{
					mfaRequired: true as const,
					challenge: {
						token: challenge.token,
						methods: mfaMethodsOf(
							user,
							(await membershipsOf(services.db, user.id)).map((m) => m.settings),
						),
						expiresAt: challenge.expiresAt.toISOString(),
					},
				},
				200,
			);
		}
		return completeLogin(c, user.id, ["password"]);
	});

	app.openapi(logoutRoute, async (c) => {
		const principal = c.get("principal");
		if (principal?.sessionId) {
			await userSessions(c.env, principal.userId).revokeSession(principal.sessionId);
			c.get("audit").record({
				action: "session.revoked",
				target: { type: "session", id: principal.sessionId },
				metadata: { reason: "logout" },
			});
		}
		c.header("Set-Cookie", clearedSessionCookie());
		return c.body(null, 204);
	});
}

/**
 * Issues the session at the end of a successful login (password alone, or password and second
 * factor). The factors that proved it are on the sign-in event (ASVS 16.3.1).
 */
export async function completeLogin(
	c: Parameters<Parameters<App["openapi"]>[1]>[0],
	userId: string,
	factors: readonly SessionFactor[],
) {
	const { session, user } = await issueSignIn(c, userId, factors);
	return c.json({ session: publicSession(session), user: publicUser(user) }, 200);
}

/**
 * The end of every sign-in (password, second factor, passkey, single sign-on): the session, the
 * browser remembered, the sign-in noticed and audited, and the session cookie set.
 */
export async function issueSignIn(
	c: Context<AppEnv>,
	userId: string,
	factors: readonly SessionFactor[],
	metadata: Record<string, unknown> = {},
	/** When the person proved themselves, when not now (a single sign-on: the provider's `auth_time`). */
	provedAt?: number,
) {
	const { db, clock } = c.get("services");
	const user = await getUser(db, userId);
	if (!user) throw new ApiError("unauthorized", { detail: "Invalid email or password" });
	const verdict = decideSignIn(await enforcingAccount(db, user.id, user.email), factors);
	if (!verdict.allowed)
		throw new ApiError("sso-required", {
			detail:
				"Your organisation signs you in with single sign-on: open " +
				`/v1/auth/sso/start?email=${encodeURIComponent(user.email)}`,
		});
	const session = await startSession(
		c.env,
		db,
		user.id,
		requestMeta(c),
		clock.now(),
		factors,
		provedAt ?? clock.now().getTime(),
	);
	// The browser is known to this email from now on (its own login budget; src/identity/devices.ts).
	const pepper = c.env.KEY_PEPPER ?? "";
	const known = await deviceIdOf(c, pepper);
	const device = known ? { id: known, cookie: null } : await newDevice(pepper);
	await emailThrottle(c.env, user.email).rememberDevice(device.id, clock.now().getTime());
	if (device.cookie) c.header("Set-Cookie", device.cookie, { append: true });
	await noticeSignIn(c, user, session.id, known);
	c.get("audit").record({
		action: "auth.login.succeeded",
		accountId: await personalTrail(c.get("services"), user.id),
		actor: { type: "user", id: user.id },
		target: { type: "session", id: session.id },
		metadata: { factors, ...metadata },
	});
	if ("breakGlass" in verdict) {
		c.get("audit").record({
			action: "auth.sso.break_glass",
			accountId: verdict.breakGlass,
			actor: { type: "user", id: user.id },
			target: { type: "session", id: session.id },
			metadata: { factors },
		});
		raiseAlertFrom(c, breakGlassAlert(verdict.breakGlass, user.id, factors));
	}
	c.header("Set-Cookie", sessionCookie(session.token, session.maxAgeSeconds), { append: true });
	return { session, user };
}

/** The owner and admins hear of every break-glass sign-in while single sign-on is enforced. */
const breakGlassAlert = (accountId: string, userId: string, factors: readonly SessionFactor[]): Alert => ({
	accountId,
	type: "alert.sso_break_glass",
	subject: "Keyward: the owner signed in without single sign-on",
	text:
		`The owner (${userId}) of account ${accountId} signed in with ${factors.join(" and ")} while single sign-on ` +
		"is enforced (the break-glass path). If that was not expected, lock the account down.",
	data: { userId, factors },
	target: { type: "user", id: userId },
	actor: { type: "user", id: userId },
});
