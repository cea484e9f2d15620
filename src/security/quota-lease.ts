/**
 * Quota leases: how a key's home object lends shares of a rate-limit window
 * (or of a credit balance) to regional guards, so that a guard can admit
 * verifies near the caller without ever letting the key past its limit
 * (docs/GLOBAL.md).
 *
 * The home keeps, per guard, one share of a window: what it has granted the
 * guard in total (`granted`), what the guard has reported using (`reported`),
 * and a deadline. The unreported part, `granted - reported`, is *held*: the
 * home counts it as admitted at every instant, on top of its own window, and
 * admits (or grants) only while window + held stays within the limit. A
 * report moves uses from held into the window at the moment of the report,
 * which is no earlier than the uses themselves, so each use stays counted at
 * least one window after it happened. A share whose guard neither reports nor
 * renews is counted as fully used once its deadline and the grace have
 * passed. So, at every instant, every admission made anywhere in the last
 * window is counted in window + held ≤ limit: over-admission is zero by
 * construction, whatever the guards, the network or the clocks (within the
 * grace) do. The price is under-admission while shares sit unused, bounded
 * by the shares themselves, which are sized from each guard's recent demand.
 *
 * Shares are cumulative within an epoch: a guard reports its running total
 * and a renewal raises `granted`, so a lost, repeated or reordered message
 * cannot count a use twice or forget one. An epoch ends when its share
 * expires or is given back; a later message of that epoch changes nothing.
 *
 * Pure arithmetic, no storage or I/O: the objects persist what it returns.
 */
import { commit, commitAt, emptyWindow, peek, tryAdmit, type WindowDecision, type WindowState } from "./sliding-window";

/** What the home holds for one guard on one window (or credit pool). */
export interface HeldShare {
	epoch: number;
	/** Uses granted in this epoch, in total. */
	granted: number;
	/** Uses the guard has reported in this epoch, in total (≤ granted). */
	reported: number;
	/** Home time (ms) after which the guard may not admit on this share without renewing. */
	deadline: number;
}

/** A grant as the guard receives it. */
export interface ShareGrant {
	guard: string;
	epoch: number;
	granted: number;
	deadline: number;
	/** How many of the epoch's uses the home has counted (the guard forgets their times). */
	reported: number;
}

/**
 * When a guard's uses happened: entry k says uses up to number `upto` of the epoch happened no later
 * than `at` (the guard's clock), entries in order. The home counts them at their age (see
 * `ShareReport.sentAt`), so they free up when they would have at the home.
 */
export type UseTimes = { at: number; upto: number }[];

/** A guard's running total for its epoch, with when the uses the home has not yet counted happened. */
export interface ShareReport {
	epoch: number;
	used: number;
	times?: UseTimes;
	/**
	 * The guard's clock when it wrote the report. The home places each use at its own clock at
	 * receipt less the use's age (`sentAt - at`): no earlier than the use happened, whatever the two
	 * clocks read, because the report took some time to arrive. Without it the home falls back to
	 * `at` plus twice the grace.
	 */
	sentAt?: number;
}

/**
 * How far a time read in the runtime may lag the instant it stands for: a Worker's clock moves only
 * at I/O, so a use taken within one event may read up to that event's CPU time early. Added to a
 * use's age-based place so that it is never early.
 */
export const CLOCK_STALL_MS = 50;

/**
 * A guard keeps one entry of use times per 1/400 of the window (150 ms of a minute): a finer record
 * lets the home free a use closer to when it happened (docs/GLOBAL.md §4).
 */
export const TIME_SLOTS_PER_WINDOW = 400;

/** How long a share lasts, how far clocks may disagree, and the smallest share worth a message. */
export interface LeaseTerms {
	leaseMs: number;
	/**
	 * A guard stops `graceMs` before the deadline by its own clock, and the home counts an unreported
	 * share as used `graceMs` after it by its own: safe while a guard's clock runs less than twice
	 * the grace behind the home's (a guard whose clock runs ahead only stops earlier).
	 */
	graceMs: number;
}

