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
			stream: z.string().min(1).max(64).default("system"),
			action: z
				.string()
				.min(1)
				.max(64)
				.optional()
				.openapi({ description: "Count only this action (e.g. http.request)" }),
		}),
	},
	responses: {
		200: jsonContent(
			z.object({
				indexed: z.number(),
				archived: z.number(),
				outbox: z.number(),
				deadLetters: z.number(),
				queue: z
					.object({ sendBatches: z.number(), messages: z.number(), events: z.number() })
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
