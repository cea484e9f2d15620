/**
 * The API keys of one account, inside that account's Durable Object: the
 * records verify needs, their sliding windows, usage counters and last use.
 * A warm verify is answered from memory here with no database query.
 *
 * The object is authoritative for its account's key set: the first key it
 * does not hold makes it read the account's whole set from D1, once; from
 * then on every lifecycle write pushes the new record here
 * (src/keys/lifecycle.ts; a revocation before D1), so the set stays complete
 * and a key it does not hold does not exist, with no D1 read. Anyone can
 * forge a key with a valid checksum for any account id, so a flood of
 * distinct forgeries costs the shared database nothing.
 */
import { and, asc, eq, gt } from "drizzle-orm";
import type { Database } from "../db";
import { apiKeys } from "../db/schema";
import { ipAllowed } from "../security/cidr";
import type { CreditPlan } from "../security/credits";
import { type LeaseTerms, LentCredits, LentWindow, type ShareGrant, type ShareReport } from "../security/quota-lease";
import { allScopesSatisfied } from "../security/scopes";
import { commit, type NamedLimit, peek, standing, type WindowDecision } from "../security/sliding-window";
import { CreditStore } from "./credit-store";
import { ShareStore } from "./share-store";
import { WindowStore } from "./window-store";

export interface KeyRecord {
	id: string;
	hash: string;
	accountId: string;
	createdBy: string;
	environment: string;
	scopes: string[];
	expiresAt: number;
	revokedAt: number | null;
	ipAllowlist: string[];
	/** The first of `limits` (kept for records stored before there were several). */
	limit: number;
	windowSeconds: number;
	/** The key's named rate limits; absent in older records: one, `default`, of `limit` per `windowSeconds`. */
	limits?: NamedLimit[];
	/** The row's lifecycle version (absent in records stored before versions existed: 0). */
	version?: number;
	/** False while disabled (verify answers DISABLED); absent: enabled. */
	enabled?: boolean;
	/** The service account that owns the key, which it acts as; absent or null: its creator. */
	serviceAccountId?: string | null;
	/** The customer's id for the key and its metadata, returned by a VALID verify. */
	externalId?: string | null;
	/** As JSON text: it crosses the object's RPC boundary as a string, and is parsed only for a VALID answer. */
	metaJson?: string | null;
	/** Its credits as last set; absent or null: unlimited. */
	credits?: CreditPlan | null;
}

/** How much one use spends: credits (`cost`) and, per named limit, its window (default: every limit, 1 each). */
export interface UseCost {
	cost?: number;
	limits?: { name: string; cost: number }[];
}

/** What a guard counted for a key since its last message: verdicts by code, and its last VALID. */
export interface GuardUsage {
	counts: Partial<Record<VerifyCode, number>>;
	lastUsedAt: number | null;
}

/** A guard asking for shares of a key's windows: who it is, what it used, what it wants (per limit name). */
export interface LendRequest {
	/** `region:incarnation`: a restarted guard is another holder, and never inherits a share. */
	guard: string;
	reports: Record<string, ShareReport>;
	wants: Record<string, number>;
	usage?: GuardUsage;
}

/** The key's record and its shares (per limit name); `shares: null`: the home decides this key. */
export interface Lent {
	record: KeyRecord;
	shares: Record<string, ShareGrant> | null;
	/**
	 * For a key with credits: what its balance had that no share held, after this grant. The guard
	 * answers this plus what its own share has left, as of this grant (docs/GLOBAL.md §8).
	 */
	creditsLeft?: number;
}

/** The share of a key's credits, beside its limits' shares (no limit name starts with `#`). */
export const CREDIT_SHARE = "#credits";

/** The book of the credits of `pool` lent for one key of it (one per key: a guard's shares are per key). */
const creditBookId = (pool: string, keyId: string) => `credits:${pool}:${keyId}`;
const creditBookPrefix = (pool: string) => `credits:${pool}:`;

/** A guard's final reports for a key (per limit name). */
export interface Returned {
	reports: Record<string, ShareReport>;
	usage?: GuardUsage;
}

/** Windows this short are decided at the home: a far region's shares would be too large a part of them. */
export const MIN_LENT_WINDOW_SECONDS = 60;

/**
 * Whether a key's windows (and credits) may be lent to guards: every window at least
 * MIN_LENT_WINDOW_SECONDS, and a key that is live now.
 */
export const lendable = (key: KeyRecord, now: number): boolean =>
	key.enabled !== false &&
	key.revokedAt === null &&
	key.expiresAt > now &&
	limitsOf(key).every((l) => l.windowSeconds >= MIN_LENT_WINDOW_SECONDS);

export const limitsOf = (key: Pick<KeyRecord, "limit" | "windowSeconds" | "limits">): NamedLimit[] =>
	key.limits && key.limits.length > 0
		? key.limits
		: [{ name: "default", limit: key.limit, windowSeconds: key.windowSeconds }];

/** Where a key's balance lives: shared along a rotation chain, so a successor cannot spend it twice. */
const creditPool = (key: KeyRecord): string => key.credits?.pool ?? key.id;