export const DEFAULT_TERMS: LeaseTerms = { leaseMs: 5_000, graceMs: 500 };

/** `expected` uses plus three standard deviations of a Poisson count of that mean. */
const withBursts = (expected: number): number => (expected > 0 ? expected + 3 * Math.sqrt(expected) : 0);

/** The most entries of use times a guard keeps between reports. */
const MAX_TIMES = 64;

/**
 * The shares of one window (or one credit pool) that the home has lent. The caller owns the window
 * itself and asks this book what is held before each admission or grant.
 */
export class ShareBook {
	readonly #shares = new Map<string, HeldShare>();
	#lastEpoch: number;
	/** Epochs up to this one were lent before the key last changed: they never grow or last longer. */
	#sealed: number;

	constructor(shares: Iterable<[string, HeldShare]> = [], lastEpoch = 0, sealed = 0) {
		let epoch = lastEpoch;
		for (const [guard, share] of shares) {
			this.#shares.set(guard, { ...share });
			epoch = Math.max(epoch, share.epoch);
		}
		this.#lastEpoch = epoch;
		this.#sealed = Math.min(sealed, epoch);
	}

	get sealed(): number {
		return this.#sealed;
	}

	/**
	 * The key changed (a revocation, a lowered limit, any push): the shares lent so far keep what they
	 * have until their deadline, but a renewal no longer adds to them or moves their deadline, so a
	 * guard that did not hear of the change stops by that deadline and then asks again, under the
	 * new record, for a new epoch.
	 */
	seal(): void {
		this.#sealed = this.#lastEpoch;
	}

