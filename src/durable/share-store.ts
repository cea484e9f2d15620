/**
 * The shares of the account's key windows lent to regional guards (docs/GLOBAL.md), in the account
 * object's storage. A grant is stored before the guard hears of it (the object's output gate holds
 * the answer until the write is durable), so a restarted home still counts everything it lent, and
 * each window's last epoch is kept so that an epoch number is never reused.
 */
import { type LeaseTerms, ShareBook } from "../security/quota-lease";

export class ShareStore {
	readonly #books = new Map<string, ShareBook>();
	/** Windows with shares out (read once at start): the rest skip every lookup. */
	readonly #lent: Set<string>;

	constructor(private readonly sql: SqlStorage) {
		sql.exec(
			"CREATE TABLE IF NOT EXISTS window_shares (window_id TEXT NOT NULL, guard TEXT NOT NULL, epoch INTEGER NOT NULL, granted INTEGER NOT NULL, reported INTEGER NOT NULL, deadline INTEGER NOT NULL, PRIMARY KEY (window_id, guard))",
		);
		sql.exec(
			"CREATE TABLE IF NOT EXISTS window_share_epochs (window_id TEXT PRIMARY KEY, last_epoch INTEGER NOT NULL, sealed INTEGER NOT NULL DEFAULT 0)",
		);
		// A local object whose table was made before `sealed` existed (94a05b0, never deployed) gains it.
		const columns = sql.exec<{ name: string }>("PRAGMA table_info(window_share_epochs)").toArray();
		if (!columns.some((c) => c.name === "sealed"))
			sql.exec("ALTER TABLE window_share_epochs ADD COLUMN sealed INTEGER NOT NULL DEFAULT 0");
		this.#lent = new Set(
			sql
				.exec<{ window_id: string }>("SELECT DISTINCT window_id FROM window_shares")
				.toArray()
				.map((r) => r.window_id),
		);
	}

	/** Uses lent out of a window and not yet reported (0, with no lookup, for a window never lent). */
	held(windowId: string): number {
		return this.#lent.has(windowId) ? this.book(windowId).held : 0;
	}

	/** What is lent and not yet reported across the books whose ids start with `prefix` (a credit pool's). */
	heldWithPrefix(prefix: string): number {
		let held = 0;
		for (const id of this.#lent) if (id.startsWith(prefix)) held += this.book(id).held;
		return held;
	}

	/** A guard's share of a window (undefined: none lent, with no lookup for a window never lent). */
	shareOf(windowId: string, guard: string) {
		return this.#lent.has(windowId) ? this.book(windowId).share(guard) : undefined;
	}

	get anyLent(): boolean {
		return this.#lent.size > 0;
	}

	/** The windows with shares out. */
	get lentWindows(): string[] {
		return [...this.#lent];
	}

	book(windowId: string): ShareBook {
		let book = this.#books.get(windowId);
		if (!book) {
			const rows = this.sql
				.exec<{ guard: string; epoch: number; granted: number; reported: number; deadline: number }>(
					"SELECT guard, epoch, granted, reported, deadline FROM window_shares WHERE window_id = ?",
					windowId,
				)
				.toArray();
			const last =
				this.sql
					.exec<{ last_epoch: number }>("SELECT last_epoch FROM window_share_epochs WHERE window_id = ?", windowId)
					.toArray()[0]?.last_epoch ?? 0;
			book = new ShareBook(
				rows.map((r) => [r.guard, { epoch: r.epoch, granted: r.granted, reported: r.reported, deadline: r.deadline }]),
				last,
			);
			this.#books.set(windowId, book);
		}
		return book;
	}

	/** Writes a window's book as it now is (after a grant, report, release or expiry). */
	save(windowId: string): void {
		const book = this.book(windowId);
		this.sql.exec("DELETE FROM window_shares WHERE window_id = ?", windowId);
		const entries = book.entries();
		for (const [guard, share] of entries) {
			this.sql.exec(
				"INSERT INTO window_shares (window_id, guard, epoch, granted, reported, deadline) VALUES (?, ?, ?, ?, ?, ?)",
				windowId,
				guard,
				share.epoch,
				share.granted,
				share.reported,
				share.deadline,
			);
		}
		this.sql.exec(
			"INSERT INTO window_share_epochs (window_id, last_epoch, sealed) VALUES (?, ?, ?) ON CONFLICT(window_id) DO UPDATE SET last_epoch = excluded.last_epoch, sealed = excluded.sealed",
			windowId,
			book.lastEpoch,
			book.sealed,
		);
		if (entries.length > 0) this.#lent.add(windowId);
		else this.#lent.delete(windowId);
	}

	/** Drops the books of these windows from memory (moved in or out by a shard move: read back from storage). */
	forget(windowIds: readonly string[]): void {
		for (const id of windowIds) {
			this.#books.delete(id);
			const lent = this.sql.exec("SELECT 1 FROM window_shares WHERE window_id = ? LIMIT 1", id).toArray().length > 0;
			if (lent) this.#lent.add(id);
			else this.#lent.delete(id);
		}
	}

	/** Seals the shares lent so far of these windows (ShareBook.seal): a key changed. */
	seal(windowIds: readonly string[]): void {
		for (const id of windowIds) {
			if (!this.#lent.has(id)) continue;
			this.book(id).seal();
			this.save(id);
		}
	}

	/** The guards holding a share of any of these windows, with the latest moment each share ends. */
	holders(windowIds: readonly string[], terms: LeaseTerms): Map<string, number> {
		const out = new Map<string, number>();
		for (const id of windowIds) {
			if (!this.#lent.has(id)) continue;
			for (const [guard, share] of this.book(id).entries())
				out.set(guard, Math.max(out.get(guard) ?? 0, share.deadline + terms.graceMs));
		}
		return out;
	}

	/** When the next share ends unless renewed (null: none lent). */
	nextExpiry(terms: LeaseTerms): number | null {
		let next: number | null = null;
		for (const id of this.#lent) {
			const at = this.book(id).nextExpiry(terms);
			if (at !== null && (next === null || at < next)) next = at;
		}
		return next;
	}
}
