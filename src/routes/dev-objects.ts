import { createRoute, z } from "@hono/zod-openapi";
import { accountGuard } from "../durable/address";
import { developmentOnly } from "../middleware/development-only";
import type { App } from "../platform/app-env";
import { Id, jsonContent, problemResponses } from "./openapi-shared";

export const devObjectStatsRoute = createRoute({
	method: "get",
	path: "/v1/dev/object-stats",
	tags: ["Development"],
	summary: "Memory and storage sizes of an account's guard object (local development only; 404 everywhere else)",
	middleware: [developmentOnly()] as const,
	request: { query: z.strictObject({ accountId: Id("acc") }) },
	responses: {
		200: jsonContent(
			z.object({
				keys: z.number(),
				windows: z.number(),
				pendingUsage: z.number(),
				pendingLastUsed: z.number(),
				storedKeys: z.number(),
				storedWindows: z.number(),
				d1Loads: z.number().openapi({ description: "D1 reads the object made to load the account's key set" }),
				keySetComplete: z.boolean(),
			}),
			"Entries held in memory and rows in the object's storage",
		),
		...problemResponses(400, 404),
	},
});

export const registerDevObjects = (app: App) =>
	app.openapi(devObjectStatsRoute, async (c) =>
		c.json(await accountGuard(c.env, c.req.valid("query").accountId).memoryStats(), 200),
	);
