import { createRoute, z } from "@hono/zod-openapi";
import { and, count, eq, isNotNull } from "drizzle-orm";
import { auditDeadLetters, auditEvents, auditOutbox } from "../db/schema";
import { developmentOnly } from "../middleware/development-only";
import type { App } from "../platform/app-env";
import { jsonContent, problemResponses } from "../routes/openapi-shared";

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
			z.object({ indexed: z.number(), archived: z.number(), outbox: z.number(), deadLetters: z.number() }),
			"Counts in the D1 index, the fallback outbox and the dead-letter table",
		),
		...problemResponses(400, 404),
	},
});

export const registerDevAudit = (app: App) =>
	app.openapi(devAuditStatsRoute, async (c) => {
		const { stream, action } = c.req.valid("query");
		const { db } = c.get("services");
		const ofStream = and(eq(auditEvents.accountId, stream), action ? eq(auditEvents.action, action) : undefined);
		const [indexed, archived, outbox, deadLetters] = await db.batch([
			db.select({ n: count() }).from(auditEvents).where(ofStream),
			db
				.select({ n: count() })
				.from(auditEvents)
				.where(and(ofStream, isNotNull(auditEvents.archivedAt))),
			db.select({ n: count() }).from(auditOutbox),
			db.select({ n: count() }).from(auditDeadLetters),
		]);
		return c.json(
			{
				indexed: indexed[0]?.n ?? 0,
				archived: archived[0]?.n ?? 0,
				outbox: outbox[0]?.n ?? 0,
				deadLetters: deadLetters[0]?.n ?? 0,
			},
			200,
		);
	});
