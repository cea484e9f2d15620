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

export interface ThrottleVerdict {
	allowed: boolean;
	/** Seconds until the next attempt may be made (when not allowed). */
	retryAfterSeconds: number;
}

export function createThrottleTables(sql: SqlStorage): void {
	sql.exec(`CREATE TABLE IF NOT EXISTS failure_streak (
		kind TEXT PRIMARY KEY, failures INTEGER NOT NULL, last_failure_at INTEGER NOT NULL, locked_until INTEGER NOT NULL)`);
	sql.exec("CREATE TABLE IF NOT EXISTS failure_window (at INTEGER NOT NULL)");
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
 * Consecutive failures of one kind (`login` per email, `mfa` per user):
 * after `backoffAfter` failures each further attempt waits 2^(n - backoffAfter)
 * seconds; every `lockAfter` failures lock for 15 minutes.
 */
export function checkStreak(sql: SqlStorage, kind: string, now: number, backoffAfter: number): ThrottleVerdict {
	const s = readStreak(sql, kind);
	if (s.locked_until > now) return wait(s.locked_until, now);
	if (s.failures >= backoffAfter) return wait(s.last_failure_at + 1000 * 2 ** (s.failures - backoffAfter), now);
	return { allowed: true, retryAfterSeconds: 0 };
}

/** Records a failure; `locked` is true when this failure started a lockout. */
export function recordStreakFailure(
	sql: SqlStorage,
	kind: string,
	now: number,
	lockAfter: number,
): { locked: boolean; failures: number } {
	const s = readStreak(sql, kind);
	const failures = s.failures + 1;
	const locked = failures % lockAfter === 0;
	sql.exec(
		"INSERT INTO failure_streak (kind, failures, last_failure_at, locked_until) VALUES (?, ?, ?, ?) ON CONFLICT(kind) DO UPDATE SET failures = excluded.failures, last_failure_at = excluded.last_failure_at, locked_until = excluded.locked_until",
		kind,
		failures,
		now,
		locked ? now + LOCK_MS : s.locked_until,
	);
	return { locked, failures };
}

export function resetStreak(sql: SqlStorage, kind: string): void {
	sql.exec("DELETE FROM failure_streak WHERE kind = ?", kind);
}

/** Sliding window: refused while `max` failures fall inside the last `windowMs`. */
export function checkWindow(
	sql: SqlStorage,
	now: number,
	windowMs = IP_WINDOW_MS,
	max = IP_MAX_FAILURES,
): ThrottleVerdict {
	sql.exec("DELETE FROM failure_window WHERE at <= ?", now - windowMs);
	const rows = sql.exec<{ at: number }>("SELECT at FROM failure_window ORDER BY at ASC").toArray();
	if (rows.length < max) return { allowed: true, retryAfterSeconds: 0 };
	// Allowed again once enough of the oldest failures have left the window.
	const freeing = rows[rows.length - max];
	return wait((freeing?.at ?? now) + windowMs, now);
}

export function recordWindowFailure(sql: SqlStorage, now: number): void {
	sql.exec("INSERT INTO failure_window (at) VALUES (?)", now);
}
