/**
 * Second factors: the login challenge, TOTP, recovery codes and email codes.
 * Codes are low-entropy, so they are stored as HMACs under the KEY_PEPPER
 * binding (a stolen table alone cannot be brute-forced offline).
 */
import { and, eq, gt, isNull, lt, or, sql } from "drizzle-orm";
import type { AccountSettings } from "../accounts/settings";
import type { Database } from "../db";
import { emailTokens, mfaChallenges, recoveryCodes, users } from "../db/schema";
import { ApiError } from "../problems";
import { constantTimeEqual, hmacSha256Hex, sha256Hex } from "../security/digest";
import { randomDigits } from "../security/random";
import { openSecret } from "../security/secret-box";
import { canonicalRecoveryCode, mintOpaqueToken, mintRecoveryCode } from "../security/secret-formats";
import { matchTotp } from "../security/totp";
import { membershipsOf, type UserRow } from "./users";

export const CHALLENGE_TTL_MS = 10 * 60_000;
export const EMAIL_CODE_TTL_MS = 10 * 60_000;
export const EMAIL_CODE_MAX_ATTEMPTS = 5;
const RECOVERY_CODE_COUNT = 10;

export type MfaMethod = "passkey" | "totp" | "recovery_code" | "email_code";
/**
 * The second factors a user may answer a challenge with: a passkey, TOTP (with its recovery
 * codes), and an emailed code. An emailed code stands in for the
 * authenticator only for a verified address (a code sent to an address nobody proved is no factor
 * at all), and only while none of the user's accounts refuses it (`emailCodeSecondFactor`).
 */
export const mfaMethodsOf = (user: UserRow, settings: readonly AccountSettings[]): MfaMethod[] => {
	const emailCodes = user.emailVerifiedAt !== null && settings.every((s) => s.emailCodeSecondFactor);
	const methods: MfaMethod[] = [
		...(user.passkeyCount > 0 ? (["passkey"] as const) : []),
		...(user.totpSecret ? (["totp", "recovery_code"] as const) : []),
	];
	return emailCodes ? [...methods, "email_code"] : methods;
};

/** A method the user's challenge does not offer (an email code for an unverified address, say) is refused. */
export async function assertMethodOffered(db: Database, user: UserRow, method: MfaMethod): Promise<void> {
	const offered = mfaMethodsOf(
		user,
		(await membershipsOf(db, user.id)).map((m) => m.settings),
	);
	if (!offered.includes(method))
		throw new ApiError("validation", {
			detail: `This sign-in cannot be finished with ${method.replace("_", " ")}`,
			errors: [{ path: "method", message: `Offered: ${offered.join(", ") || "none"}` }],
		});
}

export async function createChallenge(db: Database, userId: string, now: Date) {
	const token = mintOpaqueToken();
	const expiresAt = new Date(now.getTime() + CHALLENGE_TTL_MS);
	await db.insert(mfaChallenges).values({ tokenHash: await sha256Hex(token), userId, expiresAt });
	return { token, expiresAt };
}

export async function findChallenge(db: Database, token: string, now: Date) {
	return db.query.mfaChallenges.findFirst({
		where: and(eq(mfaChallenges.tokenHash, await sha256Hex(token)), gt(mfaChallenges.expiresAt, now)),
	});
}

/** Single use: the first caller to delete it wins. */
export async function consumeChallenge(db: Database, tokenHash: string): Promise<boolean> {
	const gone = await db
		.delete(mfaChallenges)
		.where(eq(mfaChallenges.tokenHash, tokenHash))
		.returning({ t: mfaChallenges.tokenHash });
	return gone.length === 1;
}

const EMAIL_CODE_RESEND_MS = 60_000;

/**
 * A fresh code for the challenge, or null when one was sent less than a
 * minute ago. The attempt counter is not reset: five guesses per challenge in
 * all, however many codes are sent.
 */
export async function issueEmailCode(
	db: Database,
	pepper: string,
	tokenHash: string,
	now: Date,
): Promise<string | null> {
	const code = randomDigits(6);
	const resendAfter = new Date(now.getTime() + EMAIL_CODE_TTL_MS - EMAIL_CODE_RESEND_MS);
	const [issued] = await db
		.update(mfaChallenges)
		.set({
			emailCodeHash: await hmacSha256Hex(pepper, `email:${tokenHash}:${code}`),
			emailCodeExpiresAt: new Date(now.getTime() + EMAIL_CODE_TTL_MS),
		})
		.where(
			and(
				eq(mfaChallenges.tokenHash, tokenHash),
				or(isNull(mfaChallenges.emailCodeExpiresAt), lt(mfaChallenges.emailCodeExpiresAt, resendAfter)),
			),
		)
		.returning({ t: mfaChallenges.tokenHash });
	return issued ? code : null;
}

