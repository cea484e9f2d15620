/**
 * A regional guard: one object per (account, region), placed near its callers with a
 * `locationHint`, that answers verifies of the account's keys on shares of their windows lent by
 * the account's home object (docs/GLOBAL.md). It checks the key's record with the home's own rules
 * (`recordRefusal`), admits while every asked limit's share has room, and asks the home for more
 * before a share runs out. Anything it cannot decide on its own goes to the home, which decides
 * exactly: a key it has not seen, a key the home will not lend (credits, a window under a minute,
 * not live), a share that ran out. It keeps nothing that matters: a restarted guard is a new
 * holder, and the shares of the old one count as used at their deadline.
 *
 * Its verdicts' audit events are recorded by the Worker (`recorded: false`); verifies sent to the
 * home are recorded there as before. Its usage counts reach the home with its next message.
 */
import { DurableObject } from "cloudflare:workers";
import type { VerifyEventDraft } from "../audit/verify-event";
import { DEFAULT_TERMS, GuardShare, TIME_SLOTS_PER_WINDOW } from "../security/quota-lease";
import type { AccountGuard, ObjectVerdict } from "./account-guard";
import { guardId, type RecallTarget } from "./guard-protocol";
import {
	CREDIT_SHARE,
	type GuardUsage,
	type KeyRecord,
	type LendRequest,
	type Lent,
	type LimitStanding,
	limitsAsked,
	limitsOf,
	type Returned,
	recordRefusal,
	tightest,
	type UseCost,
	type VerifyCode,
	type VerifyOutcome,
} from "./key-store";
import { atOwner, shardName, shardOfSlot, slotOf } from "./shard-map";

export interface RegionalGuardEnv {
	ACCOUNT_GUARD: DurableObjectNamespace<AccountGuard>;
}

/** A guard asks for enough to last this long at its recent demand. */
const SHARE_MS = 1_000;
/** After the home lent less than asked (the window is full), a guard out of share refuses on its own this long. */
const REFUSED_MS = 1_000;
/** What a guard adds to its last round trip to the home when deciding to renew. */
const RENEW_MARGIN_MS = 250;

interface Held {
	record: KeyRecord;
	/** Per limit name; null: the home decides this key's verifies. */
	shares: Map<string, GuardShare> | null;
	usage: GuardUsage;
	lastSeenAt: number;
	/** When the home last answered for this key. */
	checkedAt: number;
	renewing: boolean;
	refusedUntil: number;
	/** For a key with credits: what the balance had that no share held, at the last grant. */
	creditsLeft: number;
}

const noUsage = (): GuardUsage => ({ counts: {}, lastUsedAt: null });

/** Adds `from` into `into` (usage a failed message was carrying goes back to be sent again). */
function mergeUsage(into: GuardUsage, from: GuardUsage): void {
	for (const [code, n] of Object.entries(from.counts) as [VerifyCode, number][])
		into.counts[code] = (into.counts[code] ?? 0) + n;
	if (from.lastUsedAt !== null && (into.lastUsedAt === null || from.lastUsedAt > into.lastUsedAt))
		into.lastUsedAt = from.lastUsedAt;
}

const hasUsage = (usage: GuardUsage): boolean =>
	usage.lastUsedAt !== null || Object.values(usage.counts).some((n) => (n ?? 0) > 0);

/** The home's answer for a key it does not hold. */
const UNKNOWN = Symbol("unknown key");

export class RegionalGuard extends DurableObject<RegionalGuardEnv> implements RecallTarget {
	/** This run: shares are lent to `region:incarnation`, so a restart never inherits one. */
	readonly incarnation = crypto.randomUUID();
	#region = "";
	#accountId = "";
	readonly #keys = new Map<string, Held>();
	/** A first lend in flight per key hash. */
	readonly #first = new Map<string, Promise<Held | typeof UNKNOWN | null>>();
	/** Recalls per key hash so far: a lend answer that crosses a recall of its key is not taken. */
	readonly #recalls = new Map<string, number>();
	/** The last round trip to the home (ms), for when to renew. */
	#roundTrip = 300;
	/** Verifies this run decided on its own, and sent to the home (tests and the bench read them). */
	readonly answered = { here: 0, home: 0 };
	/** Requests for shares this run sent the home (first ones and renewals). */
	#lends = 0;

	/** The account's shard count as its shards last answered (a key's shard is asked first; redirects are followed). */
	#shards = 1;

