import { DurableObject } from "cloudflare:workers";
import { archiveKey, buildArchiveObject, type ChainHead, GENESIS, sha256Hex } from "../audit/chain";
import { createDatabase } from "../db";
import type { Env } from "../env";
import { createKeyTables, type KeyRecord, KeyStore } from "./key-store";
import {
	createLoginAlertTables,
	type FailedLoginVerdict,
	failedLoginSpikes,
	noteFailedLogin,
} from "./login-alert-store";
import {
	createSessionTables,
	deleteSession,
	deleteSessionsExcept,
	insertSession,
	listSessions,
	type NewSession,
	noteSignIn,
	purgeEndedSessions,
	type SessionRecord,
	validateSession,
} from "./session-store";
import {
	beginStreakAttempt,
	beginWindowAttempt,
	createThrottleTables,
	DEVICE_BACKOFF_AFTER,
	DEVICE_LOCK_AFTER,
	EMAIL_BACKOFF_AFTER,
	EMAIL_LOCK_AFTER,
	forgiveWindowAttempt,
	loginStreakOf,
	MFA_MAX_FAILURES,
	rememberDevice,
	resetStreak,
	streakVerdict,
	type ThrottleVerdict,
} from "./throttle-store";

/** How long an archived event id is remembered to drop redeliveries (queue retries and DLQ replays). */
const DEDUPE_WINDOW_MS = 35 * 24 * 3600 * 1000;

export interface ArchiveEntry {
	id: string;
	/** The event serialised as one NDJSON line. */
	line: string;
}

export interface ArchiveResult {
	archived: number;
	duplicates: number;
	key: string | null;
}

/**
 * The one Durable Object class, SQLite-backed, addressed by whatever the state
 * belongs to (src/durable/address.ts): an account (its API keys, their
 * rate-limit windows and revocations, failed-login spikes), an audit stream
 * (the archive's chain head, `audit:` names, kept apart so archiving never
 * queues behind the account's verifies), a user (sessions, second-factor
 * failures), an email or a client IP (login throttling). It is the single
 * place where state that must be consistent everywhere at once lives.
 */
