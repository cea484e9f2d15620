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
import { type KeyRecord, KeyStore, type LendRequest, type Returned, type UseCost } from "./key-store";
import { type FailedLoginVerdict, FailedLoginWindows } from "./login-alert-store";

export interface AccountGuardEnv {
	DB: D1Database;
	AUDIT_QUEUE: Queue;
	REGIONAL_GUARD: DurableObjectNamespace<RecallTarget>;
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
/** Tables of the single-class layout that no role here reads any more. */
const LEGACY_TABLES = ["sessions", "seen_sign_ins", "failure_streak", "failure_window", "known_devices"];

export class AccountGuard extends DurableObject<AccountGuardEnv> {
	readonly keys: KeyStore;
	/** Verify's audit events, stored before each answer and sent by the alarm. */
	readonly events: PendingAuditEvents;
	readonly #failedLogins: FailedLoginWindows;
	/** When the alarm is set for (null: none); undefined until read from storage once after a start. */
	#alarmAt: number | null | undefined = undefined;
	#refusedSends = 0;
	/** After a refused send, no event alarm before this (verifies must not undo the backoff). */
	#eventsNotBefore = 0;
	/** EVENTS_STORED_MAX; a test lowers it on its instance rather than store 50,000 events. */
	eventsStoredMax = EVENTS_STORED_MAX;

	/** The account's `verifyPlacement` as last read from D1 (undefined: never read; read after a found key's verify). */
	#placement: VerifyPlacement | undefined;
	/** Reads of the placement run one after another, so the last to finish read after the last change. */
	#placementRead: Promise<void> = Promise.resolve();

	constructor(ctx: DurableObjectState, env: AccountGuardEnv) {
		super(ctx, env);
		this.keys = new KeyStore(ctx.storage.sql, () => createDatabase(env.DB));
		this.events = new PendingAuditEvents(ctx.storage.sql);
		this.#failedLogins = new FailedLoginWindows(ctx.storage.sql);
		ctx.storage.sql.exec(
			"CREATE TABLE IF NOT EXISTS placement (id INTEGER PRIMARY KEY CHECK (id = 1), value TEXT NOT NULL)",
		);
		const stored = ctx.storage.sql.exec<{ value: string }>("SELECT value FROM placement").toArray()[0]?.value;
		this.#placement = stored === "regional" || stored === "home" ? stored : undefined;
	}

	/**
	 * Reads the account's `verifyPlacement` from D1 again: the settings route calls it after every
	 * change (in any order, the read that finishes last saw the last change). Returns what it read.
	 */
	refreshPlacement(accountId: string): Promise<VerifyPlacement> {
		const read = this.#placementRead.then(async () => {
			const row = await createDatabase(this.env.DB)
				.select({ settings: accounts.settings })
				.from(accounts)
				.where(eq(accounts.id, accountId))
				.get();
			const placement = row ? parseSettings(row.settings).verifyPlacement : "home";
			this.ctx.storage.sql.exec(
				"INSERT INTO placement (id, value) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET value = excluded.value",
				placement,
			);
			this.#placement = placement;
		});
		this.#placementRead = read.catch(() => {});
		return read.then(() => this.#placement ?? "home");
	}

	/** The placement verify answers carry (so the Worker routes the next ones); read once if never read. */
	#placementFor(accountId: string, found: boolean): VerifyPlacement {
		if (this.#placement === undefined && found)
			this.ctx.waitUntil(this.refreshPlacement(accountId).catch(() => "home"));
		return this.#placement ?? "home";
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
		const before = this.keys.recordOf(record.hash);
		this.keys.upsert(record);
		await this.#recall(before ? [record, before] : [record]);
	}

