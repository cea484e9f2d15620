import { createRoute, z } from "@hono/zod-openapi";
import type { App } from "../platform/app-env";
import { jsonContent, problemResponses } from "./openapi-shared";

export const healthRoute = createRoute({
	method: "get",
	path: "/health",
	tags: ["Service"],
	summary: "Liveness check (no authentication)",
	responses: {
		200: jsonContent(z.object({ status: z.literal("ok") }), "The Worker is up and configured"),
		...problemResponses(503),
	},
});

export const registerHealth = (app: App) => app.openapi(healthRoute, (c) => c.json({ status: "ok" as const }, 200));