export class AccountDurableObject extends DurableObject<Env> {
	/** The archive bucket; a field so fault-injection tests can wrap the real binding. */
	archive: Pick<R2Bucket, "put">;
	#serial: Promise<unknown> = Promise.resolve();
	readonly keys: KeyStore;
	#flushScheduled = false;

	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		this.archive = env.AUDIT_ARCHIVE;
		this.keys = new KeyStore(ctx.storage.sql, () => createDatabase(env.DB));
		ctx.blockConcurrencyWhile(async () => {
			const sql = this.ctx.storage.sql;
			sql.exec(
				"CREATE TABLE IF NOT EXISTS chain_head (stream TEXT PRIMARY KEY, seq INTEGER NOT NULL, hash TEXT NOT NULL)",
			);
			sql.exec("CREATE TABLE IF NOT EXISTS archived_events (id TEXT PRIMARY KEY, archived_at INTEGER NOT NULL)");
			sql.exec("CREATE INDEX IF NOT EXISTS archived_events_at ON archived_events (archived_at)");
			// The key chosen for the next object, kept until the head advances, so a retry after a
			// crash between the R2 write and the head update rewrites the same key (never a second
			// object with the same seq under another date).
			sql.exec(
				"CREATE TABLE IF NOT EXISTS pending_object (stream TEXT PRIMARY KEY, seq INTEGER NOT NULL, key TEXT NOT NULL)",
			);
			createSessionTables(sql);
			createThrottleTables(sql);
			createKeyTables(sql);
			createLoginAlertTables(sql);
		});
	}

	chainHead(stream: string): ChainHead {
		const row = this.ctx.storage.sql
			.exec<{ seq: number; hash: string }>("SELECT seq, hash FROM chain_head WHERE stream = ?", stream)
			.toArray()[0];
		return row ?? { seq: 0, hash: GENESIS };
	}

	/**
	 * Appends the events not yet archived as the next object of the stream's
	 * chain. Appends are serialised here (the R2 write is an await during which
	 * other calls could otherwise interleave), so concurrent consumers can never
	 * fork the chain. The head advances only after the object is stored; a
	 * failed write leaves nothing to undo, and the retry rewrites the same key.
	 */
	async appendToArchive(stream: string, entries: ArchiveEntry[], now = Date.now()): Promise<ArchiveResult> {
		const run = this.#serial.then(() => this.#append(stream, entries, now));
		this.#serial = run.catch(() => undefined);
		return await run;
	}

	async #append(stream: string, entries: ArchiveEntry[], now: number): Promise<ArchiveResult> {
		const sql = this.ctx.storage.sql;
		const seen = new Set<string>();
		const fresh = entries.filter((entry) => {
			if (seen.has(entry.id)) return false;
			seen.add(entry.id);
			return sql.exec("SELECT 1 FROM archived_events WHERE id = ?", entry.id).toArray().length === 0;
		});
		if (fresh.length === 0) return { archived: 0, duplicates: entries.length, key: null };

		const head = this.chainHead(stream);
		const body = buildArchiveObject(
			stream,
			head,
			fresh.map((entry) => entry.line),
		);
		const seq = head.seq + 1;
		const pending = sql
			.exec<{ key: string }>("SELECT key FROM pending_object WHERE stream = ? AND seq = ?", stream, seq)
			.toArray()[0];
		const key = pending?.key ?? archiveKey(stream, seq, new Date(now));
		if (!pending) {
			sql.exec("INSERT OR REPLACE INTO pending_object (stream, seq, key) VALUES (?, ?, ?)", stream, seq, key);
		}
		const bytes = new TextEncoder().encode(body);
		await this.archive.put(key, bytes, { httpMetadata: { contentType: "application/x-ndjson" } });
		const hash = await sha256Hex(bytes);

		this.ctx.storage.transactionSync(() => {
			sql.exec(
				"INSERT INTO chain_head (stream, seq, hash) VALUES (?, ?, ?) ON CONFLICT(stream) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
				stream,
				seq,
				hash,
			);
			sql.exec("DELETE FROM pending_object WHERE stream = ?", stream);
			for (const entry of fresh)
				sql.exec("INSERT OR IGNORE INTO archived_events (id, archived_at) VALUES (?, ?)", entry.id, now);
			sql.exec("DELETE FROM archived_events WHERE archived_at < ?", now - DEDUPE_WINDOW_MS);
		});
		return { archived: fresh.length, duplicates: entries.length - fresh.length, key };
	}

	// ---- sessions (addressed per user)

	async createSession(session: NewSession): Promise<void> {
		insertSession(this.ctx.storage.sql, session);
		// Sessions are stamped with the caller's clock; the alarm runs on the runtime's. The offset
		// (zero in production, months in tests with a fixed clock) lets the purge judge by the former.
		this.ctx.storage.kv.put(SESSION_CLOCK_OFFSET, session.createdAt - Date.now());
		await this.#alarmNoLaterThan(
			Math.min(session.expiresAt, session.lastSeenAt + session.idleTimeoutMs) - session.createdAt + Date.now(),
		);
	}

	async #alarmNoLaterThan(at: number): Promise<void> {
		const current = await this.ctx.storage.getAlarm();
		if (current === null || current > at) await this.ctx.storage.setAlarm(at);
	}

	validateSession(id: string, secretHash: string, now: number): SessionRecord | null {
		return validateSession(this.ctx.storage.sql, id, secretHash, now);
	}

	listSessions(now: number): SessionRecord[] {
		return listSessions(this.ctx.storage.sql, now);
	}

	noteSignIn(devices: string[], country: string | null, now: number) {
		return noteSignIn(this.ctx.storage.sql, devices, country, now);
	}

	revokeSession(id: string): boolean {
		return deleteSession(this.ctx.storage.sql, id);
	}

	revokeSessionsExcept(keep: string | null): number {
		return deleteSessionsExcept(this.ctx.storage.sql, keep);
	}

	// ---- throttling (addressed per email, per client IP, or per user)
	// Each attempt is checked and counted in one call, so concurrent guesses cannot
	// all pass the check before the first failure is recorded; a success forgives it.

	/** Checked and counted in one step, in the streak of the device when it has signed in here before. */
	beginLoginAttempt(now: number, deviceId: string | null = null) {
		const sql = this.ctx.storage.sql;
		const streak = loginStreakOf(sql, deviceId);
		const attempt =
			streak === "login"
				? beginStreakAttempt(sql, streak, now, EMAIL_BACKOFF_AFTER, EMAIL_LOCK_AFTER)
				: beginStreakAttempt(sql, streak, now, DEVICE_BACKOFF_AFTER, DEVICE_LOCK_AFTER);
		return { ...attempt, streak };
	}

	/** The right password: the streak it was counted in is forgiven. */
	loginSucceeded(streak: string): void {
		resetStreak(this.ctx.storage.sql, streak);
	}

	/** A finished sign-in (second factor included): the device is known to this email from now on. */
	rememberDevice(deviceId: string, now: number): void {
		rememberDevice(this.ctx.storage.sql, deviceId, now);
	}

	beginIpAttempt(now: number): ThrottleVerdict {
		return beginWindowAttempt(this.ctx.storage.sql, now);
	}

	/** One use of a quota (sliding window), checked and counted in one step; refused past `max`. */
	takeQuota(now: number, windowMs: number, max: number): ThrottleVerdict & { remaining: number } {
		const verdict = beginWindowAttempt(this.ctx.storage.sql, now, windowMs, max);
		const used = this.ctx.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM failure_window").one().n;
		return { ...verdict, remaining: Math.max(0, max - used) };
	}

	forgiveIpAttempt(at: number): void {
		forgiveWindowAttempt(this.ctx.storage.sql, at);
	}

	/** Second factor, and re-entering the password on /v1/me: five failures lock for 15 minutes. */
	beginUserAttempt(kind: "mfa" | "password", now: number) {
		return beginStreakAttempt(this.ctx.storage.sql, kind, now, Number.POSITIVE_INFINITY, MFA_MAX_FAILURES);
	}

	userAttemptsBlocked(kind: "mfa" | "password", now: number): ThrottleVerdict {
		return streakVerdict(this.ctx.storage.sql, kind, now);
	}

	/** A success ends the streak of failures of that kind. */
	attemptSucceeded(kind: "login" | "mfa" | "password"): void {
		resetStreak(this.ctx.storage.sql, kind);
	}

	// ---- Failed-login spikes (addressed per account)

	noteFailedLogin(now: number, threshold: number, windowMs: number): FailedLoginVerdict {
		return noteFailedLogin(this.ctx.storage.sql, now, threshold, windowMs);
	}

	failedLoginSpikes(since: number) {
		return failedLoginSpikes(this.ctx.storage.sql, since);
	}

	// ---- API keys (addressed per account)

	/** Called by every management write right after D1, so verify never serves a stale key. */
	upsertKey(record: KeyRecord): void {
		this.keys.upsert(record);
	}

	/** Many at once (a lockdown or offboarding revokes every key in one call, not one call per key). */
	upsertKeys(records: KeyRecord[]): void {
		try {
			this.ctx.storage.transactionSync(() => {
				for (const record of records) this.keys.upsert(record);
			});
		} catch (err) {
			this.keys.windows.forget(records.map((r) => r.id));
			throw err;
		}
	}

	async verifyKey(hash: string, requiredScopes: string[], ip: string | null, now: number) {
		const outcome = await this.keys.verify(hash, requiredScopes, ip, now);
		// The flag spares a storage read per verify; after eviction the first VALID asks storage once.
		if (this.keys.hasPending && !this.#flushScheduled) {
			await this.#alarmNoLaterThan(Date.now() + LAST_USED_FLUSH_MS);
			this.#flushScheduled = true;
		}
		return outcome;
	}

	/** In-memory sizes and stored rows, for the load run's bounded-memory check (development route only). */
	memoryStats() {
		const sql = this.ctx.storage.sql;
		const rows = (table: string) => sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`).one().n;
		return {
			...this.keys.memory,
			storedKeys: rows("keys"),
			storedWindows: rows("key_windows"),
			sessions: rows("sessions"),
		};
	}

	keyUsage(id: string, now: number) {
		return this.keys.usage(id, now);
	}

	/**
	 * Writes rate-limit windows exactly, last-use times back to D1 in batches (never per request),
	 * and purges ended sessions.
	 */
	override async alarm(): Promise<void> {
		this.#flushScheduled = false;
		this.keys.windows.settle();
		await this.keys.flushLastUsed();
		const offset = this.ctx.storage.kv.get<number>(SESSION_CLOCK_OFFSET) ?? 0;
		const nextSessionEnd = purgeEndedSessions(this.ctx.storage.sql, Date.now() + offset);
		let next = nextSessionEnd === null ? null : nextSessionEnd - offset;
		if (this.keys.hasUnflushed() || this.keys.hasPending) {
			next = Math.min(next ?? Number.POSITIVE_INFINITY, Date.now() + LAST_USED_FLUSH_MS);
			this.#flushScheduled = true;
		}
		if (next !== null) await this.ctx.storage.setAlarm(next);
	}
}

const LAST_USED_FLUSH_MS = 30_000;
const SESSION_CLOCK_OFFSET = "session-clock-offset";
