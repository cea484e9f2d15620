import { z } from "@hono/zod-openapi";
import { and, desc, eq, sql } from "drizzle-orm";
import { accountLockedDown, grantLost, stillAllowed } from "../accounts/queries";
import { AccountParams } from "../accounts/schemas";
import type { Database } from "../db";
import { webhookDeliveries, webhooks } from "../db/schema";
import { callerMembership } from "../middleware/authorize";
import type { App } from "../platform/app-env";
import { newId } from "../platform/ids";
import { ApiError } from "../problems";
import { accountRoute } from "../routes/account-route";
import { Id, jsonBody, jsonContent, problemResponses } from "../routes/openapi-shared";
import { sealSecret } from "../security/secret-box";
import { webhookUrlProblem } from "../security/webhook-url";
import { webhookSecretBinding } from "./deliver";
import { WEBHOOK_EVENTS } from "./dispatch";
import { newWebhookSecret } from "./signature";

/** Enough endpoints for any real setup; bounds the fan-out of every alert. */
const MAX_WEBHOOKS_PER_ACCOUNT = 10;
const RECENT_DELIVERIES = 50;

const WebhookParams = AccountParams.extend({ webhookId: Id("whk") });

const WebhookUrl = z
	.string()
	.max(2048)
	.superRefine((value, ctx) => {
		const problem = webhookUrlProblem(value);
		if (problem) ctx.addIssue({ code: "custom", message: `The webhook URL ${problem}` });
	})
	.openapi({
		description: "https:// only; loopback, private, link-local, CGNAT and cloud-metadata hosts are refused",
		example: "https://hooks.example.com/keyward",
	});

const CreateWebhookBody = z.strictObject({
	url: WebhookUrl,
	events: z
		.array(z.enum(WEBHOOK_EVENTS))
		.min(1)
		.max(WEBHOOK_EVENTS.length)
		.refine((events) => new Set(events).size === events.length, { message: "Each event at most once" }),
});

const WebhookSchema = z
	.object({
		id: z.string(),
		url: z.string(),
		events: z.array(z.enum(WEBHOOK_EVENTS)),
		createdAt: z.string(),
		createdBy: z.string(),
	})
	.openapi("Webhook");

const DeliverySchema = z
	.object({
		id: z.string(),
		event: z.string(),
		status: z.enum(["pending", "delivered", "retrying", "failed"]),
		attempts: z.number().int(),
		lastStatusCode: z.number().int().nullable(),
		lastError: z.string().nullable(),
		createdAt: z.string(),
		updatedAt: z.string(),
	})
	.openapi("WebhookDelivery");

const publicWebhook = (row: typeof webhooks.$inferSelect) => ({
	id: row.id,
	url: row.url,
	events: row.events as (typeof WEBHOOK_EVENTS)[number][],
	createdAt: row.createdAt.toISOString(),
	createdBy: row.createdBy,
});

export const createWebhookRoute = accountRoute(
	"webhooks:manage",
	{
		method: "post",
		path: "/v1/accounts/{accountId}/webhooks",
		tags: ["Webhooks"],
		summary: "Add a webhook endpoint; the signing secret is returned once",
		request: { params: AccountParams, body: jsonBody(CreateWebhookBody) },
		responses: {
			201: jsonContent(z.object({ webhook: WebhookSchema, secret: z.string() }), "Created; store the secret now"),
			...problemResponses(400, 401, 403, 404, 409, 413, 415, 423),
		},
	},
	{ grants: "webhook", reauthenticate: "add a webhook" },
);

export const listWebhooksRoute = accountRoute("webhooks:manage", {
	method: "get",
	path: "/v1/accounts/{accountId}/webhooks",
	tags: ["Webhooks"],
	summary: "The account's webhook endpoints (never their secrets)",
	request: { params: AccountParams },
	responses: {
		200: jsonContent(z.object({ data: z.array(WebhookSchema) }), "Webhooks"),
		...problemResponses(401, 403, 404),
	},
});

export const deleteWebhookRoute = accountRoute(
	"webhooks:manage",
	{
		method: "delete",
		path: "/v1/accounts/{accountId}/webhooks/{webhookId}",
		tags: ["Webhooks"],
		summary: "Remove a webhook endpoint; queued deliveries to it are dropped",
		request: { params: WebhookParams },
		responses: { 204: { description: "Removed" }, ...problemResponses(401, 403, 404) },
	},
	// Removing the receiver of the account's alerts silences them: not for a stolen session.
	{ reauthenticate: "remove a webhook" },
);

