/**
 * The rate-limit fields of API.md §1: the IETF `RateLimit-Policy` / `RateLimit`
 * pair and the legacy `X-RateLimit-*` trio, from one description of the limit.
 */
export interface RateLimitState {
	name: string;
	limit: number;
	windowSeconds: number;
	remaining: number;
	/** Seconds until the limit frees up again. */
	resetSeconds: number;
	now: Date;
}

export function rateLimitHeaders(s: RateLimitState): Record<string, string> {
	const reset = Math.max(0, Math.ceil(s.resetSeconds));
	return {
		"RateLimit-Policy": `"${s.name}";q=${s.limit};w=${s.windowSeconds}`,
		RateLimit: `"${s.name}";r=${Math.max(0, s.remaining)};t=${reset}`,
		"X-RateLimit-Limit": String(s.limit),
		"X-RateLimit-Remaining": String(Math.max(0, s.remaining)),
		"X-RateLimit-Reset": String(Math.floor(s.now.getTime() / 1000) + reset),
	};
}

/** The headers of a 429: the rate-limit fields plus Retry-After. */
export const throttledHeaders = (s: Omit<RateLimitState, "remaining" | "resetSeconds">, retryAfterSeconds: number) => ({
	...rateLimitHeaders({ ...s, remaining: 0, resetSeconds: retryAfterSeconds }),
	"Retry-After": String(Math.max(1, retryAfterSeconds)),
});
