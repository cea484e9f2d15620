import type { MiddlewareHandler } from "hono";
import { ApiError } from "../../problems";

const JSON_TYPE = /^application\/(?:[a-z0-9.+-]*\+)?json\s*(?:;|$)/i;

/**
 * Requests that carry a body must say it is JSON (else 415) and must be valid
 * JSON (else 400), before any route sees them. The parsed body is cached by
 * Hono, so the route's zod validator reads it without parsing twice.
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
		await c.req.json();
	} catch (err) {
		if (err instanceof ApiError) throw err; // e.g. the body limit tripped while reading
		throw new ApiError("validation", {
			detail: "The body is not valid JSON",
			errors: [{ path: "", message: "Malformed JSON" }],
		});
	}
	await next();
};