	/** Uses lent and not yet reported: counted as admitted at every instant. */
	get held(): number {
		let held = 0;
		for (const share of this.#shares.values()) held += share.granted - share.reported;
		return held;
	}

	get lastEpoch(): number {
		return this.#lastEpoch;
	}

	share(guard: string): HeldShare | undefined {
		const share = this.#shares.get(guard);
		return share ? { ...share } : undefined;
	}

	get guards(): string[] {
		return [...this.#shares.keys()];
	}

	entries(): [string, HeldShare][] {
		return [...this.#shares].map(([guard, share]) => [guard, { ...share }]);
	}

	/**
	 * The guard's running total for `epoch`. Returns the uses newly reported, which the caller counts
	 * into its window now. A report of another epoch (an expired or returned share) counts nothing:
	 * that epoch was counted in full when it ended. A total above what was granted is capped.
	 */
	report(guard: string, epoch: number, used: number): number {
		const share = this.#shares.get(guard);
		if (!share || share.epoch !== epoch || !Number.isFinite(used)) return 0;
		const total = Math.min(share.granted, Math.max(share.reported, Math.floor(used)));
		const fresh = total - share.reported;
		share.reported = total;
		return fresh;
	}

	/**
	 * Lends up to `want` more uses to the guard, out of `free` (the limit minus the caller's window
	 * minus `held`, computed by the caller at `now`), and moves its deadline to `now + leaseMs`. A
	 * guard that holds no share (or only an ended one) starts a new epoch. Returns the share as the
	 * guard should now hold it; `granted` may not grow (nothing free), but the deadline still moves,
	 * except for a sealed epoch, which is returned as it is.
	 */
	grant(guard: string, want: number, free: number, now: number, terms: LeaseTerms): ShareGrant {
		let share = this.#shares.get(guard);
		if (!share) {
			this.#lastEpoch++;
			share = { epoch: this.#lastEpoch, granted: 0, reported: 0, deadline: now };
			this.#shares.set(guard, share);
		} else if (share.epoch <= this.#sealed) {
			return { guard, epoch: share.epoch, granted: share.granted, deadline: share.deadline, reported: share.reported };
		}
		const extra = Math.max(0, Math.min(Math.floor(want), Math.floor(free)));
		share.granted += extra;
		share.deadline = Math.max(share.deadline, now + terms.leaseMs);
		return { guard, epoch: share.epoch, granted: share.granted, deadline: share.deadline, reported: share.reported };
	}

	/**
	 * Ends the guard's share with its final total (a guard giving back what it did not use, or
	 * acknowledging a revocation). Returns the uses newly reported, for the caller's window; the rest
	 * is free again.
	 */
	release(guard: string, epoch: number, used: number): number {
		const share = this.#shares.get(guard);
		if (!share || share.epoch !== epoch) return 0;
		const fresh = this.report(guard, epoch, used);
		this.#shares.delete(guard);
		return fresh;
	}

	/**
	 * Ends every share whose deadline and grace have passed at `now` with no renewal, counting what
	 * it still held as used. Returns that count, for the caller's window at `now`, and the guards.
	 */
	expire(now: number, terms: LeaseTerms): { counted: number; guards: string[] } {
		let counted = 0;
		const guards: string[] = [];
		for (const [guard, share] of this.#shares) {
			if (share.deadline + terms.graceMs > now) continue;
			counted += share.granted - share.reported;
			guards.push(guard);
			this.#shares.delete(guard);
		}
		return { counted, guards };
	}

	/** When the next share ends if nothing renews it (null: none lent). */
	nextExpiry(terms: LeaseTerms): number | null {
		let next: number | null = null;
		for (const share of this.#shares.values()) {
			const at = share.deadline + terms.graceMs;
			if (next === null || at < next) next = at;
		}
		return next;
	}
}

/**
 * The guard's side of one share: admits locally while uses remain and the deadline (less the grace)
 * has not passed by its own clock, and says when to ask for more.
 */
export class GuardShare {
	/** Uses closer together than this share one entry of their times (a hundredth of the window suits). */
	constructor(readonly slotMs = 1_000) {}

	epoch = 0;
	granted = 0;
	used = 0;
	deadline = 0;
	/** The last epoch given back: no later grant of it is taken. */
	#closed = 0;
	/** When the uses not yet counted by the home happened, one entry per slot of `slotMs`. */
	#times: UseTimes = [];
	/** Recent admissions per millisecond, for sizing the next request. */
	#rate = 0;
	#lastAt: number | null = null;

	/**
	 * Takes a grant; an older or repeated one changes nothing, nor does a late grant of an epoch this
	 * guard has given back (the home has counted it as ended). A new epoch starts the count again.
	 */
	accept(grant: Pick<ShareGrant, "epoch" | "granted" | "deadline" | "reported">): void {
		if (grant.epoch <= this.#closed) return;
		if (grant.epoch > this.epoch) {
			this.epoch = grant.epoch;
			this.granted = grant.granted;
			this.used = 0;
			this.deadline = grant.deadline;
			this.#times = [];
			return;
		}
		if (grant.epoch !== this.epoch) return;
		this.#times = this.#times.filter((t) => t.upto > grant.reported);
		if (grant.granted >= this.granted) {
			this.granted = grant.granted;
			this.deadline = Math.max(this.deadline, grant.deadline);
		}
	}

	/** What to send the home at `now` (the guard's clock): the running total, and when the uses it has not counted happened. */
	report(now: number): ShareReport {
		return { epoch: this.epoch, used: this.used, times: this.#times.map((t) => ({ ...t })), sentAt: now };
	}

	/**
	 * Whether `cost` uses fit the share at `now` (the guard's clock); if so they are counted. Every
	 * call counts as demand, admitted or not, so a guard that is refused asks for more next time.
	 */
	take(now: number, cost: number, terms: LeaseTerms): boolean {
		this.demand(now, cost);
		if (this.epoch === 0 || now >= this.deadline - terms.graceMs) return false;
		if (this.used + cost > this.granted) return false;
		this.used += cost;
		const last = this.#times.at(-1);
		if (last && Math.floor(last.at / this.slotMs) === Math.floor(now / this.slotMs)) {
			last.at = now;
			last.upto = this.used;
		} else {
			this.#times.push({ at: now, upto: this.used });
			// Bounded: merging two entries counts the earlier uses at the later time, which is safe.
			if (this.#times.length > MAX_TIMES) this.#times.splice(0, 2, this.#times[1] as UseTimes[number]);
		}
		return true;
	}

	/** Whether the share may still be used at `now` (lent, and before its deadline less the grace). */
	live(now: number, terms: LeaseTerms): boolean {
		return this.epoch !== 0 && now < this.deadline - terms.graceMs;
	}

	/** Uses left on the share at `now` (0 once past the deadline less the grace). */
	left(now: number, terms: LeaseTerms): number {
		if (this.epoch === 0 || now >= this.deadline - terms.graceMs) return 0;
		return this.granted - this.used;
	}

	/**
	 * How many more uses to ask for so the share lasts `horizonMs` at the recent rate, with room for a
	 * burst (three standard deviations of a Poisson count), and at least `floor`: a quiet region
	 * holds little, a busy one enough to renew before it runs out.
	 */
	want(horizonMs: number, floor = 1): number {
		return Math.max(floor, Math.ceil(withBursts(this.#rate * horizonMs)));
	}

	/**
	 * Whether to ask the home now: fewer uses left than `horizonMs` of recent demand (with room for a
	 * burst), or the deadline within `horizonMs`. A guard with no demand does not ask (it gives its
	 * share back instead).
	 */
	shouldRenew(now: number, horizonMs: number, terms: LeaseTerms): boolean {
		if (this.#rate === 0) return false;
		if (now >= this.deadline - terms.graceMs - horizonMs) return true;
		return this.left(now, terms) < withBursts(this.#rate * horizonMs);
	}

	/**
	 * Gives the share back (a revocation, or an idle guard): nothing more is admitted on it, and no
	 * grant of its epoch still on the way is taken. The caller sends `used` to the home to release it.
	 */
	drop(): void {
		this.#closed = this.epoch;
		this.granted = this.used;
		this.deadline = 0;
	}

	/** Counts `cost` uses asked for at `now` without taking them (a use another limit refused). */
	demand(now: number, cost: number): void {
		// An exponentially weighted rate with a time constant of one second.
		const tau = 1_000;
		if (this.#lastAt === null) {
			this.#rate = cost / tau;
		} else {
			const dt = Math.max(0, now - this.#lastAt);
			const decay = Math.exp(-dt / tau);
			this.#rate = this.#rate * decay + cost / tau;
		}
		this.#lastAt = now;
	}
}

/**
 * A key's window at its home, with the shares lent out of it: the home's own admissions and the
 * guards' grants, reports and expiries all go through here, so "window + held ≤ limit" is checked
 * in one place.
 */
export class LentWindow {
	readonly state: WindowState;
	readonly book: ShareBook;

	constructor(
		public limit: number,
		public windowMs: number,
		state: WindowState = emptyWindow(),
		book: ShareBook = new ShareBook(),
		/** Told how many uses each report or expiry counted into the window (its storage keeps them). */
		readonly onCounted: (uses: number) => void = () => {},
	) {
		this.state = state;
		this.book = book;
	}

	/** A verify answered by the home itself: admitted while window + held + cost ≤ limit. */
	admit(now: number, cost = 1): WindowDecision {
		return tryAdmit(this.state, now, this.limit - this.book.held, this.windowMs, cost);
	}

	/** Uses neither admitted nor lent at `now`. */
	free(now: number): number {
		return peek(this.state, now, this.limit - this.book.held, this.windowMs).remaining;
	}

	/**
	 * A guard's renewal: its running total first, then up to `want` more, out of an equal part of what
	 * is free among the guards holding shares (so a busy region cannot take the whole window while
	 * another waits, and a full window is lent out in small pieces).
	 */
	renew(guard: string, report: ShareReport, want: number, now: number, terms: LeaseTerms): ShareGrant {
		this.expire(now, terms);
		this.report(guard, report, now, terms);
		const free = this.free(now);
		const others = this.book.guards.filter((g) => g !== guard).length;
		return this.book.grant(guard, want, Math.ceil(free / (others + 1)), now, terms);
	}

	/** A guard's report without asking for more. */
	report(guard: string, report: ShareReport, now: number, terms: LeaseTerms): void {
		const before = this.book.share(guard);
		const fresh = this.book.report(guard, report.epoch, report.used);
		if (before) this.#place(before.reported, fresh, report, now, terms);
	}

	/** A guard giving its share back (idle, or acknowledging a revocation) with its final total. */
	release(guard: string, report: ShareReport, now: number, terms: LeaseTerms): void {
		const before = this.book.share(guard);
		const fresh = this.book.release(guard, report.epoch, report.used);
		if (before) this.#place(before.reported, fresh, report, now, terms);
	}

	/** Ends the shares past their deadline and grace, counting what they held as used now. */
	expire(now: number, terms: LeaseTerms): string[] {
		const { counted, guards } = this.book.expire(now, terms);
		this.#count(now, counted);
		return guards;
	}

	#count(now: number, uses: number): void {
		if (uses <= 0) return;
		peek(this.state, now, this.limit, this.windowMs);
		commit(this.state, now, uses);
		this.onCounted(uses);
	}

	/**
	 * Counts uses `from + 1 … from + fresh` of a share where the report places them, never later than
	 * now: at the home's clock less each use's age by the guard's (plus the stall allowance), or, for
	 * a report without its sending time, at the guard's time plus twice the grace (a guard's clock may
	 * run that far behind). Uses the report does not place are counted now.
	 */
	#place(from: number, fresh: number, report: ShareReport, now: number, terms: LeaseTerms): void {
		const end = from + fresh;
		const sent = report.sentAt;
		const shift = sent !== undefined && Number.isFinite(sent) ? now - sent + CLOCK_STALL_MS : 2 * terms.graceMs;
		let next = from;
		for (const { at, upto } of report.times ?? []) {
			if (next >= end) break;
			if (!Number.isFinite(at) || !Number.isFinite(upto) || upto <= next) continue;
			const n = Math.min(Math.floor(upto), end) - next;
			// Uses placed before the window's buckets would not count at all: counted now instead.
			if (commitAt(this.state, Math.min(now, at + shift), now, this.windowMs, n)) this.onCounted(n);
			else this.#count(now, n);
			next += n;
		}
		this.#count(now, end - next);
	}
}

/**
 * The home's side of a credit balance lent to guards: a guard spends credits out of its share; the
 * home spends a share's credits from the balance when they are reported, or all of what is still
 * held when the share ends unreported (its guard may have spent them). Credits held by any share
 * are not the home's to spend or lend, so spends and shares never sum past the balance.
 */
export class LentCredits {
	constructor(
		readonly book: ShareBook,
		/** What the balance has that no share holds (every book of the pool counted). */
		private readonly free: () => number,
		/** Takes reported or ended credits off the balance. */
		private readonly spend: (credits: number) => void,
	) {}

	/**
	 * A guard's renewal: its running total first, then up to `want` more, out of an equal part of what
	 * is free among the guards holding shares and the home (which keeps a part for the uses it
	 * decides, large ones included).
	 */
	renew(guard: string, report: ShareReport, want: number, now: number, terms: LeaseTerms): ShareGrant {
		this.expire(now, terms);
		this.report(guard, report);
		const others = this.book.guards.filter((g) => g !== guard).length;
		return this.book.grant(guard, want, Math.floor(Math.max(0, this.free()) / (others + 2)), now, terms);
	}

	report(guard: string, report: ShareReport): void {
		this.spend(this.book.report(guard, report.epoch, report.used));
	}

	release(guard: string, report: ShareReport): void {
		this.spend(this.book.release(guard, report.epoch, report.used));
	}

	/** Ends the shares past their deadline and grace: what they held is spent. */
	expire(now: number, terms: LeaseTerms): string[] {
		const { counted, guards } = this.book.expire(now, terms);
		this.spend(counted);
		return guards;
	}
}
