import { createRoute, z } from "@hono/zod-openapi";
import { OutboxMailer } from "../mail";
import { developmentOnly } from "../middleware/development-only";
import type { App } from "../platform/app-env";
import { jsonContent, problemResponses, Timestamp } from "./openapi-shared";

const OutboxEmail = z.object({
	to: z.string().openapi({ description: "The recipient, lowercased", example: "ada@example.com" }),
	subject: z.string().openapi({ description: "The subject line", example: "Keyward: confirm your email address" }),
	text: z.string().openapi({
		description: "The plain-text body, codes included (this is development)",
		example: "Confirm your email address for Keyward with this code (valid 24 hours):\n\nexampleexample…\n",
	}),
	sentAt: Timestamp("When it would have been sent", "2026-03-02T09:30:00.000Z"),
});

export const devOutboxRoute = createRoute({
	method: "get",
	middleware: [developmentOnly()] as const,
	path: "/v1/dev/outbox",
	tags: ["Development"],
	summary: "Emails that would have been sent (local development only; 404 everywhere else)",
	request: {
		query: z.strictObject({
			to: z
				.email()
				.max(254)
				.openapi({ description: "Whose emails: the recipient's address", example: "ada@example.com" }),
			limit: z.coerce
				.number()
				.int()
				.min(1)
				.max(100)
				.default(50)
				.openapi({ description: "At most this many emails: 1 to 100 (default 50)", example: 10 }),
		}),
	},
	responses: {
		200: jsonContent(
			z.object({ data: z.array(OutboxEmail).openapi({ description: "The emails, newest first" }) }),
			"Newest first",
		),
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
