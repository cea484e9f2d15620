import { z } from "@hono/zod-openapi";
import { AccountParams } from "../accounts/schemas";
import { callerMembership } from "../middleware/authorize";
import type { App } from "../platform/app-env";
import { accountRoute } from "../routes/account-route";
import { jsonBody, jsonContent, problemResponses } from "../routes/openapi-shared";
import {
	addWebhook,
	findWebhook,
	listWebhooks,
	MAX_SECRET_OVERLAP_SECONDS,
	publicWebhook,
	RECENT_DELIVERIES,
	recentDeliveries,
	removeWebhook,
	rotateWebhookSecret,
	updateWebhook,
} from "./endpoints";
import { DeliverySchema, OverlapSeconds, Subscriptions, WebhookParams, WebhookSchema, WebhookUrl } from "./schemas";

const CreateWebhookBody = z.strictObject({ url: WebhookUrl, events: Subscriptions });

const UpdateWebhookBody = z
	.strictObject({
		events: Subscriptions.optional(),
		enabled: z
			.boolean()
			.optional()
			.openapi({
				description:
					"`true` turns a disabled endpoint back on with a fresh failure budget (refused during a lockdown); " +
					"`false` pauses it",
				example: true,
			}),
	})
	.refine((body) => body.events !== undefined || body.enabled !== undefined, {
		message: "Give events, enabled or both",
	})
	.openapi({ example: { enabled: true } });

const RotateSecretBody = z.strictObject({ overlapSeconds: OverlapSeconds.optional() });

const SecretField = z.string().openapi({
	description:
		"The signing secret, shown only here. Each delivery carries `Keyward-Signature: t=<unix " +
		'seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, keyed with this whole string. The example is made up.',
	example: "whsec_exampleexampleexampleexampleexampleexampleexampleexa",
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
			201: jsonContent(z.object({ webhook: WebhookSchema, secret: SecretField }), "Created; store the secret now"),
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

export const getWebhookRoute = accountRoute("webhooks:manage", {
	method: "get",
	path: "/v1/accounts/{accountId}/webhooks/{webhookId}",
	tags: ["Webhooks"],
	summary: "One webhook endpoint, with its failure budget and whether it is enabled",
	request: { params: WebhookParams },
	responses: {
		200: jsonContent(z.object({ webhook: WebhookSchema }), "The webhook"),
		...problemResponses(401, 403, 404),
	},
});

export const updateWebhookRoute = accountRoute(
	"webhooks:manage",
	{
		method: "patch",
		path: "/v1/accounts/{accountId}/webhooks/{webhookId}",
		tags: ["Webhooks"],
		summary: "Change what an endpoint receives, or disable or enable it",
		request: { params: WebhookParams, body: jsonBody(UpdateWebhookBody) },
		responses: {
			200: jsonContent(z.object({ webhook: WebhookSchema }), "Changed"),
			...problemResponses(400, 401, 403, 404, 409, 413, 415, 423),
		},
	},
	// Enabling opens a channel out of the account; unsubscribing silences its alerts: not for a stolen session.
	// During a lockdown the owner may still pause or narrow one (enabling stays refused, in the write itself).
	{ grants: "webhook", reauthenticate: "change a webhook", ownerWhileLockedDown: true },
);

export const rotateWebhookSecretRoute = accountRoute(
	"webhooks:manage",
	{
		method: "post",
		path: "/v1/accounts/{accountId}/webhooks/{webhookId}/rotate-secret",
		tags: ["Webhooks"],
		summary: "A new signing secret, returned once; the old one keeps signing for the overlap (default 24 h)",
		request: { params: WebhookParams, body: jsonBody(RotateSecretBody) },
		responses: {
			200: jsonContent(
				z.object({
					webhook: WebhookSchema,
					secret: SecretField,
					previousSecretExpiresAt: WebhookSchema.shape.previousSecretExpiresAt,
				}),
				"Rotated; store the new secret now",
			),
			...problemResponses(400, 401, 403, 404, 409, 413, 415, 423),
		},
	},
	// Re-keying an endpoint whose secret leaked is an incident response: the owner may during a lockdown.
	{ grants: "webhook", reauthenticate: "rotate a webhook secret", ownerWhileLockedDown: true },
);

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
		return c.json({ webhook: publicWebhook(row, clock.now()), secret }, 201);
	});

	app.openapi(listWebhooksRoute, async (c) => {
		const { db, clock } = c.get("services");
		const rows = await listWebhooks(db, c.req.valid("param").accountId);
		return c.json({ data: rows.map((row) => publicWebhook(row, clock.now())) }, 200);
	});

	app.openapi(getWebhookRoute, async (c) => {
		const { accountId, webhookId } = c.req.valid("param");
		const { db, clock } = c.get("services");
		return c.json({ webhook: publicWebhook(await findWebhook(db, accountId, webhookId), clock.now()) }, 200);
	});

	app.openapi(updateWebhookRoute, async (c) => {
		const { accountId, webhookId } = c.req.valid("param");
		const change = c.req.valid("json");
		const { db, clock } = c.get("services");
		const actorId = callerMembership(c, accountId).principal.userId;
		const { before, after } = await updateWebhook({ db, now: clock.now() }, accountId, actorId, webhookId, change);
		c.get("audit").record({
			action: "webhook.updated",
			target: { type: "webhook", id: after.id },
			metadata: {
				host: new URL(after.url).host,
				...(change.events ? { events: after.events, previousEvents: before.events } : {}),
				...(change.enabled !== undefined ? { enabled: after.disabledAt === null } : {}),
			},
		});
		return c.json({ webhook: publicWebhook(after, clock.now()) }, 200);
	});

	app.openapi(rotateWebhookSecretRoute, async (c) => {
		const { accountId, webhookId } = c.req.valid("param");
		const { overlapSeconds = MAX_SECRET_OVERLAP_SECONDS } = c.req.valid("json");
		const { db, clock } = c.get("services");
		const actorId = callerMembership(c, accountId).principal.userId;
		const deps = { db, sealingKey: c.env.TOTP_ENCRYPTION_KEY ?? "", now: clock.now() };
		const { row, secret } = await rotateWebhookSecret(deps, accountId, actorId, webhookId, overlapSeconds);
		c.get("audit").record({
			action: "webhook.secret_rotated",
			target: { type: "webhook", id: row.id },
			metadata: { host: new URL(row.url).host, overlapSeconds },
		});
		const webhook = publicWebhook(row, clock.now());
		return c.json({ webhook, secret, previousSecretExpiresAt: webhook.previousSecretExpiresAt }, 200);
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
