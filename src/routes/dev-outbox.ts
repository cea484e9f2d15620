import { createRoute, z } from "@hono/zod-openapi";
import { OutboxMailer } from "../mail";
import { developmentOnly } from "../middleware/development-only";
import type { App } from "../platform/app-env";
import { jsonContent, problemResponses } from "./openapi-shared";

const OutboxEmail = z.object({
	to: z.string(),
	subject: z.string(),
	text: z.string(),
	sentAt: z.string().openapi({ format: "date-time" }),
});

export const devOutboxRoute = createRoute({
	method: "get",
	middleware: [developmentOnly()] as const,
	path: "/v1/dev/outbox",
	tags: ["Development"],
	summary: "Emails that would have been sent (local development only; 404 everywhere else)",
	request: {
		query: z.strictObject({
			to: z.email().max(254),
			limit: z.coerce.number().int().min(1).max(100).default(50),
		}),
	},
	responses: {
		200: jsonContent(z.object({ data: z.array(OutboxEmail) }), "Newest first"),
		...problemResponses(400, 404),
	},
});

export const registerDevOutbox = (app: App) =>
	app.openapi(devOutboxRoute, async (c) => {
		const { to, limit } = c.req.valid("query");
		const { db, clock } = c.get("services");
		const rows = await new OutboxMailer(db, clock).list(to.toLowerCase(), limit);
		return c.json({ data: rows.map((r) => ({ ...r, sentAt: r.sentAt.toISOString() })) }, 200);
	});
