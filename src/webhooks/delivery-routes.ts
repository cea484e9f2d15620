/** Deliveries a person asks for: a test event, and a redelivery (issue #24). */
import { z } from "@hono/zod-openapi";
import { callerMembership } from "../middleware/authorize";
import type { App } from "../platform/app-env";
import { accountRoute } from "../routes/account-route";
import { jsonContent, problemResponses } from "../routes/openapi-shared";
import { TEST_EVENT } from "./catalogue";
import { publicDelivery } from "./endpoints";
import { MANUAL_DELIVERIES_PER_HOUR, queueRedelivery, queueTestEvent } from "./resend";
import { DeliveryParams, DeliverySchema, WebhookParams } from "./schemas";

export const testWebhookRoute = accountRoute("webhooks:manage", {
	method: "post",
	path: "/v1/accounts/{accountId}/webhooks/{webhookId}/test",
	tags: ["Webhooks"],
	summary: `Queue a signed \`${TEST_EVENT}\` event to one endpoint, tried once (even a disabled one; not counted against its budget; at most ${MANUAL_DELIVERIES_PER_HOUR} tests and redeliveries an hour)`,
	request: { params: WebhookParams },
	responses: {
		202: jsonContent(z.object({ delivery: DeliverySchema }), "Queued; follow it in the deliveries"),
		...problemResponses(401, 403, 404, 429),
	},
});

export const redeliverRoute = accountRoute("webhooks:manage", {
	method: "post",
	path: "/v1/accounts/{accountId}/webhooks/{webhookId}/deliveries/{deliveryId}/redeliver",
	tags: ["Webhooks"],
	summary:
		"Send a delivery's payload again, byte for byte, as a new delivery (same payload `id`, new `Keyward-Delivery`)",
	request: { params: DeliveryParams },
	responses: {
		202: jsonContent(z.object({ delivery: DeliverySchema }), "Queued; follow it in the deliveries"),
		...problemResponses(401, 403, 404, 409, 429),
	},
});

export function registerWebhookDeliveries(app: App) {
	app.openapi(testWebhookRoute, async (c) => {
		const { accountId, webhookId } = c.req.valid("param");
		const { db, clock } = c.get("services");
		const actorId = callerMembership(c, accountId).principal.userId;
		const row = await queueTestEvent({ env: c.env, db, clock }, accountId, actorId, webhookId);
		c.get("audit").record({
			action: "webhook.tested",
			target: { type: "webhook", id: webhookId },
			metadata: { deliveryId: row.id },
		});
		return c.json({ delivery: publicDelivery({ ...rowDefaults, ...row }) }, 202);
	});

	app.openapi(redeliverRoute, async (c) => {
		const { accountId, webhookId, deliveryId } = c.req.valid("param");
		const { db, clock } = c.get("services");
		const row = await queueRedelivery({ env: c.env, db, clock }, accountId, webhookId, deliveryId);
		c.get("audit").record({
			action: "webhook.redelivered",
			target: { type: "webhook", id: webhookId },
			metadata: { deliveryId: row.id, redeliveryOf: deliveryId, event: row.event },
		});
		return c.json({ delivery: publicDelivery({ ...rowDefaults, ...row }) }, 202);
	});
}

/** The columns a freshly queued row has not set yet. */
const rowDefaults = {
	attempts: 0,
	lastStatusCode: null,
	lastError: null,
	eventId: null,
	redeliveryOf: null,
	body: null,
};
