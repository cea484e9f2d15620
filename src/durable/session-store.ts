/**
 * A user's sessions, inside that user's Durable Object. Every validation
 * reads here, so a deleted session is refused on the very next request, in
 * every location (no cache in front of it).
 */
import { constantTimeEqual } from "../security/digest";

/** Idle renewal is written at most this often, so busy sessions do not write on every request. */
const TOUCH_INTERVAL_MS = 60_000;

export interface SessionRecord {
	id: string;
	createdAt: number;
	lastSeenAt: number;
	/** Absolute end of life. */
	expiresAt: number;
	idleTimeoutMs: number;
	ip: string | null;
	userAgent: string | null;
	country: string | null;
	/**
	 * How the sign-in that made the session was proved (`password`, `totp`, `passkey`, …; the
	 * `amr` of RFC 8176 in spirit). Sessions from before factors were kept have none.
	 */
	factors: SessionFactor[];
	/**
	 * When the person last proved who they are, for the actions that need a recent proof
	 * (src/auth/recent-auth.ts): the start for every sign-in but single sign-on, whose proof is the
	 * provider's `auth_time` (0 when it names none: such a session has proved nothing recent).
	 */
	provedAt: number;
}

export type SessionFactor = "password" | "totp" | "recovery_code" | "email_code" | "passkey" | "sso";
const FACTORS = new Set<string>(["password", "totp", "recovery_code", "email_code", "passkey", "sso"]);

export interface NewSession extends SessionRecord {
	secretHash: string;
}

type Row = Omit<SessionRecord, "createdAt" | "lastSeenAt" | "expiresAt" | "idleTimeoutMs" | "provedAt"> & {
	secret_hash: string;
	created_at: number;
	last_seen_at: number;
	expires_at: number;
	idle_timeout_ms: number;
	user_agent: string | null;
	factors: string | null;
	proved_at: number | null;
};

/**
 * At most this many sessions per user (ASVS 7.1.2); a new one beyond it ends the one least
 * recently used. Enough for every browser and CLI a person uses; a stolen password cannot pile
 * up sessions unnoticed, and the owner's own sign-in keeps working.
 */
export const MAX_SESSIONS_PER_USER = 20;

const toRecord = (r: Row): SessionRecord => ({
	id: r.id,
	createdAt: r.created_at,
	lastSeenAt: r.last_seen_at,
	expiresAt: r.expires_at,
	idleTimeoutMs: r.idle_timeout_ms,
	ip: r.ip,
	userAgent: r.user_agent,
	country: r.country,
	factors: (r.factors ?? "").split(",").filter((f): f is SessionFactor => FACTORS.has(f)),
	provedAt: r.proved_at ?? r.created_at,
});

/** Why a session that was presented with its right secret no longer works. */
export type SessionEnd = "expired" | "revoked";

/** What validating a presented session finds: it, how it ended, or nothing (unknown id or wrong secret). */
export type SessionCheck = { session: SessionRecord } | { ended: SessionEnd } | null;

/** Ended sessions remembered per user, so a client is told "expired" or "revoked" rather than "invalid". */
const ENDED_KEPT = 100;

/** The `sessions`, `ended_sessions` and `seen_sign_ins` tables of one user's object. */
export class SessionStore {
	constructor(private readonly sql: SqlStorage) {
		sql.exec(
			"CREATE TABLE IF NOT EXISTS ended_sessions (id TEXT PRIMARY KEY, secret_hash TEXT NOT NULL, reason TEXT NOT NULL)",
		);
		sql.exec(
			"CREATE TABLE IF NOT EXISTS seen_sign_ins (kind TEXT NOT NULL, value TEXT NOT NULL, seen_at INTEGER NOT NULL, PRIMARY KEY (kind, value))",
		);
		sql.exec(`CREATE TABLE IF NOT EXISTS sessions (
			id TEXT PRIMARY KEY, secret_hash TEXT NOT NULL, created_at INTEGER NOT NULL, last_seen_at INTEGER NOT NULL,
			expires_at INTEGER NOT NULL, idle_timeout_ms INTEGER NOT NULL, ip TEXT, user_agent TEXT, country TEXT,
			factors TEXT)`);
		// Objects made before sessions kept their factors gain the column once.
		const columns = sql.exec<{ name: string }>("PRAGMA table_info(sessions)").toArray();
		if (!columns.some((c) => c.name === "factors")) sql.exec("ALTER TABLE sessions ADD COLUMN factors TEXT");
		// …and the time of their proof (issue #27), which until then was the start.
		if (!columns.some((c) => c.name === "proved_at")) sql.exec("ALTER TABLE sessions ADD COLUMN proved_at INTEGER");
	}

