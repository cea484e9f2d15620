/**
 * The archive chain of the streams one object holds: the head (last object's
 * seq and hash), the key chosen for the next object until the head advances,
 * and the ids already archived (to drop redeliveries).
 */
import type { ChainHead } from "../audit/chain";
import { GENESIS } from "../audit/chain";

/** How long an archived event id is remembered to drop redeliveries (queue retries and DLQ replays). */
const DEDUPE_WINDOW_MS = 35 * 24 * 3600 * 1000;

/** What a handover carries of the dedupe memory: the last day, at most 100,000 ids. */
const HANDOVER_WINDOW_MS = 24 * 3600 * 1000;
const HANDOVER_MAX_IDS = 100_000;

export class ArchiveChain {
	constructor(private readonly sql: SqlStorage) {
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
	}

	head(stream: string): ChainHead {
		const row = this.sql
			.exec<{ seq: number; hash: string }>("SELECT seq, hash FROM chain_head WHERE stream = ?", stream)
			.toArray()[0];
		return row ?? { seq: 0, hash: GENESIS };
	}

	/** The ids not archived yet, each once (one query for all of them). */
	fresh<T extends { id: string }>(entries: readonly T[]): T[] {
		const archived = new Set(
			this.sql
				.exec<{ id: string }>(
					"SELECT id FROM archived_events WHERE id IN (SELECT value FROM json_each(?))",
					JSON.stringify(entries.map((entry) => entry.id)),
				)
				.toArray()
				.map((row) => row.id),
		);
		return entries.filter((entry) => {
			if (archived.has(entry.id)) return false;
			archived.add(entry.id);
			return true;
		});
	}

	/** The key object `seq` was given by an earlier attempt, else `proposed`, kept until the head advances. */
	keyFor(stream: string, seq: number, proposed: () => string): string {
		const pending = this.sql
			.exec<{ key: string }>("SELECT key FROM pending_object WHERE stream = ? AND seq = ?", stream, seq)
			.toArray()[0];
		if (pending) return pending.key;
		const key = proposed();
		this.sql.exec("INSERT OR REPLACE INTO pending_object (stream, seq, key) VALUES (?, ?, ?)", stream, seq, key);
		return key;
	}

	/** The object is stored: the head moves to it and its events count as archived (one transaction, the caller's). */
	advance(stream: string, head: ChainHead, ids: readonly string[], now: number): void {
		this.sql.exec(
			"INSERT INTO chain_head (stream, seq, hash) VALUES (?, ?, ?) ON CONFLICT(stream) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
			stream,
			head.seq,
			head.hash,
		);
		this.sql.exec("DELETE FROM pending_object WHERE stream = ?", stream);
		this.sql.exec(
			"INSERT OR IGNORE INTO archived_events (id, archived_at) SELECT value, ? FROM json_each(?)",
			now,
			JSON.stringify(ids),
		);
		this.sql.exec("DELETE FROM archived_events WHERE archived_at < ?", now - DEDUPE_WINDOW_MS);
	}

	/**
	 * The chain of `stream`, for handing it to another object: the head, the pending key and the
	 * ids archived in the last day (queue retries fall inside it; a replay of older dead letters
	 * may then archive an event twice, which verification tolerates and the index ignores).
	 */
	export(stream: string, now: number): ChainState | null {
		const head = this.sql
			.exec<{ seq: number; hash: string }>("SELECT seq, hash FROM chain_head WHERE stream = ?", stream)
			.toArray()[0];
		const pending = this.sql
			.exec<{ seq: number; key: string }>("SELECT seq, key FROM pending_object WHERE stream = ?", stream)
			.toArray()[0];
		if (!head && !pending) return null;
		const archived = this.sql
			.exec<{ id: string; archived_at: number }>(
				"SELECT id, archived_at FROM archived_events WHERE archived_at >= ? ORDER BY archived_at DESC LIMIT ?",
				now - HANDOVER_WINDOW_MS,
				HANDOVER_MAX_IDS,
			)
			.toArray()
			.map((r) => ({ id: r.id, at: r.archived_at }));
		return { head: head ?? null, pending: pending ?? null, archived };
	}

	/** Takes over a chain exported elsewhere, unless this object already holds one for the stream. */
	import(stream: string, state: ChainState): boolean {
		if (this.head(stream).seq > 0) return false;
		if (state.head)
			this.sql.exec(
				"INSERT INTO chain_head (stream, seq, hash) VALUES (?, ?, ?)",
				stream,
				state.head.seq,
				state.head.hash,
			);
		if (state.pending)
			this.sql.exec(
				"INSERT OR REPLACE INTO pending_object (stream, seq, key) VALUES (?, ?, ?)",
				stream,
				state.pending.seq,
				state.pending.key,
			);
		for (const entry of state.archived)
			this.sql.exec("INSERT OR IGNORE INTO archived_events (id, archived_at) VALUES (?, ?)", entry.id, entry.at);
		return true;
	}
}

export interface ChainState {
	head: ChainHead | null;
	pending: { seq: number; key: string } | null;
	archived: { id: string; at: number }[];
}