	/** Many at once (a lockdown or offboarding revokes every key in one call, not one call per key). */
	async upsertKeys(records: KeyRecord[]): Promise<void> {
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

	// ---- regional guards (docs/GLOBAL.md)

	/** A guard asking for shares of a key's windows (null: no such key in this account). */
	async lendShares(accountId: string, hash: string, request: LendRequest, now: number) {
		const regional = this.#placementFor(accountId, true) === "regional";
		const lent = await this.keys.lend(accountId, hash, request, now, DEFAULT_TERMS, regional);
		await this.#wakeForShares();
		return lent;
	}

	/** A guard giving back its shares of a key (it went idle), with its final reports. */
	releaseShares(guard: string, hash: string, returned: Returned, now: number): void {
		this.keys.release(guard, hash, returned, now, DEFAULT_TERMS);
	}

	/**
	 * Takes back every share of these keys (their records before and after the change, so a renamed
	 * limit's window is not missed). First the shares lent so far are sealed: no renewal adds to them
	 * or moves their deadline. Then each holding guard drops the keys and sends its final reports; a
	 * guard that does not (unreachable, restarted since, or a grant still on its way to it) is waited
	 * out until its shares end. Nothing to do, and no call, when nothing is lent.
	 */
	async #recall(records: readonly KeyRecord[]): Promise<void> {
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
					const answer = await withTimeout(stub.recall(hashes, incarnation), RECALL_TIMEOUT_MS);
					for (const [hash, returned] of Object.entries(answer ?? {}))
						this.keys.release(guard, hash, returned, Date.now(), DEFAULT_TERMS);
				} catch {
					// Unreachable: waited out below.
				}
				// A sealed share's deadline cannot move, so this ends within one lease and the grace.
				for (let round = 0; round < 3 && this.keys.stillHolds(guard, before); round++) {
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
	) {
		const outcome = await this.keys.verify(accountId, hash, requiredScopes, ip, now, use);
		const key = outcome.key;
		const recorded =
			draft !== undefined &&
			key !== undefined &&
			key.accountId === accountId &&
			this.events.count < this.eventsStoredMax;
		if (recorded) {
			this.events.add(completeVerifyEvent(draft, { accountId, keyId: key.id, code: outcome.code, decidedAt: now }));
			const due = Date.now() + (this.events.count >= EVENTS_SEND_AT ? 0 : eventsDelay(this.env));
			await this.#wakeBy(Math.max(due, this.#eventsNotBefore));
		}
		// Usage and last use are written by the alarm too; the first pending write makes sure it is set.
		if (this.keys.hasPending) await this.#wakeBy(Date.now() + LAST_USED_FLUSH_MS);
		return { ...outcome, recorded, placement: this.#placementFor(accountId, key !== undefined) };
	}

	/** Which of the account's keys a hash names (a leaked-key report), without counting a use: its id, or null. */
	async findKey(accountId: string, hash: string): Promise<string | null> {
		return (await this.keys.lookup(accountId, hash))?.id ?? null;
	}

	/** A key's usage, with its live credit balance (null: no credits). */
	keyUsage(id: string, now: number) {
		return { ...this.keys.usage(id, now), credits: this.keys.creditsOf([id], now)[id] ?? null };
	}

	/** The live credit balances of the listed keys that have credits. */
	creditsOf(ids: string[], now: number): Record<string, number> {
		return this.keys.creditsOf(ids, now);
	}

	/** The cron sweep's refill pass (verify refills lazily too; both are idempotent). */
	refillCredits(now: number): number {
		return this.keys.refillAll(now);
	}

	/** In-memory sizes and stored rows, for the load run's bounded-memory check (development route only). */
	memoryStats() {
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
		};
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
		let eventsAt = Date.now();
		if (this.events.count > 0) {
			try {
				await this.events.send(this.env.AUDIT_QUEUE);
				this.#refusedSends = 0;
				this.#eventsNotBefore = 0;
			} catch {
				this.#refusedSends++;
				eventsAt += Math.min(EVENTS_RETRY_MAX_MS, 1000 * 2 ** this.#refusedSends);
				this.#eventsNotBefore = eventsAt;
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
		if (this.events.count > 0) next.push(eventsAt);
		if (!lastUsedWritten || this.keys.hasUnflushed() || this.keys.hasPending)
			next.push(Date.now() + LAST_USED_FLUSH_MS);
		const shares = this.keys.shares.nextExpiry(DEFAULT_TERMS);
		if (shares !== null) next.push(shares);
		if (next.length > 0) await this.#wakeBy(Math.min(...next));
	}
}
