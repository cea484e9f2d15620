import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { getServiceAccount, type ServiceAccountRow } from "../keys/records";
import { callerMembership } from "../middleware/authorize";
import type { App, AppEnv } from "../platform/app-env";
import { ApiError } from "../problems";
import { accountRoute } from "../routes/account-route";
import {
	FreeText,
	hasControlCharacters,
	Id,
	IssuedId,
	jsonBody,
	jsonContent,
	problemResponses,
	Timestamp,
} from "../routes/openapi-shared";
import { AccountParams, AssignableRole } from "./schemas";
import {
	createServiceAccount,
	deleteServiceAccount,
	listServiceAccounts,
	type ServiceAccountActor,
	serviceAccountKeyStats,
	updateServiceAccount,
} from "./service-accounts";

const ServiceAccountParams = AccountParams.extend({
	serviceAccountId: Id("svc").openapi({ description: "The service account's id (`svc_` and 16 characters)" }),
});

const Name = FreeText(100).openapi({
	description: "A name to tell it apart: 1 to 100 characters after trimming, no control characters",
	example: "billing-worker",
});
const Description = z
	.string()
	.trim()
	.max(500)
	.refine((v) => !hasControlCharacters(v), {
		message: "Control characters (line breaks, tabs, bidi overrides) are not allowed",
	})
	.openapi({ description: "What it is for: at most 500 characters, no control characters", example: "Runs invoicing" });
const ServiceRole = AssignableRole.openapi({
	description:
		"Its role: `admin`, `member` or `readonly`. Never `owner`, and never above the role of whoever sets it. Its keys " +
		"act with this role (their reserved scopes are capped by it when made, and at every use).",
});

export const ServiceAccountSchema = z
	.object({
		id: IssuedId("svc", "The service account's id"),
		name: z.string().openapi({ description: "Its name", example: "billing-worker" }),
		description: z.string().openapi({ description: "What it is for (may be empty)", example: "Runs invoicing" }),
		role: ServiceRole,
		createdBy: IssuedId("usr", "Who made it (removing them does not touch it or its keys)"),
		createdAt: Timestamp("When it was made", "2026-03-02T09:30:00.000Z"),
		liveKeys: z.number().openapi({ description: "Its keys that are neither revoked nor expired", example: 2 }),
		lastKeyUsedAt: z.string().nullable().openapi({
			format: "date-time",
			description: "The last admitted use of any of its live keys (written in batches, so it may lag); null if none",
			example: "2026-03-02T11:02:41.000Z",
		}),
	})
	.openapi("ServiceAccount", {
		description:
			"A non-human member that owns API keys: its keys act with its role and outlive the person who made them",
	});

export const createServiceAccountRoute = accountRoute(
	"service-accounts:manage",
	{
		method: "post",
		path: "/v1/accounts/{accountId}/service-accounts",
		tags: ["Service accounts"],
		summary: "Make a service account (owner and admins, with a session)",
		description:
			"A service account owns keys (POST …/keys with `owner: {serviceAccountId}`), which act with its role and " +
			"are not revoked when the person who made them leaves. No API key can manage service accounts. Listed in " +
			"GET …/members as `type: service_account`.",
		request: {
			params: AccountParams,
			body: jsonBody(
				z.strictObject({ name: Name, role: ServiceRole, description: Description.optional().default("") }),
			),
		},
		responses: {
			201: jsonContent(z.object({ serviceAccount: ServiceAccountSchema }), "Made"),
			...problemResponses(400, 401, 403, 404, 409, 423),
		},
	},
	{ grants: "role", reauthenticate: "make a service account" },
);

export const listServiceAccountsRoute = accountRoute("members:read", {
	method: "get",
	path: "/v1/accounts/{accountId}/service-accounts",
	tags: ["Service accounts"],
	summary: "The account's service accounts, oldest first, with their live keys and last key use",
	request: { params: AccountParams },
	responses: {
		200: jsonContent(
			z.object({ data: z.array(ServiceAccountSchema).openapi({ description: "The service accounts" }) }),
			"Service accounts",
		),
		...problemResponses(401, 403, 404),
	},
});

export const getServiceAccountRoute = accountRoute("members:read", {
	method: "get",
	path: "/v1/accounts/{accountId}/service-accounts/{serviceAccountId}",
	tags: ["Service accounts"],
	summary: "One service account",
	request: { params: ServiceAccountParams },
	responses: {
		200: jsonContent(z.object({ serviceAccount: ServiceAccountSchema }), "The service account"),
		...problemResponses(400, 401, 403, 404),
	},
});

export const updateServiceAccountRoute = accountRoute(
	"service-accounts:manage",
	{
		method: "patch",
		path: "/v1/accounts/{accountId}/service-accounts/{serviceAccountId}",
		tags: ["Service accounts"],
		summary: "Rename a service account or change its role (never to owner, never above your own)",
		request: {
			params: ServiceAccountParams,
			body: jsonBody(
				z.strictObject({ name: Name.optional(), role: ServiceRole.optional(), description: Description.optional() }),
			),
		},
		responses: {
			200: jsonContent(z.object({ serviceAccount: ServiceAccountSchema }), "Updated"),
			...problemResponses(400, 401, 403, 404, 409, 423),
		},
	},
	{ grants: "role", reauthenticate: "change a service account" },
);

