import { createRoute, z } from "@hono/zod-openapi";
import type { App } from "../platform/app-env";
import { jsonContent, problemResponses } from "./openapi-shared";

export const healthRoute = createRoute({
	method: "get",
	path: "/health",
	tags: ["Service"],
	summary: "Liveness check (no authentication)",
	responses: {
		200: jsonContent(
			z.object({
				status: z.literal("ok").openapi({
					description: "Always `ok`: the Worker is up and its configuration passed the checks (else 503)",
					example: "ok",
				}),
			}),
			"The Worker is up and configured",
		),
		...problemResponses(503),
	},
});

export const registerHealth = (app: App) => app.openapi(healthRoute, (c) => c.json({ status: "ok" as const }, 200));
