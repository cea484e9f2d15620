/**
 * Failed-login counting per account, inside the account's Durable Object, for
 * `alert.failed_logins_spike` (API.md §7). Windows are fixed (aligned to the
 * window length) so "one alert per window" has a single meaning everywhere:
 * every failure of every member in every location is counted here, and the
 * failure that reaches the threshold is the only one told to alert.
 */

/** Spikes are kept for the monthly security report. */
const KEEP_MS = 31 * 24 * 3_600_000;

export interface FailedLoginVerdict {
	failures: number;
	windowStart: number;
	/** True for exactly one failure per window: the one that reached the threshold. */
	alert: boolean;
}

/** The `failed_login_windows` table of one account's object. */
export class FailedLoginWindows {
	constructor(private readonly sql: SqlStorage) {
		sql.exec(`CREATE TABLE IF NOT EXISTS failed_login_windows (
			window_start INTEGER PRIMARY KEY, window_ms INTEGER NOT NULL, failures INTEGER NOT NULL, alerted_at INTEGER)`);
	}

	note(now: number, threshold: number, windowMs: number): FailedLoginVerdict {
		const sql = this.sql;
		const windowStart = Math.floor(now / windowMs) * windowMs;
		sql.exec("DELETE FROM failed_login_windows WHERE window_start < ?", now - KEEP_MS);
		const row = sql
			.exec<{ failures: number; alerted_at: number | null }>(
				`INSERT INTO failed_login_windows (window_start, window_ms, failures) VALUES (?, ?, 1)
				 ON CONFLICT(window_start) DO UPDATE SET failures = failures + 1
				 RETURNING failures, alerted_at`,
				windowStart,
				windowMs,
			)
			.one();
		const alert = row.alerted_at === null && row.failures >= threshold;
		if (alert) sql.exec("UPDATE failed_login_windows SET alerted_at = ? WHERE window_start = ?", now, windowStart);
		return { failures: row.failures, windowStart, alert };
	}

	/** Windows that raised an alert since `since`, newest first. */
	spikes(since: number) {
		return this.sql
			.exec<{ window_start: number; window_ms: number; failures: number }>(
				"SELECT window_start, window_ms, failures FROM failed_login_windows WHERE alerted_at IS NOT NULL AND window_start >= ? ORDER BY window_start DESC",
				since,
			)
			.toArray()
			.map((r) => ({ windowStart: r.window_start, windowMs: r.window_ms, failures: r.failures }));
	}
}
