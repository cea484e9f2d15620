import type { MiddlewareHandler } from "hono";

export interface SecurityHeadersOptions {
	/** CSP for JSON and problem responses; HTML routes set `contentSecurityPolicy` on the context. */
	defaultContentSecurityPolicy?: string;
	/** Names of request cookies that make a request authenticated. */
	credentialCookies?: string[];
}

export const JSON_CSP = "default-src 'none'; frame-ancestors 'none'";

/**
 * The headers of API.md §1 on every response, errors and 404s included (this
 * runs after the error handler has produced its response).
 *
 * `Cache-Control: no-store` is the default for every response, not a flag a
 * route remembers to set: sign-up, login, key creation and a dozen other
 * answers carry a secret to a caller who sent no credential yet, and a route
 * added later would be one more. A route that is safe to cache says so by
 * setting its own Cache-Control; requests that carry a credential get
 * no-store whatever the route said, unless the route marked its answer an
 * immutable asset (the same bytes for anyone, under a versioned name).
 */
export const securityHeaders = (
	options: SecurityHeadersOptions = {},
): MiddlewareHandler<{ Variables: { contentSecurityPolicy?: string; immutableAsset?: boolean } }> => {
	const defaultCsp = options.defaultContentSecurityPolicy ?? JSON_CSP;
	const cookies = options.credentialCookies ?? [];
	return async (c, next) => {
		await next();
		const h = c.res.headers;
		h.set("Strict-Transport-Security", "max-age=31536000; includeSubDomains");
		h.set("X-Content-Type-Options", "nosniff");
		h.set("X-Frame-Options", "DENY");
		h.set("Referrer-Policy", "no-referrer");
		h.set("Content-Security-Policy", c.get("contentSecurityPolicy") ?? defaultCsp);
		// An explicit charset leaves browsers nothing to sniff.
		if (h.get("Content-Type") === "application/json") h.set("Content-Type", "application/json; charset=utf-8");
		const cookieHeader = c.req.header("Cookie") ?? "";
		const hasCredential =
			c.req.header("Authorization") !== undefined || cookies.some((name) => cookieHeader.includes(`${name}=`));
		if ((hasCredential && !c.get("immutableAsset")) || !h.has("Cache-Control")) h.set("Cache-Control", "no-store");
	};
};
