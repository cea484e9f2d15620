import type { MiddlewareHandler } from "hono";
import { type Env, isDevelopment } from "../../platform/env";
import { ApiError } from "../../problems";

/**
 * Outside development, plain-HTTP requests are refused rather than redirected:
 * a redirect would come after the credential already crossed the wire, and
 * silently following it would teach clients an unsafe habit.
 */
export const httpsOnly = (): MiddlewareHandler<{ Bindings: Env }> => async (c, next) => {
	if (!isDevelopment(c.env) && new URL(c.req.url).protocol !== "https:") {
		throw new ApiError("https-required", { detail: "Use https://" });
	}
	await next();
};
