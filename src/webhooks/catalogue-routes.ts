/**
 * The webhook catalogue, twice from one list: `GET /v1/webhook-events` for
 * programs, and the OpenAPI document's `webhooks` section (OpenAPI 3.1) for
 * readers and code generators, one entry per event with the payload schema.
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { App } from "../platform/app-env";
import { jsonBody, jsonContent } from "../routes/openapi-shared";
import { groupOf, TEST_EVENT, WEBHOOK_EVENTS, webhookEventDescription } from "./catalogue";
import { CatalogueEntry, WebhookPayload } from "./schemas";

const CATALOGUE = [
	...WEBHOOK_EVENTS.map((name) => ({
		name,
		group: groupOf(name),
		description: webhookEventDescription(name),
		subscribable: true,
	})),
	{
		name: TEST_EVENT,
		group: groupOf(TEST_EVENT),
		description: "A test event, sent by POST …/webhooks/{webhookId}/test",
		subscribable: false,
	},
];

export const webhookEventsRoute = createRoute({
	method: "get",
	path: "/v1/webhook-events",
	tags: ["Webhooks"],
	summary: "Every event a webhook can receive (no authentication: it is the same for everyone)",
	security: [],
	responses: {
		200: jsonContent(
			z.object({ data: z.array(CatalogueEntry).openapi({ description: "The events, in the audit trail's order" }) }),
			"The catalogue",
		),
	},
});

export function registerWebhookCatalogue(app: App) {
	app.openapi(webhookEventsRoute, (c) => {
		c.header("Cache-Control", "public, max-age=3600");
		return c.json({ data: CATALOGUE }, 200);
	});
	for (const entry of CATALOGUE)
		app.openAPIRegistry.registerWebhook({
			method: "post",
			path: entry.name,
			tags: ["Webhooks"],
			summary: entry.description,
			request: { body: jsonBody(WebhookPayload) },
			responses: { 200: { description: "Any 2xx acknowledges the delivery; anything else is retried" } },
		});
}