/** The window of one named limit: `default` keeps the key's id (its window from before limits had names). */
const windowOf = (keyId: string, limit: NamedLimit) => ({
	id: limit.name === "default" ? keyId : `${keyId}#${limit.name}`,
	limit: limit.limit,
	windowSeconds: limit.windowSeconds,
});

export type VerifyCode =
	| "VALID"
	| "NOT_FOUND"
	| "EXPIRED"
	| "REVOKED"
	| "IP_NOT_ALLOWED"
	| "DISABLED"
	| "INSUFFICIENT_SCOPE"
	| "RATE_LIMITED"
	| "USAGE_EXCEEDED";

/** One named limit's standing after a verify. */
export interface LimitStanding extends WindowDecision {
	name: string;
	limit: number;
	windowSeconds: number;
}

export interface VerifyOutcome {
	code: VerifyCode;
	key?: KeyRecord;
	/** The tightest of the limits checked (fewest uses left), for the rate-limit headers. */
	window?: LimitStanding;
	/** Every limit checked, in the key's order. */
	limits?: LimitStanding[];
	/** The balance left after this use (keys with credits only). */
	creditsRemaining?: number;
	/** The key's slot moved to another shard while this verify waited: not decided here. */
	moved?: true;
	/** Refused for credits that guards hold: the balance itself covers the use (the caller may take them back). */
	creditsLent?: true;
}

export const recordFromRow = (row: typeof apiKeys.$inferSelect): KeyRecord => ({
	id: row.id,
	hash: row.keyHash,
	accountId: row.accountId,
	createdBy: row.createdBy,
	environment: row.environment,
	scopes: row.scopes,
	expiresAt: row.expiresAt.getTime(),
	revokedAt: row.revokedAt?.getTime() ?? null,
	ipAllowlist: row.ipAllowlist,
	limit: row.rateLimit,
	windowSeconds: row.rateLimitWindowSeconds,
	limits: row.rateLimits ?? undefined,
	version: row.version,
	enabled: row.disabledAt === null,
	serviceAccountId: row.serviceAccountId,
	externalId: row.externalId,
	metaJson: row.meta ? JSON.stringify(row.meta) : null,
	credits: row.credits,
});

/**
 * What the object keeps when told `incoming` about a key it holds as `current`: the higher
 * version, except that a revocation is never forgotten and an expiry never moves later. Pushes
 * can arrive out of order (a rotation's push after a lockdown's), and no order may revive a key.
 */
export function mergeKeyRecords(current: KeyRecord, incoming: KeyRecord): KeyRecord {
	const newer = (incoming.version ?? 0) >= (current.version ?? 0) ? incoming : current;
	const revocations = [current.revokedAt, incoming.revokedAt].filter((t): t is number => t !== null);
	return {
		...newer,
		revokedAt: revocations.length > 0 ? Math.min(...revocations) : null,
		expiresAt: Math.min(current.expiresAt, incoming.expiresAt),
	};
}

/**
 * What the record alone refuses, in API.md §5's order (null: nothing), before any limit or credit:
 * the one place these rules live, for the home object and the regional guards alike.
 */
export function recordRefusal(
	key: KeyRecord,
	requiredScopes: readonly string[],
	ip: string | null,
	now: number,
): VerifyCode | null {
	if (key.expiresAt <= now) return "EXPIRED";
	if (key.revokedAt !== null && key.revokedAt <= now) return "REVOKED";
	if (key.enabled === false) return "DISABLED";
	if (!ipAllowed(key.ipAllowlist, ip)) return "IP_NOT_ALLOWED";
	if (!allScopesSatisfied(key.scopes, requiredScopes)) return "INSUFFICIENT_SCOPE";
	return null;
}

/** The limits a use names (unknown names are skipped), or every limit of the key at cost 1. */
export function limitsAsked(key: KeyRecord, use: UseCost): { limit: NamedLimit; cost: number }[] {
	const all = limitsOf(key);
	if (!use.limits) return all.map((limit) => ({ limit, cost: 1 }));
	return all.flatMap((limit) => {
		const asked = use.limits?.find((l) => l.name === limit.name);
		return asked ? [{ limit, cost: asked.cost }] : [];
	});
}

/** The limit with the fewest uses left (ties: the one that resets last), for the headers. */
export function tightest(limits: LimitStanding[]): LimitStanding | undefined {
	return limits.reduce<LimitStanding | undefined>(
		(best, l) =>
			!best || l.remaining < best.remaining || (l.remaining === best.remaining && l.resetMs > best.resetMs) ? l : best,
		undefined,
	);
}

const HOUR_MS = 3_600_000;
/** Rows per D1 read while loading an account's key set. */
const LOAD_PAGE = 500;

