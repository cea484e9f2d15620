/** Single-use, expiring tokens sent by email (verification, password reset); stored only as SHA-256. */
import { and, eq, gt } from "drizzle-orm";
import type { Database } from "../db";
import { emailTokens } from "../db/schema";
import { sha256Hex } from "../security/digest";
import { mintOpaqueToken } from "../security/secret-formats";

export type EmailTokenPurpose = "verify_email" | "password_reset";

export const EMAIL_TOKEN_TTL_MS: Record<EmailTokenPurpose, number> = {
	verify_email: 24 * 3_600_000,
	password_reset: 30 * 60_000,
};

/** Issues a token, replacing any earlier one of the same purpose for the user. */
export async function issueEmailToken(
	db: Database,
	userId: string,
	purpose: EmailTokenPurpose,
	now: Date,
): Promise<string> {
	const token = mintOpaqueToken();
	await db.batch([
		db.delete(emailTokens).where(and(eq(emailTokens.userId, userId), eq(emailTokens.purpose, purpose))),
		db.insert(emailTokens).values({
			tokenHash: await sha256Hex(token),
			userId,
			purpose,
			expiresAt: new Date(now.getTime() + EMAIL_TOKEN_TTL_MS[purpose]),
		}),
	]);
	return token;
}

/** Deletes the token and returns its user when it was valid; a second use finds nothing. */
export async function consumeEmailToken(
	db: Database,
	token: string,
	purpose: EmailTokenPurpose,
	now: Date,
): Promise<string | null> {
	const [row] = await db
		.delete(emailTokens)
		.where(
			and(
				eq(emailTokens.tokenHash, await sha256Hex(token)),
				eq(emailTokens.purpose, purpose),
				gt(emailTokens.expiresAt, now),
			),
		)
		.returning({ userId: emailTokens.userId });
	return row?.userId ?? null;
}

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
