/**
 * Shards of an account's verify path (docs/GLOBAL.md §7): past one object's throughput, an
 * account's keys are spread over N objects by a *slot* of their hash, and every object knows, per
 * slot, which object owns it now. The home (shard 0, the account's object of old) coordinates a
 * change of N by moving slots one group at a time; a slot being moved is frozen at its owner, so
 * no verify, push or lend is answered for it by two objects or by none.
 *
 * - A key's slot is the first byte of its hash (256 slots); with N a power of two up to 16, its
 *   shard is `slot mod N`. A rotation mints its successor in the predecessor's slot
 *   (src/keys/format.ts `mintApiKeyInSlot`), so a chain's credit pool is in one shard at any N.
 * - Routes are stored per slot, not derived from N, so a sweep halfway through is a consistent
 *   state (some slots moved, the others not), and every object can point a misrouted caller on.
 */

/** Slots per account: a key's slot is the first byte of its hash. */
export const SLOTS = 256;
/** The shard counts an account may have (`verifyShards`): powers of two, so growing only splits shards. */
export const SHARD_COUNTS = [1, 2, 4, 8, 16] as const;
export type ShardCount = (typeof SHARD_COUNTS)[number];
/**
 * A caller sent to the wrong shard follows at most this many redirections: a sweep in progress
 * needs three at worst (a target not yet given the slot, the home, the source that then moved it).
 */
export const MAX_HOPS = 6;
/** How long a request waits for a move of its key's slot to end before it gives up (a recall may wait ~5.5 s). */
export const THAW_WAIT_MS = 15_000;
/** Slots moved in one call from one shard to another: a bounded payload, and a short freeze. */
export const SLOTS_PER_MOVE = 16;

/** The slot of a key hash (hex): its first byte. */
export function slotOf(hash: string): number {
	const slot = Number.parseInt(hash.slice(0, 2), 16);
	return Number.isInteger(slot) && slot >= 0 && slot < SLOTS ? slot : 0;
}

/** The shard that owns a slot when the account has `shards` shards and no sweep is under way. */
export const shardOfSlot = (slot: number, shards: number): number => slot % Math.max(1, shards);

/** The object name of shard `index` of an account: shard 0 is the account's object of old. */
export const shardName = (accountId: string, index: number): string =>
	index === 0 ? accountId : `${accountId}#shard:${index}`;

/** The shard index an object's name says (0 for the home, and for every other name in the namespace). */
export function shardIndexOf(name: string | undefined): number {
	const match = /#shard:(\d{1,2})$/.exec(name ?? "");
	return match ? Number(match[1]) : 0;
}

/** A caller's answer that says "not here: ask shard `route`". */
export interface Redirect {
	route: number;
	/** The shard count the object knows of (the caller keeps it for its next request). */
	shards: number;
}

export const isRedirect = (answer: unknown): answer is Redirect =>
	typeof answer === "object" && answer !== null && typeof (answer as { route?: unknown }).route === "number";

export class ShardRoutingError extends Error {
	constructor() {
		super("A key's shard could not be reached: its slot kept moving");
	}
}

/**
 * Calls `call` at shard `first`, then wherever each answer redirects, at most MAX_HOPS times. The
 * answer that is not a redirection is returned with the shard that gave it.
 */
export async function atOwner<T>(
	first: number,
	call: (shard: number) => Promise<unknown>,
): Promise<{ answer: T; shard: number; shards?: number }> {
	let shard = first;
	let shards: number | undefined;
	for (let hop = 0; hop < MAX_HOPS; hop++) {
		const answer = await call(shard);
		if (!isRedirect(answer)) return { answer: answer as T, shard, shards };
		shard = answer.route;
		shards = answer.shards;
	}
	throw new ShardRoutingError();
}

/** The moves that take `routes` to `shards` shards: per source, per target, the slots, in groups. */
export function movesFor(routes: readonly number[], shards: number): { from: number; to: number; slots: number[] }[] {
	const moves = new Map<string, { from: number; to: number; slots: number[] }>();
	routes.forEach((from, slot) => {
		const to = shardOfSlot(slot, shards);
		if (from === to) return;
		const key = `${from}>${to}`;
		const move = moves.get(key) ?? { from, to, slots: [] };
		move.slots.push(slot);
		moves.set(key, move);
	});
	return [...moves.values()].flatMap(({ from, to, slots }) => {
		const groups: { from: number; to: number; slots: number[] }[] = [];
		for (let i = 0; i < slots.length; i += SLOTS_PER_MOVE)
			groups.push({ from, to, slots: slots.slice(i, i + SLOTS_PER_MOVE) });
		return groups;
	});
}

/**
 * One object's routes, in its storage: per slot the shard that owns it as far as this object
 * knows, the shard count, and the slots it is moving out (frozen until the target has them). A
 * home never told anything owns every slot (an account of one shard); another shard owns none.
 */
export class ShardRoutes {
	readonly #routes: number[];
	#shards: number;
	#highWater = 1;
	/** Slots frozen by a move out (stored), and the moves' completions (in memory, this run). */
	readonly #frozen = new Map<number, string>();
	readonly #waiting = new Map<string, { done: Promise<void>; resolve: () => void }>();

