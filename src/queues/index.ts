import { consumeAuditBatch, storeDeadLetters } from "../audit/consumer";
import { type Clock, systemClock } from "../clock";
import { createDatabase } from "../db";
import type { Env } from "../env";

/**
 * Routes each batch to the consumer of its queue. Queue names carry the
 * environment (keyward-production-audit), so dispatch is on the suffix. A queue
 * without a consumer yet has its messages retried, never acked, so nothing is
 * dropped; after the configured retries they land in its dead-letter queue.
 */
export async function handleQueueBatch(
	batch: MessageBatch,
	env: Env,
	_ctx: ExecutionContext,
	clock: Clock = systemClock,
): Promise<void> {
	const deps = { env, db: createDatabase(env.DB), clock };
	if (batch.queue.endsWith("-audit-dlq")) return storeDeadLetters(batch, deps);
	if (batch.queue.endsWith("-audit")) return consumeAuditBatch(batch, deps);
	console.error(JSON.stringify({ level: "error", msg: "no consumer for queue yet", queue: batch.queue }));
	batch.retryAll();
}
