/**
 * Login throttling state, kept in the Durable Object that the state belongs
 * to: per email (consecutive failures, backoff, lockout), per client IP (a
 * sliding window of failures), per user (second-factor failures).
 */

export const EMAIL_BACKOFF_AFTER = 5;
export const EMAIL_LOCK_AFTER = 10;
export const LOCK_MS = 15 * 60_000;
export const IP_WINDOW_MS = 10 * 60_000;
export const IP_MAX_FAILURES = 20;
export const MFA_MAX_FAILURES = 5;
/** A device that has signed in to this email before keeps its own, smaller budget. */
export const DEVICE_BACKOFF_AFTER = 3;
export const DEVICE_LOCK_AFTER = 5;
const KNOWN_DEVICES_KEPT = 20;

export interface ThrottleVerdict {
	allowed: boolean;
	/** Seconds until the next attempt may be made (when not allowed). */
	retryAfterSeconds: number;
}

export function createThrottleTables(sql: SqlStorage): void {
	sql.exec(`CREATE TABLE IF NOT EXISTS failure_streak (
		kind TEXT PRIMARY KEY, failures INTEGER NOT NULL, last_failure_at INTEGER NOT NULL, locked_until INTEGER NOT NULL)`);
	sql.exec("CREATE TABLE IF NOT EXISTS failure_window (at INTEGER NOT NULL)");
	sql.exec("CREATE TABLE IF NOT EXISTS known_devices (id TEXT PRIMARY KEY, seen_at INTEGER NOT NULL)");
	sql.exec("CREATE INDEX IF NOT EXISTS failure_window_at ON failure_window (at)");
}

type Streak = { failures: number; last_failure_at: number; locked_until: number };
const readStreak = (sql: SqlStorage, kind: string): Streak =>
	sql
		.exec<Streak>("SELECT failures, last_failure_at, locked_until FROM failure_streak WHERE kind = ?", kind)
		.toArray()[0] ?? {
		failures: 0,
		last_failure_at: 0,
		locked_until: 0,
	};

const wait = (untilMs: number, now: number): ThrottleVerdict =>
	untilMs > now
		? { allowed: false, retryAfterSeconds: Math.ceil((untilMs - now) / 1000) }
		: { allowed: true, retryAfterSeconds: 0 };

/**
 * Consecutive failures of one kind (`login` per email, `mfa` and `password`
 * per user). An attempt is checked and counted as a failure in one step, so
 * concurrent guesses cannot all slip past the check; a success then resets the
 * streak. After `backoffAfter` failures each attempt waits 2^(n - backoffAfter)
 * seconds; every `lockAfter`-th failure locks for 15 minutes.
 */
export function beginStreakAttempt(
	sql: SqlStorage,
	kind: string,
	now: number,
	backoffAfter: number,
	lockAfter: number,
): ThrottleVerdict & { failures: number; locksNow: boolean } {
	const s = readStreak(sql, kind);
	const refused =
		s.locked_until > now
			? wait(s.locked_until, now)
			: s.failures >= backoffAfter
				? wait(s.last_failure_at + 1000 * 2 ** (s.failures - backoffAfter), now)
				: null;
	if (refused && !refused.allowed) return { ...refused, failures: s.failures, locksNow: false };
	const failures = s.failures + 1;
	const locksNow = failures % lockAfter === 0;
	sql.exec(
		"INSERT INTO failure_streak (kind, failures, last_failure_at, locked_until) VALUES (?, ?, ?, ?) ON CONFLICT(kind) DO UPDATE SET failures = excluded.failures, last_failure_at = excluded.last_failure_at, locked_until = excluded.locked_until",
		kind,
		failures,
		now,
		locksNow ? now + LOCK_MS : s.locked_until,
	);
	return { allowed: true, retryAfterSeconds: 0, failures, locksNow };
}

/** Whether attempts of this kind are refused right now, without counting one. */
export function streakVerdict(sql: SqlStorage, kind: string, now: number): ThrottleVerdict {
	const s = readStreak(sql, kind);
	return wait(s.locked_until, now);
}

export function resetStreak(sql: SqlStorage, kind: string): void {
	sql.exec("DELETE FROM failure_streak WHERE kind = ?", kind);
}

/**
 * Sliding window, checked and counted in one step: refused while `max`
 * attempts fall inside the last `windowMs`. A success forgives its own entry.
 */
export function beginWindowAttempt(
	sql: SqlStorage,
	now: number,
	windowMs = IP_WINDOW_MS,
	max = IP_MAX_FAILURES,
): ThrottleVerdict {
	sql.exec("DELETE FROM failure_window WHERE at <= ?", now - windowMs);
	const rows = sql.exec<{ at: number }>("SELECT at FROM failure_window ORDER BY at ASC").toArray();
	if (rows.length >= max) {
		// Allowed again once enough of the oldest failures have left the window.
		const freeing = rows[rows.length - max];
		return wait((freeing?.at ?? now) + windowMs, now);
	}
	sql.exec("INSERT INTO failure_window (at) VALUES (?)", now);
	return { allowed: true, retryAfterSeconds: 0 };
}

export function forgiveWindowAttempt(sql: SqlStorage, at: number): void {
	sql.exec("DELETE FROM failure_window WHERE rowid = (SELECT rowid FROM failure_window WHERE at = ? LIMIT 1)", at);
}

/**
 * Devices that have signed in to this email (ASVS 6.1.1: an attacker who knows an email must not
 * be able to lock its owner out). The per-email streak then counts only unknown devices; a known
 * device has its own streak, so hammering from elsewhere never locks the owner's browser out.
 */
export function isKnownDevice(sql: SqlStorage, id: string): boolean {
	return sql.exec("SELECT 1 FROM known_devices WHERE id = ?", id).toArray().length > 0;
}

export function rememberDevice(sql: SqlStorage, id: string, now: number): void {
	sql.exec(
		"INSERT INTO known_devices (id, seen_at) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET seen_at = excluded.seen_at",
		id,
		now,
	);
	sql.exec(
		"DELETE FROM known_devices WHERE id NOT IN (SELECT id FROM known_devices ORDER BY seen_at DESC LIMIT ?)",
		KNOWN_DEVICES_KEPT,
	);
}

/** The streak a login attempt counts in: its own device's when known, else every unknown device's. */
export const loginStreakOf = (sql: SqlStorage, deviceId: string | null): string =>
	deviceId && isKnownDevice(sql, deviceId) ? `login-device:${deviceId}` : "login";
