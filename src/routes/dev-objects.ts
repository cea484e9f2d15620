import { createRoute, z } from "@hono/zod-openapi";
import { accountGuard, type GuardRegion, regionalGuard } from "../durable/address";
import { developmentOnly } from "../middleware/development-only";
import type { App } from "../platform/app-env";
import { Id, jsonContent, problemResponses } from "./openapi-shared";

export const devObjectStatsRoute = createRoute({
	method: "get",
	path: "/v1/dev/object-stats",
	tags: ["Development"],
	summary:
		"Memory and storage sizes of an account's guard object and its other shards (local development only; 404 everywhere else)",
	middleware: [developmentOnly()] as const,
	request: {
		query: z.strictObject({ accountId: Id("acc").openapi({ description: "The account whose guard object to read" }) }),
	},
	responses: {
		200: jsonContent(
			z.object({
				keys: z.number().openapi({ description: "Key records held in memory", example: 12 }),
				windows: z.number().openapi({ description: "Rate-limit windows held in memory", example: 12 }),
				pendingUsage: z
					.number()
					.openapi({ description: "Usage counts in memory not yet written to storage", example: 3 }),
				pendingLastUsed: z
					.number()
					.openapi({ description: "Last-use times in memory not yet written to storage", example: 2 }),
				storedKeys: z.number().openapi({ description: "Key records in the object's storage", example: 40 }),
				storedWindows: z.number().openapi({ description: "Rate-limit windows in the object's storage", example: 15 }),
				d1Loads: z
					.number()
					.openapi({ description: "D1 reads the object made to load the account's key set", example: 1 }),
				keySetComplete: z.boolean().openapi({
					description: "Whether the object has loaded the account's whole key set from D1",
					example: true,
				}),
				shard: z
					.number()
					.openapi({ description: "Which of the account's shards this object is (0: the home)", example: 0 }),
				shards: z.number().openapi({ description: "The account's shard count as this object knows it", example: 4 }),
				ownedSlots: z
					.number()
					.openapi({ description: "Slots of key hashes (of 256) this object answers for", example: 64 }),
				others: z.array(z.record(z.string(), z.union([z.number(), z.boolean()]))).openapi({
					description:
						"The same sizes (without `guards` and `others`) for each of the account's other shards (docs/GLOBAL.md §7)",
					example: [{ shard: 1, shards: 4, ownedSlots: 64, storedKeys: 10, keySetComplete: true }],
				}),
				guards: z
					.array(
						z.object({
							region: z.string().openapi({ description: "The guard's region (a location hint)", example: "weur" }),
							keys: z.number().openapi({ description: "Keys the guard holds", example: 3 }),
							lent: z.number().openapi({ description: "Keys it holds shares of", example: 2 }),
							answeredHere: z
								.number()
								.openapi({ description: "Verifies it decided on its own since it started", example: 950 }),
							answeredHome: z
								.number()
								.openapi({ description: "Verifies it sent to the home since it started", example: 12 }),
							lends: z.number().openapi({
								description: "Requests for shares it sent the home since it started (first ones and renewals)",
								example: 40,
							}),
						}),
					)
					.openapi({
						description: "The account's regional guards in the regions of `DEV_VERIFY_REGIONS` (docs/GLOBAL.md)",
					}),
			}),
			"Entries held in memory and rows in the object's storage",
		),
		...problemResponses(400, 404),
	},
});

export const registerDevObjects = (app: App) =>
	app.openapi(devObjectStatsRoute, async (c) => {
		const { accountId } = c.req.valid("query");
		const regions = (c.env.DEV_VERIFY_REGIONS ?? "")
			.split(",")
			.map((r) => r.trim())
			.filter((r): r is GuardRegion => r !== "");
		const guards = await Promise.all(
			regions.map(async (region) => {
				const stats = await regionalGuard(c.env, accountId, region).stats();
				return {
					region,
					keys: stats.keys,
					lent: stats.lent,
					answeredHere: stats.answered.here,
					answeredHome: stats.answered.home,
					lends: stats.lends,
				};
			}),
		);
		const home = accountGuard(c.env, accountId);
		const [stats, others] = await Promise.all([home.memoryStats(), home.shardStats(accountId)]);
		const flat = others.map(({ eventsSent: _sent, ...rest }) => rest);
		return c.json({ ...stats, others: flat, guards }, 200);
	});