/** Spends one of the code's five attempts, then compares; a used or exhausted code never matches. */
export async function verifyEmailCode(
	db: Database,
	pepper: string,
	tokenHash: string,
	code: string,
	now: Date,
): Promise<boolean> {
	const [row] = await db
		.update(mfaChallenges)
		.set({ emailCodeAttempts: sql`${mfaChallenges.emailCodeAttempts} + 1` })
		.where(
			and(
				eq(mfaChallenges.tokenHash, tokenHash),
				lt(mfaChallenges.emailCodeAttempts, EMAIL_CODE_MAX_ATTEMPTS),
				gt(mfaChallenges.emailCodeExpiresAt, now),
			),
		)
		.returning({ hash: mfaChallenges.emailCodeHash });
	if (!row?.hash) return false;
	return constantTimeEqual(row.hash, await hmacSha256Hex(pepper, `email:${tokenHash}:${code}`));
}

/** Replaces the user's recovery codes with ten new ones, returned once. */
export async function regenerateRecoveryCodes(db: Database, pepper: string, userId: string): Promise<string[]> {
	const codes = Array.from({ length: RECOVERY_CODE_COUNT }, mintRecoveryCode);
	const rows = await Promise.all(
		codes.map(async (c) => ({ codeHash: await hmacSha256Hex(pepper, `recovery:${userId}:${c}`), userId })),
	);
	await db.batch([
		db.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId)),
		db.insert(recoveryCodes).values(rows),
	]);
	return codes;
}

export async function consumeRecoveryCode(
	db: Database,
	pepper: string,
	userId: string,
	code: string,
	now: Date,
): Promise<boolean> {
	const normalized = canonicalRecoveryCode(code);
	if (normalized === null) return false;
	const [used] = await db
		.update(recoveryCodes)
		.set({ usedAt: now })
		.where(
			and(
				eq(recoveryCodes.codeHash, await hmacSha256Hex(pepper, `recovery:${userId}:${normalized}`)),
				eq(recoveryCodes.userId, userId),
				isNull(recoveryCodes.usedAt),
			),
		)
		.returning({ h: recoveryCodes.codeHash });
	return used !== undefined;
}

/**
 * Checks a TOTP code against the user's active secret and records its step
 * with a compare-and-set, so two concurrent requests cannot both spend it.
 */
export async function verifyUserTotp(
	db: Database,
	encryptionKey: string,
	user: UserRow,
	code: string,
	now: Date,
): Promise<boolean> {
	if (!user.totpSecret) return false;
	const key = await openSecret(encryptionKey, user.totpSecret, user.id);
	const step = matchTotp(key, code, now, user.totpLastStep);
	if (step === null) return false;
	const [updated] = await db
		.update(users)
		.set({ totpLastStep: step })
		.where(and(eq(users.id, user.id), or(isNull(users.totpLastStep), lt(users.totpLastStep, step))))
		.returning({ id: users.id });
	return updated !== undefined;
}

/** After a password change or reset: pending sign-ins and reset links made before it stop working. */
export async function endPendingSignIns(db: Database, userId: string): Promise<void> {
	await db.batch([
		db.delete(mfaChallenges).where(eq(mfaChallenges.userId, userId)),
		db.delete(emailTokens).where(and(eq(emailTokens.userId, userId), eq(emailTokens.purpose, "password_reset"))),
	]);
}

// ---- TOTP state: each transition one write (or one batch) on the user's row and their recovery codes.

/** A pending secret, sealed, waiting for its first code. */
export const startTotpEnrolment = (db: Database, userId: string, sealedPending: string) =>
	db.update(users).set({ totpPendingSecret: sealedPending }).where(eq(users.id, userId));

/** The pending secret becomes the secret; the step that proved it cannot be replayed. */
export const confirmTotpEnrolment = (db: Database, userId: string, sealed: string, step: number | null) =>
	db.update(users).set({ totpSecret: sealed, totpPendingSecret: null, totpLastStep: step }).where(eq(users.id, userId));

/**
 * TOTP off, with its recovery codes; `replacementPending` (a lost authenticator being replaced)
 * leaves a new pending secret to enrol in its place.
 */
export const retireTotp = (db: Database, userId: string, replacementPending: string | null = null) =>
	db.batch([
		db
			.update(users)
			.set({ totpSecret: null, totpPendingSecret: replacementPending, totpLastStep: null })
			.where(eq(users.id, userId)),
		db.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId)),
	]);

/** Mail to the user about a change to their second factor; never a secret. */
export const MFA_NOTICES = {
	authenticatorReplaced: {
		subject: "Keyward: your authenticator was replaced",
		text:
			"A recovery code was used to retire the authenticator app on your Keyward account, and your other " +
			"sessions were signed out. If this was not you, reset your password now and contact your account owner.",
	},
	recoveryCodesReplaced: {
		subject: "Keyward: new recovery codes",
		text:
			"New recovery codes were made for your Keyward account; the old ones no longer work. If this was not " +
			"you, reset your password now and replace your authenticator.",
	},
} as const;
