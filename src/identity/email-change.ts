/**
 * Changing the address an account is reached at, without letting a stolen
 * session take the account (ASVS 6.4, 7.5.1). Starting needs a fresh proof of
 * identity; the change applies only when the new address confirms; the old
 * address is told at once and can, for 72 hours, cancel it, which also locks
 * the account: every session ends, the password and the second factor stop
 * working, and a reset link goes to the old address. Whoever could start the
 * change knew the password, so nothing they set up is trusted after that.
 *
 * Two rules keep the cancel worth something: while a confirmed change can
 * still be cancelled, the old address stays reserved (nobody can sign up with
 * it or move to it, so the cancel can always give it back), and no further
 * change can start (a second change would send its cancel code to the new,
 * possibly the attacker's, address and replace the first one's).
 */
import { and, eq, gt, inArray, ne } from "drizzle-orm";
import type { Database } from "../db";
import { emailTokens, recoveryCodes, users } from "../db/schema";
import { userSessions } from "../durable/address";
import type { Services } from "../platform/app-env";
import type { Env } from "../platform/env";
import { ApiError } from "../problems";
import { hashPassword } from "../security/password-hash";
import { mintOpaqueToken } from "../security/secret-formats";
import { forgetDevices } from "./devices";
import { consumeEmailTokenWithSubject, issueEmailToken } from "./email-tokens";
import { endPendingSignIns } from "./mfa";
import { findUserByEmail, getUser, normalizeEmail, type UserRow } from "./users";

const taken = () => new ApiError("conflict", { detail: "Another account uses that address" });

/**
 * Whether the address belongs to someone: a user's address, or an address a user moved away from
 * less than 72 hours ago (reserved for the cancel). `except`: the user asking, whose own old
 * address is theirs to go back to.
 */
export async function addressInUse(db: Database, email: string, now: Date, except?: string): Promise<boolean> {
	const address = normalizeEmail(email);
	if (await findUserByEmail(db, address)) return true;
	const reserved = await db.query.emailTokens.findFirst({
		where: and(
			eq(emailTokens.purpose, "email_change_cancel"),
			eq(emailTokens.subject, address),
			gt(emailTokens.expiresAt, now),
			except ? ne(emailTokens.userId, except) : undefined,
		),
	});
	return reserved !== undefined;
}

/** Sends the confirmation to the new address and the notice (with its cancel link) to the old one. */
export async function startEmailChange(services: Services, user: UserRow, requested: string) {
	const { db, clock, mailer } = services;
	const newEmail = normalizeEmail(requested);
	if (newEmail === user.email) throw new ApiError("conflict", { detail: "That is already your address" });
	const now = clock.now();
	if (await addressInUse(db, newEmail, now, user.id)) throw taken();
	const cancellable = await db.query.emailTokens.findFirst({
		where: and(
			eq(emailTokens.userId, user.id),
			eq(emailTokens.purpose, "email_change_cancel"),
			ne(emailTokens.subject, user.email),
			gt(emailTokens.expiresAt, now),
		),
	});
	if (cancellable)
		throw new ApiError("conflict", {
			detail: `Your address changed less than 72 hours ago; a new change can start once the old address can no longer cancel it (${cancellable.expiresAt.toISOString()})`,
		});
	const confirm = await issueEmailToken(db, user.id, "email_change_confirm", now, { subject: newEmail });
	const cancel = await issueEmailToken(db, user.id, "email_change_cancel", now, { subject: user.email });
	await Promise.all([
		mailer.send({
			to: newEmail,
			subject: "Keyward: confirm your new email address",
			text: `Confirm that Keyward should reach you here from now on (valid 24 hours):\n\n${confirm}\n`,
		}),
		mailer.send({
			to: user.email,
			subject: "Keyward: your email address is being changed",
			text:
				`Someone asked to move your Keyward account to ${newEmail}. If it was not you, cancel it within 72 hours ` +
				`with this code; your account will be locked and a password reset sent here:\n\n${cancel}\n`,
		}),
	]);
	return { newEmail, expiresAt: new Date(now.getTime() + 24 * 3_600_000) };
}

/** Applies a confirmed change; other sessions end. Returns the user before and after. */
export async function confirmEmailChange(env: Env, services: Services, token: string, keepSession: string | null) {
	const { db, clock } = services;
	const spent = await consumeEmailTokenWithSubject(db, token, "email_change_confirm", clock.now());
	const user = spent && (await getUser(db, spent.userId));
	if (!spent?.subject || !user) return null;
	if (await addressInUse(db, spent.subject, clock.now(), user.id)) throw taken();
	const [updated] = await db
		.update(users)
		.set({ email: spent.subject, emailVerifiedAt: clock.now() })
		.where(eq(users.id, user.id))
		.returning();
	const sessionsEnded = await userSessions(env, user.id).revokeSessionsExcept(keepSession);
	return { before: user, after: updated ?? user, sessionsEnded };
}

/**
 * The old address says it was not them: the address goes back, and the account is locked
 * until the owner of the old address resets the password.
 */
export async function cancelEmailChange(env: Env, services: Services, token: string) {
	const { db, clock, mailer } = services;
	const now = clock.now();
	const spent = await consumeEmailTokenWithSubject(db, token, "email_change_cancel", now);
	const user = spent && (await getUser(db, spent.userId));
	if (!spent?.subject || !user) return null;
	const original = spent.subject;
	const revert = user.email !== original && !(await findUserByEmail(db, original));
	await db.batch([
		db
			.update(users)
			.set({
				...(revert ? { email: original, emailVerifiedAt: now } : {}),
				// Nobody knows this password: the account waits for a reset from the old address.
				passwordHash: await hashPassword(mintOpaqueToken()),
				totpSecret: null,
				totpPendingSecret: null,
				totpLastStep: null,
			})
			.where(eq(users.id, user.id)),
		db.delete(recoveryCodes).where(eq(recoveryCodes.userId, user.id)),
		db
			.delete(emailTokens)
			.where(and(eq(emailTokens.userId, user.id), inArray(emailTokens.purpose, ["email_change_confirm"]))),
	]);
	await endPendingSignIns(db, user.id);
	const sessionsEnded = await userSessions(env, user.id).revokeSessionsExcept(null);
	const reset = await issueEmailToken(db, user.id, "password_reset", now);
	await mailer.send({
		to: original,
		subject: "Keyward: your account is locked; set a new password",
		text:
			"The change of your Keyward address was cancelled and your account locked: every session was ended, and " +
			`the password and authenticator no longer work. Set a new password with this code (valid 30 minutes):\n\n${reset}\n`,
	});
	// Devices the attacker signed in from are not known to either address any more.
	await Promise.all([forgetDevices(env, original), forgetDevices(env, user.email)]);
	return { user, reverted: revert, sessionsEnded, since: spent.issuedAt };
}
