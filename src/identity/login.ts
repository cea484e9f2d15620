/**
 * Password login with throttling. Unknown emails and wrong passwords take the
 * same path (a dummy hash is verified), give the same answer, and count the
 * same against the email and the client IP, so neither timing nor throttling
 * tells whether an account exists. Each attempt is counted before the password
 * is checked (in one Durable Object call with the check), so concurrent guesses
 * cannot outrun the throttle; a success forgives it.
 */

import { eq } from "drizzle-orm";
import { countFailedLogin } from "../alerts/failed-logins";
import type { AuditLog } from "../audit/emitter";
import { users } from "../db/schema";
import { emailThrottle, ipThrottle } from "../durable/address";
import { logMailFailure } from "../mail";
import type { Services } from "../platform/app-env";
import type { Env } from "../platform/env";
import { dummyPasswordHash, hashPassword, verifyPassword } from "../security/password-hash";
import { markIfBreached } from "./breached";
import { LOGIN_PER_EMAIL, LOGIN_PER_IP, LOGIN_PER_KNOWN_DEVICE } from "./throttle-policy";
import { findUserByEmail, membershipsOf, normalizeEmail, type UserRow } from "./users";

export type LoginOutcome =
	| { kind: "ok"; user: UserRow }
	| { kind: "failed" }
	| { kind: "throttled"; retryAfterSeconds: number; policy: { name: string; limit: number; windowSeconds: number } };

export async function attemptPasswordLogin(
	env: Env,
	services: Services,
	audit: AuditLog,
	input: { email: string; password: string; ip: string | null; deviceId?: string | null; requestId?: string | null },
	defer: (work: Promise<unknown>) => void,
): Promise<LoginOutcome> {
	const email = normalizeEmail(input.email);
	const now = services.clock.now().getTime();
	const byEmail = emailThrottle(env, email);
	const byIp = input.ip ? ipThrottle(env, input.ip) : null;
	// A device that has signed in to this email before counts only in its own streak: a neighbour
	// behind the same NAT (or in the same IPv6 /64) who fills the address's window cannot lock it out.
	const known = input.deviceId ? await byEmail.knowsDevice(input.deviceId) : false;
	// Otherwise the IP first: an attempt refused there never touches the email's streak.
	const ipAttempt = byIp && !known ? await byIp.beginWindowAttempt(now, LOGIN_PER_IP) : null;
	const emailAttempt =
		ipAttempt && !ipAttempt.allowed
			? null
			: await byEmail.beginLoginAttempt(now, input.deviceId ?? null, {
					unknown: LOGIN_PER_EMAIL,
					known: LOGIN_PER_KNOWN_DEVICE,
				});
	if (!emailAttempt?.allowed) {
		if (emailAttempt && ipAttempt?.allowed) await byIp?.forgiveWindowAttempt(now); // refused by the email, not tried
		audit.record({ action: "auth.login.failed", outcome: "failure", metadata: { reason: "throttled", email } });
		return {
			kind: "throttled",
			retryAfterSeconds: emailAttempt?.retryAfterSeconds ?? ipAttempt?.retryAfterSeconds ?? 1,
			policy: emailAttempt
				? { name: "login-email", limit: LOGIN_PER_EMAIL.backoffAfter, windowSeconds: LOGIN_PER_EMAIL.lockMs / 1000 }
				: { name: "login-ip", limit: LOGIN_PER_IP.max, windowSeconds: LOGIN_PER_IP.windowMs / 1000 },
		};
	}

	const user = await findUserByEmail(services.db, email);
	const { valid, needsRehash } = await verifyPassword(
		input.password,
		user?.passwordHash ?? (await dummyPasswordHash()),
	);
	// Looked up for unknown emails too, so both paths cost the same queries.
	const accountId = await personalTrail(services, user?.id ?? "");
	if (!user || !valid) {
		audit.record({
			action: "auth.login.failed",
			outcome: "failure",
			accountId,
			actor: { type: "user", id: user?.id ?? null },
			metadata: { reason: "bad_credentials", email, consecutiveFailures: emailAttempt.failures },
		});
		// After the response, like the lockout notice: a known email must answer as fast as an unknown one.
		if (user) defer(countFailedLogin(env, services, user.id, input.requestId ?? null).catch(logAlertFailure));
		if (emailAttempt.locksNow) {
			audit.record({
				action: "auth.lockout",
				outcome: "failure",
				accountId,
				actor: { type: "user", id: user?.id ?? null },
				metadata: { email },
			});
			// After the response, so a locked real account answers as fast as an unknown email.
			if (user) defer(notifyLockout(services, user));
		}
		return { kind: "failed" };
	}

	await Promise.all([byEmail.loginSucceeded(emailAttempt.streak), ipAttempt && byIp?.forgiveWindowAttempt(now)]);
	// After the response: the range API's latency is never the sign-in's.
	defer(markIfBreached(env, services, user.id, input.password).catch(() => undefined));
	if (needsRehash) {
		await services.db
			.update(users)
			.set({ passwordHash: await hashPassword(input.password) })
			.where(eq(users.id, user.id));
	}
	return { kind: "ok", user };
}

/** Login events of a known user go to the trail of an account they own, else the system stream. */
export async function personalTrail(services: Services, userId: string): Promise<string | null> {
	const owned = (await membershipsOf(services.db, userId)).find((m) => m.role === "owner");
	return owned?.accountId ?? null;
}

async function notifyLockout(services: Services, user: UserRow): Promise<void> {
	try {
		await services.mailer.send({
			to: user.email,
			subject: "Keyward: sign-in locked for 15 minutes",
			text:
				"There were 10 failed attempts to sign in to your Keyward account, so sign-in is locked for 15 minutes.\n" +
				"If this was not you, change your password once the lock ends and turn on two-factor authentication.",
		});
	} catch (err) {
		// The lockout stands whether or not the notice could be sent; the failure is logged.
		logMailFailure("lockout-notice")(err);
	}
}

function logAlertFailure(err: unknown): void {
	const error = err instanceof Error ? err.name : "unknown";
	console.error(JSON.stringify({ level: "error", msg: "failed-login counting failed", error }));
}
