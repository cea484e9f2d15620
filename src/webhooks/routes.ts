import { z } from "@hono/zod-openapi";
import { AccountParams } from "../accounts/schemas";
import { callerMembership } from "../middleware/authorize";
import type { App } from "../platform/app-env";
import { accountRoute } from "../routes/account-route";
import { Id, IssuedId, jsonBody, jsonContent, problemResponses, Timestamp } from "../routes/openapi-shared";
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

const WebhookParams = AccountParams.extend({
	webhookId: Id("whk").openapi({ description: "The webhook's id (`whk_` and 16 characters)" }),
});
const EVENT_NAMES = WEBHOOK_EVENTS.map((e) => `\`${e}\``).join(", ");

const WebhookUrl = z
	.string()
	.max(2048)
	.superRefine((value, ctx) => {
		const problem = webhookUrlProblem(value);
		if (problem) ctx.addIssue({ code: "custom", message: `The webhook URL ${problem}` });
	})
	.openapi({
		description:
			"Where deliveries are POSTed: https:// only, at most 2048 characters; loopback, private, link-local, CGNAT and " +
			"cloud-metadata hosts are refused",
		example: "https://hooks.example.com/keyward",
	});

const CreateWebhookBody = z.strictObject({
	url: WebhookUrl,
	events: z
		.array(z.enum(WEBHOOK_EVENTS))
		.min(1)
		.max(WEBHOOK_EVENTS.length)
		.refine((events) => new Set(events).size === events.length, { message: "Each event at most once" })
		.openapi({
			description: `The alerts to deliver, at least one, each at most once: ${EVENT_NAMES}`,
			example: ["alert.key_created", "alert.lockdown"],
		}),
});

const WebhookSchema = z
	.object({
		id: IssuedId("whk", "The webhook's id"),
		url: z
			.string()
			.openapi({ description: "Where deliveries are POSTed", example: "https://hooks.example.com/keyward" }),
		events: z.array(z.enum(WEBHOOK_EVENTS)).openapi({
			description: "The alerts it receives",
			example: ["alert.key_created", "alert.lockdown"],
		}),
		createdAt: Timestamp("When it was added", "2026-03-02T09:30:00.000Z"),
		createdBy: IssuedId("usr", "Who added it"),
	})
	.openapi("Webhook", {
		description: "An endpoint that receives the account's alerts. Its secret is never shown again.",
	});

const DeliverySchema = z
	.object({
		id: IssuedId("dlv", "The delivery's id"),
		event: z.string().openapi({ description: "The alert delivered", example: "alert.key_created" }),
		status: z.enum(["pending", "delivered", "retrying", "failed"]).openapi({
			description:
				"`pending` (queued), `delivered` (the endpoint answered 2xx), `retrying` (the last attempt failed; it " +
				"will be tried again later) or `failed` (given up: retries used up, the webhook removed, or its URL refused)",
			example: "delivered",
		}),
		attempts: z.number().int().openapi({ description: "Attempts made so far", example: 1 }),
		lastStatusCode: z.number().int().nullable().openapi({
			description: "The HTTP status of the last attempt; null before the first, or when no answer came",
			example: 200,
		}),
		lastError: z
			.string()
			.nullable()
			.openapi({
				description:
					"Why the last attempt failed (`receiver answered 500`, `timed out`, `could not connect`, `redirect not " +
					"followed`, …); null when it did not",
				example: null,
			}),
		createdAt: Timestamp("When the alert was queued for this endpoint", "2026-03-02T09:30:00.000Z"),
		updatedAt: Timestamp("When the delivery last changed", "2026-03-02T09:30:02.000Z"),
	})
	.openapi("WebhookDelivery", { description: "One alert sent, or to be sent, to one endpoint" });

export const createWebhookRoute = accountRoute(
	"webhooks:manage",
	{
		method: "post",
		path: "/v1/accounts/{accountId}/webhooks",
		tags: ["Webhooks"],
		summary: "Add a webhook endpoint; the signing secret is returned once",
		request: { params: AccountParams, body: jsonBody(CreateWebhookBody) },
		responses: {
			201: jsonContent(
				z.object({
					webhook: WebhookSchema,
					secret: z.string().openapi({
						description:
							"The signing secret, shown only here. Each delivery carries `Keyward-Signature: t=<unix " +
							'seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, keyed with this whole string. The example is made up.',
						example: "whsec_exampleexampleexampleexampleexampleexampleexampleexa",
					}),
				}),
				"Created; store the secret now",
			),
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
		200: jsonContent(
			z.object({ data: z.array(WebhookSchema).openapi({ description: "The endpoints, oldest first" }) }),
			"Webhooks",
		),
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
		200: jsonContent(
			z.object({
				data: z
					.array(DeliverySchema)
					.openapi({ description: `The latest ${RECENT_DELIVERIES} deliveries, newest first` }),
			}),
			"Deliveries",
		),
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