	insert(s: NewSession): void {
		this.sql.exec(
			"INSERT INTO sessions (id, secret_hash, created_at, last_seen_at, expires_at, idle_timeout_ms, ip, user_agent, country, factors, proved_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			s.id,
			s.secretHash,
			s.createdAt,
			s.lastSeenAt,
			s.expiresAt,
			s.idleTimeoutMs,
			s.ip,
			s.userAgent,
			s.country,
			s.factors.join(","),
			s.provedAt,
		);
		this.#end(
			"id NOT IN (SELECT id FROM sessions ORDER BY last_seen_at DESC, created_at DESC LIMIT ?)",
			[MAX_SESSIONS_PER_USER],
			"revoked",
		);
	}

	/**
	 * Deletes the sessions `where` selects, remembering each (id, secret hash, why) so that the
	 * holder of the token is told why; only the most recent ENDED_KEPT are kept. Returns how many ended.
	 */
	#end(where: string, params: SqlStorageValue[], reason: SessionEnd): number {
		this.sql.exec(
			`INSERT OR REPLACE INTO ended_sessions (id, secret_hash, reason) SELECT id, secret_hash, ? FROM sessions WHERE ${where}`,
			reason,
			...params,
		);
		const ended = this.sql.exec(`DELETE FROM sessions WHERE ${where}`, ...params).rowsWritten;
		if (ended > 0)
			this.sql.exec(
				"DELETE FROM ended_sessions WHERE rowid NOT IN (SELECT rowid FROM ended_sessions ORDER BY rowid DESC LIMIT ?)",
				ENDED_KEPT,
			);
		return ended;
	}

	/**
	 * The session if the secret matches and it is neither idle nor past its lifetime; expired ones
	 * are ended here. A session that ended says how, but only to the holder of its secret.
	 */
	validate(id: string, secretHash: string, now: number): SessionCheck {
		const row = this.sql.exec<Row>("SELECT * FROM sessions WHERE id = ?", id).toArray()[0];
		if (!row) {
			const ended = this.sql
				.exec<{ secret_hash: string; reason: SessionEnd }>(
					"SELECT secret_hash, reason FROM ended_sessions WHERE id = ?",
					id,
				)
				.toArray()[0];
			return ended && constantTimeEqual(ended.secret_hash, secretHash) ? { ended: ended.reason } : null;
		}
		if (!constantTimeEqual(row.secret_hash, secretHash)) return null;
		if (now >= row.expires_at || now >= row.last_seen_at + row.idle_timeout_ms) {
			this.#end("id = ?", [id], "expired");
			return { ended: "expired" };
		}
		if (now - row.last_seen_at >= TOUCH_INTERVAL_MS) {
			this.sql.exec("UPDATE sessions SET last_seen_at = ? WHERE id = ?", now, id);
			row.last_seen_at = now;
		}
		return { session: toRecord(row) };
	}

	list(now: number): SessionRecord[] {
		this.purgeEnded(now);
		return this.sql.exec<Row>("SELECT * FROM sessions ORDER BY created_at DESC").toArray().map(toRecord);
	}

	delete(id: string): boolean {
		return this.#end("id = ?", [id], "revoked") > 0;
	}

	/** Deletes every session but `keep` (none kept when null); returns how many ended. */
	deleteExcept(keep: string | null): number {
		return keep === null ? this.#end("1 = 1", [], "revoked") : this.#end("id <> ?", [keep], "revoked");
	}

	/** Deletes ended sessions; returns when the next live one could end (idle or absolute), or null when none is left. */
	purgeEnded(now: number): number | null {
		this.#end("expires_at <= ? OR last_seen_at + idle_timeout_ms <= ?", [now, now], "expired");
		const next = this.sql
			.exec<{ at: number | null }>("SELECT MIN(MIN(expires_at, last_seen_at + idle_timeout_ms)) AS at FROM sessions")
			.one().at;
		return next ?? null;
	}

	ids(): Set<string> {
		return new Set(
			this.sql
				.exec<{ id: string }>("SELECT id FROM sessions")
				.toArray()
				.map((r) => r.id),
		);
	}

	get count(): number {
		return this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM sessions").one().n;
	}

	/**
	 * The devices and countries a user has signed in from (for the new-device notice). Returns what
	 * was new about this sign-in; the first sign-in ever (at sign-up) is new in nothing worth telling.
	 */
	noteSignIn(
		devices: readonly string[],
		country: string | null,
		now: number,
	): { newDevice: boolean; newCountry: boolean; first: boolean } {
		const sql = this.sql;
		const seen = (kind: string, value: string) =>
			sql.exec("SELECT 1 FROM seen_sign_ins WHERE kind = ? AND value = ?", kind, value).toArray().length > 0;
		const first = sql.exec("SELECT 1 FROM seen_sign_ins LIMIT 1").toArray().length === 0;
		const newDevice = !devices.some((device) => seen("device", device));
		const newCountry = country !== null && !seen("country", country);
		const note = (kind: string, value: string) =>
			sql.exec(
				"INSERT INTO seen_sign_ins (kind, value, seen_at) VALUES (?, ?, ?) ON CONFLICT(kind, value) DO UPDATE SET seen_at = excluded.seen_at",
				kind,
				value,
				now,
			);
		for (const device of devices) note("device", device);
		if (country) note("country", country);
		// Bounded: the 50 most recent of each kind.
		sql.exec(
			"DELETE FROM seen_sign_ins WHERE rowid IN (SELECT rowid FROM seen_sign_ins s WHERE (SELECT COUNT(*) FROM seen_sign_ins t WHERE t.kind = s.kind AND t.seen_at > s.seen_at) >= 50)",
		);
		return { newDevice, newCountry, first };
	}
}
