/**
 * The Worker's entry: HTTP requests go to the Hono app, queue batches to their
 * consumer, cron events to the sweeps. The Durable Object class and the
 * verify entrypoint are exported here because wrangler binds them by name.
 */
import { createApp } from "./app";
import { runScheduled } from "./cron";
import type { Env } from "./env";
import { handleQueueBatch } from "./queues";

export { AccountDurableObject } from "./durable/account";
export { KeywardVerifier } from "./entrypoint";

const app = createApp();

export default {
	fetch: (request, env, ctx) => app.fetch(request, env, ctx),
	queue: (batch, env, ctx) => handleQueueBatch(batch, env, ctx),
	scheduled: async (controller, env, ctx) => {
		await runScheduled(controller, env, ctx);
	},
} satisfies ExportedHandler<Env>;
