/**
 * Password login with throttling. Unknown emails and wrong passwords take the
 * same path (a dummy hash is verified), give the same answer, and count the
 * same against the email and the client IP, so neither timing nor throttling
 * tells whether an account exists.
 */
import { eq } from "drizzle-orm";
import type { Services } from "../app-env";
import type { AuditLog } from "../audit/emitter";
import { users } from "../db/schema";
import { emailThrottleObject, ipThrottleObject } from "../durable/address";
import type { Env } from "../env";
import { dummyPasswordHash, hashPassword, verifyPassword } from "../security/password-hash";
import { findUserByEmail, membershipsOf, normalizeEmail, type UserRow } from "./users";

export type LoginOutcome =
	| { kind: "ok"; user: UserRow }
	| { kind: "failed" }
	| { kind: "throttled"; retryAfterSeconds: number };

export async function attemptPasswordLogin(
	env: Env,
	services: Services,
	audit: AuditLog,
	input: { email: string; password: string; ip: string | null },
): Promise<LoginOutcome> {
	const email = normalizeEmail(input.email);
	const now = services.clock.now().getTime();
	const byEmail = emailThrottleObject(env, email);
	const byIp = input.ip ? ipThrottleObject(env, input.ip) : null;
	const [emailVerdict, ipVerdict] = await Promise.all([byEmail.checkLogin(now), byIp?.checkIp(now)]);
	const refused = [emailVerdict, ipVerdict].filter((v) => v && !v.allowed);
	if (refused.length > 0) {
		const retryAfterSeconds = Math.max(...refused.map((v) => v?.retryAfterSeconds ?? 1));
		audit.record({ action: "auth.login.failed", outcome: "failure", metadata: { reason: "throttled", email } });
		return { kind: "throttled", retryAfterSeconds };
	}

	const user = await findUserByEmail(services.db, email);
	const { valid, needsRehash } = await verifyPassword(
		input.password,
		user?.passwordHash ?? (await dummyPasswordHash()),
	);
	if (!user || !valid) {
		const [streak] = await Promise.all([byEmail.recordLoginFailure(now), byIp?.recordIpFailure(now)]);
		// Looked up for unknown emails too, so both paths cost the same queries.
		const accountId = await personalTrail(services, user?.id ?? "");
		audit.record({
			action: "auth.login.failed",
			outcome: "failure",
			accountId,
			actor: { type: "user", id: user?.id ?? null },
			metadata: { reason: "bad_credentials", email, consecutiveFailures: streak.failures },
		});
		if (streak.locked) {
			audit.record({
				action: "auth.lockout",
				outcome: "failure",
				accountId,
				actor: { type: "user", id: user?.id ?? null },
				metadata: { email },
			});
			if (user) await notifyLockout(services, user);
		}
		return { kind: "failed" };
	}

	await byEmail.recordLoginSuccess();
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
	} catch {
		// The lockout stands whether or not the notice could be sent.
	}
}
