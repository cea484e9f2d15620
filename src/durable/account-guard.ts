/**
 * One object per account: its API keys as verify needs them, their rate-limit
 * windows and usage, and the account's failed-login windows. Every verify of
 * the account's keys is answered here, and every lifecycle write pushes the
 * new record here first (src/keys/lifecycle.ts), so a revocation is seen on
 * the next verify in every location.
 *
 * Deployed as `AccountDurableObject` (its name before the roles were split;
 * wrangler.toml): keeping the name keeps the accounts' stored keys and windows
 * where they are. The instances the single-class layout kept for other roles
 * (`user:`, `login-…`, `quota:`, `audit:` names) still live in this namespace:
 * `audit:` ones keep the chain heads AuditArchive takes over (`legacyChain`),
 * the others drop their tables when their last alarm fires.
 */
import { DurableObject } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { parseSettings, type VerifyPlacement } from "../accounts/settings";
import { completeVerifyEvent, type VerifyEventDraft } from "../audit/verify-event";
import { createDatabase } from "../db";
import { accounts } from "../db/schema";
import { DEFAULT_TERMS } from "../security/quota-lease";
import { ArchiveChain, type ChainState } from "./archive-store";
import { PendingAuditEvents } from "./event-store";
import { guardOf, type RecallTarget, regionalGuardName } from "./guard-protocol";
import {
	type KeyRecord,
	KeyStore,
	type LendRequest,
	type Lent,
	type Returned,
	type ShardCargo,
	type UseCost,
	type VerifyOutcome,
} from "./key-store";
import { type FailedLoginVerdict, FailedLoginWindows } from "./login-alert-store";
import {
	atOwner,
	MAX_HOPS,
	movesFor,
	type Redirect,
	ShardRoutes,
	ShardRoutingError,
	shardName,
	slotOf,
} from "./shard-map";

export interface AccountGuardEnv {
	DB: D1Database;
	AUDIT_QUEUE: Queue;
	REGIONAL_GUARD: DurableObjectNamespace<RecallTarget>;
	/** The account's other shards (docs/GLOBAL.md §7), in this same namespace. */
	ACCOUNT_GUARD: DurableObjectNamespace<AccountGuard>;
	/** How long verify's audit events wait in the object to go to the queue together (default 1000 ms). */
	AUDIT_OBJECT_FLUSH_MS?: string;
}

const LAST_USED_FLUSH_MS = 30_000;
/** How long a recall waits for a guard's answer before waiting its shares out instead. */
const RECALL_TIMEOUT_MS = 2_000;

const withTimeout = <T>(promise: Promise<T>, ms: number): Promise<T> =>
	Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error("timeout")), ms))]);

/** A guard of this account in a region (named as src/durable/address.ts names it, by regionalGuardName). */
const regionalGuardStub = (env: Pick<AccountGuardEnv, "REGIONAL_GUARD">, accountId: string, region: string) =>
	env.REGIONAL_GUARD.get(env.REGIONAL_GUARD.idFromName(regionalGuardName(accountId, region)));
type AccountGuardStub = DurableObjectStub<AccountGuard>;

/** A verify as the key's shard answers it: the outcome, whether its event is stored, and what routes the next one. */
/** A key's usage as its shard counts it, with its live credit balance (null: no credits). */
export type KeyUsage = ReturnType<KeyStore["usage"]> & { credits: number | null };

/** What one of the account's objects holds (the development object-stats route and the load run read it). */
export interface ObjectStats {
	keys: number;
	windows: number;
	pendingUsage: number;
	pendingLastUsed: number;
	storedKeys: number;
	storedWindows: number;
	d1Loads: number;
	keySetComplete: boolean;
	pendingEvents: number;
	eventsSent: { sendBatches: number; messages: number; events: number };
	shard: number;
	shards: number;
	ownedSlots: number;
}

export type ObjectVerdict = VerifyOutcome & { recorded: boolean; placement: VerifyPlacement; shards: number };
const EVENTS_FLUSH_DEFAULT_MS = 1_000;
/**
 * This many waiting events are sent at once, without waiting for the delay. Not fewer: a send's
 * last packet is partly empty, and sends of ~100 events (about 1.2 packets) cost twice the queue
 * operations per event of sends of several hundred (measured: 0.087 against 0.04 per verify).
 */
const EVENTS_SEND_AT = 500;
/** A refused send is retried after 2, 4, 8 … s, at most this long apart; the events stay stored meanwhile. */
const EVENTS_RETRY_MAX_MS = 60_000;
/**
 * Past this many waiting events (a long queue outage under load) the object stores no more: the
 * verify answers `recorded: false` and the Worker records the event its own way (its coalescer,
 * then the D1 outbox), so storage stays bounded and nothing is dropped.
 */
const EVENTS_STORED_MAX = 50_000;

