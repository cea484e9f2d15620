/**
 * Deletes what has expired and serves no one: MFA and WebAuthn challenges, email
 * verification and password reset tokens, invitations, and webhook delivery
 * records past their retention. Sessions live in each user's Durable Object,
 * which purges its own on its alarm (src/durable/account.ts). Bounded per
 * run; what is left goes next time.
 */
import { inArray, lt } from "drizzle-orm";
import type { Database } from "../db";
import {
	emailTokens,
	invitations,
	mfaChallenges,
	ssoAttempts,
	webauthnChallenges,
	webhookDeliveries,
} from "../db/schema";

const DAY_MS = 86_400_000;
/** How long the account can look back at its webhook deliveries. */
export const DELIVERY_RETENTION_DAYS = 30;
const PURGE_LIMIT = 1000;

export async function purgeExpired(db: Database, now: Date, limit = PURGE_LIMIT) {
	const deliveriesBefore = new Date(now.getTime() - DELIVERY_RETENTION_DAYS * DAY_MS);
	const [challenges, tokens, invites, deliveries, ceremonies, signIns] = await db.batch([
		db
			.delete(mfaChallenges)
			.where(
				inArray(
					mfaChallenges.tokenHash,
					db
						.select({ id: mfaChallenges.tokenHash })
						.from(mfaChallenges)
						.where(lt(mfaChallenges.expiresAt, now))
						.limit(limit),
				),
			)
			.returning({ id: mfaChallenges.tokenHash }),
		db
			.delete(emailTokens)
			.where(
				inArray(
					emailTokens.tokenHash,
					db.select({ id: emailTokens.tokenHash }).from(emailTokens).where(lt(emailTokens.expiresAt, now)).limit(limit),
				),
			)
			.returning({ id: emailTokens.tokenHash }),
		db
			.delete(invitations)
			.where(
				inArray(
					invitations.id,
					db.select({ id: invitations.id }).from(invitations).where(lt(invitations.expiresAt, now)).limit(limit),
				),
			)
			.returning({ id: invitations.id }),
		db
			.delete(webhookDeliveries)
			.where(
				inArray(
					webhookDeliveries.id,
					db
						.select({ id: webhookDeliveries.id })
						.from(webhookDeliveries)
						.where(lt(webhookDeliveries.createdAt, deliveriesBefore))
						.limit(limit),
				),
			)
			.returning({ id: webhookDeliveries.id }),
		db
			.delete(webauthnChallenges)
			.where(
				inArray(
					webauthnChallenges.challengeHash,
					db
						.select({ id: webauthnChallenges.challengeHash })
						.from(webauthnChallenges)
						.where(lt(webauthnChallenges.expiresAt, now))
						.limit(limit),
				),
			)
			.returning({ id: webauthnChallenges.challengeHash }),
		db
			.delete(ssoAttempts)
			.where(
				inArray(
					ssoAttempts.stateHash,
					db.select({ id: ssoAttempts.stateHash }).from(ssoAttempts).where(lt(ssoAttempts.expiresAt, now)).limit(limit),
				),
			)
			.returning({ id: ssoAttempts.stateHash }),
	]);
	return {
		mfaChallenges: challenges.length,
		emailTokens: tokens.length,
		invitations: invites.length,
		webhookDeliveries: deliveries.length,
		webauthnChallenges: ceremonies.length,
		ssoAttempts: signIns.length,
	};
}
