import type { Env } from "../env";

/**
 * Routes each batch to the consumer of its queue. The queue name carries the
 * environment prefix (keyward-production-audit), so dispatch is on the suffix.
 * Until a queue has a consumer, its messages are retried rather than acked, so
 * nothing is dropped; after the configured retries they land in the DLQ.
 */
export async function handleQueueBatch(batch: MessageBatch, _env: Env, _ctx: ExecutionContext): Promise<void> {
	console.error(JSON.stringify({ level: "error", msg: "no consumer for queue yet", queue: batch.queue }));
	batch.retryAll();
}
