import type { MiddlewareHandler } from "hono";
import { type Env, isDevelopment } from "../../platform/env";
import { ApiError } from "../../problems";

/**
 * For routes that exist only in local development. It runs before validation,
 * so in any other environment every request to them is a plain 404.
 */
export const developmentOnly = (): MiddlewareHandler<{ Bindings: Env }> => async (c, next) => {
	if (!isDevelopment(c.env)) throw new ApiError("not-found");
	await next();
};
