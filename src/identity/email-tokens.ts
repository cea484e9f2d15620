/**
 * Single-use, expiring tokens sent by email (verification, password reset, email change, the
 * "this wasn't me" link); stored only as SHA-256.
 */
import { and, eq, gt } from "drizzle-orm";
import type { Database } from "../db";
import { emailTokens } from "../db/schema";
import { sha256Hex } from "../security/digest";
import { mintOpaqueToken } from "../security/secret-formats";

export type EmailTokenPurpose = (typeof emailTokens.$inferSelect)["purpose"];

export const EMAIL_TOKEN_TTL_MS: Record<EmailTokenPurpose, number> = {
	verify_email: 24 * 3_600_000,
	password_reset: 30 * 60_000,
	email_change_confirm: 24 * 3_600_000,
	/** The old address may undo a change (and lock the account) for three days. */
	email_change_cancel: 72 * 3_600_000,
	not_me: 7 * 24 * 3_600_000,
};

/**
 * Issues a token, replacing any earlier one of the same purpose for the user (a new-device
 * notice's link does not replace the links of other sessions' notices: `replace: false`).
 */
export async function issueEmailToken(
	db: Database,
	userId: string,
	purpose: EmailTokenPurpose,
	now: Date,
	options: { subject?: string; replace?: boolean } = {},
): Promise<string> {
	const token = mintOpaqueToken();
	const insert = db.insert(emailTokens).values({
		tokenHash: await sha256Hex(token),
		userId,
		purpose,
		expiresAt: new Date(now.getTime() + EMAIL_TOKEN_TTL_MS[purpose]),
		subject: options.subject ?? null,
	});
	if (options.replace === false) await insert;
	else
		await db.batch([
			db.delete(emailTokens).where(and(eq(emailTokens.userId, userId), eq(emailTokens.purpose, purpose))),
			insert,
		]);
	return token;
}

/** Spends the token; its user and subject when it was valid. */
export async function consumeEmailTokenWithSubject(
	db: Database,
	token: string,
	purpose: EmailTokenPurpose,
	now: Date,
): Promise<{ userId: string; subject: string | null; issuedAt: Date } | null> {
	const [row] = await db
		.delete(emailTokens)
		.where(
			and(
				eq(emailTokens.tokenHash, await sha256Hex(token)),
				eq(emailTokens.purpose, purpose),
				gt(emailTokens.expiresAt, now),
			),
		)
		.returning({ userId: emailTokens.userId, subject: emailTokens.subject, expiresAt: emailTokens.expiresAt });
	return row
		? {
				userId: row.userId,
				subject: row.subject,
				issuedAt: new Date(row.expiresAt.getTime() - EMAIL_TOKEN_TTL_MS[purpose]),
			}
		: null;
}

/** Deletes the token and returns its user when it was valid; a second use finds nothing. */
export const consumeEmailToken = async (
	db: Database,
	token: string,
	purpose: EmailTokenPurpose,
	now: Date,
): Promise<string | null> => (await consumeEmailTokenWithSubject(db, token, purpose, now))?.userId ?? null;

/** The user a live token belongs to, without spending it. */
export async function peekEmailToken(
	db: Database,
	token: string,
	purpose: EmailTokenPurpose,
	now: Date,
): Promise<string | null> {
	const row = await db.query.emailTokens.findFirst({
		where: and(
			eq(emailTokens.tokenHash, await sha256Hex(token)),
			eq(emailTokens.purpose, purpose),
			gt(emailTokens.expiresAt, now),
		),
	});
	return row?.userId ?? null;
}
