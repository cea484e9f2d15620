import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../../app-env";
import { type Permission, roleAllows } from "../../auth/permissions";
import { ApiError } from "../../problems";

const unauthorized = () =>
	new ApiError("unauthorized", {
		detail: "Send a session token or API key as Authorization: Bearer",
		headers: { "WWW-Authenticate": 'Bearer realm="keyward"' },
	});

/** Routes of the signed-in user themself (`/v1/me*`, logout): a session is required, an API key is not enough. */
export const requireUser = (): MiddlewareHandler<AppEnv> => async (c, next) => {
	if (c.get("principal")?.type !== "user") throw unauthorized();
	await next();
};

/**
 * The gate of every route under `/v1/accounts/{accountId}`: no caller → 401;
 * not a member → 404 (another tenant's account is indistinguishable from none);
 * a member whose role lacks the permission → 403. On success the request's
 * audit events go to that account's trail.
 */
export const requireAccountPermission =
	(permission: Permission): MiddlewareHandler<AppEnv> =>
	async (c, next) => {
		const principal = c.get("principal");
		if (!principal) throw unauthorized();
		const accountId = c.req.param("accountId");
		const membership = principal.memberships.find((m) => m.accountId === accountId);
		if (!membership) throw new ApiError("not-found", { detail: "No such account" });
		c.get("audit").accountId = membership.accountId;
		if (!roleAllows(membership.role, permission)) {
			throw new ApiError("forbidden", { detail: `Your role (${membership.role}) does not allow ${permission}` });
		}
		await next();
	};