const eventsDelay = (env: AccountGuardEnv): number => {
	const ms = Number(env.AUDIT_OBJECT_FLUSH_MS ?? EVENTS_FLUSH_DEFAULT_MS);
	return Number.isFinite(ms) && ms >= 0 && ms <= 600_000 ? ms : EVENTS_FLUSH_DEFAULT_MS;
};
/** How many times a shard move's hand-over is tried before the slots stay frozen for the alarm to retry. */
const MOVE_TRIES = 5;
/** A move left frozen (its hand-over unanswered) is tried again by the alarm this soon. */
const MOVE_RETRY_MS = 5_000;
/** A change of N left unfinished (a restart, a shard that did not answer) is carried on by the alarm this soon, doubling to a cap. */
const SWEEP_RETRY_MS = 5_000;
const SWEEP_RETRY_MAX_MS = 300_000;

/** Tables of the single-class layout that no role here reads any more. */
const LEGACY_TABLES = ["sessions", "seen_sign_ins", "failure_streak", "failure_window", "known_devices"];

export class AccountGuard extends DurableObject<AccountGuardEnv> {
	readonly keys: KeyStore;
	/** Which shard of the account answers for each slot of key hashes (src/durable/shard-map.ts). */
	readonly routes: ShardRoutes;
	/** Moves out running in this run, by move id (a restart resumes the stored ones). */
	readonly #moving = new Map<string, Promise<{ moved: number } | { splitPools: string[] }>>();
	/** Shard-count changes run one after another (the home only). */
	#resharding: Promise<unknown> = Promise.resolve();
	/** Settings applied one after another (read, placement to every shard, sweep). */
	#applying: Promise<unknown> = Promise.resolve();
	/** Sweeps the alarm carried on that failed again, this run (the next try waits longer). */
	#sweepFailures = 0;
	/** Verify's audit events, stored before each answer and sent by the alarm. */
	readonly events: PendingAuditEvents;
	readonly #failedLogins: FailedLoginWindows;
	/** When the alarm is set for (null: none); undefined until read from storage once after a start. */
	#alarmAt: number | null | undefined = undefined;
	#refusedSends = 0;
	/** After a refused send, no event alarm before this (verifies must not undo the backoff). */
	#eventsNotBefore = 0;
	/**
	 * One-way delay added to each recall to a region's guard (ms, by region): none here, where every
	 * object shares one machine. The simulation with real objects sets it; nothing else does.
	 */
	linkDelayMs: Record<string, number> = {};
	/** EVENTS_STORED_MAX; a test lowers it on its instance rather than store 50,000 events. */
	eventsStoredMax = EVENTS_STORED_MAX;

	/** The account's `verifyPlacement` as last read from D1 (undefined: never read; read after a found key's verify). */
	#placement: VerifyPlacement | undefined;
	/** A read started by a verify is under way. */
	#placementReading = false;
	/** Reads of the placement run one after another, so the last to finish read after the last change. */
	#placementRead: Promise<unknown> = Promise.resolve();

	constructor(ctx: DurableObjectState, env: AccountGuardEnv) {
		super(ctx, env);
		this.routes = new ShardRoutes(ctx.storage.sql, ctx.id.name);
		this.keys = new KeyStore(ctx.storage.sql, () => createDatabase(env.DB), {
			holds: (hash) => this.routes.routeOf(slotOf(hash)) === this.routes.index,
			answers: (hash) => this.routes.owns(slotOf(hash)),
		});
		this.events = new PendingAuditEvents(ctx.storage.sql);
		this.#failedLogins = new FailedLoginWindows(ctx.storage.sql);
		ctx.storage.sql.exec(
			"CREATE TABLE IF NOT EXISTS placement (id INTEGER PRIMARY KEY CHECK (id = 1), value TEXT NOT NULL)",
		);
		const stored = ctx.storage.sql.exec<{ value: string }>("SELECT value FROM placement").toArray()[0]?.value;
		this.#placement = stored === "regional" || stored === "home" ? stored : undefined;
	}

	/**
	 * Reads the account's `verifyPlacement` and `verifyShards` from D1 again: the settings route calls
	 * it after every change (in any order, the read that finishes last saw the last change). At the
	 * home, the placement goes to every shard and the shards are brought to the count read (a sweep
	 * that returns once every slot is at its new shard). Returns the placement read.
	 */
	async refreshPlacement(accountId: string): Promise<VerifyPlacement> {
		return (await this.applySettings(accountId)).placement;
	}

