/**
 * A sliding-window rate limiter that never over-admits, in memory that does
 * not depend on the limit.
 *
 * The window W is cut into B sub-windows ("buckets") of g = W/B. A request at
 * time t counts every bucket from the one holding t - W up to the one holding
 * t: B + 1 buckets that together cover [t - W - g, t], a superset of the true
 * window (t - W, t]. So the count is never below the true count, and a request
 * is admitted only while that count is below the limit: in no window of W
 * ending at any instant are more than `limit` requests admitted. The price is
 * that requests up to g older than the window may still be counted: a slot
 * frees up at most g = W/B late, which is 1% of the window with B = 100.
 *
 * Compare: Cloudflare's sliding-window approximation weights the previous
 * fixed window and can be wrong either way (about 0.003% wrong decisions, and
 * over the limit for bursty sources); Unkey accepts up to 1.2x the limit; a
 * fixed window lets 2x through at the boundary. Here over-admission is zero by
 * construction, and the state is B + 1 integers per key.
 */

export const DEFAULT_BUCKETS = 100;

/** One of a key's rate limits: at most `limit` uses in any `windowSeconds`. */
export interface NamedLimit {
	name: string;
	limit: number;
	windowSeconds: number;
}

export interface WindowState {
	/** Counts of buckets `last - B … last`, oldest first. */
	counts: number[];
	/** Absolute index (floor(t / g)) of the newest bucket. */
	last: number;
	/** The window the buckets were cut for; absent only in windows stored before it was recorded. */
	windowMs?: number;
}

export interface WindowDecision {
	admitted: boolean;
	/** Requests left after this decision. */
	remaining: number;
	/** Milliseconds until the oldest counted request stops counting (a slot frees up); 0 when nothing is counted. */
	resetMs: number;
}

export const emptyWindow = (buckets = DEFAULT_BUCKETS): WindowState => ({
	counts: Array(buckets + 1).fill(0),
	last: 0,
});

/** Moves the ring forward to time `now`, dropping buckets that left the covered span. */
function advance(state: WindowState, index: number): void {
	const shift = index - state.last;
	if (shift <= 0) return;
	const size = state.counts.length;
	state.counts = shift >= size ? Array(size).fill(0) : [...state.counts.slice(shift), ...Array(shift).fill(0)];
	state.last = index;
}

const total = (counts: number[]) => counts.reduce((a, b) => a + b, 0);

/**
 * Makes the state fit `windowMs` and the current bucket count. A state cut for another window
 * (the key's `windowSeconds` was changed) or another bucket count (stored before B was 100) is
 * collapsed: whatever it still counts is counted as admitted now. Nothing is forgotten early, so
 * over-admission stays zero; the price is that those requests may count up to one window longer.
 * A lengthened window cannot count requests the old, shorter one had already let go.
 */
function conform(state: WindowState, now: number, windowMs: number): void {
	const own = state.windowMs ?? windowMs;
	if (own === windowMs && state.counts.length === DEFAULT_BUCKETS + 1) {
		state.windowMs = windowMs;
		return;
	}
	advance(state, Math.floor(now / (own / (state.counts.length - 1))));
	const counted = total(state.counts);
	state.counts = Array(DEFAULT_BUCKETS + 1).fill(0);
	state.counts[DEFAULT_BUCKETS] = counted;
	state.last = Math.max(Math.floor(now / (windowMs / DEFAULT_BUCKETS)), 0);
	state.windowMs = windowMs;
}

export function tryAdmit(state: WindowState, now: number, limit: number, windowMs: number, cost = 1): WindowDecision {
	const decision = standing(state, now, limit, windowMs, cost);
	return decision.admitted ? { ...decision, resetMs: commit(state, now, cost) } : decision;
}

/**
 * Whether `cost` more uses fit the window at `now` (used + cost ≤ limit; a cost of 0 always fits:
 * it checks the key without spending), without counting them: several limits are asked first and
 * committed only when all of them fit, so a use refused by one limit spends none of the others.
 * `remaining` is what is left after the uses when they fit.
 */
