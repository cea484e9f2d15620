/**
 * The Worker's entry: HTTP requests go to the Hono app, queue batches to their
 * consumer, cron events to the sweeps. The Durable Object classes (one per
 * role, src/durable/) and the verify entrypoint are exported here because
 * wrangler binds them by name.
 */
import { createApp } from "./app";
import { runScheduled } from "./cron";
import type { Env } from "./platform/env";
import { handleQueueBatch } from "./queues";

// The account role is deployed under its name from before the roles were split, so that its
// stored keys and windows stay where they are (src/durable/account-guard.ts, wrangler.toml).
export { AccountGuard as AccountDurableObject } from "./durable/account-guard";
export { AuditArchive } from "./durable/audit-archive";
export { LoginThrottle } from "./durable/login-throttle";
export { RegionalGuard } from "./durable/regional-guard";
export { UserSessions } from "./durable/user-sessions";
export { KeywardVerifier } from "./entrypoint";

const app = createApp();

export default {
	fetch: (request, env, ctx) => app.fetch(request, env, ctx),
	queue: (batch, env, ctx) => handleQueueBatch(batch, env, ctx),
	scheduled: async (controller, env, ctx) => {
		await runScheduled(controller, env, ctx);
	},
} satisfies ExportedHandler<Env>;