export const deleteServiceAccountRoute = accountRoute(
	"service-accounts:manage",
	{
		method: "delete",
		path: "/v1/accounts/{accountId}/service-accounts/{serviceAccountId}",
		tags: ["Service accounts"],
		summary: "Delete a service account: its keys are revoked in the same step",
		description:
			"Its keys are refused from the next verify on, everywhere. A retry after a failure finishes revoking them; " +
			"404 when there is no such service account and no live key of its left.",
		request: { params: ServiceAccountParams },
		responses: { 204: { description: "Deleted" }, ...problemResponses(400, 401, 403, 404) },
	},
	{ reauthenticate: "delete a service account (its keys are revoked)" },
);

function actorOf(c: Context<AppEnv>, accountId: string): ServiceAccountActor {
	const { principal, membership } = callerMembership(c, accountId);
	return { userId: principal.userId, role: membership.role };
}

const lifecycleOf = (c: Context<AppEnv>) => ({
	env: c.env,
	db: c.get("services").db,
	now: c.get("services").clock.now(),
});

type Stats = Awaited<ReturnType<typeof serviceAccountKeyStats>>;
export const publicServiceAccount = (row: ServiceAccountRow, stats: Stats) => {
	const s = stats.get(row.id);
	return {
		id: row.id,
		name: row.name,
		description: row.description,
		role: row.role,
		createdBy: row.createdBy,
		createdAt: row.createdAt.toISOString(),
		liveKeys: s?.liveKeys ?? 0,
		lastKeyUsedAt: s?.lastUsedAt?.toISOString() ?? null,
	};
};

async function loadServiceAccount(c: Context<AppEnv>, accountId: string, id: string): Promise<ServiceAccountRow> {
	const row = await getServiceAccount(c.get("services").db, accountId, id);
	if (!row) throw new ApiError("not-found", { detail: "No such service account" });
	return row;
}

export function registerServiceAccounts(app: App) {
	app.openapi(createServiceAccountRoute, async (c) => {
		const { accountId } = c.req.valid("param");
		const lc = lifecycleOf(c);
		const row = await createServiceAccount(lc, actorOf(c, accountId), accountId, c.req.valid("json"));
		c.get("audit").record({
			action: "service_account.created",
			target: { type: "service_account", id: row.id },
			metadata: { role: row.role },
		});
		return c.json({ serviceAccount: publicServiceAccount(row, new Map()) }, 201);
	});

	app.openapi(listServiceAccountsRoute, async (c) => {
		const { accountId } = c.req.valid("param");
		const lc = lifecycleOf(c);
		const [rows, stats] = await Promise.all([
			listServiceAccounts(lc.db, accountId),
			serviceAccountKeyStats(lc.db, accountId, lc.now),
		]);
		return c.json({ data: rows.map((r) => publicServiceAccount(r, stats)) }, 200);
	});

	app.openapi(getServiceAccountRoute, async (c) => {
		const { accountId, serviceAccountId } = c.req.valid("param");
		const lc = lifecycleOf(c);
		const row = await loadServiceAccount(c, accountId, serviceAccountId);
		const stats = await serviceAccountKeyStats(lc.db, accountId, lc.now);
		return c.json({ serviceAccount: publicServiceAccount(row, stats) }, 200);
	});

	app.openapi(updateServiceAccountRoute, async (c) => {
		const { accountId, serviceAccountId } = c.req.valid("param");
		const lc = lifecycleOf(c);
		const current = await loadServiceAccount(c, accountId, serviceAccountId);
		const input = c.req.valid("json");
		const updated = await updateServiceAccount(lc, actorOf(c, accountId), current, input);
		if (updated !== current)
			c.get("audit").record({
				action: "service_account.updated",
				target: { type: "service_account", id: updated.id },
				metadata: { changed: Object.keys(input), ...(input.role ? { from: current.role, to: updated.role } : {}) },
			});
		const stats = await serviceAccountKeyStats(lc.db, accountId, lc.now);
		return c.json({ serviceAccount: publicServiceAccount(updated, stats) }, 200);
	});

	app.openapi(deleteServiceAccountRoute, async (c) => {
		const { accountId, serviceAccountId } = c.req.valid("param");
		const { deleted, keysRevoked } = await deleteServiceAccount(
			lifecycleOf(c),
			actorOf(c, accountId),
			accountId,
			serviceAccountId,
		);
		if (!deleted && keysRevoked === 0) throw new ApiError("not-found", { detail: "No such service account" });
		c.get("audit").record({
			action: "service_account.deleted",
			target: { type: "service_account", id: serviceAccountId },
			metadata: { keysRevoked, finishedEarlierDeletion: !deleted },
		});
		return c.body(null, 204);
	});
}
