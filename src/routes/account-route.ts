/**
 * Every route under /v1/accounts/{accountId} is declared through this helper:
 * it installs the permission gate and writes the permission into the OpenAPI
 * operation as `x-keyward-permission`, and what the route hands out as
 * `x-keyward-grants`, so the authorization matrix and the escalation test
 * (and readers of /v1/openapi.json) can see what each route needs and makes.
 */
import { createRoute, type RouteConfig } from "@hono/zod-openapi";
import type { Permission } from "../auth/permissions";
import { requireRecentAuthentication } from "../auth/recent-auth";
import { requireAccountPermission } from "../middleware/authorize";

export const PERMISSION_EXTENSION = "x-keyward-permission";
export const GRANTS_EXTENSION = "x-keyward-grants";
export const REAUTHENTICATION_EXTENSION = "x-keyward-reauthentication";
export const REAUTHENTICATION_WHEN_EXTENSION = "x-keyward-reauthentication-when";

/** What a route can hand out: the power an attacker would try to widen through it. */
export type Grant = "credential" | "role" | "setting" | "webhook";

/**
 * A route that grants is refused until the account's owner is verified, and asks a session for a
 * proof of identity from the last ten minutes (src/auth/recent-auth.ts), so a stolen or stale
 * session cannot hand the account out: on every call (`reauthenticate`), or when the handler's
 * rule says the call hands out power (`reauthenticateWhen`, e.g. a key that reaches the
 * management API). A granting route without either is refused at declaration.
 */
export type AccountRouteOptions = {
	/** A granting route the owner may still call while the account is locked down (settings, the lift). */
	ownerWhileLockedDown?: boolean;
} & (
	| { grants?: undefined; reauthenticate?: string; reauthenticateWhen?: undefined }
	| { grants: Grant; reauthenticate: string; reauthenticateWhen?: undefined }
	| { grants: Grant; reauthenticate?: undefined; reauthenticateWhen: string }
);

export function accountRoute<const R extends Omit<RouteConfig, "middleware">>(
	permission: Permission,
	route: R,
	options: AccountRouteOptions = {},
) {
	if (options.grants && !options.reauthenticate && !options.reauthenticateWhen)
		throw new Error(`${route.method} ${route.path} grants ${options.grants} but asks no proof of identity`);
	const gate = requireAccountPermission(permission, {
		grants: options.grants !== undefined,
		ownerWhileLockedDown: options.ownerWhileLockedDown,
	});
	return createRoute({
		...route,
		middleware: (options.reauthenticate ? [gate, requireRecentAuthentication(options.reauthenticate)] : [gate]) as [
			typeof gate,
		],
		[PERMISSION_EXTENSION]: permission,
		...(options.grants ? { [GRANTS_EXTENSION]: options.grants } : {}),
		...(options.reauthenticate ? { [REAUTHENTICATION_EXTENSION]: options.reauthenticate } : {}),
		...(options.reauthenticateWhen ? { [REAUTHENTICATION_WHEN_EXTENSION]: options.reauthenticateWhen } : {}),
	});
}
