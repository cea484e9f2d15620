/** Users, their personal account at sign-up, and their memberships. Queries only; no HTTP. */
import { and, eq, isNull, type SQLWrapper, sql } from "drizzle-orm";
import { type AccountSettings, parseSettings } from "../accounts/settings";
import type { Role } from "../auth/permissions";
import type { Database } from "../db";
import { accounts, memberships, users } from "../db/schema";
import { newId } from "../platform/ids";
import { hashPassword } from "../security/password-hash";
import { mintOpaqueToken } from "../security/secret-formats";

export type UserRow = typeof users.$inferSelect;

export const normalizeEmail = (email: string): string => email.trim().toLowerCase();

/** Whether sign-in asks this user for a second factor: an authenticator app or a passkey. */
export const hasSecondFactor = (u: Pick<UserRow, "totpSecret" | "passkeyCount">): boolean =>
	u.totpSecret !== null || u.passkeyCount > 0;

/** The strongest factor the user can sign in with (the member list and the security report show it). */
export const strongestFactor = (u: Pick<UserRow, "totpSecret" | "passkeyCount">): "passkey" | "totp" | "password" =>
	u.passkeyCount > 0 ? "passkey" : u.totpSecret !== null ? "totp" : "password";

/** The public `user` object of API.md §2. */
export const publicUser = (u: UserRow) => ({
	id: u.id,
	email: u.email,
	name: u.name,
	emailVerified: u.emailVerifiedAt !== null,
	mfaEnabled: hasSecondFactor(u),
	totpEnabled: u.totpSecret !== null,
	passkeys: u.passkeyCount,
	createdAt: u.createdAt.toISOString(),
	/** A sign-in found the password in a breach corpus: the user should change it. */
	passwordBreached: u.passwordBreachedAt !== null,
});

/**
 * What the user should do next for their own safety, until they have (ASVS 6.3.3: MFA is offered
 * at sign-up and nudged until it is on). Shown by `GET /v1/me`, the sign-up answer and the console.
 */
export function recommendationsFor(u: UserRow) {
	const out: { id: "change_breached_password" | "verify_email" | "enable_mfa"; detail: string }[] = [];
	if (u.passwordBreachedAt)
		out.push({
			id: "change_breached_password",
			detail: "Your password appears in known data breaches: change it (POST /v1/me/password)",
		});
	if (!u.emailVerifiedAt)
		out.push({ id: "verify_email", detail: "Verify your email address: until then your account grants nothing" });
	if (!hasSecondFactor(u))
		out.push({
			id: "enable_mfa",
			detail: "Turn on two-factor authentication (POST /v1/me/mfa/totp): a password alone is one phishing email away",
		});
	return out;
}

/**
 * The person an address belongs to. Erased people belong to no address: their row keeps only a
 * tombstone address, and nothing (sign-in, a password reset, an invitation) may find them by it.
 */
export async function findUserByEmail(db: Database, email: string): Promise<UserRow | undefined> {
	return db.query.users.findFirst({ where: and(eq(users.email, normalizeEmail(email)), isNull(users.erasedAt)) });
}

export async function getUser(db: Database, id: string): Promise<UserRow | undefined> {
	return db.query.users.findFirst({ where: eq(users.id, id) });
}

/** A user with no proof of anything yet: a new one, and what an erasure leaves (src/privacy/erasure.ts). */
export const NO_FACTORS = {
	emailVerifiedAt: null,
	totpSecret: null,
	totpPendingSecret: null,
	totpLastStep: null,
	passwordBreachedAt: null,
	passkeyCount: 0,
} as const;

/** Creates the user, a personal account they own, and the membership, in one batch (all or nothing). */
export async function createUserWithAccount(
	db: Database,
	input: { email: string; name: string; passwordHash: string; now: Date },
) {
	const user = {
		id: newId("usr"),
		email: normalizeEmail(input.email),
		name: input.name,
		passwordHash: input.passwordHash,
		...NO_FACTORS,
		createdAt: input.now,
	};
	const account = {
		id: newId("acc"),
		name: `${input.name}'s account`,
		settings: "{}",
		createdAt: input.now,
		sessionsNotBefore: null,
	};
	await db.batch([
		db.insert(users).values(user),
		db.insert(accounts).values(account),
		db.insert(memberships).values({ accountId: account.id, userId: user.id, role: "owner", joinedAt: input.now }),
	]);
	return { user: user as UserRow, account };
}

export interface MembershipView {
	accountId: string;
	accountName: string;
	role: Role;
	settings: AccountSettings;
	lastActiveAt: Date | null;
	/** Whether the account's owner has proven their address; until then the account grants nothing. */
	ownerEmailVerified: boolean;
	lockedDownAt: Date | null;
	sessionsNotBefore: Date | null;
}

const owner = sql.raw("o");
const ownerUser = sql.raw("ou");
/**
 * In SQL: the account's owner has a verified email (until then the account grants nothing). For an
 * account id, or a column (one correlated lookup in the same query).
 */
export const ownerVerified = (accountId: string | SQLWrapper) =>
	sql<number>`EXISTS (SELECT 1 FROM ${memberships} AS ${owner} JOIN ${users} AS ${ownerUser} ON ${ownerUser}.id = ${owner}.user_id WHERE ${owner}.account_id = ${accountId} AND ${owner}.role = 'owner' AND ${ownerUser}.email_verified_at IS NOT NULL)`;

export async function membershipsOf(db: Database, userId: string): Promise<MembershipView[]> {
	const rows = await db
		.select({
			accountId: memberships.accountId,
			role: memberships.role,
			name: accounts.name,
			settings: accounts.settings,
			lastActiveAt: memberships.lastActiveAt,
			ownerEmailVerified: ownerVerified(memberships.accountId),
			lockedDownAt: accounts.lockedDownAt,
			sessionsNotBefore: accounts.sessionsNotBefore,
		})
		.from(memberships)
		.innerJoin(accounts, eq(accounts.id, memberships.accountId))
		.where(eq(memberships.userId, userId));
	return rows.map((r) => ({
		accountId: r.accountId,
		accountName: r.name,
		role: r.role,
		settings: parseSettings(r.settings),
		lastActiveAt: r.lastActiveAt,
		ownerEmailVerified: Boolean(r.ownerEmailVerified),
		lockedDownAt: r.lockedDownAt,
		sessionsNotBefore: r.sessionsNotBefore,
	}));
}

/**
 * Sets the user's password: a new one they chose (any "breached" mark of the old one goes with
 * it), or with `null` one that nobody knows, so the account waits for a reset from its address.
 */
export async function setPassword(db: Database, userId: string, password: string | null): Promise<void> {
	const change =
		password === null
			? { passwordHash: await unknownPasswordHash() }
			: { passwordHash: await hashPassword(password), passwordBreachedAt: null };
	await db.update(users).set(change).where(eq(users.id, userId));
}

/**
 * A real hash of a password nobody knows: a person who has none yet (provisioned by SCIM) or lost
 * it waits for a reset from their address, and a sign-in attempt costs the same as for anyone.
 */
export const unknownPasswordHash = (): Promise<string> => hashPassword(mintOpaqueToken());

/** The address is proven (a verification code from it was used). */
export const markEmailVerified = (db: Database, userId: string, now: Date) =>
	db.update(users).set({ emailVerifiedAt: now }).where(eq(users.id, userId));
