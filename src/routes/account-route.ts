/**
 * Every route under /v1/accounts/{accountId} is declared through this helper:
 * it installs the permission gate and writes the permission into the OpenAPI
 * operation as `x-keyward-permission`, and what the route hands out as
 * `x-keyward-grants`, so the authorization matrix and the escalation test
 * (and readers of /v1/openapi.json) can see what each route needs and makes.
 */
import { createRoute, type RouteConfig } from "@hono/zod-openapi";
import type { Permission } from "../auth/permissions";
import { requireAccountPermission } from "../middleware/authorize";

export const PERMISSION_EXTENSION = "x-keyward-permission";
export const GRANTS_EXTENSION = "x-keyward-grants";

/** What a route can hand out: the power an attacker would try to widen through it. */
export type Grant = "credential" | "role" | "setting" | "webhook";

export function accountRoute<const R extends Omit<RouteConfig, "middleware">>(
	permission: Permission,
	route: R,
	grants?: Grant,
) {
	return createRoute({
		...route,
		middleware: [requireAccountPermission(permission, { grants: grants !== undefined })] as const,
		[PERMISSION_EXTENSION]: permission,
		...(grants ? { [GRANTS_EXTENSION]: grants } : {}),
	});
}
