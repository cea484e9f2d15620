/**
 * Every route under /v1/accounts/{accountId} is declared through this helper:
 * it installs the permission gate and writes the permission into the OpenAPI
 * operation as `x-keyward-permission`, so the authorization matrix test (and
 * readers of /v1/openapi.json) can see what each route needs.
 */
import { createRoute, type RouteConfig } from "@hono/zod-openapi";
import type { Permission } from "../auth/permissions";
import { requireAccountPermission } from "../middleware/authorize";

export const PERMISSION_EXTENSION = "x-keyward-permission";

export function accountRoute<const R extends Omit<RouteConfig, "middleware">>(permission: Permission, route: R) {
	return createRoute({
		...route,
		middleware: [requireAccountPermission(permission)] as const,
		[PERMISSION_EXTENSION]: permission,
	});
}
