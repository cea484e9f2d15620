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

/** What a route can hand out: the power an attacker would try to widen through it. */
export type Grant = "credential" | "role" | "setting" | "webhook";

export interface AccountRouteOptions {
	/** What the route hands out; such routes are refused until the account's owner is verified. */
	grants?: Grant;
	/** The action, when every call needs a proof of identity from the last ten minutes (src/auth/recent-auth.ts). */
	reauthenticate?: string;
	/** A granting route the owner may still call while the account is locked down (settings, the lift). */
	ownerWhileLockedDown?: boolean;
}

export function accountRoute<const R extends Omit<RouteConfig, "middleware">>(
	permission: Permission,
	route: R,
	options: AccountRouteOptions = {},
) {
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
	});
}
