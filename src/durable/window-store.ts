/**
 * The rate-limit windows of one account's keys, inside that account's Durable
 * Object: in memory, and in its SQLite storage with a reserve, so that a
 * verify rarely waits for a write and a crash can only refuse too many
 * (the reserve is explained in src/security/sliding-window.ts and
 * docs/API-KEYS.md).
 */
import {
	emptyWindow,
	reserveFor,
	restoreWindow,
	type StoredWindow,
	type WindowState,
} from "../security/sliding-window";

/** What a window is cut for: the key's id and its current limit and window. */
export interface WindowedKey {
	id: string;
	limit: number;
	windowSeconds: number;
}

/** A key's window in memory, with what storage knows of it. */
interface LiveWindow {
	state: WindowState;
	/** Admissions since the last write. */
	unwritten: number;
	/** The reserve of the last write: how many admissions may go unwritten. */
	reserve: number;
	/** Read back with a reserve that storage still holds: settling writes it down, so it is charged once. */
	restored: boolean;
}

export class WindowStore {
	readonly #live = new Map<string, LiveWindow>();

	constructor(private readonly sql: SqlStorage) {
		sql.exec("CREATE TABLE IF NOT EXISTS key_windows (id TEXT PRIMARY KEY, state TEXT NOT NULL)");
	}

	/** The key's window, read back from storage (reserve counted as admitted now) on first use. */
	of(key: WindowedKey, now: number): WindowState {
		return this.#get(key, now).state;
	}

	/**
	 * Called after `tryAdmit` (or `commit`) admitted `cost` uses on `of(key)`. Storage covers every admission
	 * before it is answered: the last write's reserve covers it, or it is written now with a
	 * fresh reserve.
	 */
	admitted(key: WindowedKey, now: number, cost = 1): void {
		const live = this.#get(key, now);
		live.unwritten += cost;
		if (live.unwritten > live.reserve) this.#write(key.id, live, reserveFor(key.limit));
	}

	/** A lowered limit shrinks the reserve at once: a crash must not cost more than 1% of the new limit. */
	limitChanged(key: WindowedKey): void {
		const live = this.#live.get(key.id);
		if (live && live.reserve > reserveFor(key.limit)) this.#write(key.id, live, reserveFor(key.limit));
	}

	/**
	 * Writes every window exactly (no reserve). The alarm calls it, so an object evicted after
	 * going idle comes back with exact counts; only a crash costs a reserve.
	 */
	settle(): void {
		for (const [id, live] of this.#live) {
			if (live.unwritten > 0 || live.reserve > 0 || live.restored) this.#write(id, live, 0);
		}
	}

	/**
	 * Drops the keys' windows (every named limit's) from memory so they are read back from storage, reserve charged. For a write
	 * transaction that rolled back: memory may say a window was written when storage kept the
	 * older state.
	 */
	forget(keyIds: readonly string[]): void {
		for (const id of this.#live.keys())
			if (keyIds.some((keyId) => id === keyId || id.startsWith(`${keyId}#`))) this.#live.delete(id);
	}

	get size(): number {
		return this.#live.size;
	}

	#get(key: WindowedKey, now: number): LiveWindow {
		let live = this.#live.get(key.id);
		if (!live) {
			const stored = this.sql
				.exec<{ state: string }>("SELECT state FROM key_windows WHERE id = ?", key.id)
				.toArray()[0];
			const parsed = stored ? (JSON.parse(stored.state) as StoredWindow) : null;
			const state = parsed ? restoreWindow(parsed, now, key.windowSeconds * 1000) : emptyWindow();
			// A restored reserve is spent by being counted; the next admission writes.
			live = { state, unwritten: 0, reserve: 0, restored: (parsed?.reserve ?? 0) > 0 };
			this.#live.set(key.id, live);
		}
		return live;
	}

	#write(id: string, live: LiveWindow, reserve: number): void {
		const stored: StoredWindow = { ...live.state, reserve };
		this.sql.exec(
			"INSERT INTO key_windows (id, state) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET state = excluded.state",
			id,
			JSON.stringify(stored),
		);
		live.unwritten = 0;
		live.reserve = reserve;
		live.restored = false;
	}
}
