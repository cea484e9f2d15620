import type { MiddlewareHandler } from "hono";
import type { AppEnv, Services } from "../../platform/app-env";
import type { Env } from "../../platform/env";

/** Builds the per-request services (database, mailer, clock) from the bindings and puts them on the context. */
export const services =
	(build: (env: Env) => Services): MiddlewareHandler<AppEnv> =>
	async (c, next) => {
		c.set("services", build(c.env));
		await next();
	};
