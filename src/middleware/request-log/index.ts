import type { MiddlewareHandler } from "hono";
import { routePath } from "hono/route";

export interface RequestLogOptions {
	write?: (line: string) => void;
	now?: () => number;
}

/**
 * One structured line per request. It records what is safe by construction:
 * the method, the path without its query string, the matched route, status and
 * duration. Never a body, a header value or a query string, so no credential or
 * secret can reach the log through it.
 */
export const requestLog = (
	options: RequestLogOptions = {},
): MiddlewareHandler<{ Variables: { requestId: string } }> => {
	const write = options.write ?? ((line: string) => console.log(line));
	const now = options.now ?? (() => Date.now());
	return async (c, next) => {
		const started = now();
		await next();
		write(
			JSON.stringify({
				level: c.res.status >= 500 ? "error" : "info",
				msg: "request",
				requestId: c.get("requestId"),
				method: c.req.method,
				path: c.req.path,
				route: routePath(c, -1),
				status: c.res.status,
				durationMs: now() - started,
			}),
		);
	};
};
