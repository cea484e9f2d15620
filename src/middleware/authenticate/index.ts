import type { MiddlewareHandler } from "hono";
import type { Authenticator } from "../../auth/principal";
import type { AppEnv } from "../../platform/app-env";

/**
 * Resolves the caller once per request and records them as the audit actor.
 * A missing or invalid credential is not an error here: routes that need a
 * caller say so with `requireAccountPermission`.
 */
export const authenticate =
	(authenticator: Authenticator): MiddlewareHandler<AppEnv> =>
	async (c, next) => {
		const principal = await authenticator(c);
		c.set("principal", principal);
		if (principal) c.get("audit").setActor({ type: principal.type, id: principal.id });
		await next();
	};
