import { z } from "@hono/zod-openapi";
import { AccountParams } from "../accounts/schemas";
import { callerMembership } from "../middleware/authorize";
import type { App } from "../platform/app-env";
import { accountRoute } from "../routes/account-route";
import { Id, jsonBody, jsonContent, problemResponses } from "../routes/openapi-shared";
import { webhookUrlProblem } from "../security/webhook-url";
import { WEBHOOK_EVENTS } from "./dispatch";
import {
	addWebhook,
	listWebhooks,
	publicWebhook,
	RECENT_DELIVERIES,
	recentDeliveries,
	removeWebhook,
} from "./endpoints";

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

export function registerWebhooks(app: App) {
	app.openapi(createWebhookRoute, async (c) => {
		const { accountId } = c.req.valid("param");
		const { url, events } = c.req.valid("json");
		const { db, clock } = c.get("services");
		const createdBy = callerMembership(c, accountId).principal.userId;
		const deps = { db, sealingKey: c.env.TOTP_ENCRYPTION_KEY ?? "", now: clock.now() };
		const { row, secret } = await addWebhook(deps, accountId, createdBy, url, events);
		c.get("audit").record({
			action: "webhook.created",
			target: { type: "webhook", id: row.id },
			// The host only: a URL's path or query may carry the receiver's own token.
			metadata: { host: new URL(url).host, events },
		});
		return c.json({ webhook: publicWebhook(row), secret }, 201);
	});

	app.openapi(listWebhooksRoute, async (c) => {
		const rows = await listWebhooks(c.get("services").db, c.req.valid("param").accountId);
		return c.json({ data: rows.map(publicWebhook) }, 200);
	});

	app.openapi(deleteWebhookRoute, async (c) => {
		const { accountId, webhookId } = c.req.valid("param");
		const hook = await removeWebhook(c.get("services").db, accountId, webhookId);
		c.get("audit").record({
			action: "webhook.deleted",
			target: { type: "webhook", id: hook.id },
			metadata: { host: new URL(hook.url).host },
		});
		return c.body(null, 204);
	});

	app.openapi(listDeliveriesRoute, async (c) => {
		const { accountId, webhookId } = c.req.valid("param");
		return c.json({ data: await recentDeliveries(c.get("services").db, accountId, webhookId) }, 200);
	});
}