export function standing(state: WindowState, now: number, limit: number, windowMs: number, cost = 1): WindowDecision {
	conform(state, now, windowMs);
	const buckets = state.counts.length - 1;
	const g = windowMs / buckets;
	// A clock that went backwards counts into the newest bucket: requests are never forgotten early.
	advance(state, Math.floor(now / g));
	const used = total(state.counts);
	const admitted = used + cost <= limit;
	return {
		admitted,
		remaining: admitted ? Math.max(0, limit - used - cost) : Math.max(0, limit - used),
		resetMs: resetAfter(state, now, g),
	};
}

/**
 * Counts `cost` uses in the newest bucket (after `standing` said they fit, at the same `now`) and
 * returns the window's reset after them.
 */
export function commit(state: WindowState, now: number, cost: number): number {
	if (cost > 0) state.counts[state.counts.length - 1] = (state.counts.at(-1) ?? 0) + cost;
	return resetAfter(state, now, (state.windowMs ?? 1) / (state.counts.length - 1));
}

/**
 * Counts `cost` uses that happened at `at` (≤ now) into the bucket holding `at`, after moving the
 * window to `now`: a regional guard's report, placed where its uses happened rather than when the
 * report arrived, so they free up on time. Returns false, counting nothing, for uses older than the
 * buckets cover (the caller counts them now instead).
 */
export function commitAt(state: WindowState, at: number, now: number, windowMs: number, cost: number): boolean {
	conform(state, now, windowMs);
	const buckets = state.counts.length - 1;
	const g = windowMs / buckets;
	advance(state, Math.floor(now / g));
	const offset = Math.min(Math.floor(Math.min(at, now) / g), state.last) - (state.last - buckets);
	if (offset < 0 || cost <= 0 || !Number.isFinite(offset)) return false;
	state.counts[offset] = (state.counts[offset] ?? 0) + cost;
	return true;
}

/** When the oldest counted request stops being counted. */
function resetAfter(state: WindowState, now: number, g: number): number {
	const buckets = state.counts.length - 1;
	const oldest = state.counts.findIndex((c) => c > 0);
	if (oldest < 0) return 0;
	const absolute = state.last - buckets + oldest;
	// Bucket j is counted while floor(t/g) <= j + B, i.e. until t = (j + B + 1) * g.
	return Math.max(0, Math.ceil((absolute + buckets + 1) * g - now));
}

/** The current standing without admitting anything (for headers on refused verifications). */
export function peek(state: WindowState, now: number, limit: number, windowMs: number): WindowDecision {
	conform(state, now, windowMs);
	const g = windowMs / (state.counts.length - 1);
	advance(state, Math.floor(now / g));
	const used = total(state.counts);
	return {
		admitted: used < limit,
		remaining: Math.max(0, limit - used),
		resetMs: used < limit ? 0 : resetAfter(state, now, g),
	};
}

/**
 * Persisting a window without writing on every admission.
 *
 * A window is written with a `reserve`: admissions that may happen after the
 * write without being in it. Until that many have happened, nothing is
 * written; the admission after them writes again (with a fresh reserve), and
 * its answer waits for that write like every storage write does. A window
 * read back from storage counts its whole reserve as admitted at the moment
 * of reading, later than any of the admissions it stands for, so they are
 * counted at least as long as they really count: a crash can never let more
 * than `limit` through in any window. The price of a crash is the reserve
 * itself, at most 1% of the limit refused too many, for one window. A key
 * under 100 requests per window has no reserve and is written on every
 * admission; a key at `limit` L is written at most about 100 times per
 * window, whatever its traffic.
 */
export interface StoredWindow extends WindowState {
	/** Admissions that may have happened after this was written (0 when written exactly). */
	reserve?: number;
}

/** 1% of the limit (rounded down): added to the bucket granularity's 1%, under-admission stays within 2%. */
export const reserveFor = (limit: number): number => Math.floor(limit / 100);

/** A window read back from storage, with its reserve counted as admitted now. */
export function restoreWindow(stored: StoredWindow, now: number, windowMs: number): WindowState {
	const state: WindowState = { counts: [...stored.counts], last: stored.last, windowMs: stored.windowMs };
	conform(state, now, windowMs);
	const reserve = stored.reserve ?? 0;
	if (reserve > 0) {
		advance(state, Math.floor(now / (windowMs / DEFAULT_BUCKETS)));
		state.counts[DEFAULT_BUCKETS] = (state.counts[DEFAULT_BUCKETS] ?? 0) + reserve;
	}
	return state;
}