	/**
	 * One-way delay added to each message to and from the account's objects (ms): 0 here, where every
	 * object shares one machine. The simulation with real objects (test/sim/objects.test.ts) sets it
	 * from the round-trip table to place this guard far from its home; nothing else does.
	 */
	linkDelayMs = 0;

	/** Calls the shard that owns the key (docs/GLOBAL.md §7): guards and shards compose per key. */
	async #atOwner<T>(
		accountId: string,
		hash: string,
		call: (shard: DurableObjectStub<AccountGuard>) => Promise<unknown>,
	): Promise<T> {
		const { answer, shards } = await atOwner<T>(shardOfSlot(slotOf(hash), this.#shards), async (i) => {
			if (this.linkDelayMs > 0) await new Promise((r) => setTimeout(r, this.linkDelayMs));
			const answer = await call(this.env.ACCOUNT_GUARD.get(this.env.ACCOUNT_GUARD.idFromName(shardName(accountId, i))));
			if (this.linkDelayMs > 0) await new Promise((r) => setTimeout(r, this.linkDelayMs));
			return answer;
		});
		if (shards !== undefined) this.#shards = shards;
		return answer;
	}

	get #holder(): string {
		return guardId(this.#region, this.incarnation);
	}

	/** Verify per API.md §5, as the home's `verifyKey` answers it (same arguments, plus this guard's region). */
	async verifyKey(
		accountId: string,
		region: string,
		hash: string,
		requiredScopes: string[],
		ip: string | null,
		now: number,
		draft?: VerifyEventDraft,
		use: UseCost = {},
	): Promise<VerifyOutcome & { recorded: boolean }> {
		this.#region ||= region;
		this.#accountId ||= accountId;
		const home = async () => {
			this.answered.home++;
			const answer = await this.#atOwner<ObjectVerdict>(accountId, hash, (shard) =>
				shard.verifyKey(accountId, hash, requiredScopes, ip, now, draft, use),
			);
			if (typeof answer.shards === "number") this.#shards = answer.shards;
			return answer;
		};
		let held = this.#keys.get(hash);
		// A key the home would not lend is asked about again after a lease (its credits or limits may have changed).
		if (held && !held.shares && now - held.checkedAt > DEFAULT_TERMS.leaseMs) {
			this.#keys.delete(hash);
			held = undefined;
		}
		if (!held) {
			// Verifies arriving together for a key not yet held share one first request to the home.
			let first = this.#first.get(hash);
			if (!first) {
				first = this.#lend(accountId, hash, undefined, now).finally(() => this.#first.delete(hash));
				this.#first.set(hash, first);
			}
			const fresh = await first;
			// A key the home does not hold does not exist: answered here, with no second call.
			if (fresh === UNKNOWN) {
				this.answered.here++;
				return { code: "NOT_FOUND", recorded: false };
			}
			if (!fresh) return home();
			held = fresh;
		}
		if (held.record.accountId !== accountId) return { code: "NOT_FOUND", recorded: false };
		// Shares run on this object's clock, never earlier than the caller's (a verify may have waited).
		const at = Math.max(now, Date.now());
		held.lastSeenAt = at;
		const shares = held.shares;
		if (!shares) return home();
		// The record is this guard's to judge by only while it holds a live share of every limit (and
		// of the credits, for a key with credits): the home recalls a changed key only from the guards
		// holding shares of it.
		const creditCost = use.cost ?? 1;
		const credits = held.record.credits ? shares.get(CREDIT_SHARE) : null;
		if (
			!limitsOf(held.record).every((l) => shares.get(l.name)?.live(at, DEFAULT_TERMS)) ||
			(credits !== null && !credits?.live(at, DEFAULT_TERMS))
		) {
			for (const { limit, cost } of limitsAsked(held.record, use)) shares.get(limit.name)?.demand(at, cost);
			credits?.demand(at, creditCost);
			this.#renewIfDue(accountId, hash, held, at, true);
			return home();
		}
		const count = (code: VerifyCode) => {
			this.answered.here++;
			held.usage.counts[code] = (held.usage.counts[code] ?? 0) + 1;
		};
		const refusal = recordRefusal(held.record, requiredScopes, ip, now);
		if (refusal) {
			count(refusal);
			return { code: refusal, key: held.record, recorded: false };
		}
		const asked = limitsAsked(held.record, use).map(({ limit, cost }) => ({
			limit,
			cost,
			share: shares.get(limit.name),
		}));
		const windowsFit = asked.every(({ share, cost }) => share !== undefined && share.left(at, DEFAULT_TERMS) >= cost);
		const creditsFit = !credits || credits.left(at, DEFAULT_TERMS) >= creditCost;
		const fits = windowsFit && creditsFit;
		// Demand is counted where it was refused: a use out of credits asks for no more of the windows
		// (else the guards would hold the windows while the home answers the use).
		for (const { share, cost } of asked) {
			if (fits) share?.take(at, cost, DEFAULT_TERMS);
			else if (!windowsFit) share?.demand(at, cost);
		}
		if (credits) {
			if (fits) credits.take(at, creditCost, DEFAULT_TERMS);
			else if (!creditsFit) credits.demand(at, creditCost);
		}
		const standing = (admitted: boolean): LimitStanding[] =>
			asked.map(({ limit, share }) => ({
				name: limit.name,
				limit: limit.limit,
				windowSeconds: limit.windowSeconds,
				admitted,
				// What this guard's share has left: never more than the window has.
				remaining: share?.left(at, DEFAULT_TERMS) ?? 0,
				// A slot frees within one window at the latest.
				resetMs: admitted ? 0 : limit.windowSeconds * 1000,
			}));
		this.#renewIfDue(accountId, hash, held, at);
		if (fits) {
			count("VALID");
			held.usage.lastUsedAt = at;
			const limits = standing(true);
			// As of the last grant (docs/GLOBAL.md §8): what no share held then, and this share's rest.
			const creditsRemaining = credits ? held.creditsLeft + credits.left(at, DEFAULT_TERMS) : undefined;
			return { code: "VALID", key: held.record, limits, window: tightest(limits), creditsRemaining, recorded: false };
		}
		// Out of credits here: the home decides (it may have credits no share holds, or none left).
		if (!windowsFit && at < held.refusedUntil) {
			count("RATE_LIMITED");
			const limits = standing(false);
			return { code: "RATE_LIMITED", key: held.record, limits, window: tightest(limits), recorded: false };
		}
		return home();
	}

	/** What this run holds and has answered (tests, the bench and the development objects route). */
	stats() {
		return {
			incarnation: this.incarnation,
			keys: this.#keys.size,
			lent: [...this.#keys.values()].filter((h) => h.shares !== null).length,
			answered: { ...this.answered },
			lends: this.#lends,
		};
	}

	/**
	 * The home taking back these keys' shares (a revocation or any change to them): each held one
	 * is dropped and its final reports answered; a lend still on its way for it is not taken.
	 */
	recall(hashes: string[], incarnation: string): Promise<Record<string, Returned> | null> {
		if (incarnation !== this.incarnation) return Promise.resolve(null);
		const out: Record<string, Returned> = {};
		for (const hash of hashes) {
			this.#recalls.set(hash, (this.#recalls.get(hash) ?? 0) + 1);
			const held = this.#keys.get(hash);
			if (!held) continue;
			this.#keys.delete(hash);
			out[hash] = this.#giveBack(held);
		}
		return Promise.resolve(out);
	}

	/** Gives idle shares back, so the home can lend them elsewhere at once. */
	override async alarm(): Promise<void> {
		const now = Date.now();
		for (const [hash, held] of this.#keys) {
			if (!held.shares) continue;
			// Every share ended here: the record is stale, forget it, but send what was counted on it (the
			// verdicts, and final reports the home takes if its side of the shares has not ended yet).
			const ended = [...held.shares.values()].every((s) => !s.live(now, DEFAULT_TERMS));
			if (!ended && now - held.lastSeenAt <= DEFAULT_TERMS.leaseMs / 2) continue;
			this.#keys.delete(hash);
			const returned = this.#giveBack(held);
			await this.#atOwner(this.#accountId, hash, (shard) =>
				shard.releaseShares(this.#holder, hash, returned, now),
			).catch(() => {
				// Unreachable: the home counts the shares as used at their deadline.
			});
		}
		if ([...this.#keys.values()].some((h) => h.shares !== null))
			await this.ctx.storage.setAlarm(now + DEFAULT_TERMS.leaseMs / 2);
	}

	#giveBack(held: Held): Returned {
		const reports: Returned["reports"] = {};
		for (const [name, share] of held.shares ?? []) {
			reports[name] = share.report(Date.now());
			share.drop();
		}
		const usage = held.usage;
		held.usage = noUsage();
		return { reports, usage };
	}

	#renewIfDue(accountId: string, hash: string, held: Held, now: number, force = false): void {
		if (held.renewing || !held.shares) return;
		const horizon = this.#roundTrip + RENEW_MARGIN_MS;
		const due = force || [...held.shares.values()].some((s) => s.shouldRenew(now, horizon, DEFAULT_TERMS));
		if (!due) return;
		held.renewing = true;
		this.ctx.waitUntil(
			this.#lend(accountId, hash, held, now)
				.catch(() => null)
				.finally(() => {
					held.renewing = false;
				}),
		);
	}

	/**
	 * Asks the home for shares of the key (its first, or more), with the reports and usage of `held`.
	 * Returns the key as now held; UNKNOWN when the home has no such key; null when the answer came
	 * back after the key was recalled (or replaced), and was not taken.
	 */
	async #lend(
		accountId: string,
		hash: string,
		held: Held | undefined,
		now: number,
	): Promise<Held | typeof UNKNOWN | null> {
		const reports: LendRequest["reports"] = {};
		const wants: LendRequest["wants"] = {};
		// Only a share running short asks for more (the others are renewed for their deadline alone):
		// a renewal one share needs must not grow the rest.
		const horizon = this.#roundTrip + RENEW_MARGIN_MS;
		for (const [name, share] of held?.shares ?? []) {
			reports[name] = share.report(Date.now());
			wants[name] = share.shouldRenew(now, horizon, DEFAULT_TERMS) ? share.want(SHARE_MS) : 0;
		}
		const usage = held?.usage ?? noUsage();
		if (held) held.usage = noUsage();
		const started = Date.now();
		this.#lends++;
		const recalls = this.#recalls.get(hash) ?? 0;
		let lent: Lent | null;
		try {
			lent = await this.#atOwner<Lent | null>(accountId, hash, (shard) =>
				shard.lendShares(accountId, hash, { guard: this.#holder, reports, wants, usage }, now),
			);
		} catch (err) {
			// Unanswered: the verdicts it carried go with the next message (the reports are running totals).
			if (held && hasUsage(usage)) mergeUsage(held.usage, usage);
			throw err;
		}
		this.#roundTrip = Math.max(1, Date.now() - started);
		// Recalled (or replaced) meanwhile: the home waits out whatever it lent in this answer.
		if ((held && this.#keys.get(hash) !== held) || (this.#recalls.get(hash) ?? 0) !== recalls) return null;
		if (!lent) {
			this.#keys.delete(hash);
			return UNKNOWN;
		}
		// The share is one per guard and epoch at the home: whatever answer arrives, it lands on the one
		// held entry (a second entry would start counting the same epoch from zero).
		const next: Held = held ??
			this.#keys.get(hash) ?? {
				record: lent.record,
				shares: null,
				usage: noUsage(),
				lastSeenAt: now,
				checkedAt: now,
				renewing: false,
				refusedUntil: 0,
				creditsLeft: 0,
			};
		next.record = lent.record;
		next.checkedAt = now;
		this.#keys.set(hash, next);
		if (!lent.shares) {
			// No longer lent: what this guard still holds goes back with its final reports.
			if (next.shares && next.shares.size > 0) {
				const returned = this.#giveBack(next);
				this.ctx.waitUntil(
					this.#atOwner(accountId, hash, (shard) =>
						shard.releaseShares(this.#holder, hash, returned, Date.now()),
					).catch(() => {}),
				);
			}
			next.shares = null;
		} else {
			const shares = next.shares ?? new Map<string, GuardShare>();
			const creditGrant = lent.shares[CREDIT_SHARE];
			if (creditGrant && lent.record.credits) {
				const share = shares.get(CREDIT_SHARE) ?? new GuardShare();
				share.accept(creditGrant);
				shares.set(CREDIT_SHARE, share);
				next.creditsLeft = lent.creditsLeft ?? 0;
			} else shares.delete(CREDIT_SHARE);
			for (const limit of limitsOf(lent.record)) {
				const grant = lent.shares[limit.name];
				if (!grant) continue;
				const share = shares.get(limit.name) ?? new GuardShare((limit.windowSeconds * 1000) / TIME_SLOTS_PER_WINDOW);
				const before = share.epoch === grant.epoch ? share.granted : 0;
				share.accept(grant);
				shares.set(limit.name, share);
				// The home had less to lend than asked: the window is full.
				if (grant.granted - before < (wants[limit.name] ?? 1)) next.refusedUntil = now + REFUSED_MS;
			}
			next.shares = shares;
			if ((await this.ctx.storage.getAlarm()) === null)
				await this.ctx.storage.setAlarm(Date.now() + DEFAULT_TERMS.leaseMs / 2);
		}
		this.#keys.set(hash, next);
		return next;
	}
}
