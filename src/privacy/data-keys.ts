/**
 * Per-person data keys (issue #26). Each user's personal fields in the audit
 * trail are sealed under their own AES-256-GCM key; the key is stored sealed
 * under the PII_WRAPPING_KEY secret and bound to the user id
 * (src/security/secret-box.ts). Destroying it is the erasure: the chain keeps
 * every ciphertext and still verifies, but nobody can open them again.
 *
 * A destroyed key leaves its row (no key, `erasedAt` set), so a late event of
 * the erased person is never sealed under a fresh key that could be read.
 */
import { and, eq, inArray, isNotNull, type SQL, sql } from "drizzle-orm";
import { chunk, D1_MAX_PARAMS, type Database } from "../db";
import { userDataKeys } from "../db/schema";
import { openSecret, sealSecret } from "../security/secret-box";

/** A person's key, or `null` once they are erased. */
export type DataKey = CryptoKey | null;

const binding = (userId: string) => `data-key:${userId}`;

async function importDataKey(wrappingKey: string, userId: string, wrapped: string): Promise<CryptoKey> {
	const raw = await openSecret(wrappingKey, wrapped, binding(userId));
	return crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
}

async function readKeys(db: Database, wrappingKey: string, userIds: string[]): Promise<Map<string, DataKey>> {
	const found = new Map<string, DataKey>();
	for (const part of chunk(userIds, D1_MAX_PARAMS)) {
		const rows = await db.select().from(userDataKeys).where(inArray(userDataKeys.userId, part));
		for (const row of rows) {
			found.set(row.userId, row.wrappedKey ? await importDataKey(wrappingKey, row.userId, row.wrappedKey) : null);
		}
	}
	return found;
}

/**
 * The data keys of `userIds` that exist (erased ones as `null`); people with no key yet are absent.
 * One D1 read per 100 people. For reading: nothing is created.
 */
export async function existingDataKeys(
	db: Database,
	wrappingKey: string,
	userIds: Iterable<string>,
): Promise<Map<string, DataKey>> {
	const ids = [...new Set(userIds)];
	return ids.length === 0 ? new Map() : readKeys(db, wrappingKey, ids);
}

/**
 * The data keys of `userIds` for sealing: a person with none gets one, made here and inserted only
 * where no row exists (so two writers agree on the first, and an erased person's row is never
 * replaced). One D1 read, plus one batch when someone is new.
 */
export async function dataKeysForSealing(
	db: Database,
	wrappingKey: string,
	userIds: Iterable<string>,
	now: Date,
): Promise<Map<string, DataKey>> {
	const ids = [...new Set(userIds)];
	if (ids.length === 0) return new Map();
	const found = await readKeys(db, wrappingKey, ids);
	const missing = ids.filter((id) => !found.has(id));
	if (missing.length === 0) return found;
	const rows = await Promise.all(
		missing.map(async (userId) => {
			const raw = crypto.getRandomValues(new Uint8Array(32));
			return { userId, wrappedKey: await sealSecret(wrappingKey, raw, binding(userId)), createdAt: now };
		}),
	);
	for (const part of chunk(rows, Math.floor(D1_MAX_PARAMS / 4))) {
		await db.insert(userDataKeys).values(part).onConflictDoNothing();
	}
	for (const [userId, key] of await readKeys(db, wrappingKey, missing)) found.set(userId, key);
	return found;
}

/**
 * Destroys the person's data key: one write that leaves the row with no key, made only while
 * `onlyIf` holds (the erasure's tombstone, in the same batch). Idempotent; a person who never had a
 * key gets the erased row, so nothing of theirs is sealed readable afterwards.
 */
export function destroyDataKey(db: Database, subject: string, now: Date, onlyIf: SQL) {
	const at = now.getTime();
	return db
		.insert(userDataKeys)
		.select(sql`SELECT ${subject}, NULL, ${at}, ${at} WHERE ${onlyIf}`)
		.onConflictDoUpdate({ target: userDataKeys.userId, set: { wrappedKey: null, erasedAt: now } });
}

/** Whether the person's key is destroyed (for tests and the erasure's report). */
export async function dataKeyDestroyed(db: Database, userId: string): Promise<boolean> {
	const rows = await db
		.select({ userId: userDataKeys.userId })
		.from(userDataKeys)
		.where(and(eq(userDataKeys.userId, userId), isNotNull(userDataKeys.erasedAt)));
	return rows.length === 1;
}
