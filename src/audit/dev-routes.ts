import { createRoute, z } from "@hono/zod-openapi";
import { developmentOnly } from "../middleware/development-only";
import type { App } from "../platform/app-env";
import { jsonContent, problemResponses } from "../routes/openapi-shared";
import { queueCounters } from "./packets";
import { auditCounts } from "./queries";

export const devAuditStatsRoute = createRoute({
	method: "get",
	path: "/v1/dev/audit-stats",
	tags: ["Development"],
	summary: "Audit pipeline counters for a stream (local development only; 404 everywhere else)",
	middleware: [developmentOnly()] as const,
	request: {
		query: z.strictObject({
			stream: z
				.string()
				.min(1)
				.max(64)
				.default("system")
				.openapi({ description: "The trail to count: an account id, or `system` (the default)", example: "system" }),
			action: z
				.string()
				.min(1)
				.max(64)
				.optional()
				.openapi({ description: "Count only this action (e.g. http.request)", example: "http.request" }),
		}),
	},
	responses: {
		200: jsonContent(
			z.object({
				indexed: z.number().openapi({ description: "Events of the stream in the D1 index", example: 1280 }),
				archived: z.number().openapi({ description: "Of those, the ones already in the R2 archive", example: 1275 }),
				outbox: z.number().openapi({ description: "Events waiting in the fallback outbox (every stream)", example: 0 }),
				deadLetters: z.number().openapi({ description: "Events in the dead-letter table (every stream)", example: 0 }),
				queue: z
					.object({
						sendBatches: z.number().openapi({ description: "Batch sends to the queue", example: 41 }),
						messages: z.number().openapi({ description: "Queue messages sent", example: 96 }),
						events: z.number().openapi({ description: "Events in those messages", example: 1302 }),
					})
					.openapi({ description: "What this isolate has sent to the audit queue since it started" }),
			}),
			"Counts in the D1 index, the fallback outbox and the dead-letter table, and the isolate's queue sends",
		),
		...problemResponses(400, 404),
	},
});

export const registerDevAudit = (app: App) =>
	app.openapi(devAuditStatsRoute, async (c) => {
		const { stream, action } = c.req.valid("query");
		const { db } = c.get("services");
		return c.json({ ...(await auditCounts(db, stream, action)), queue: { ...queueCounters } }, 200);
	});
