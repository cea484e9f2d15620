import type { MiddlewareHandler } from "hono";
import { ApiError } from "../../problems";

export interface SameOriginFormsOptions {
	/** Origins besides the request's own that may post (the CORS allowlist). */
	allowedOrigins: (env: unknown) => string[];
}

const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Whether an unsafe request comes from this site: its `Origin` is this site
 * or an allowed one. Under `Referrer-Policy: no-referrer` (API.md §1) a
 * browser's own form post carries `Origin: null`; then `Sec-Fetch-Site`
 * (which no page script can set) must say `same-origin`.
 */
export function fromOwnSite(
	headers: { header(name: string): string | undefined },
	url: string,
	allowed: string[],
): boolean {
	const origin = headers.header("Origin");
	if (origin && origin !== "null") return origin === new URL(url).origin || allowed.includes(origin);
	return headers.header("Sec-Fetch-Site") === "same-origin";
}

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
