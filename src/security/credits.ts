/**
 * A key's credits: how many uses it has left, spent by verify's `cost`, and
 * refilled on a calendar (daily at 00:00 UTC, or monthly on a day at 00:00
 * UTC). A refill sets the balance to its amount (it does not add), so
 * applying the same refill twice changes nothing: the balance remembers the
 * last refill instant it applied, and only a later instant refills again.
 *
 * Persisting without writing on every use, like a rate-limit window
 * (src/security/sliding-window.ts): a balance is written with a `reserve`
 * already taken off, and uses spend from that reserve unwritten; the use that
 * would spend past it writes again first. So storage never holds more than is
 * left: a crash can only lose unspent reserve (at most 1% of the balance as
 * set or refilled), never let a credit be spent twice.
 */

export interface CreditRefill {
	amount: number;
	interval: "daily" | "monthly";
	/** Day of the month for `monthly` (1 to 31; past the month's end: its last day). Default 1. */
	day?: number;
}

/** Credits as set on the key: the balance, its refill, and the key version that set them. */
export interface CreditPlan {
	remaining: number;
	refill: CreditRefill | null;
	/** Bumped each time the credits are set: a higher one replaces the live balance. */
	version: number;
	/**
	 * The balance's id: the first key of a rotation chain (a successor takes its predecessor's plan
	 * as it is, so both spend one balance during the grace period).
	 */
	pool: string;
	/** When they were set (ms): refills after this instant apply. */
	setAt: number;
}

/** 1% of the balance (rounded down): what a crash can cost; under 100 credits, every use writes. */
export const creditReserveFor = (balance: number): number => Math.floor(balance / 100);

const DAY_MS = 86_400_000;

/** The latest refill instant at or before `now` (ms, UTC). */
export function lastRefillAt(refill: CreditRefill, now: number): number {
	if (refill.interval === "daily") return Math.floor(now / DAY_MS) * DAY_MS;
	const at = (year: number, month: number) => {
		const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
		return Date.UTC(year, month, Math.min(refill.day ?? 1, lastDay));
	};
	const date = new Date(now);
	const thisMonth = at(date.getUTCFullYear(), date.getUTCMonth());
	return thisMonth <= now ? thisMonth : at(date.getUTCFullYear(), date.getUTCMonth() - 1);
}

/** The balance live in memory: what is left, and the refill instant it reflects. */
export interface CreditBalance {
	remaining: number;
	version: number;
	refilledAt: number;
}

/** A fresh balance from the plan: refills up to the moment it was set are already in `remaining`. */
export const balanceFrom = (plan: CreditPlan): CreditBalance => ({
	remaining: plan.remaining,
	version: plan.version,
	refilledAt: plan.refill ? lastRefillAt(plan.refill, plan.setAt) : plan.setAt,
});

/** Applies a refill due at `now`, once per refill instant; true when it changed the balance. */
export function refillDue(balance: CreditBalance, plan: CreditPlan, now: number): boolean {
	if (!plan.refill) return false;
	const due = lastRefillAt(plan.refill, now);
	if (due <= balance.refilledAt) return false;
	balance.remaining = plan.refill.amount;
	balance.refilledAt = due;
	return true;
}
