/**
 * Erasing a person (issue #26): the one lifecycle behind `DELETE /v1/me` and
 * the operator's `npm run privacy:erase` (run by the cron). In order:
 *
 * 1. The transition, one D1 batch whose first write is conditional: the user
 *    row becomes a tombstone (address `erased-<id>@erased.invalid`, so the
 *    real address can sign up again as a new person; name emptied; password,
 *    TOTP and breach mark gone), but only while the person is not erased and
 *    not the only owner of an account that has other members. In the same
 *    batch, and only if that write happened, the data keys are destroyed (the
 *    user's, and the one their address had while only invited), and passkeys,
 *    recovery codes, emailed tokens, pending challenges and invitations to the
 *    address are deleted.
 *    Of a burst of erasures exactly one makes it.
 * 2. Every session and pending sign-in ends, and devices are forgotten.
 * 3. Memberships end through the offboarding lifecycle (`removeMembership`),
 *    which revokes the keys the person made there; keys of service accounts
 *    stay. Accounts they owned alone are deleted (`deleteAccount`).
 * 4. The erasure is recorded (`user.erased`, counts only) and a last email
 *    goes to the address it had.
 *
 * Steps 2 and 3 are idempotent: running the erasure again after a failure
 * between them finishes the job without recording or mailing it twice.
 */
