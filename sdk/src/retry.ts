/**
 * When to try a call again, and after how long. Pure functions, so the policy
 * is tested without a clock.
 *
 * Only `429` and `503` are retried: both say "not now" and promise that
 * nothing was done. And only for idempotent operations: a `503` can come from
 * a proxy after the API already acted, and repeating a create or a rotation
 * would then act twice.
 */

export interface RetryOptions {
	/** Further attempts after the first (0 turns retrying off). Default 2. */
	retries?: number;
	/** The first backoff step; each later step doubles it. Default 200 ms. */
	baseDelayMs?: number;
	/** No backoff step is longer than this. Default 5 s. */
	maxDelayMs?: number;
	/**
	 * A `Retry-After` longer than this is not waited for: the error is thrown at once, so a caller
	 * on a request path is not held for a lockout's minutes. Default 10 s.
	 */
	maxRetryAfterMs?: number;
}

export const DEFAULT_RETRY: Required<RetryOptions> = {
	retries: 2,
	baseDelayMs: 200,
	maxDelayMs: 5_000,
	maxRetryAfterMs: 10_000,
};

export const isRetryableStatus = (status: number): boolean => status === 429 || status === 503;

/**
 * `Retry-After` (RFC 9110 §10.2.3) in milliseconds: delay-seconds or an
 * HTTP-date; null when absent or unreadable.
 */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | null {
	if (value === null) return null;
	const trimmed = value.trim();
	if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
	const date = Date.parse(trimmed);
	return Number.isNaN(date) ? null : Math.max(0, date - now);
}

/**
 * How long to wait before retry number `attempt` (0 for the first retry), or
 * null not to retry. Exponential backoff with full jitter (a uniform draw up
 * to the step), so clients that failed together do not return together; never
 * sooner than the server's `Retry-After`.
 */
export function retryDelayMs(
	attempt: number,
	retryAfterMs: number | null,
	options: Required<RetryOptions>,
	random: () => number = Math.random,
): number | null {
	if (attempt >= options.retries) return null;
	if (retryAfterMs !== null && retryAfterMs > options.maxRetryAfterMs) return null;
	const step = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** attempt);
	const backoff = Math.floor(random() * step);
	return Math.max(retryAfterMs ?? 0, backoff);
}

/** Waits `ms`, or rejects as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
	return new Promise((resolve, reject) => {
		if (signal?.aborted) return reject(signal.reason);
		const timer = setTimeout(() => {
			signal?.removeEventListener("abort", onAbort);
			resolve();
		}, ms);
		const onAbort = () => {
			clearTimeout(timer);
			reject(signal?.reason);
		};
		signal?.addEventListener("abort", onAbort, { once: true });
	});
}
