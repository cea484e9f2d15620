import type { MiddlewareHandler } from "hono";
import { ApiError } from "../../problems";

const JSON_TYPE = /^application\/(?:[a-z0-9.+-]*\+)?json\s*(?:;|$)/i;

/**
 * Requests that carry a body must say it is JSON (else 415) and must be valid
 * JSON (else 400), before any route sees them. The raw bytes are read first
 * and stay cached as they came, so a route that checks a signature over the
 * body (GitHub's secret-scanning reports) sees exactly what was signed, not a
 * re-serialisation of the parsed value; the parsed body is cached beside
 * them, so the route's zod validator does not parse twice.
 */
export const jsonBody = (): MiddlewareHandler => async (c, next) => {
	// A DELETE from many clients carries `Content-Length: 0` and no type: that is no body, not a wrong one.
	const empty = c.req.raw.body === null || c.req.header("Content-Length") === "0";
	if (c.req.method === "GET" || c.req.method === "HEAD" || c.req.method === "OPTIONS" || empty) {
		return next();
	}
	const type = c.req.header("Content-Type") ?? "";
	if (!JSON_TYPE.test(type)) {
		throw new ApiError("unsupported-media-type", { detail: "Send the body as application/json" });
	}
	try {
		const raw = await c.req.arrayBuffer();
		// What Response.json() does: UTF-8 (a BOM dropped, bad bytes replaced), then JSON.
		const parsed: unknown = JSON.parse(new TextDecoder().decode(raw));
		c.req.bodyCache.json = Promise.resolve(parsed);
	} catch (err) {
		if (err instanceof ApiError) throw err; // e.g. the body limit tripped while reading
		throw new ApiError("validation", {
			detail: "The body is not valid JSON",
			errors: [{ path: "", message: "Malformed JSON" }],
		});
	}
	await next();
};
