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
 * frees up at most g = W/B late, which is 2% of the window with B = 50.
 *
 * Compare: Cloudflare's sliding-window approximation weights the previous
 * fixed window and can be wrong either way (about 0.003% wrong decisions, and
 * over the limit for bursty sources); Unkey accepts up to 1.2x the limit; a
 * fixed window lets 2x through at the boundary. Here over-admission is zero by
 * construction, and the state is B + 1 integers per key.
 */

export const DEFAULT_BUCKETS = 50;

export interface WindowState {
	/** Counts of buckets `last - B … last`, oldest first. */
	counts: number[];
	/** Absolute index (floor(t / g)) of the newest bucket. */
	last: number;
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

export function tryAdmit(state: WindowState, now: number, limit: number, windowMs: number): WindowDecision {
	const buckets = state.counts.length - 1;
	const g = windowMs / buckets;
	const index = Math.floor(now / g);
	// A clock that went backwards counts into the newest bucket: requests are never forgotten early.
	advance(state, index);
	const used = state.counts.reduce((a, b) => a + b, 0);
	if (used < limit) {
		state.counts[state.counts.length - 1] = (state.counts.at(-1) ?? 0) + 1;
		return { admitted: true, remaining: limit - used - 1, resetMs: resetAfter(state, now, g) };
	}
	return { admitted: false, remaining: 0, resetMs: resetAfter(state, now, g) };
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
	const g = windowMs / (state.counts.length - 1);
	advance(state, Math.floor(now / g));
	const used = state.counts.reduce((a, b) => a + b, 0);
	return {
		admitted: used < limit,
		remaining: Math.max(0, limit - used),
		resetMs: used < limit ? 0 : resetAfter(state, now, g),
	};
}
