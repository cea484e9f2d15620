/**
 * Secrets the console shows once, parked between a POST and the GET it redirects to
 * (post/redirect/get), so reloading the page that shows a new key does not make a second key.
 * What is parked is ciphertext whose key only the visitor's browser holds (in a cookie); this
 * object cannot read it. A handoff is taken once (deleted as it is read) and lives 5 minutes.
 */

/** How long a parked secret waits for its page. */
export const HANDOFF_TTL_MS = 5 * 60_000;
/** At most this many parked per user; the oldest go first. */
const HANDOFFS_KEPT = 20;

export class HandoffStore {
	constructor(private readonly sql: SqlStorage) {
		sql.exec(
			"CREATE TABLE IF NOT EXISTS handoffs (id TEXT PRIMARY KEY, sealed TEXT NOT NULL, expires_at INTEGER NOT NULL)",
		);
	}

	park(id: string, sealed: string, now: number): void {
		this.sql.exec("DELETE FROM handoffs WHERE expires_at <= ?", now);
		this.sql.exec(
			"INSERT OR REPLACE INTO handoffs (id, sealed, expires_at) VALUES (?, ?, ?)",
			id,
			sealed,
			now + HANDOFF_TTL_MS,
		);
		this.sql.exec(
			"DELETE FROM handoffs WHERE rowid NOT IN (SELECT rowid FROM handoffs ORDER BY expires_at DESC LIMIT ?)",
			HANDOFFS_KEPT,
		);
	}

	/** The parked value, once: the read deletes it, so a second take (a reload, a replay) finds nothing. */
	take(id: string, now: number): string | null {
		this.sql.exec("DELETE FROM handoffs WHERE expires_at <= ?", now);
		const row = this.sql
			.exec<{ sealed: string; expires_at: number }>(
				"DELETE FROM handoffs WHERE id = ? RETURNING sealed, expires_at",
				id,
			)
			.toArray()[0];
		return row && row.expires_at > now ? row.sealed : null;
	}
}