export class KeyStore {
	readonly #byHash = new Map<string, KeyRecord>();
	/** The keys' rate-limit windows; the alarm settles them, a rolled-back write forgets them. */
	readonly windows: WindowStore;
	/** The keys' credit balances; settled and forgotten with the windows. */
	readonly credits: CreditStore;
	/** Shares of the windows lent to regional guards (docs/GLOBAL.md). */
	readonly shares: ShareStore;
	/** Whether the account's whole key set is here (stored, so it survives eviction). */
	#complete: boolean;
	#loading: Promise<void> | null = null;
	/** D1 reads made to load the key set; the tests assert verifies make none once it is complete. */
	d1Loads = 0;

	constructor(
		private readonly sql: SqlStorage,
		private readonly db: () => Database,
		/**
		 * Whether a key is this object's (its shard owns the key's slot; src/durable/shard-map.ts):
		 * `holds` while it is, even frozen by a move out (its data are here until the target has them);
		 * `answers` only while no move freezes it.
		 */
		private readonly shard: { holds(hash: string): boolean; answers(hash: string): boolean } = {
			holds: () => true,
			answers: () => true,
		},
	) {
		sql.exec("CREATE TABLE IF NOT EXISTS keys (hash TEXT PRIMARY KEY, id TEXT NOT NULL UNIQUE, record TEXT NOT NULL)");
		sql.exec(
			"CREATE TABLE IF NOT EXISTS key_usage (id TEXT NOT NULL, hour INTEGER NOT NULL, code TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (id, hour, code))",
		);
		sql.exec(
			"CREATE TABLE IF NOT EXISTS key_last_used (id TEXT PRIMARY KEY, at INTEGER NOT NULL, flushed INTEGER NOT NULL DEFAULT 0)",
		);
		sql.exec("CREATE TABLE IF NOT EXISTS key_set (account_id TEXT PRIMARY KEY, complete_at INTEGER NOT NULL)");
		this.windows = new WindowStore(sql);
		this.credits = new CreditStore(sql);
		this.shares = new ShareStore(sql);
		this.#complete = sql.exec("SELECT 1 FROM key_set LIMIT 1").toArray().length > 0;
	}

	get complete(): boolean {
		return this.#complete;
	}

	/**
	 * Stores a record, merged with the one held. `remember: false` (loading a whole key set) keeps
	 * it in storage only, so memory holds the keys that are used, not every key the account has had.
	 */
	upsert(incoming: KeyRecord, remember = true): void {
		const current = this.#byHash.get(incoming.hash) ?? this.#stored(incoming.hash);
		const record = current ? mergeKeyRecords(current, incoming) : incoming;
		this.sql.exec(
			"INSERT INTO keys (hash, id, record) VALUES (?, ?, ?) ON CONFLICT(hash) DO UPDATE SET record = excluded.record",
			record.hash,
			record.id,
			JSON.stringify(record),
		);
		if (remember || this.#byHash.has(record.hash)) this.#byHash.set(record.hash, record);
		for (const limit of limitsOf(record)) this.windows.limitChanged(windowOf(record.id, limit));
		if (remember && record.credits) this.credits.planChanged(creditPool(record), record.credits);
	}

	#stored(hash: string): KeyRecord | undefined {
		const stored = this.sql.exec<{ record: string }>("SELECT record FROM keys WHERE hash = ?", hash).toArray()[0];
		return stored ? (JSON.parse(stored.record) as KeyRecord) : undefined;
	}

