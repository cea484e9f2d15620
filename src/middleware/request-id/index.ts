import type { MiddlewareHandler } from "hono";

export interface RequestIdOptions {
	/** Produces a fresh id; injectable for tests. */
	generate?: () => string;
	headerName?: string;
}

/** A fresh request id; the service-binding entrypoint names its calls the same way. */
export const newRequestId = (): string => `req_${crypto.randomUUID().replaceAll("-", "")}`;

/**
 * Gives every request an id of our own making (never the client's, so a caller
 * cannot forge or collide ids in logs and the audit trail) and returns it in
 * `X-Request-Id` on every response.
 */
export const requestId = (options: RequestIdOptions = {}): MiddlewareHandler<{ Variables: { requestId: string } }> => {
	const generate = options.generate ?? newRequestId;
	const headerName = options.headerName ?? "X-Request-Id";
	return async (c, next) => {
		const id = generate();
		c.set("requestId", id);
		await next();
		c.res.headers.set(headerName, id);
	};
};
