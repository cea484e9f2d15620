import type { MiddlewareHandler } from "hono";
import { routePath } from "hono/route";

export interface RequestLogOptions {
	write?: (line: string) => void;
	now?: () => number;
	/** Fraction of successful requests to log as well (`REQUEST_LOG_SAMPLE`, default 0); tests pass 1. */
	sample?: (env: { REQUEST_LOG_SAMPLE?: string }) => number;
	random?: () => number;
}

const sampleOf = (env: { REQUEST_LOG_SAMPLE?: string }): number => {
	const rate = Number(env.REQUEST_LOG_SAMPLE ?? 0);
	return Number.isFinite(rate) ? Math.min(1, Math.max(0, rate)) : 0;
};

/**
 * Keyward's own line per request, where it earns its cost. Workers Logs
 * (`[observability]` in wrangler.toml) already records every invocation with
 * its URL, status and duration, so this line is written for what that log
 * lacks: every error and refusal (status 400 and up) with the request id
 * that ties it to the audit trail and the problem body, and a sample of the
 * successful ones (`REQUEST_LOG_SAMPLE`). A `console.log` per request cost
 * about half of `/health`'s throughput (issue #20).
 *
 * It records what is safe by construction: the method, the path without its
 * query string, the matched route, status and duration. Never a body, a
 * header value or a query string, so no credential or secret can reach the
 * log through it.
 */
export const requestLog = (
	options: RequestLogOptions = {},
): MiddlewareHandler<{ Variables: { requestId: string } }> => {
	const write = options.write ?? ((line: string) => console.log(line));
	const now = options.now ?? (() => Date.now());
	const sample = options.sample ?? sampleOf;
	const random = options.random ?? Math.random;
	return async (c, next) => {
		const started = now();
		await next();
		const status = c.res.status;
		if (status < 400 && !(random() < sample(c.env ?? {}))) return;
		write(
			JSON.stringify({
				level: status >= 500 ? "error" : "info",
				msg: "request",
				requestId: c.get("requestId"),
				method: c.req.method,
				path: c.req.path,
				route: routePath(c, -1),
				status,
				durationMs: now() - started,
			}),
		);
	};
};