	/** Which shard this object is, and of which account (its name, kept: an alarm may start it without one). */
	readonly index: number;
	readonly accountId: string;

	constructor(
		private readonly sql: SqlStorage,
		name: string | undefined,
	) {
		sql.exec(
			"CREATE TABLE IF NOT EXISTS shard_identity (id INTEGER PRIMARY KEY CHECK (id = 1), account_id TEXT NOT NULL, shard INTEGER NOT NULL)",
		);
		const known = sql
			.exec<{ account_id: string; shard: number }>("SELECT account_id, shard FROM shard_identity")
			.toArray()[0];
		if (name) {
			this.index = shardIndexOf(name);
			this.accountId = name.replace(/#shard:\d+$/, "");
			if (!known)
				sql.exec("INSERT INTO shard_identity (id, account_id, shard) VALUES (1, ?, ?)", this.accountId, this.index);
		} else {
			// No name and never named: the account's own object (a one-shard account of old).
			this.index = known?.shard ?? 0;
			this.accountId = known?.account_id ?? "";
		}
		sql.exec(
			"CREATE TABLE IF NOT EXISTS shard_routes (id INTEGER PRIMARY KEY CHECK (id = 1), routes TEXT NOT NULL, shards INTEGER NOT NULL, high_water INTEGER NOT NULL DEFAULT 1)",
		);
		sql.exec(
			"CREATE TABLE IF NOT EXISTS shard_moves_out (move_id TEXT PRIMARY KEY, slots TEXT NOT NULL, target INTEGER NOT NULL, shards INTEGER NOT NULL, handed INTEGER NOT NULL DEFAULT 0)",
		);
		sql.exec("CREATE TABLE IF NOT EXISTS shard_moves_in (move_id TEXT PRIMARY KEY, at INTEGER NOT NULL)");
		sql.exec(
			"CREATE TABLE IF NOT EXISTS shard_sweep (id INTEGER PRIMARY KEY CHECK (id = 1), shards INTEGER NOT NULL, since INTEGER NOT NULL)",
		);
		this.#routes = new Array<number>(SLOTS).fill(0);
		this.#shards = 1;
		this.reload();
	}

	/** Reads routes and frozen slots back from storage (after a start, or a write transaction that rolled back). */
	reload(): void {
		const stored = this.sql
			.exec<{ routes: string; shards: number; high_water: number }>(
				"SELECT routes, shards, high_water FROM shard_routes",
			)
			.toArray()[0];
		const routes = stored ? (JSON.parse(stored.routes) as number[]) : new Array<number>(SLOTS).fill(0);
		routes.forEach((owner, slot) => {
			this.#routes[slot] = owner;
		});
		this.#shards = stored?.shards ?? 1;
		this.#highWater = stored?.high_water ?? 1;
		this.#frozen.clear();
		for (const move of this.movesOut()) for (const slot of move.slots) this.#frozen.set(slot, move.moveId);
	}

	get shards(): number {
		return this.#shards;
	}

	/** The most shards this account has been asked to have: an object above it never held a slot. */
	get highWater(): number {
		return this.#highWater;
	}

	/**
	 * The change of N the home has started and not finished (null: none). Stored before anything
	 * moves and cleared only when every slot is where N says, so a home that restarts mid-sweep
	 * finds it and its alarm carries the sweep on.
	 */
	get pendingSweep(): { shards: number; since: number } | null {
		return (
			this.sql
				.exec<{ shards: number; since: number }>("SELECT shards, since FROM shard_sweep")
				.toArray()
				.map(({ shards, since }) => ({ shards, since }))[0] ?? null
		);
	}

	startSweep(shards: number, now: number): void {
		this.sql.exec(
			"INSERT INTO shard_sweep (id, shards, since) VALUES (1, ?, ?) ON CONFLICT(id) DO UPDATE SET shards = excluded.shards",
			shards,
			now,
		);
	}

	endSweep(): void {
		this.sql.exec("DELETE FROM shard_sweep");
	}

	/** Noted before a change of N starts moving anything. */
	raiseHighWater(shards: number): void {
		if (shards <= this.#highWater) return;
		this.#highWater = shards;
		this.#save();
	}

	/** A copy of the routes (slot → shard). */
	get routes(): number[] {
		return [...this.#routes];
	}

	routeOf(slot: number): number {
		return this.#routes[slot] ?? 0;
	}

	/** Whether this object answers for the slot now (it owns it and is not moving it out). */
	owns(slot: number): boolean {
		return this.#routes[slot] === this.index && !this.#frozen.has(slot);
	}

	/** Owned slots, frozen ones included (they are this object's until the target has them). */
	get ownedSlots(): number[] {
		return this.#routes.flatMap((owner, slot) => (owner === this.index ? [slot] : []));
	}

	/**
	 * The slots this object can say it holds: owned, and not in a move whose hand-over may have
	 * reached its target (that target may hold them already; this object will drop them).
	 */
	get heldSlots(): number[] {
		const handed = new Set(this.movesOut().flatMap((m) => (this.handedOver(m.moveId) ? m.slots : [])));
		return this.ownedSlots.filter((slot) => !handed.has(slot));
	}

	/** The move freezing a slot (undefined: none). */
	frozenBy(slot: number): string | undefined {
		return this.#frozen.get(slot);
	}

	/**
	 * Resolves when the move that froze the slot has ended (at once when none); rejects after
	 * `timeoutMs` (a hand-over that cannot complete: the caller answers "unavailable", never a verdict).
	 */
	thawed(slot: number, timeoutMs = THAW_WAIT_MS): Promise<void> {
		const moveId = this.#frozen.get(slot);
		if (!moveId) return Promise.resolve();
		let timer: ReturnType<typeof setTimeout> | undefined;
		return Promise.race([
			this.#waiter(moveId).done,
			new Promise<never>((_, reject) => {
				timer = setTimeout(() => reject(new ShardRoutingError()), timeoutMs);
			}),
		]).finally(() => clearTimeout(timer));
	}

	#waiter(moveId: string) {
		let waiter = this.#waiting.get(moveId);
		if (!waiter) {
			let resolve = () => {};
			const done = new Promise<void>((r) => {
				resolve = r;
			});
			waiter = { done, resolve };
			this.#waiting.set(moveId, waiter);
		}
		return waiter;
	}

	/** Points these slots at `owner` (and, when given, takes the account's new shard count). */
	set(slots: readonly number[], owner: number, shards?: number): void {
		for (const slot of slots) this.#routes[slot] = owner;
		if (shards !== undefined) this.#shards = shards;
		this.#save();
	}

	setShards(shards: number): void {
		this.#shards = shards;
		this.#save();
	}

	#save(): void {
		this.sql.exec(
			"INSERT INTO shard_routes (id, routes, shards, high_water) VALUES (1, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET routes = excluded.routes, shards = excluded.shards, high_water = excluded.high_water",
			JSON.stringify(this.#routes),
			this.#shards,
			this.#highWater,
		);
	}

	/** Freezes slots for a move out (stored first: a restart resumes it rather than answering for them). */
	freeze(moveId: string, slots: readonly number[], target: number, shards: number): void {
		this.sql.exec(
			"INSERT INTO shard_moves_out (move_id, slots, target, shards) VALUES (?, ?, ?, ?) ON CONFLICT(move_id) DO NOTHING",
			moveId,
			JSON.stringify(slots),
			target,
			shards,
		);
		for (const slot of slots) this.#frozen.set(slot, moveId);
		this.#waiter(moveId);
	}

	/** The target has the slots: they point there now, and whoever waited is told. */
	finishMoveOut(moveId: string, slots: readonly number[], target: number, shards: number): void {
		this.sql.exec("DELETE FROM shard_moves_out WHERE move_id = ?", moveId);
		for (const slot of slots) this.#frozen.delete(slot);
		this.set(slots, target, shards);
		this.#waiting.get(moveId)?.resolve();
		this.#waiting.delete(moveId);
	}

	/** The move's hand-over may have reached the target (stored before the first try): it can no longer be undone. */
	markHandedOver(moveId: string): void {
		this.sql.exec("UPDATE shard_moves_out SET handed = 1 WHERE move_id = ?", moveId);
	}

	handedOver(moveId: string): boolean {
		return this.sql.exec("SELECT 1 FROM shard_moves_out WHERE move_id = ? AND handed = 1", moveId).toArray().length > 0;
	}

	/** A move that failed before its hand-over: the slots are this object's again, unchanged. */
	abortMoveOut(moveId: string, slots: readonly number[]): void {
		this.sql.exec("DELETE FROM shard_moves_out WHERE move_id = ?", moveId);
		for (const slot of slots) if (this.#frozen.get(slot) === moveId) this.#frozen.delete(slot);
		this.#waiting.get(moveId)?.resolve();
		this.#waiting.delete(moveId);
	}

	/** Moves out stored and not finished (a restart resumes them). */
	movesOut(): { moveId: string; slots: number[]; target: number; shards: number }[] {
		return this.sql
			.exec<{ move_id: string; slots: string; target: number; shards: number }>(
				"SELECT move_id, slots, target, shards FROM shard_moves_out",
			)
			.toArray()
			.map((r) => ({ moveId: r.move_id, slots: JSON.parse(r.slots) as number[], target: r.target, shards: r.shards }));
	}

	/** Whether a move in was taken already (a retried move is taken once). */
	tookIn(moveId: string): boolean {
		return this.sql.exec("SELECT 1 FROM shard_moves_in WHERE move_id = ?", moveId).toArray().length > 0;
	}

	noteMoveIn(moveId: string, now: number): void {
		this.sql.exec(
			"INSERT INTO shard_moves_in (move_id, at) VALUES (?, ?) ON CONFLICT(move_id) DO NOTHING",
			moveId,
			now,
		);
		// A retry arrives within minutes; a week of ids is plenty.
		this.sql.exec("DELETE FROM shard_moves_in WHERE at < ?", now - 7 * 86_400_000);
	}
}
