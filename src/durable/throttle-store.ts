/**
 * Throttling state, in the object it belongs to: consecutive failures
 * (`FailureStreaks`), a sliding window of attempts (`AttemptWindow`) and the
 * devices an email has signed in from (`KnownDevices`). Mechanism only: the
 * numbers (how many, how long) are the caller's policy
 * (src/identity/throttle-policy.ts), passed in with each attempt.
 */

export interface ThrottleVerdict {
	allowed: boolean;
	/** Seconds until the next attempt may be made (when not allowed). */
	retryAfterSeconds: number;
}

/** Consecutive failures: after `backoffAfter` each attempt waits 2^(n - backoffAfter) s; every `lockAfter`-th locks. */
export interface StreakPolicy {
	backoffAfter: number;
	lockAfter: number;
	lockMs: number;
}

/** At most `max` attempts inside any `windowMs`. */
export interface WindowPolicy {
	windowMs: number;
	max: number;
}

const wait = (untilMs: number, now: number): ThrottleVerdict =>
	untilMs > now
		? { allowed: false, retryAfterSeconds: Math.ceil((untilMs - now) / 1000) }
		: { allowed: true, retryAfterSeconds: 0 };

type Streak = { failures: number; last_failure_at: number; locked_until: number };

/** The `failure_streak` table: one streak per kind (`login`, `login-device:…`, `mfa`, `password`). */
export class FailureStreaks {
	constructor(private readonly sql: SqlStorage) {
		sql.exec(`CREATE TABLE IF NOT EXISTS failure_streak (
			kind TEXT PRIMARY KEY, failures INTEGER NOT NULL, last_failure_at INTEGER NOT NULL, locked_until INTEGER NOT NULL)`);
	}

	#read(kind: string): Streak {
		return (
			this.sql
				.exec<Streak>("SELECT failures, last_failure_at, locked_until FROM failure_streak WHERE kind = ?", kind)
				.toArray()[0] ?? { failures: 0, last_failure_at: 0, locked_until: 0 }
		);
	}

	/**
	 * An attempt is checked and counted as a failure in one step, so concurrent guesses cannot all
	 * slip past the check; a success then resets the streak (`reset`).
	 */
	begin(kind: string, now: number, policy: StreakPolicy): ThrottleVerdict & { failures: number; locksNow: boolean } {
		const s = this.#read(kind);
		const refused =
			s.locked_until > now
				? wait(s.locked_until, now)
				: s.failures >= policy.backoffAfter
					? wait(s.last_failure_at + 1000 * 2 ** (s.failures - policy.backoffAfter), now)
					: null;
		if (refused && !refused.allowed) return { ...refused, failures: s.failures, locksNow: false };
		const failures = s.failures + 1;
		const locksNow = failures % policy.lockAfter === 0;
		this.sql.exec(
			"INSERT INTO failure_streak (kind, failures, last_failure_at, locked_until) VALUES (?, ?, ?, ?) ON CONFLICT(kind) DO UPDATE SET failures = excluded.failures, last_failure_at = excluded.last_failure_at, locked_until = excluded.locked_until",
			kind,
			failures,
			now,
			locksNow ? now + policy.lockMs : s.locked_until,
		);
		return { allowed: true, retryAfterSeconds: 0, failures, locksNow };
	}

	/** Whether attempts of this kind are refused right now, without counting one. */
	verdict(kind: string, now: number): ThrottleVerdict {
		return wait(this.#read(kind).locked_until, now);
	}

	reset(kind: string): void {
		this.sql.exec("DELETE FROM failure_streak WHERE kind = ?", kind);
	}

	/** Drops every streak whose kind starts with `prefix`. */
	resetWhere(prefix: string): void {
		this.sql.exec("DELETE FROM failure_streak WHERE substr(kind, 1, ?) = ?", prefix.length, prefix);
	}

	/** Drops the streaks scoped to something (`kind:scope`) whose scope is no longer in `live`. */
	dropScopedExcept(live: ReadonlySet<string>): void {
		const kinds = this.sql.exec<{ kind: string }>("SELECT kind FROM failure_streak WHERE kind LIKE '%:%'").toArray();
		for (const { kind } of kinds) {
			if (!live.has(kind.slice(kind.indexOf(":") + 1))) this.reset(kind);
		}
	}
}

/** The `failure_window` table: a sliding window, checked and counted in one step. */
export class AttemptWindow {
	constructor(private readonly sql: SqlStorage) {
		sql.exec("CREATE TABLE IF NOT EXISTS failure_window (at INTEGER NOT NULL)");
		sql.exec("CREATE INDEX IF NOT EXISTS failure_window_at ON failure_window (at)");
	}

	/** Refused while `max` attempts fall inside the last `windowMs`; `remaining` is what is left after this one. */
	begin(now: number, policy: WindowPolicy): ThrottleVerdict & { remaining: number } {
		this.sql.exec("DELETE FROM failure_window WHERE at <= ?", now - policy.windowMs);
		const rows = this.sql.exec<{ at: number }>("SELECT at FROM failure_window ORDER BY at ASC").toArray();
		if (rows.length >= policy.max) {
			// Allowed again once enough of the oldest attempts have left the window.
			const freeing = rows[rows.length - policy.max];
			return { ...wait((freeing?.at ?? now) + policy.windowMs, now), remaining: 0 };
		}
		this.sql.exec("INSERT INTO failure_window (at) VALUES (?)", now);
		return { allowed: true, retryAfterSeconds: 0, remaining: policy.max - rows.length - 1 };
	}

	/** A success forgives its own entry. */
	forgive(at: number): void {
		this.sql.exec(
			"DELETE FROM failure_window WHERE rowid = (SELECT rowid FROM failure_window WHERE at = ? LIMIT 1)",
			at,
		);
	}
}

const KNOWN_DEVICES_KEPT = 20;

/**
 * The `known_devices` table: devices that have signed in to this email (ASVS 6.1.1: an attacker
 * who knows an email must not be able to lock its owner out). The per-email streak then counts
 * only unknown devices; a known device has its own streak, so hammering from elsewhere never
 * locks the owner's browser out.
 */
export class KnownDevices {
	constructor(private readonly sql: SqlStorage) {
		sql.exec("CREATE TABLE IF NOT EXISTS known_devices (id TEXT PRIMARY KEY, seen_at INTEGER NOT NULL)");
	}

	has(id: string): boolean {
		return this.sql.exec("SELECT 1 FROM known_devices WHERE id = ?", id).toArray().length > 0;
	}

	remember(id: string, now: number): void {
		this.sql.exec(
			"INSERT INTO known_devices (id, seen_at) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET seen_at = excluded.seen_at",
			id,
			now,
		);
		this.sql.exec(
			"DELETE FROM known_devices WHERE id NOT IN (SELECT id FROM known_devices ORDER BY seen_at DESC LIMIT ?)",
			KNOWN_DEVICES_KEPT,
		);
	}

	forgetAll(): void {
		this.sql.exec("DELETE FROM known_devices");
	}

	/** The streak a login attempt counts in: its own device's when known, else every unknown device's. */
	streakOf(deviceId: string | null): string {
		return deviceId && this.has(deviceId) ? `login-device:${deviceId}` : "login";
	}
}
