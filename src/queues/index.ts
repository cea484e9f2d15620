import { consumeAuditBatch, storeDeadLetters } from "../audit/consumer";
import { createDatabase } from "../db";
import { createMailer } from "../mail";
import { type Clock, systemClock } from "../platform/clock";
import { outboundFetch } from "../platform/dev-outbound";
import type { Env } from "../platform/env";
import { isLogStreamJob, type LogStreamJob, pumpLogStreamMessages } from "../streams/poke";
import { deliverWebhookBatch, failDeadWebhooks } from "../webhooks/deliver";
import type { WebhookJob } from "../webhooks/dispatch";

export interface QueueOptions {
	clock?: Clock;
	/** Outbound HTTP for webhook deliveries; tests pass a local receiver. */
	fetch?: typeof fetch;
}

/**
 * Routes each batch to the consumer of its queue. Queue names carry the
 * environment (keyward-production-audit), so dispatch is on the suffix. A queue
 * without a consumer has its messages retried, never acked, so nothing is
 * dropped; after the configured retries they land in its dead-letter queue.
 */
export async function handleQueueBatch(
	batch: MessageBatch,
	env: Env,
	_ctx: ExecutionContext,
	options: QueueOptions = {},
): Promise<void> {
	const clock = options.clock ?? systemClock;
	const outbound = options.fetch ?? outboundFetch(env);
	const db = createDatabase(env.DB);
	const deps = { env, db, clock };
	if (batch.queue.endsWith("-audit-dlq")) return storeDeadLetters(batch, deps);
	if (batch.queue.endsWith("-audit")) return consumeAuditBatch(batch, deps);
	// The outbound queue carries webhook deliveries and log-stream pokes (src/streams/poke.ts).
	const streamJobs = batch.messages.filter((m) => isLogStreamJob(m.body)) as Message<LogStreamJob>[];
	const webhookBatch = {
		...batch,
		messages: batch.messages.filter((m) => !isLogStreamJob(m.body)),
	} as MessageBatch<WebhookJob>;
	const delivery = { ...deps, mailer: createMailer(env, db, clock), fetch: outbound };
	if (batch.queue.endsWith("-webhooks-dlq")) {
		// A stream past its queue retries stays failing on its row; the cron pokes it again.
		for (const message of streamJobs) message.ack();
		return failDeadWebhooks(webhookBatch, delivery);
	}
	if (batch.queue.endsWith("-webhooks")) {
		await pumpLogStreamMessages(streamJobs, { ...deps, fetch: outbound });
		return deliverWebhookBatch(webhookBatch, delivery);
	}
	console.error(JSON.stringify({ level: "error", msg: "no consumer for queue", queue: batch.queue }));
	batch.retryAll();
}