	/** As `refreshPlacement`, with the credit pools a move refused to split (none when every slot moved). */
	applySettings(accountId: string): Promise<{ placement: VerifyPlacement; splitPools: string[] }> {
		// One after another, read to sweep: a later read's shorter fan-out cannot overtake an earlier
		// one's and leave the shards at the older setting.
		const run = this.#applying.then(async () => {
			const { placement, shards } = await this.#readSettings(accountId);
			if (this.routes.index !== 0) return { placement, splitPools: [] };
			await Promise.all(this.#shardsInUse(shards).map((i) => this.#shard(accountId, i).takePlacement(placement)));
			const { splitPools } = await this.reshard(accountId, shards);
			return { placement, splitPools };
		});
		this.#applying = run.catch(() => {});
		return run;
	}

	/** Reads the two settings from D1, one read after another (the last to finish read after the last change). */
	#readSettings(accountId: string): Promise<{ placement: VerifyPlacement; shards: number }> {
		const read = this.#placementRead.then(async () => {
			const row = await createDatabase(this.env.DB)
				.select({ settings: accounts.settings })
				.from(accounts)
				.where(eq(accounts.id, accountId))
				.get();
			const settings = row ? parseSettings(row.settings) : null;
			this.takePlacement(settings?.verifyPlacement ?? "home");
			return { placement: settings?.verifyPlacement ?? "home", shards: settings?.verifyShards ?? 1 };
		});
		this.#placementRead = read.catch(() => {});
		return read;
	}

	/** The placement the home read (pushed to every shard). */
	takePlacement(placement: VerifyPlacement): void {
		this.ctx.storage.sql.exec(
			"INSERT INTO placement (id, value) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET value = excluded.value",
			placement,
		);
		this.#placement = placement;
	}

	/** The placement verify answers carry (so the Worker routes the next ones); read once if never read. */
	#placementFor(accountId: string, found: boolean): VerifyPlacement {
		// One read at a time: the verifies that arrive before it ends do not queue more.
		if (this.#placement === undefined && found && !this.#placementReading) {
			this.#placementReading = true;
			this.ctx.waitUntil(
				this.#readSettings(accountId)
					.catch(() => {})
					.finally(() => {
						this.#placementReading = false;
					}),
			);
		}
		return this.#placement ?? "home";
	}

	/**
	 * When the waiting events are due: at once when EVENTS_SEND_AT of them wait or an alarm's send
	 * stopped at its most (`backlog`), else after the delay; never before a refused send's backoff.
	 * Events that arrived while the alarm's send awaited the queue are not a backlog: sent at once,
	 * each alarm under load carried only those few (measured: 67 sends of 30 events for 2,000
	 * verifies, 0.114 queue operations each, against 8 sends of 250 and 0.03).
	 */
	#eventsDueAt(now: number, backlog: boolean): number {
		const due = backlog || this.events.count >= EVENTS_SEND_AT ? now : now + eventsDelay(this.env);
		return Math.max(due, this.#eventsNotBefore);
	}

	/** Makes sure the alarm fires by `at`: one storage read after a start, then a write only to move it earlier. */
	async #wakeBy(at: number): Promise<void> {
		if (this.#alarmAt === undefined) this.#alarmAt = await this.ctx.storage.getAlarm();
		if (this.#alarmAt !== null && this.#alarmAt <= at) return;
		await this.ctx.storage.setAlarm(at);
		this.#alarmAt = at;
	}

	// ---- API keys

	/**
	 * Called by every management write right after D1, so verify never serves a stale key. Returns
	 * once no regional guard can admit on the old record: each guard holding a share of the key has
	 * given it back, or that share has ended (docs/GLOBAL.md).
	 */
	async upsertKey(record: KeyRecord): Promise<void> {
		await this.upsertKeys([record]);
	}

	/**
	 * Many at once (a lockdown or offboarding revokes every key in one call, not one call per key).
	 * At the home, each record goes to the shard that owns its slot (after any move of that slot
	 * ends), all shards at once, and the call returns when every one has it. Another shard takes the
	 * records it owns and answers the rest with where they belong (`forwarded`: it does not pass them
	 * on itself, so two shards never bounce a record between them).
	 */
	async upsertKeys(records: KeyRecord[], forwarded = false): Promise<{ record: KeyRecord; route: number }[]> {
		const accountId = records[0]?.accountId;
		let pending = records.map((record) => ({ record, route: this.routes.index }));
		for (let hop = 0; pending.length > 0 && accountId && hop < MAX_HOPS; hop++) {
			// Moves of these slots end first; then every record is placed with no await in between.
			await Promise.all(pending.map(({ record }) => this.#redirectFor(record.hash)));
			const here: KeyRecord[] = [];
			const away = new Map<number, KeyRecord[]>();
			for (const { record, route } of pending) {
				const slot = slotOf(record.hash);
				if (this.routes.owns(slot)) here.push(record);
				else {
					// Where the shard that sent it back said it belongs, or else where this object knows.
					const to = route !== this.routes.index ? route : this.routes.routeOf(slot);
					away.set(to, [...(away.get(to) ?? []), record]);
				}
			}
			const done = here.length > 0 ? this.#upsertHere(here) : Promise.resolve();
			if (forwarded || this.routes.index !== 0) {
				await done;
				return [...away].flatMap(([route, list]) => list.map((record) => ({ record, route })));
			}
			const answers = await Promise.all(
				[...away].map(([route, list]) => this.#shard(accountId, route).upsertKeys(list, true)),
			);
			await done;
			pending = answers.flat();
		}
		if (pending.length > 0) throw new ShardRoutingError();
		return [];
	}

	async #upsertHere(records: KeyRecord[]): Promise<void> {
		// A new credit plan sets the balance: the credits guards hold of the old one come back first, so
		// the uses they report are spent from the balance they were lent from, not the one being set.
		const replanned = records.filter((r) => r.credits?.version !== this.keys.recordOf(r.hash)?.credits?.version);
		if (replanned.length > 0)
			await this.#recall([...replanned, ...replanned.flatMap((r) => this.keys.recordOf(r.hash) ?? [])]);
		const before = records.flatMap((r) => this.keys.recordOf(r.hash) ?? []);
		try {
			this.ctx.storage.transactionSync(() => {
				for (const record of records) this.keys.upsert(record);
			});
		} catch (err) {
			this.keys.windows.forget(records.map((r) => r.id));
			this.keys.credits.forget(records.map((r) => r.credits?.pool ?? r.id));
			throw err;
		}
		await this.#recall([...records, ...before]);
	}

	// ---- shards (docs/GLOBAL.md §7)

	/** Shard `index` of this account (this same class, by name). */
	#shard(accountId: string, index: number) {
		return this.env.ACCOUNT_GUARD.get(this.env.ACCOUNT_GUARD.idFromName(shardName(accountId, index)));
	}

	/** The shards other than this one that hold slots, or will at `shards` shards. */
	#shardsInUse(shards: number): number[] {
		const used = new Set([...this.routes.routes, ...Array.from({ length: shards }, (_, i) => i)]);
		used.delete(this.routes.index);
		return [...used];
	}

	/**
	 * Where a key's requests go when this object does not answer for it (null: it does). A slot being
	 * moved out is waited for: then it is the target's, which has everything it needs.
	 */
	async #redirectFor(hash: string): Promise<Redirect | null> {
		const slot = slotOf(hash);
		if (this.routes.frozenBy(slot) !== undefined) {
			this.#resumeMoves();
			await this.routes.thawed(slot);
		}
		return this.routes.owns(slot) ? null : { route: this.routes.routeOf(slot), shards: this.routes.shards };
	}

	/**
	 * At the home: brings the account to `shards` shards, moving slots from the shard that has them to
	 * the shard `slot mod shards`, every source at once and each source one group of slots at a time.
	 * Returns the credit pools that kept a move from happening (none when every slot moved).
	 */
	reshard(accountId: string, shards: number): Promise<{ moved: number; splitPools: string[] }> {
		const run = this.#resharding.then(async () => {
			if (this.routes.index !== 0) return { moved: 0, splitPools: [] };
			this.routes.raiseHighWater(shards);
			// Stored before anything moves: if this run ends first, the alarm carries the sweep on. (The
			// same count again with nothing frozen is stored only if a sweep is pending: no alarm for it.)
			const noChange = shards === this.routes.shards && this.routes.movesOut().length === 0;
			if (!noChange || this.routes.pendingSweep) {
				this.routes.startSweep(shards, Date.now());
				await this.#wakeBy(Date.now() + this.#sweepRetryMs());
			}
			await this.#learnRoutes(accountId);
			const moves = movesFor(this.routes.routes, shards);
			const bySource = Map.groupBy(moves, (m) => m.from);
			let moved = 0;
			const splitPools: string[] = [];
			// Every branch ends before the next change of N starts (allSettled), failed or not.
			const results = await Promise.allSettled(
				[...bySource].map(async ([from, list]) => {
					for (const { to, slots } of list) {
						const moveId = crypto.randomUUID();
						const result =
							from === this.routes.index
								? await this.moveOut(accountId, moveId, slots, to, shards)
								: await this.#shard(accountId, from).moveOut(accountId, moveId, slots, to, shards);
						if ("splitPools" in result) splitPools.push(...result.splitPools);
						else {
							moved += result.moved;
							// Only the slots that did move: the source may have held fewer than this view said.
							if (from !== this.routes.index && result.slots.length > 0) this.routes.set(result.slots, to);
						}
					}
				}),
			);
			const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
			if (failed) throw failed.reason;
			if (splitPools.length === 0) this.routes.setShards(shards);
			// Done, or stopped by a pool it must not split: the caller was told to send N again later.
			this.routes.endSweep();
			return { moved, splitPools: [...new Set(splitPools)] };
		});
		this.#resharding = run.catch(() => {});
		return run;
	}

	/**
	 * The home's routes from what each shard says it holds (the truth, where the home's view may lag
	 * a move whose answer was lost). A slot being moved counts at its source until the target has it.
	 */
	async #learnRoutes(accountId: string): Promise<void> {
		const others = Array.from({ length: this.routes.highWater }, (_, i) => i).filter((i) => i !== this.routes.index);
		const held = await Promise.all(
			others.map(async (i) => ({ i, slots: await this.#shard(accountId, i).heldSlots() })),
		);
		for (const { i, slots } of held) if (slots.length > 0) this.routes.set(slots, i);
		const mine = this.routes.heldSlots;
		if (mine.length > 0) this.routes.set(mine, this.routes.index);
	}

	/** The slots this object holds (moving ones included), for the home's `#learnRoutes`. */
	heldSlots(): number[] {
		return this.routes.heldSlots;
	}

	/**
	 * Moves these slots' keys to shard `to`: the slots are frozen first (stored), so nothing here
	 * answers for them any more; the shares lent of their keys are recalled; then everything about
	 * the keys goes over in one call, and only when the target has taken it do the slots point there
	 * and the keys leave this object. Answers the keys and the slots moved (slots this object does not
	 * hold, or that another move is moving, are left out).
	 */
	async moveOut(
		accountId: string,
		moveId: string,
		slots: number[],
		to: number,
		shards: number,
	): Promise<{ moved: number; slots: number[] } | { splitPools: string[] }> {
		// The keys go over complete, so the target never reads D1 for them (read before the freeze).
		await this.keys.loadAll(accountId);
		// A move of these slots from before (a restart, an unanswered hand-over) ends first.
		const earlier = new Set(slots.flatMap((slot) => this.routes.frozenBy(slot) ?? []));
		for (const stored of this.routes.movesOut())
			if (earlier.has(stored.moveId)) await this.#runMove(accountId, stored).catch(() => {});
		// Then, with no await until the freeze, the slots still held and not frozen by another move.
		const mine = slots.filter((slot) => this.routes.owns(slot));
		if (mine.length === 0) return { moved: 0, slots: [] };
		this.routes.freeze(moveId, mine, to, shards);
		// A move that cannot finish now is tried again by the alarm; its slots wait frozen.
		await this.#wakeBy(Date.now() + MOVE_RETRY_MS);
		const result = await this.#runMove(accountId, { moveId, slots: mine, target: to, shards });
		return "splitPools" in result ? result : { ...result, slots: mine };
	}

	#runMove(
		accountId: string,
		move: { moveId: string; slots: number[]; target: number; shards: number; handed?: boolean },
	): Promise<{ moved: number } | { splitPools: string[] }> {
		let running = this.#moving.get(move.moveId);
		if (running) return running;
		running = (async () => {
			let cargo: ShardCargo | { splitPools: string[] };
			let moving: KeyRecord[];
			try {
				await this.keys.loadAll(accountId);
				const inSlots = new Set(move.slots);
				moving = this.keys.recordsIn((hash) => inSlots.has(slotOf(hash)));
				await this.#recall(moving);
				this.keys.expireShares(Date.now(), DEFAULT_TERMS);
				cargo = this.keys.exportKeys(moving, Date.now());
			} catch (err) {
				// Nothing was handed over yet (ever, for this move): the slots are simply this object's again.
				if (!move.handed && !this.routes.handedOver(move.moveId)) this.routes.abortMoveOut(move.moveId, move.slots);
				throw err;
			}
			if ("splitPools" in cargo) {
				if (!move.handed && !this.routes.handedOver(move.moveId)) this.routes.abortMoveOut(move.moveId, move.slots);
				return cargo;
			}
			const placement = this.#placement ?? "home";
			// From here the target may have taken the keys: the slots stay frozen until it answers.
			this.routes.markHandedOver(move.moveId);
			for (let attempt = 1; ; attempt++) {
				try {
					await this.#shard(accountId, move.target).moveIn(
						accountId,
						move.moveId,
						move.slots,
						cargo,
						move.shards,
						placement,
					);
					break;
				} catch (err) {
					// Whether the target took it is unknown: the slots stay frozen (never answered twice)
					// and the hand-over, which the target takes once, is tried again (then by the alarm).
					if (attempt >= MOVE_TRIES) throw err;
					await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt));
				}
			}
			const sent = cargo;
			try {
				this.ctx.storage.transactionSync(() => {
					this.keys.dropKeys(
						moving,
						sent.credits.map((c) => c.id),
					);
					this.routes.finishMoveOut(move.moveId, move.slots, move.target, move.shards);
				});
			} catch (err) {
				this.routes.reload();
				throw err;
			}
			return { moved: moving.length };
		})().finally(() => this.#moving.delete(move.moveId));
		this.#moving.set(move.moveId, running);
		return running;
	}

	/**
	 * Carries on an unfinished change of N, to the count the account's setting says now (a later
	 * change supersedes the one interrupted). A failure leaves it stored and tries again later.
	 */
	async #continueSweep(): Promise<void> {
		const accountId = this.routes.accountId;
		if (!accountId) return;
		try {
			await this.applySettings(accountId);
			this.#sweepFailures = 0;
		} catch {
			this.#sweepFailures++;
			await this.#wakeBy(Date.now() + this.#sweepRetryMs());
		}
	}

	#sweepRetryMs(): number {
		return Math.min(SWEEP_RETRY_MAX_MS, SWEEP_RETRY_MS * 2 ** this.#sweepFailures);
	}

	/** Resumes the stored moves out that no call is running (after a restart, or a failed hand-over). */
	#resumeMoves(): void {
		const accountId = this.routes.accountId;
		if (!accountId) return;
		for (const move of this.routes.movesOut())
			if (!this.#moving.has(move.moveId)) this.ctx.waitUntil(this.#runMove(accountId, move).catch(() => {}));
		if (this.routes.movesOut().length > 0) this.ctx.waitUntil(this.#wakeBy(Date.now() + MOVE_RETRY_MS));
	}

	/**
	 * Takes in the keys of slots another shard moves here (once per move id: a retried hand-over is
	 * answered again without taking twice). From then on this object answers for those slots.
	 */
	moveIn(
		accountId: string,
		moveId: string,
		slots: number[],
		cargo: ShardCargo,
		shards: number,
		placement: VerifyPlacement,
	): void {
		if (this.routes.tookIn(moveId)) return;
		const heldNone = this.routes.ownedSlots.length === 0;
		try {
			this.ctx.storage.transactionSync(() => {
				this.keys.importKeys(cargo);
				this.routes.set(slots, this.routes.index, shards);
				this.routes.noteMoveIn(moveId, Date.now());
				if (!cargo.complete) this.keys.markIncomplete();
				else if (heldNone) this.keys.markComplete(accountId, Date.now());
			});
		} catch (err) {
			// Storage kept nothing of it: neither may memory.
			this.routes.reload();
			this.keys.windows.forget(cargo.records.map((r) => r.id));
			this.keys.credits.forget(cargo.credits.map((c) => c.id));
			throw err;
		}
		if (this.#placement === undefined) this.takePlacement(placement);
	}

	// ---- regional guards (docs/GLOBAL.md)

	/**
	 * A guard asking for shares of a key's windows (null: no such key in this account; a redirection
	 * when another shard owns the key).
	 */
	async lendShares(
		accountId: string,
		hash: string,
		request: LendRequest,
		now: number,
	): Promise<Lent | null | Redirect> {
		for (let hop = 0; hop < MAX_HOPS; hop++) {
			const away = await this.#redirectFor(hash);
			if (away) return away;
			const regional = this.#placementFor(accountId, true) === "regional";
			const lent = await this.keys.lend(accountId, hash, request, now, DEFAULT_TERMS, regional);
			if (lent === "moved") continue;
			await this.#wakeForShares();
			return lent;
		}
		throw new ShardRoutingError();
	}

	/** A guard giving back its shares of a key (it went idle), with its final reports. */
	async releaseShares(guard: string, hash: string, returned: Returned, now: number): Promise<Redirect | null> {
		const away = await this.#redirectFor(hash);
		if (away) return away;
		this.keys.release(guard, hash, returned, now, DEFAULT_TERMS);
		return null;
	}

	/**
	 * Takes back every share of these keys (their records before and after the change, so a renamed
	 * limit's window is not missed). First the shares lent so far are sealed: no renewal adds to them
	 * or moves their deadline. Then each holding guard drops the keys and sends its final reports; a
	 * guard that does not (unreachable, restarted since, or a grant still on its way to it) is waited
	 * out until its shares end. Nothing to do, and no call, when nothing is lent.
	 */
	async #recall(records: readonly KeyRecord[], { waitOut = true } = {}): Promise<void> {
		this.keys.sealShares(records);
		const holders = this.keys.holders(records, DEFAULT_TERMS);
		const accountId = records[0]?.accountId;
		if (holders.size === 0 || !accountId) return;
		const hashes = [...new Set(records.map((r) => r.hash))];
		await Promise.all(
			[...holders.keys()].map(async (guard) => {
				const { region, incarnation } = guardOf(guard);
				const before = this.keys.epochsHeld(guard, records);
				try {
					const stub = regionalGuardStub(this.env, accountId, region);
					const delay = this.linkDelayMs[region] ?? 0;
					const call = async () => {
						if (delay > 0) await new Promise((r) => setTimeout(r, delay));
						const answer = await stub.recall(hashes, incarnation);
						if (delay > 0) await new Promise((r) => setTimeout(r, delay));
						return answer;
					};
					const answer = await withTimeout(call(), RECALL_TIMEOUT_MS);
					for (const [hash, returned] of Object.entries(answer ?? {}))
						this.keys.release(guard, hash, returned, Date.now(), DEFAULT_TERMS);
				} catch {
					// Unreachable: waited out below.
				}
				// A sealed share's deadline cannot move, so this ends within one lease and the grace.
				for (let round = 0; waitOut && round < 3 && this.keys.stillHolds(guard, before); round++) {
					const endsAt = this.keys.endOfShares(guard, before, DEFAULT_TERMS);
					await new Promise((resolve) => setTimeout(resolve, Math.max(0, endsAt - Date.now())));
					this.keys.expireShares(Date.now(), DEFAULT_TERMS);
				}
			}),
		);
	}

	async #wakeForShares(): Promise<void> {
		const at = this.keys.shares.nextExpiry(DEFAULT_TERMS);
		if (at !== null) await this.#wakeBy(at);
	}

	/**
	 * `accountId` is the one the key names (checked against the stored record); its set is this
	 * object's. With `draft`, the verify's audit event is completed with the key and the verdict and
	 * stored here before the answer (`recorded`), for the alarm to send: the Worker sends nothing.
	 * A key this object does not hold records nothing.
	 */
	async verifyKey(
		accountId: string,
		hash: string,
		requiredScopes: string[],
		ip: string | null,
		now: number,
		draft?: VerifyEventDraft,
		use?: UseCost,
	): Promise<ObjectVerdict | Redirect> {
		for (let hop = 0; hop < MAX_HOPS; hop++) {
			const away = await this.#redirectFor(hash);
			if (away) return away;
			let outcome = await this.keys.verify(accountId, hash, requiredScopes, ip, now, use);
			// Refused only because guards hold the credits: they give them back (those that answer at
			// once; none is waited out), and the use is decided again on what came back.
			if (outcome.creditsLent && outcome.key) {
				await this.#recall(this.keys.creditHolders(outcome.key), { waitOut: false });
				outcome = await this.keys.verify(accountId, hash, requiredScopes, ip, now, use, true);
			}
			if (outcome.moved) continue;
			const key = outcome.key;
			const recorded =
				draft !== undefined &&
				key !== undefined &&
				key.accountId === accountId &&
				this.events.count < this.eventsStoredMax;
			if (recorded) {
				this.events.add(completeVerifyEvent(draft, { accountId, keyId: key.id, code: outcome.code, decidedAt: now }));
				await this.#wakeBy(this.#eventsDueAt(Date.now(), false));
			}
			// Usage and last use are written by the alarm too; the first pending write makes sure it is set.
			if (this.keys.hasPending) await this.#wakeBy(Date.now() + LAST_USED_FLUSH_MS);
			return {
				...outcome,
				recorded,
				placement: this.#placementFor(accountId, key !== undefined),
				shards: this.routes.shards,
			};
		}
		throw new ShardRoutingError();
	}

	/**
	 * `here()` when this object answers for the key's slot; otherwise what the owning shard's `there`
	 * answers (the `…Here` methods, which answer only for their own slots and redirect the rest).
	 */
	async #forKey<T>(
		accountId: string,
		hash: string,
		here: () => T | Promise<T>,
		there: (shard: AccountGuardStub) => Promise<unknown>,
	): Promise<T> {
		const away = await this.#redirectFor(hash);
		if (!away) return here();
		return (await atOwner<T>(away.route, (i) => there(this.#shard(accountId, i)))).answer;
	}

	/** `here()` when this object answers for the key's slot, else where it is. */
	async #onlyHere<T>(hash: string, here: () => T | Promise<T>): Promise<T | Redirect> {
		return (await this.#redirectFor(hash)) ?? here();
	}

	/** Which of the account's keys a hash names (a leaked-key report), without counting a use: its id, or null. */
	findKey(accountId: string, hash: string): Promise<string | null> {
		return this.#forKey(
			accountId,
			hash,
			() => this.#findHere(accountId, hash),
			(s) => s.findKeyHere(accountId, hash),
		);
	}

	findKeyHere(accountId: string, hash: string): Promise<string | null | Redirect> {
		return this.#onlyHere(hash, () => this.#findHere(accountId, hash));
	}

	async #findHere(accountId: string, hash: string): Promise<string | null> {
		const found = (await this.keys.lookup(accountId, hash))?.id ?? null;
		// The key's slot froze while the set loaded: ask again where it is now.
		if (!this.routes.owns(slotOf(hash))) return this.findKey(accountId, hash);
		return found;
	}

	/** A key's usage, with its live credit balance (null: no credits), from the shard that holds it. */
	keyUsage(accountId: string, id: string, hash: string, now: number): Promise<KeyUsage> {
		return this.#forKey(
			accountId,
			hash,
			() => this.#usageHere(id, now),
			(s) => s.keyUsageHere(id, hash, now),
		);
	}

	keyUsageHere(id: string, hash: string, now: number) {
		return this.#onlyHere(hash, () => this.#usageHere(id, now));
	}

	#usageHere(id: string, now: number): KeyUsage {
		return { ...this.keys.usage(id, now), credits: this.keys.creditsOf([id], now)[id] ?? null };
	}

	/**
	 * The live credit balances of the listed keys that have credits (`hashes`: one per id), each
	 * asked of the shard that holds it. A key being moved meanwhile may be left out.
	 */
	async creditsOf(accountId: string, ids: string[], hashes: string[], now: number): Promise<Record<string, number>> {
		const byShard = Map.groupBy(ids, (_, i) => this.routes.routeOf(slotOf(hashes[i] ?? "")));
		const parts = await Promise.all(
			[...byShard].map(([shard, list]) =>
				shard === this.routes.index
					? this.keys.creditsOf(list, now)
					: this.#shard(accountId, shard).creditsHere(list, now),
			),
		);
		return Object.assign({}, ...parts);
	}

	/** The balances of the listed keys this shard holds. */
	creditsHere(ids: string[], now: number): Record<string, number> {
		return this.keys.creditsOf(ids, now);
	}

	/** The cron sweep's refill pass (verify refills lazily too; both are idempotent); the home asks every shard. */
	async refillCredits(now: number, accountId?: string): Promise<number> {
		const here = this.keys.refillAll(now);
		if (!accountId || this.routes.index !== 0) return here;
		const others = await Promise.all(
			this.#shardsInUse(this.routes.shards).map((i) => this.#shard(accountId, i).refillCredits(now)),
		);
		return others.reduce((a, b) => a + b, here);
	}

	/** In-memory sizes and stored rows, for the load run's bounded-memory check (development route only). */
	memoryStats(): ObjectStats {
		const sql = this.ctx.storage.sql;
		const rows = (table: string) => sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`).one().n;
		return {
			...this.keys.memory,
			storedKeys: rows("keys"),
			storedWindows: rows("key_windows"),
			d1Loads: this.keys.d1Loads,
			keySetComplete: this.keys.complete,
			pendingEvents: this.events.count,
			eventsSent: { ...this.events.sent },
			shard: this.routes.index,
			shards: this.routes.shards,
			ownedSlots: this.routes.ownedSlots.length,
		};
	}

	/** `memoryStats` of each other shard holding slots (the home asks them; development route only). */
	shardStats(accountId: string): Promise<ObjectStats[]> {
		return Promise.all(
			this.#shardsInUse(this.routes.shards).map(
				async (i) => (await this.#shard(accountId, i).memoryStats()) as ObjectStats,
			),
		);
	}

	// ---- failed-login spikes

	noteFailedLogin(now: number, threshold: number, windowMs: number): FailedLoginVerdict {
		return this.#failedLogins.note(now, threshold, windowMs);
	}

	failedLoginSpikes(since: number) {
		return this.#failedLogins.spikes(since);
	}

	// ---- the single-class layout's audit chains

	/**
	 * The chain an `audit:` instance of the single-class layout held for `stream` (null when it
	 * held none). Read only: AuditArchive takes it over once and never asks again, and nothing
	 * appends here any more, so the chain cannot continue in two places.
	 */
	legacyChain(stream: string, now: number): ChainState | null {
		const sql = this.ctx.storage.sql;
		const held = sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'chain_head'").toArray();
		return held.length > 0 ? new ArchiveChain(sql).export(stream, now) : null;
	}

	/**
	 * Sends the stored audit events, writes rate-limit windows exactly and last-use times back to D1
	 * in batches (never per request), then sets the next alarm for whatever is left. A refused send
	 * or an unreachable D1 is retried by a later alarm; nothing is dropped.
	 */
	override async alarm(): Promise<void> {
		this.#alarmAt = null;
		// A move out that a restart or a failed hand-over left frozen is tried again.
		this.#resumeMoves();
		// So is a change of N that a restart or an unreachable shard left unfinished.
		if (this.routes.index === 0 && this.routes.pendingSweep) await this.#continueSweep();
		let backlog = false;
		let refused = false;
		if (this.events.count > 0) {
			try {
				backlog = (await this.events.send(this.env.AUDIT_QUEUE)).more;
				this.#refusedSends = 0;
				this.#eventsNotBefore = 0;
			} catch {
				refused = true;
				this.#refusedSends++;
				this.#eventsNotBefore = Date.now() + Math.min(EVENTS_RETRY_MAX_MS, 1000 * 2 ** this.#refusedSends);
			}
		}
		this.keys.expireShares(Date.now(), DEFAULT_TERMS);
		this.keys.windows.settle();
		this.keys.credits.settle();
		let lastUsedWritten = true;
		try {
			await this.keys.flushLastUsed();
		} catch {
			lastUsedWritten = false;
		}
		for (const table of LEGACY_TABLES) this.ctx.storage.sql.exec(`DROP TABLE IF EXISTS ${table}`);
		const next: number[] = [];
		// A refused send is tried again after its backoff, whatever the delay.
		if (this.events.count > 0) next.push(refused ? this.#eventsNotBefore : this.#eventsDueAt(Date.now(), backlog));
		if (!lastUsedWritten || this.keys.hasUnflushed() || this.keys.hasPending)
			next.push(Date.now() + LAST_USED_FLUSH_MS);
		const shares = this.keys.shares.nextExpiry(DEFAULT_TERMS);
		if (shares !== null) next.push(shares);
		if (next.length > 0) await this.#wakeBy(Math.min(...next));
	}
}