	/** The record in memory, or in storage after an eviction (then kept in memory). */
	#held(hash: string): KeyRecord | undefined {
		const cached = this.#byHash.get(hash);
		if (cached) return cached;
		const record = this.#stored(hash);
		if (record) this.#byHash.set(hash, record);
		return record;
	}

	async #find(accountId: string, hash: string): Promise<KeyRecord | null> {
		const held = this.#held(hash);
		if (held || this.#complete) return held ?? null;
		await this.loadAll(accountId);
		return this.#held(hash) ?? null;
	}

	/** Makes the key set complete (one read of the account's set from D1, unless it is already). */
	async loadAll(accountId: string): Promise<void> {
		if (this.#complete) return;
		this.#loading ??= this.#loadSet(accountId).finally(() => {
			this.#loading = null;
		});
		await this.#loading;
	}

	/**
	 * Reads the account's key set from D1, page by page, merging each record with whatever a push
	 * brought meanwhile (a push during the load wins by version, and a revocation is never lost).
	 */
	async #loadSet(accountId: string): Promise<void> {
		const db = this.db();
		let after = "";
		for (;;) {
			this.d1Loads++;
			const rows = await db
				.select()
				.from(apiKeys)
				.where(and(eq(apiKeys.accountId, accountId), gt(apiKeys.id, after)))
				.orderBy(asc(apiKeys.id))
				.limit(LOAD_PAGE);
			for (const row of rows) if (this.shard.holds(row.keyHash)) this.upsert(recordFromRow(row), false);
			const last = rows.at(-1);
			if (!last || rows.length < LOAD_PAGE) break;
			after = last.id;
		}
		this.sql.exec(
			"INSERT INTO key_set (account_id, complete_at) VALUES (?, ?) ON CONFLICT(account_id) DO NOTHING",
			accountId,
			Date.now(),
		);
		this.#complete = true;
	}

	/** The key set is not known complete any more (a move brought keys from a shard whose set was not). */
	markIncomplete(): void {
		this.sql.exec("DELETE FROM key_set");
		this.#complete = false;
	}

	/** The key set is complete (a shard that held none took the whole of a complete one's slots). */
	markComplete(accountId: string, now: number): void {
		this.sql.exec(
			"INSERT INTO key_set (account_id, complete_at) VALUES (?, ?) ON CONFLICT(account_id) DO NOTHING",
			accountId,
			now,
		);
		this.#complete = true;
	}

	/** The account's key a hash names, loading the set if needed; no window, credit or use is touched. */
	async lookup(accountId: string, hash: string): Promise<KeyRecord | null> {
		const record = await this.#find(accountId, hash);
		return record && record.accountId === accountId ? record : null;
	}

	/**
	 * Verify per API.md §5, codes checked in order. Every limit asked and the credits are checked
	 * before any is spent, with no await in between: a use refused by one spends none of the others,
	 * and parallel verifies cannot overspend. Only VALID counts against the limits and the credits.
	 */
	async verify(
		accountId: string,
		hash: string,
		requiredScopes: readonly string[],
		ip: string | null,
		now: number,
		use: UseCost = {},
		reclaimed = false,
	): Promise<VerifyOutcome> {
		const key = await this.#find(accountId, hash);
		// The key's slot moved to another shard while its set loaded: that shard answers.
		if (!this.shard.answers(hash)) return { code: "NOT_FOUND", moved: true };
		if (!key) return { code: "NOT_FOUND" };
		const asked = limitsAsked(key, use);
		const standings = asked.map(({ limit, cost }) => {
			const window = windowOf(key.id, limit);
			const state = this.windows.of(window, now);
			// What regional guards hold of this window counts as used here (docs/GLOBAL.md).
			const own = limit.limit - this.shares.held(window.id);
			return { limit, cost, window, state, own, decision: standing(state, now, own, limit.windowSeconds * 1000, cost) };
		});
		const report = (): LimitStanding[] =>
			standings.map(({ limit, decision }) => ({
				...decision,
				name: limit.name,
				limit: limit.limit,
				windowSeconds: limit.windowSeconds,
			}));
		const refuse = (code: VerifyCode): VerifyOutcome => {
			this.#count(key.id, code, now);
			const limits = standings.map(({ limit, state, own }) => ({
				...peek(state, now, own, limit.windowSeconds * 1000),
				name: limit.name,
				limit: limit.limit,
				windowSeconds: limit.windowSeconds,
			}));
			return { code, key, window: tightest(limits), limits };
		};
		const refusal = recordRefusal(key, requiredScopes, ip, now);
		if (refusal) return refuse(refusal);
		// What each limit would have left had nothing been spent (the use was refused).
		const unspent = (): LimitStanding[] =>
			standings.map(({ limit, cost, decision }) => ({
				...decision,
				remaining: decision.admitted ? decision.remaining + cost : decision.remaining,
				name: limit.name,
				limit: limit.limit,
				windowSeconds: limit.windowSeconds,
			}));
		if (standings.some((s) => !s.decision.admitted)) {
			this.#count(key.id, "RATE_LIMITED", now);
			const limits = unspent();
			return { code: "RATE_LIMITED", key, window: tightest(limits), limits };
		}
		const cost = use.cost ?? 1;
		const pool = key.credits ? creditPool(key) : null;
		const balance = key.credits && pool ? this.credits.balance(pool, key.credits, now) : null;
		// What regional guards hold of the balance is not this object's to spend.
		const lentOut = pool ? this.#heldInPool(pool) : 0;
		if (balance && balance.remaining - lentOut < cost) {
			// What guards hold would cover it: the caller takes it back and asks again, before any count.
			if (balance.remaining >= cost && !reclaimed) return { code: "USAGE_EXCEEDED", key, creditsLent: true };
			this.#count(key.id, "USAGE_EXCEEDED", now);
			const limits = unspent();
			return {
				code: "USAGE_EXCEEDED",
				key,
				window: tightest(limits),
				limits,
				creditsRemaining: Math.max(0, balance.remaining - lentOut),
			};
		}
		const limits = standings.map(({ limit, cost: spent, window, state, decision }) => {
			const resetMs = commit(state, now, spent);
			this.windows.admitted(window, now, spent);
			return { ...decision, resetMs, name: limit.name, limit: limit.limit, windowSeconds: limit.windowSeconds };
		});
		if (key.credits && pool) this.credits.spend(pool, key.credits, cost);
		this.#count(key.id, "VALID", now);
		this.#pendingLastUsed.set(key.id, now);
		return {
			code: "VALID",
			key,
			window: tightest(limits),
			limits,
			creditsRemaining: balance ? balance.remaining - lentOut : undefined,
		};
	}

	// ---- lending to regional guards (docs/GLOBAL.md)

	/**
	 * A guard's request for shares of a key's windows, with its reports of the shares it holds. The
	 * reports are counted whatever happens next (the uses happened). A key that may not be lent (see
	 * `lendable`), or any key while the account's placement is not `regional`, answers `shares:
	 * null`: the guard sends that key's verifies here and gives its shares back. Null: no such key in
	 * this account.
	 */
	async lend(
		accountId: string,
		hash: string,
		request: LendRequest,
		now: number,
		terms: LeaseTerms,
		regional: boolean,
	): Promise<Lent | null | "moved"> {
		const key = await this.#find(accountId, hash);
		if (!this.shard.answers(hash)) return "moved";
		if (!key || key.accountId !== accountId) return null;
		// Leases run on this object's clock, never earlier than the caller's.
		const at = Math.max(now, Date.now());
		this.absorbUsage(key.id, request.usage, at);
		const lend = regional && lendable(key, now);
		const shares: Record<string, ShareGrant> = {};
		for (const limit of limitsOf(key)) {
			const lent = this.#lentWindow(key, limit, at);
			const report = request.reports[limit.name] ?? { epoch: 0, used: 0 };
			// Not lent any more: the report is counted, and the share lasts to its deadline (the guard may
			// use it until it hears this answer; it then gives it back with a final report).
			if (lend) shares[limit.name] = lent.renew(request.guard, report, request.wants[limit.name] ?? 1, at, terms);
			else lent.report(request.guard, report, at, terms);
			this.shares.save(windowOf(key.id, limit).id);
		}
		if (!key.credits) return { record: key, shares: lend ? shares : null };
		const credits = this.#lentCredits(key, at);
		const report = request.reports[CREDIT_SHARE] ?? { epoch: 0, used: 0 };
		if (lend) shares[CREDIT_SHARE] = credits.renew(request.guard, report, request.wants[CREDIT_SHARE] ?? 1, at, terms);
		else credits.report(request.guard, report);
		this.shares.save(creditBookId(creditPool(key), key.id));
		return { record: key, shares: lend ? shares : null, creditsLeft: Math.max(0, credits.left()) };
	}

	/** A guard's final reports for a key's shares (given back, or recalled), which end them. */
	release(guard: string, hash: string, returned: Returned, now: number, terms: LeaseTerms): void {
		const key = this.#held(hash);
		if (!key) return;
		const at = Math.max(now, Date.now());
		this.absorbUsage(key.id, returned.usage, at);
		for (const [name, report] of Object.entries(returned.reports)) {
			if (name === CREDIT_SHARE) {
				if (key.credits) this.#lentCredits(key, at).release(guard, report);
				this.shares.save(creditBookId(creditPool(key), key.id));
				continue;
			}
			const id = windowOf(key.id, { name, limit: 0, windowSeconds: 0 }).id;
			const limit = limitsOf(key).find((l) => l.name === name);
			// A limit renamed or removed since: its share ends, with no window left to count into.
			if (limit) this.#lentWindow(key, limit, at).release(guard, report, at, terms);
			else this.shares.book(id).release(guard, report.epoch, report.used);
			this.shares.save(id);
		}
	}

	/** Ends every share past its deadline and grace, counting what it held as used (the alarm). */
	expireShares(now: number, terms: LeaseTerms): void {
		const windowIds = this.shares.lentWindows;
		if (windowIds.length === 0) return;
		const keyIdOf = (id: string) => (id.startsWith("credits:") ? id.split(":")[2] : id.split("#")[0]) ?? "";
		const records = new Map(this.#storedRecords([...new Set(windowIds.map(keyIdOf))]).map((r) => [r.id, r]));
		for (const id of windowIds) {
			if (id.startsWith("credits:")) {
				const key = records.get(keyIdOf(id));
				const ended = key?.credits
					? this.#lentCredits(key, now).expire(now, terms).length
					: this.shares.book(id).expire(now, terms).guards.length;
				if (ended > 0) this.shares.save(id);
				continue;
			}
			const [keyId = "", name = "default"] = id.split("#");
			const key = records.get(keyId);
			const limit = key ? limitsOf(key).find((l) => l.name === name) : undefined;
			const ended =
				key && limit
					? this.#lentWindow(key, limit, now).expire(now, terms).length
					: this.shares.book(id).expire(now, terms).guards.length;
			if (ended > 0) this.shares.save(id);
		}
	}

	/** The window ids of these records' limits (old and new records together, when a key changed). */
	#windowIds(records: readonly KeyRecord[]): string[] {
		return [
			...new Set(
				records.flatMap((r) => [
					...limitsOf(r).map((l) => windowOf(r.id, l).id),
					...(r.credits ? [creditBookId(creditPool(r), r.id)] : []),
				]),
			),
		];
	}

	/** A key changed: what was lent of its windows no longer grows or lasts longer (ShareBook.seal). */
	sealShares(records: readonly KeyRecord[]): void {
		if (this.shares.anyLent) this.shares.seal(this.#windowIds(records));
	}

	/** The record held for a hash, if any (before a push replaces it). */
	recordOf(hash: string): KeyRecord | undefined {
		return this.#held(hash);
	}

	/** The guards holding shares of these keys' windows, each with the moment its last share ends. */
	holders(records: readonly KeyRecord[], terms: LeaseTerms): Map<string, number> {
		if (!this.shares.anyLent) return new Map();
		return this.shares.holders(this.#windowIds(records), terms);
	}

	/** The epochs of the shares a guard holds of these keys' windows (by window id). */
	epochsHeld(guard: string, records: readonly KeyRecord[]): Map<string, number> {
		const out = new Map<string, number>();
		for (const id of this.#windowIds(records)) {
			const epoch = this.shares.shareOf(id, guard)?.epoch;
			if (epoch !== undefined) out.set(id, epoch);
		}
		return out;
	}

	/** When the last of those shares (same epochs) ends, deadline and grace (0: none held any more). */
	endOfShares(guard: string, epochs: ReadonlyMap<string, number>, terms: LeaseTerms): number {
		let end = 0;
		for (const [id, epoch] of epochs) {
			const share = this.shares.shareOf(id, guard);
			if (share?.epoch === epoch) end = Math.max(end, share.deadline + terms.graceMs);
		}
		return end;
	}

	/** Whether the guard still holds any of those shares in the same epoch (a new epoch was lent on the new record). */
	stillHolds(guard: string, epochs: ReadonlyMap<string, number>): boolean {
		for (const [id, epoch] of epochs) if (this.shares.shareOf(id, guard)?.epoch === epoch) return true;
		return false;
	}

	/** Verifies a guard answered, counted in the key's usage and last use like this object's own. */
	absorbUsage(keyId: string, usage: GuardUsage | undefined, now: number): void {
		if (!usage) return;
		for (const [code, n] of Object.entries(usage.counts)) {
			if (Number.isInteger(n) && n > 0) this.#count(keyId, code as VerifyCode, now, n);
		}
		const last = usage.lastUsedAt;
		if (typeof last === "number" && Number.isFinite(last) && last > (this.#pendingLastUsed.get(keyId) ?? 0))
			this.#pendingLastUsed.set(keyId, Math.min(last, now));
	}

	#lentWindow(key: KeyRecord, limit: NamedLimit, now: number): LentWindow {
		const window = windowOf(key.id, limit);
		return new LentWindow(
			limit.limit,
			limit.windowSeconds * 1000,
			this.windows.of(window, now),
			this.shares.book(window.id),
			(uses) => this.windows.admitted(window, now, uses),
		);
	}

	/** The credits of a key's pool lent to guards for that key, over the balance the pool has here. */
	#lentCredits(key: KeyRecord, now: number): LentCredits & { left: () => number } {
		const plan = key.credits;
		if (!plan) throw new Error("a key without credits has no credit shares");
		const pool = creditPool(key);
		const free = () => this.credits.balance(pool, plan, now).remaining - this.#heldInPool(pool);
		const lent = new LentCredits(this.shares.book(creditBookId(pool, key.id)), free, (n) => {
			// Never below zero: a balance set lower meanwhile (a PATCH) is not owed the difference.
			const spent = Math.min(n, this.credits.balance(pool, plan, now).remaining);
			if (spent > 0) this.credits.spend(pool, plan, spent);
		});
		return Object.assign(lent, { left: free });
	}

	/** The keys of this key's credit pool whose credits guards hold (to take them back). */
	creditHolders(key: KeyRecord): KeyRecord[] {
		if (!key.credits || !this.shares.anyLent) return [];
		const prefix = creditBookPrefix(creditPool(key));
		const ids = this.shares.lentWindows.filter((id) => id.startsWith(prefix)).map((id) => id.slice(prefix.length));
		return this.#storedRecords(ids);
	}

	/** Credits of a pool that guards hold (0, with no lookup, when nothing is lent). */
	#heldInPool(pool: string): number {
		if (!this.shares.anyLent) return 0;
		return this.shares.heldWithPrefix(creditBookPrefix(pool));
	}

	/** The live credit balances of the listed keys that have credits (keys not held are left out). */
	creditsOf(ids: readonly string[], now: number): Record<string, number> {
		const out: Record<string, number> = {};
		for (const record of this.#storedRecords(ids)) {
			if (record.credits) {
				const pool = creditPool(record);
				out[record.id] = Math.max(
					0,
					this.credits.balance(pool, record.credits, now).remaining - this.#heldInPool(pool),
				);
			}
		}
		return out;
	}

	/** Applies due refills to every live key with a refill (the cron sweep; verify applies them too). */
	refillAll(now: number): number {
		let visited = 0;
		for (const record of this.#storedRecords()) {
			if (!record.credits?.refill || record.revokedAt !== null) continue;
			this.credits.balance(creditPool(record), record.credits, now);
			visited++;
		}
		return visited;
	}

	/** Records from storage (all, or the listed ids), the one in memory where it is newer. */
	#storedRecords(ids?: readonly string[]): KeyRecord[] {
		if (ids?.length === 0) return [];
		const rows = ids
			? this.sql
					.exec<{ record: string }>(
						"SELECT record FROM keys WHERE id IN (SELECT value FROM json_each(?))",
						JSON.stringify(ids),
					)
					.toArray()
			: this.sql.exec<{ record: string }>("SELECT record FROM keys").toArray();
		return rows.map((r) => {
			const stored = JSON.parse(r.record) as KeyRecord;
			return this.#byHash.get(stored.hash) ?? stored;
		});
	}

	// Usage and last use are gathered in memory and written by the alarm (`flushUsage`), so a
	// verify writes only its window. An eviction can lose at most one flush interval of usage.
	readonly #pendingUsage = new Map<string, { id: string; hour: number; code: VerifyCode; n: number }>();
	readonly #pendingLastUsed = new Map<string, number>();

	#count(id: string, code: VerifyCode, now: number, n = 1): void {
		const hour = Math.floor(now / HOUR_MS);
		const slot = `${id}|${hour}|${code}`;
		const entry = this.#pendingUsage.get(slot) ?? { id, hour, code, n: 0 };
		entry.n += n;
		this.#pendingUsage.set(slot, entry);
	}

	/** What the store holds in memory; each is bounded by the account's key count (tests and the load run check it). */
	get memory() {
		return {
			keys: this.#byHash.size,
			windows: this.windows.size,
			pendingUsage: this.#pendingUsage.size,
			pendingLastUsed: this.#pendingLastUsed.size,
		};
	}

	get hasPending(): boolean {
		return this.#pendingUsage.size > 0 || this.#pendingLastUsed.size > 0;
	}

	/** Moves gathered usage into storage. */
	flushUsage(): void {
		for (const e of this.#pendingUsage.values()) {
			this.sql.exec(
				"INSERT INTO key_usage (id, hour, code, n) VALUES (?, ?, ?, ?) ON CONFLICT(id, hour, code) DO UPDATE SET n = n + excluded.n",
				e.id,
				e.hour,
				e.code,
				e.n,
			);
		}
		this.#pendingUsage.clear();
		for (const [id, at] of this.#pendingLastUsed) {
			this.sql.exec(
				"INSERT INTO key_last_used (id, at, flushed) VALUES (?, ?, 0) ON CONFLICT(id) DO UPDATE SET at = excluded.at, flushed = 0",
				id,
				at,
			);
		}
		this.#pendingLastUsed.clear();
	}

	usage(id: string, now: number) {
		this.flushUsage();
		const since = Math.floor(now / HOUR_MS) - 23;
		this.sql.exec("DELETE FROM key_usage WHERE hour < ?", since - 24);
		const rows = this.sql
			.exec<{ code: string; n: number }>(
				"SELECT code, SUM(n) AS n FROM key_usage WHERE id = ? AND hour >= ? GROUP BY code",
				id,
				since,
			)
			.toArray();
		const byCode = Object.fromEntries(rows.map((r) => [r.code, r.n]));
		const requests24h = rows.reduce((a, r) => a + r.n, 0);
		const lastUsed =
			this.sql.exec<{ at: number }>("SELECT at FROM key_last_used WHERE id = ?", id).toArray()[0]?.at ?? null;
		return { requests24h, denied24h: requests24h - (byCode.VALID ?? 0), lastUsedAt: lastUsed, byCode };
	}

	/** Writes last-use times to D1 in one batch; called from the object's alarm, never per request. */
	async flushLastUsed(): Promise<number> {
		this.flushUsage();
		const dirty = this.sql
			.exec<{ id: string; at: number }>("SELECT id, at FROM key_last_used WHERE flushed = 0 LIMIT 100")
			.toArray();
		if (dirty.length === 0) return 0;
		const db = this.db();
		const [first, ...rest] = dirty.map((d) =>
			db
				.update(apiKeys)
				.set({ lastUsedAt: new Date(d.at) })
				.where(eq(apiKeys.id, d.id)),
		);
		if (first) await db.batch([first, ...rest]);
		for (const d of dirty) this.sql.exec("UPDATE key_last_used SET flushed = 1 WHERE id = ? AND at = ?", d.id, d.at);
		return dirty.length;
	}

	hasUnflushed(): boolean {
		return this.sql.exec("SELECT 1 FROM key_last_used WHERE flushed = 0 LIMIT 1").toArray().length > 0;
	}

	// ---- moving keys between shards (src/durable/shard-map.ts)

	/** Stored records whose hash is in one of the slots (`slotOf` decides). */
	recordsIn(inSlots: (hash: string) => boolean): KeyRecord[] {
		return this.#storedRecords().filter((r) => inSlots(r.hash));
	}

	/**
	 * Everything stored about these keys, for their new shard: records, exact windows and balances
	 * (settled first), usage, last use and the windows' last share epochs (so an epoch is never
	 * reused). Refused (`pools`) when a credit pool of a live key here would be split between two
	 * shards (a rotation chain minted before successors kept their slot): its balance cannot be in
	 * two places.
	 */
	exportKeys(moving: readonly KeyRecord[], now: number): ShardCargo | { splitPools: string[] } {
		// The same test as the settings route's (`creditPoolsSplitAt`): not revoked yet, not expired.
		const live = (r: KeyRecord) => (r.revokedAt === null || r.revokedAt > now) && r.expiresAt > now;
		const movingIds = new Set(moving.map((r) => r.id));
		const pools = new Set(moving.filter((r) => r.credits && live(r)).map(creditPool));
		const staying = this.#storedRecords().filter((r) => !movingIds.has(r.id) && r.credits && live(r));
		const split = [...new Set(staying.map(creditPool).filter((p) => pools.has(p)))];
		if (split.length > 0) return { splitPools: split };
		this.flushUsage();
		this.windows.settle();
		this.credits.settle();
		const ids = [...movingIds];
		const windowIds = this.#windowIds(moving);
		// One bound parameter per list, however many keys move (a query takes at most 100).
		const rowsOf = <T extends Record<string, SqlStorageValue>>(table: string, column: string, values: string[]) =>
			values.length === 0
				? []
				: this.sql
						.exec<T>(
							`SELECT * FROM ${table} WHERE ${column} IN (SELECT value FROM json_each(?))`,
							JSON.stringify(values),
						)
						.toArray();
		return {
			records: moving.map((r) => this.#byHash.get(r.hash) ?? r),
			windows: rowsOf<{ id: string; state: string }>("key_windows", "id", windowIds),
			credits: rowsOf<{ id: string; state: string }>("key_credits", "id", [...pools]),
			usage: rowsOf<{ id: string; hour: number; code: string; n: number }>("key_usage", "id", ids),
			lastUsed: rowsOf<{ id: string; at: number; flushed: number }>("key_last_used", "id", ids),
			epochs: rowsOf<{ window_id: string; last_epoch: number; sealed: number }>(
				"window_share_epochs",
				"window_id",
				windowIds,
			),
			complete: this.#complete,
		};
	}

	/** Takes in what another shard exported (in one transaction, by the caller). */
	importKeys(cargo: ShardCargo): void {
		for (const record of cargo.records) this.upsert(record, false);
		for (const w of cargo.windows)
			this.sql.exec(
				"INSERT INTO key_windows (id, state) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET state = excluded.state",
				w.id,
				w.state,
			);
		for (const c of cargo.credits)
			this.sql.exec(
				"INSERT INTO key_credits (id, state) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET state = excluded.state",
				c.id,
				c.state,
			);
		for (const u of cargo.usage)
			this.sql.exec(
				"INSERT INTO key_usage (id, hour, code, n) VALUES (?, ?, ?, ?) ON CONFLICT(id, hour, code) DO UPDATE SET n = n + excluded.n",
				u.id,
				u.hour,
				u.code,
				u.n,
			);
		for (const l of cargo.lastUsed)
			this.sql.exec(
				"INSERT INTO key_last_used (id, at, flushed) VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET at = MAX(at, excluded.at), flushed = MIN(flushed, excluded.flushed)",
				l.id,
				l.at,
				l.flushed,
			);
		for (const e of cargo.epochs)
			this.sql.exec(
				"INSERT INTO window_share_epochs (window_id, last_epoch, sealed) VALUES (?, ?, ?) ON CONFLICT(window_id) DO UPDATE SET last_epoch = MAX(last_epoch, excluded.last_epoch), sealed = excluded.sealed",
				e.window_id,
				e.last_epoch,
				e.sealed,
			);
		const ids = cargo.records.map((r) => r.id);
		this.windows.forget(ids);
		this.credits.forget(cargo.credits.map((c) => c.id));
		this.shares.forget(this.#windowIds(cargo.records));
	}

	/** Forgets keys that moved to another shard (their new shard has everything exported). */
	dropKeys(moved: readonly KeyRecord[], pools: readonly string[]): void {
		const ids = moved.map((r) => r.id);
		const windowIds = this.#windowIds(moved);
		const del = (table: string, column: string, values: readonly string[]) => {
			for (const value of values) this.sql.exec(`DELETE FROM ${table} WHERE ${column} = ?`, value);
		};
		del("keys", "id", ids);
		del("key_usage", "id", ids);
		del("key_last_used", "id", ids);
		del("key_windows", "id", windowIds);
		del("key_credits", "id", pools);
		del("window_shares", "window_id", windowIds);
		del("window_share_epochs", "window_id", windowIds);
		const movedIds = new Set(ids);
		for (const r of moved) {
			this.#byHash.delete(r.hash);
			this.#pendingLastUsed.delete(r.id);
		}
		for (const [slot, entry] of this.#pendingUsage) if (movedIds.has(entry.id)) this.#pendingUsage.delete(slot);
		this.windows.forget(ids);
		this.credits.forget(pools);
		this.shares.forget(windowIds);
	}
}

/** What one shard hands another for the keys of the slots it moves (rows as stored). */
export interface ShardCargo {
	records: KeyRecord[];
	windows: { id: string; state: string }[];
	credits: { id: string; state: string }[];
	usage: { id: string; hour: number; code: string; n: number }[];
	lastUsed: { id: string; at: number; flushed: number }[];
	epochs: { window_id: string; last_epoch: number; sealed: number }[];
	/** Whether the sending shard held its whole key set. */
	complete: boolean;
}