export const listDeliveriesRoute = accountRoute("webhooks:manage", {
	method: "get",
	path: "/v1/accounts/{accountId}/webhooks/{webhookId}/deliveries",
	tags: ["Webhooks"],
	summary: `The latest ${RECENT_DELIVERIES} deliveries of an endpoint, newest first, with status and attempts`,
	request: { params: WebhookParams },
	responses: {
		200: jsonContent(z.object({ data: z.array(DeliverySchema) }), "Deliveries"),
		...problemResponses(401, 403, 404),
	},
});

async function findWebhook(db: Database, accountId: string, webhookId: string) {
	const hook = await db.query.webhooks.findFirst({
		where: and(eq(webhooks.accountId, accountId), eq(webhooks.id, webhookId)),
	});
	if (!hook) throw new ApiError("not-found", { detail: "No such webhook" });
	return hook;
}

export function registerWebhooks(app: App) {
	app.openapi(createWebhookRoute, async (c) => {
		const { accountId } = c.req.valid("param");
		const { url, events } = c.req.valid("json");
		const { db, clock } = c.get("services");
		const id = newId("whk");
		const secret = newWebhookSecret();
		const row = {
			id,
			accountId,
			url,
			events,
			secretSealed: await sealSecret(
				c.env.TOTP_ENCRYPTION_KEY ?? "",
				new TextEncoder().encode(secret),
				webhookSecretBinding(id),
			),
			createdAt: clock.now(),
			createdBy: callerMembership(c, accountId).principal.userId,
		};
		// Count and insert in one batch: the row is deleted again in the same transaction when it went
		// over the cap or the account is locked down, so 30 parallel creations make at most the cap.
		const overCap = sql`(SELECT COUNT(*) FROM ${webhooks} WHERE ${webhooks.accountId} = ${accountId}) > ${MAX_WEBHOOKS_PER_ACCOUNT}`;
		const [, undone] = await db.batch([
			db.insert(webhooks).values(row),
			db
				.delete(webhooks)
				.where(
					and(
						eq(webhooks.id, id),
						sql`(${overCap} OR ${accountLockedDown(accountId)} OR NOT ${stillAllowed(accountId, row.createdBy, "webhooks:manage")})`,
					),
				)
				.returning({ id: webhooks.id }),
		]);
		if (undone.length > 0)
			await grantLost(
				db,
				accountId,
				row.createdBy,
				"webhooks:manage",
				"no webhook can be added",
				new ApiError("conflict", { detail: `An account has at most ${MAX_WEBHOOKS_PER_ACCOUNT} webhooks` }),
			);
		c.get("audit").record({
			action: "webhook.created",
			target: { type: "webhook", id },
			// The host only: a URL's path or query may carry the receiver's own token.
			metadata: { host: new URL(url).host, events },
		});
		return c.json({ webhook: publicWebhook(row), secret }, 201);
	});

	app.openapi(listWebhooksRoute, async (c) => {
		const { accountId } = c.req.valid("param");
		const rows = await c
			.get("services")
			.db.select()
			.from(webhooks)
			.where(eq(webhooks.accountId, accountId))
			.orderBy(webhooks.createdAt);
		return c.json({ data: rows.map(publicWebhook) }, 200);
	});

	app.openapi(deleteWebhookRoute, async (c) => {
		const { accountId, webhookId } = c.req.valid("param");
		const { db } = c.get("services");
		const hook = await findWebhook(db, accountId, webhookId);
		await db.delete(webhooks).where(and(eq(webhooks.accountId, accountId), eq(webhooks.id, hook.id)));
		c.get("audit").record({
			action: "webhook.deleted",
			target: { type: "webhook", id: hook.id },
			metadata: { host: new URL(hook.url).host },
		});
		return c.body(null, 204);
	});

	app.openapi(listDeliveriesRoute, async (c) => {
		const { accountId, webhookId } = c.req.valid("param");
		const { db } = c.get("services");
		await findWebhook(db, accountId, webhookId);
		const rows = await db
			.select()
			.from(webhookDeliveries)
			.where(and(eq(webhookDeliveries.accountId, accountId), eq(webhookDeliveries.webhookId, webhookId)))
			.orderBy(desc(webhookDeliveries.createdAt))
			.limit(RECENT_DELIVERIES);
		const data = rows.map((r) => ({
			id: r.id,
			event: r.event,
			status: r.status,
			attempts: r.attempts,
			lastStatusCode: r.lastStatusCode,
			lastError: r.lastError,
			createdAt: r.createdAt.toISOString(),
			updatedAt: r.updatedAt.toISOString(),
		}));
		return c.json({ data }, 200);
	});
}
