/**
 * Passkeys: the WebAuthn relying party's configuration, its single-use challenges, and each
 * passkey's lifecycle. Every transition is one write (or one D1 batch) conditioned on the state
 * it starts from: a challenge is spent by the request that deletes it, a use moves the counter
 * only from the value it was checked against, and `users.passkey_count` is recounted from the
 * table in the same batch as every change to it.
 */
import { encodeBase64urlNoPadding } from "@oslojs/encoding";
import { and, asc, eq, gt, gte, sql } from "drizzle-orm";
import type { Database } from "../db";
import { passkeys, users, webauthnChallenges } from "../db/schema";
import type { Env } from "../platform/env";
import { newId } from "../platform/ids";
import { sha256Hex } from "../security/digest";
import type { NewCredential, WebAuthnConfig } from "../security/webauthn";

export const WEBAUTHN_CHALLENGE_TTL_MS = 5 * 60_000;
/** Passkeys one user may hold: every browser, phone and security key a person uses. */
export const MAX_PASSKEYS_PER_USER = 20;

type Env_ = Pick<Env, "ENVIRONMENT" | "CORS_ORIGINS" | "WEBAUTHN_RP_ID" | "WEBAUTHN_ORIGINS">;

const hostOf = (origin: string): string | null => {
	try {
		return new URL(origin).hostname;
	} catch {
		return null;
	}
};

/** Whether `origin`'s host is the rpId or inside it (WebAuthn §5.1.4.1's registrable-suffix rule, simplified). */
export const originWithinRpId = (origin: string, rpId: string): boolean => {
	const host = hostOf(origin);
	return host !== null && (host === rpId || host.endsWith(`.${rpId}`));
};

/**
 * `WEBAUTHN_RP_ID` and `WEBAUTHN_ORIGINS` (comma-separated exact origins). Development defaults
 * to `localhost` and the `CORS_ORIGINS` on it; outside development the configuration guard
 * refuses to serve without both.
 */
export function webauthnConfig(env: Env_): WebAuthnConfig {
	const rpId = env.WEBAUTHN_RP_ID?.trim() || "localhost";
	const listed = (env.WEBAUTHN_ORIGINS?.trim() ? env.WEBAUTHN_ORIGINS : env.CORS_ORIGINS) ?? "";
	const origins = listed
		.split(",")
		.map((o) => o.trim())
		.filter((o) => o !== "" && originWithinRpId(o, rpId));
	return { rpId, rpName: "Keyward", origins };
}

export type CeremonyPurpose = (typeof webauthnChallenges.$inferSelect)["purpose"];

/** A fresh 32-byte challenge for one ceremony, stored hashed; returned once, base64url. */
export async function issueWebauthnChallenge(
	db: Database,
	input: { purpose: CeremonyPurpose; userId: string | null; loginChallengeHash?: string | null; now: Date },
): Promise<{ challenge: string; expiresAt: Date }> {
	const challenge = crypto.getRandomValues(new Uint8Array(32));
	const expiresAt = new Date(input.now.getTime() + WEBAUTHN_CHALLENGE_TTL_MS);
	await db.insert(webauthnChallenges).values({
		challengeHash: await sha256Hex(challenge),
		purpose: input.purpose,
		userId: input.userId,
		loginChallengeHash: input.loginChallengeHash ?? null,
		expiresAt,
	});
	return { challenge: encodeBase64urlNoPadding(challenge), expiresAt };
}

/**
 * Spends the challenge a browser signed: the request whose delete removes it is the only one that
 * may go on, whatever the outcome of the checks after it. An unknown, expired or other-purpose
 * challenge spends nothing and answers null.
 */
export async function spendWebauthnChallenge(db: Database, challenge: Uint8Array, purpose: CeremonyPurpose, now: Date) {
	const [row] = await db
		.delete(webauthnChallenges)
		.where(
			and(
				eq(webauthnChallenges.challengeHash, await sha256Hex(challenge)),
				eq(webauthnChallenges.purpose, purpose),
				gt(webauthnChallenges.expiresAt, now),
			),
		)
		.returning();
	return row ?? null;
}

export type PasskeyRow = typeof passkeys.$inferSelect;

export const listPasskeys = (db: Database, userId: string): Promise<PasskeyRow[]> =>
	db.select().from(passkeys).where(eq(passkeys.userId, userId)).orderBy(asc(passkeys.createdAt), asc(passkeys.id));

export const findPasskeyByCredentialId = (db: Database, credentialId: string): Promise<PasskeyRow | undefined> =>
	db.query.passkeys.findFirst({ where: eq(passkeys.credentialId, credentialId) });

/** The user's passkey count, recounted from the table (the statement every change is batched with). */
const recount = (db: Database, userId: string) =>
	db
		.update(users)
		.set({ passkeyCount: sql`(SELECT COUNT(*) FROM passkeys WHERE user_id = ${userId})` })
		.where(eq(users.id, userId));

