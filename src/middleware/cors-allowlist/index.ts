import type { MiddlewareHandler } from "hono";
import { ApiError } from "../../problems";

export interface CorsAllowlistOptions {
	/** Exact origins (scheme://host[:port]) allowed to call from a browser. `*` is ignored. */
	origins: (env: unknown) => readonly string[];
	allowMethods?: string[];
	allowHeaders?: string[];
	exposeHeaders?: string[];
	maxAgeSeconds?: number;
}

/**
 * Answers CORS only for listed origins, preflight included. It never echoes `*`
 * and never reflects an unlisted origin: a disallowed preflight is a 403 with
 * no CORS headers, so the browser blocks the real request.
 */
export const corsAllowlist = (options: CorsAllowlistOptions): MiddlewareHandler => {
	const allowMethods = (options.allowMethods ?? ["GET", "POST", "PATCH", "PUT", "DELETE"]).join(", ");
	const allowHeaders = (options.allowHeaders ?? ["Authorization", "Content-Type"]).join(", ");
	const exposeHeaders = (
		options.exposeHeaders ?? [
			"X-Request-Id",
			"Retry-After",
			"RateLimit",
			"RateLimit-Policy",
			"X-RateLimit-Limit",
			"X-RateLimit-Remaining",
			"X-RateLimit-Reset",
		]
	).join(", ");
	const maxAge = String(options.maxAgeSeconds ?? 600);

	return async (c, next) => {
		const origin = c.req.header("Origin");
		const allowed = origin !== undefined && origin !== "*" && options.origins(c.env).includes(origin);
		const isPreflight = c.req.method === "OPTIONS" && c.req.header("Access-Control-Request-Method") !== undefined;

		if (isPreflight) {
			if (!allowed) throw new ApiError("forbidden", { detail: "Origin not allowed" });
			return new Response(null, {
				status: 204,
				headers: {
					"Access-Control-Allow-Origin": origin,
					"Access-Control-Allow-Credentials": "true",
					"Access-Control-Allow-Methods": allowMethods,
					"Access-Control-Allow-Headers": allowHeaders,
					"Access-Control-Max-Age": maxAge,
					Vary: "Origin",
				},
			});
		}

		await next();
		c.res.headers.append("Vary", "Origin");
		if (allowed) {
			c.res.headers.set("Access-Control-Allow-Origin", origin);
			c.res.headers.set("Access-Control-Allow-Credentials", "true");
			c.res.headers.set("Access-Control-Expose-Headers", exposeHeaders);
		}
	};
};
