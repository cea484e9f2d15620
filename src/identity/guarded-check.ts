/**
 * A secret check by a known user (second-factor code, or the password again
 * on /v1/me) under a throttle: the attempt is counted before the check, five
 * failures in a row lock that kind of check for 15 minutes, every failure is
 * audited, and a lockout is emailed.
 *
 * Whose streak: a check made by a signed-in session counts in that session's
 * own streak, and its fifth failure ends the session. A stolen session that
 * guesses therefore loses itself, and never locks its owner out of proving who
 * they are, or out of ending it. A check with no session (the second factor of
 * a sign-in, after the password) counts in the user's streak.
 */

import type { Context } from "hono";
import { userSessions } from "../durable/address";
import type { UserCheck } from "../durable/user-sessions";
import { logMailFailure } from "../mail";
import type { AppEnv } from "../platform/app-env";
import { ApiError } from "../problems";
import { throttledHeaders } from "../security/rate-limit-headers";
import { personalTrail } from "./login";
import { USER_CHECKS } from "./throttle-policy";
import type { UserRow } from "./users";

export interface GuardedCheck {
	kind: "mfa" | "password";
	/** Metadata for the audit events (e.g. the method); never the secret. */
	metadata?: Record<string, unknown>;
	/** The error for a wrong secret. */
	onFailure: () => ApiError;
}

export const throttledUserCheck = (kind: string, retryAfterSeconds: number, now: Date) =>
	new ApiError("quota-exceeded", {
		detail: `Too many failed ${kind === "mfa" ? "second-factor" : "password"} attempts; try again later`,
		headers: throttledHeaders(
			{ name: `user-${kind}`, limit: USER_CHECKS.lockAfter, windowSeconds: USER_CHECKS.lockMs / 1000, now },
			retryAfterSeconds,
		),
	});

export async function guardedUserCheck(
	c: Context<AppEnv>,
	user: UserRow,
	options: GuardedCheck,
	check: () => Promise<boolean>,
): Promise<void> {
	const services = c.get("services");
	const audit = c.get("audit");
	const now = services.clock.now();
	const guard = userSessions(c.env, user.id);
	const sessionId = c.get("principal")?.sessionId ?? null;
	const streak: UserCheck = sessionId ? `${options.kind}:${sessionId}` : options.kind;
	const attempt = await guard.beginCheck(streak, now.getTime(), USER_CHECKS);
	const accountId = await personalTrail(services, user.id);
	const failedAction = options.kind === "mfa" ? "auth.mfa.failed" : "auth.login.failed";
	const actor = { type: "user" as const, id: user.id };
	if (!attempt.allowed) {
		audit.record({
			action: failedAction,
			outcome: "failure",
			accountId,
			actor,
			metadata: { ...options.metadata, reason: "throttled" },
		});
		throw throttledUserCheck(options.kind, attempt.retryAfterSeconds, now);
	}
	if (await check()) {
		await guard.checkSucceeded(streak);
		return;
	}
	audit.record({
		action: failedAction,
		outcome: "failure",
		accountId,
		actor,
		metadata: { ...options.metadata, reason: "wrong_secret" },
	});
	if (attempt.locksNow) {
		const sessionEnded = sessionId ? await guard.revokeSession(sessionId) : false;
		audit.record({
			action: "auth.lockout",
			outcome: "failure",
			accountId,
			actor,
			metadata: { check: options.kind, ...(sessionId && { sessionEnded }) },
		});
		c.executionCtx.waitUntil(
			services.mailer
				.send({
					to: user.email,
					subject: `Keyward: ${options.kind === "mfa" ? "second-factor" : "password"} checks locked for 15 minutes`,
					text: sessionId
						? `There were ${USER_CHECKS.lockAfter} failed ${options.kind === "mfa" ? "second-factor" : "password"} attempts in one of your Keyward sessions, so that session was ended. If this was not you, change your password.`
						: `There were ${USER_CHECKS.lockAfter} failed ${options.kind === "mfa" ? "second-factor" : "password"} attempts on your Keyward account, so they are blocked for 15 minutes. If this was not you, change your password.`,
				})
				.catch(logMailFailure("security-notice")),
		);
	}
	throw options.onFailure();
}
