import type { MiddlewareHandler } from "hono";
import { ApiError } from "../../problems";
import { fromOwnSite } from "../../security/origin";

export interface SameOriginFormsOptions {
	/** Origins besides the request's own that may post (the CORS allowlist). */
	allowedOrigins: (env: unknown) => string[];
}

const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * CSRF defence for the console's HTML forms, on top of the SameSite=Strict
 * session cookie: a form post must come from this site, signed in or not
 * (which also stops login CSRF). A forged form on another site is refused
 * before any handler runs.
 */
export const sameOriginForms =
	(options: SameOriginFormsOptions): MiddlewareHandler =>
	async (c, next) => {
		if (!SAFE.has(c.req.method) && !fromOwnSite(c.req, c.req.url, options.allowedOrigins(c.env))) {
			throw new ApiError("forbidden", { detail: "Forms must be posted from this site" });
		}
		await next();
	};