import { and, count, eq, exists, inArray, isNull, ne, notExists, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/sqlite-core";
import { deleteAccount, removeMembership } from "../accounts/offboarding";
import type { AuditRecordInput } from "../audit/emitter";
import type { Database } from "../db";
import {
	emailTokens,
	invitations,
	memberships,
	mfaChallenges,
	passkeys,
	recoveryCodes,
	scimGroupMembers,
	scimUsers,
	users,
	webauthnChallenges,
} from "../db/schema";
import { endEveryAccess } from "../identity/password-reset";
import { getUser, membershipsOf, NO_FACTORS, normalizeEmail } from "../identity/users";
import { forgetKeyNames } from "../keys/lifecycle";
import { logMailFailure, type Mailer } from "../mail";
import type { Env } from "../platform/env";
import { destroyDataKey } from "./data-keys";
import { inviteeSubject } from "./invitee";

export interface ErasureDeps {
	env: Env;
	db: Database;
	mailer: Mailer;
	now: Date;
	record: (input: AuditRecordInput) => void;
}

/** An account the person cannot leave behind: they own it alone, and others are in it. */
export interface BlockingAccount {
	accountId: string;
	accountName: string;
	members: number;
}

export type ErasureOutcome =
	| {
			kind: "erased";
			accountsDeleted: number;
			membershipsEnded: number;
			keysRevoked: number;
			sessionsEnded: number;
	  }
	| { kind: "refused"; accounts: BlockingAccount[] }
	| { kind: "already-erased" }
	| { kind: "no-such-user" };

export const tombstoneEmail = (userId: string): string => `erased-${userId}@erased.invalid`;
/** Not a `$scrypt$` hash: no password verifies against it. */
const NO_PASSWORD = "!erased";

const FINAL_MAIL = {
	subject: "Keyward: your account has been erased",
	text:
		"As asked, your Keyward account has been erased: your sessions, passkeys, authenticator and recovery codes are gone, " +
		"your memberships have ended, and the API keys you made have been revoked. Your personal data in the audit trail can " +
		"no longer be read. This is the last email Keyward sends to this address about that account; you can sign up again as a new user.",
};

/** The accounts the person owns alone while others are members: erasure waits until they transfer or remove them. */
export async function blockingAccounts(db: Database, userId: string): Promise<BlockingAccount[]> {
	const owned = (await membershipsOf(db, userId)).filter((m) => m.role === "owner");
	if (owned.length === 0) return [];
	const counts = await db
		.select({ accountId: memberships.accountId, members: count() })
		.from(memberships)
		.where(
			inArray(
				memberships.accountId,
				owned.map((m) => m.accountId),
			),
		)
		.groupBy(memberships.accountId);
	return owned.flatMap((m) => {
		const members = counts.find((c) => c.accountId === m.accountId)?.members ?? 1;
		return members > 1 ? [{ accountId: m.accountId, accountName: m.accountName, members }] : [];
	});
}

/** How often an erasure refused at its write (someone joined, then left) starts again before it gives up. */
const WRITE_ATTEMPTS = 3;

export async function eraseUser(
	deps: ErasureDeps,
	userId: string,
	by: "self" | "operator",
	attempt = 1,
): Promise<ErasureOutcome> {
	const { env, db, now } = deps;
	const user = await getUser(db, userId);
	if (!user) return { kind: "no-such-user" };
	const blocking = user.erasedAt ? [] : await blockingAccounts(db, userId);
	if (blocking.length > 0) return { kind: "refused", accounts: blocking };

	const mine = alias(memberships, "mine");
	const others = alias(memberships, "others");
	// Every other write of the batch holds only if the tombstone above it was written by this run:
	// a refusal at the write (someone joined meanwhile) leaves the person's factors and key whole.
	const tombstonedNow = exists(
		db
			.select({ one: sql`1` })
			.from(users)
			.where(and(eq(users.id, userId), eq(users.erasedAt, now))),
	);
	const invitee = await inviteeSubject(env.PII_WRAPPING_KEY ?? "", user.email);
	const [tombstoned] = await db.batch([
		db
			.update(users)
			.set({
				email: tombstoneEmail(userId),
				name: "",
				passwordHash: NO_PASSWORD,
				...NO_FACTORS,
				erasedAt: now,
			})
			.where(
				and(
					eq(users.id, userId),
					isNull(users.erasedAt),
					// Still nobody else in an account they own: the refusal holds at the write, not only at the read.
					notExists(
						db
							.select({ one: sql`1` })
							.from(mine)
							.innerJoin(others, and(eq(others.accountId, mine.accountId), ne(others.userId, userId)))
							.where(and(eq(mine.userId, userId), eq(mine.role, "owner"))),
					),
				),
			)
			.returning({ id: users.id }),
		destroyDataKey(db, userId, now, tombstonedNow),
		// What was sealed about the address while it was only invited goes with the person.
		destroyDataKey(db, invitee, now, tombstonedNow),
		db.delete(passkeys).where(and(eq(passkeys.userId, userId), tombstonedNow)),
		db.delete(recoveryCodes).where(and(eq(recoveryCodes.userId, userId), tombstonedNow)),
		db.delete(emailTokens).where(and(eq(emailTokens.userId, userId), tombstonedNow)),
		db.delete(mfaChallenges).where(and(eq(mfaChallenges.userId, userId), tombstonedNow)),
		db.delete(webauthnChallenges).where(and(eq(webauthnChallenges.userId, userId), tombstonedNow)),
		db.delete(invitations).where(and(eq(invitations.email, user.email), tombstonedNow)),
		// Their records as identity providers pushed them (address, names) and their group places.
		db.delete(scimGroupMembers).where(and(eq(scimGroupMembers.userId, userId), tombstonedNow)),
		db.delete(scimUsers).where(and(eq(scimUsers.userId, userId), tombstonedNow)),
	]);
	const won = tombstoned.length === 1;
	// Not written by this run, and not erased by another: the write was refused (someone joined an
	// account they own alone between the read and the write). Nothing was done; whether they are
	// still there or already gone, the erasure starts again from what is there now, never from what
	// this run read before (an account it read as owned may have moved on).
	if (!won && !(await getUser(db, userId))?.erasedAt) {
		const nowBlocking = await blockingAccounts(db, userId);
		if (nowBlocking.length > 0 || attempt >= WRITE_ATTEMPTS) return { kind: "refused", accounts: nowBlocking };
		return eraseUser(deps, userId, by, attempt + 1);
	}
	// The person is erased now: the accounts they own are read after the tombstone, so one made
	// meanwhile is deleted too, and one that left them is not.
	const owned = (await membershipsOf(db, userId)).filter((m) => m.role === "owner");

	const sessionsEnded = await endEveryAccess(env, db, { id: userId, email: user.email });
	let keysRevoked = 0;
	let membershipsEnded = 0;
	for (const membership of await membershipsOf(db, userId)) {
		if (membership.role === "owner") continue;
		const ended = await removeMembership(env, db, membership.accountId, userId, now);
		if (!ended) continue;
		keysRevoked += ended.keysRevoked;
		membershipsEnded += ended.membershipEnded ? 1 : 0;
		deps.record({
			action: "member.removed",
			accountId: membership.accountId,
			target: { type: "user", id: userId },
			metadata: { role: membership.role, reason: "erased", keysRevoked: ended.keysRevoked },
		});
	}
	for (const account of owned) {
		const { keysRevoked: revoked, deleted } = await deleteAccount(env, db, account.accountId, now);
		keysRevoked += revoked;
		// Only the run that removed the row records it: a burst of erasures records it once.
		if (deleted)
			deps.record({
				action: "account.deleted",
				accountId: account.accountId,
				target: { type: "account", id: account.accountId },
				metadata: { keysRevoked: revoked, reason: "owner erased" },
			});
	}
	// Every key of theirs is revoked by now; the names they gave them go too.
	await forgetKeyNames(db, userId);
	if (!won) return { kind: "already-erased" };

	const outcome = {
		kind: "erased" as const,
		accountsDeleted: owned.length,
		membershipsEnded,
		keysRevoked,
		sessionsEnded,
	};
	const { kind: _kind, ...counts } = outcome;
	deps.record({
		action: "user.erased",
		accountId: null,
		target: { type: "user", id: userId },
		metadata: { by, ...counts },
	});
	await deps.mailer.send({ to: user.email, ...FINAL_MAIL }).catch(logMailFailure("erasure"));
	return outcome;
}

/**
 * Erasing an address that never became a user (the operator's `privacy:erase -- --email`, for an
 * invited person who asks): its invitee data key is destroyed, so the address recorded in
 * `member.invited` reads `[erased]`, and its pending invitations are deleted, in one batch.
 * Recorded as `user.erased` about the invitee subject, with counts only.
 */
export async function eraseAddress(
	deps: ErasureDeps,
	email: string,
): Promise<{ kind: "address-erased"; subject: string; invitationsDeleted: number }> {
	const { env, db, now } = deps;
	const address = normalizeEmail(email);
	const subject = await inviteeSubject(env.PII_WRAPPING_KEY ?? "", address);
	const [deleted] = await db.batch([
		db.delete(invitations).where(eq(invitations.email, address)).returning({ id: invitations.id }),
		destroyDataKey(db, subject, now, sql`1`),
	]);
	deps.record({
		action: "user.erased",
		accountId: null,
		target: { type: "invitee", id: subject },
		metadata: { by: "operator", invitationsDeleted: deleted.length },
	});
	return { kind: "address-erased", subject, invitationsDeleted: deleted.length };
}