/**
 * Stores a verified credential for the user, unless they already hold the maximum; a credential id
 * already registered (to anyone) is refused by its unique index. Returns null when full.
 */
export async function addPasskey(
	db: Database,
	input: { userId: string; credential: NewCredential; name: string; transports: readonly string[]; now: Date },
): Promise<PasskeyRow | null> {
	const id = newId("pky");
	const { credential } = input;
	const [inserted] = await db.batch([
		db
			.insert(passkeys)
			.select(
				db
					.select({
						id: sql`${id}`.as("id"),
						userId: sql`${input.userId}`.as("user_id"),
						credentialId: sql`${credential.credentialId}`.as("credential_id"),
						publicKey: sql`${credential.publicKey}`.as("public_key"),
						algorithm: sql`${credential.algorithm}`.as("algorithm"),
						signCount: sql`${credential.signCount}`.as("sign_count"),
						backupEligible: sql`${credential.backupEligible ? 1 : 0}`.as("backup_eligible"),
						backedUp: sql`${credential.backedUp ? 1 : 0}`.as("backed_up"),
						transports: sql`${JSON.stringify(input.transports)}`.as("transports"),
						name: sql`${input.name}`.as("name"),
						createdAt: sql`${input.now.getTime()}`.as("created_at"),
						lastUsedAt: sql`NULL`.as("last_used_at"),
					})
					.from(users)
					.where(
						and(
							eq(users.id, input.userId),
							sql`(SELECT COUNT(*) FROM passkeys WHERE user_id = ${input.userId}) < ${MAX_PASSKEYS_PER_USER}`,
						),
					),
			)
			.returning(),
		recount(db, input.userId),
	]);
	return inserted[0] ?? null;
}

export async function renamePasskey(db: Database, userId: string, id: string, name: string) {
	const [row] = await db
		.update(passkeys)
		.set({ name })
		.where(and(eq(passkeys.id, id), eq(passkeys.userId, userId)))
		.returning();
	return row ?? null;
}

/** Removes one of the user's passkeys; null when it is not theirs (or already gone). */
export async function removePasskey(db: Database, userId: string, id: string): Promise<PasskeyRow | null> {
	const [removed] = await db.batch([
		db
			.delete(passkeys)
			.where(and(eq(passkeys.id, id), eq(passkeys.userId, userId)))
			.returning(),
		recount(db, userId),
	]);
	return removed[0] ?? null;
}

/**
 * The statements that remove a user's passkeys (those added since `since`, or all), and recount,
 * for the batch of a flow that undoes what an intruder may have set up: a claimed address, a
 * reported sign-in, a cancelled email change. The first answers the ids removed.
 */
export const removePasskeysStatements = (db: Database, userId: string, since?: Date) =>
	[
		db
			.delete(passkeys)
			.where(and(eq(passkeys.userId, userId), since ? gte(passkeys.createdAt, since) : undefined))
			.returning({ id: passkeys.id }),
		recount(db, userId),
	] as const;

/**
 * Records a verified use: the counter moves only from the value the assertion was checked
 * against, so of two concurrent uses with the same counter only one counts. False: another use
 * got there first (the caller refuses this one).
 */
export async function recordPasskeyUse(
	db: Database,
	row: PasskeyRow,
	use: { signCount: number; backedUp: boolean; now: Date },
): Promise<boolean> {
	const [updated] = await db
		.update(passkeys)
		.set({ signCount: use.signCount, backedUp: use.backedUp, lastUsedAt: use.now })
		.where(and(eq(passkeys.id, row.id), eq(passkeys.signCount, row.signCount)))
		.returning({ id: passkeys.id });
	return updated !== undefined;
}

/** The public view of a passkey (GET /v1/me/passkeys). */
export const publicPasskey = (p: PasskeyRow) => ({
	id: p.id,
	name: p.name,
	createdAt: p.createdAt.toISOString(),
	lastUsedAt: p.lastUsedAt?.toISOString() ?? null,
	backupEligible: p.backupEligible,
	backedUp: p.backedUp,
});

/** Every passkey's credential, as `allowCredentials`/`excludeCredentials` descriptors. */
export const credentialDescriptors = (rows: readonly PasskeyRow[]) =>
	rows.map((p) => ({
		type: "public-key" as const,
		id: p.credentialId,
		transports: safeTransports(p.transports),
	}));

const TRANSPORTS = new Set(["ble", "cable", "hybrid", "internal", "nfc", "smart-card", "usb"]);

const safeTransports = (json: string): string[] => {
	try {
		const list = JSON.parse(json) as unknown;
		return Array.isArray(list) ? list.filter((t): t is string => typeof t === "string" && TRANSPORTS.has(t)) : [];
	} catch {
		return [];
	}
};

/** Transports the browser reported, kept only when known (they are hints and reach later ceremonies). */
export const knownTransports = (list: readonly string[] | undefined): string[] =>
	[...new Set(list ?? [])].filter((t) => TRANSPORTS.has(t));
