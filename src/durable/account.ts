import { DurableObject } from "cloudflare:workers";
import { archiveKey, buildArchiveObject, type ChainHead, GENESIS, sha256Hex } from "../audit/chain";
import type { Env } from "../env";

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
 * One instance per account (addressed by `idFromName(accountId)`; the system
 * stream has its own), SQLite-backed. It is the single place where per-account
 * state that must be consistent everywhere at once lives: the audit chain head
 * today; rate limits and revocation as those capabilities arrive.
 */
export class AccountDurableObject extends DurableObject<Env> {
	/** The archive bucket; a field so fault-injection tests can wrap the real binding. */
	archive: Pick<R2Bucket, "put">;
	#serial: Promise<unknown> = Promise.resolve();

	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		this.archive = env.AUDIT_ARCHIVE;
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
}
