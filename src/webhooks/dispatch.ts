/**
 * Fanning an event out to the account's webhooks: one delivery row per
 * endpoint subscribed to it (what the account sees), and one queue message per
 * delivery (what the consumer sends, retries and dead-letters).
 */
import { eq } from "drizzle-orm";
import { ALERT_NAMES, type AlertName } from "../alerts/names";
import { chunk, type Database, runInBatch } from "../db";
import { webhookDeliveries, webhooks } from "../db/schema";
import type { Clock } from "../platform/clock";
import type { Env } from "../platform/env";
import { newId } from "../platform/ids";

/** The events a webhook can subscribe to (API.md §7): the alerts, from their one list. */
export const WEBHOOK_EVENTS = ALERT_NAMES;
export type WebhookEvent = AlertName;

/** A queue message: the body is fixed when the event happens, so every retry sends the same bytes. */
export interface WebhookJob {
	deliveryId: string;
	webhookId: string;
	accountId: string;
	event: WebhookEvent;
	body: string;
}

export interface DispatchDeps {
	env: Pick<Env, "WEBHOOK_QUEUE">;
	db: Database;
	clock: Clock;
}

/** Queues `event` for every webhook of the account subscribed to it; returns how many deliveries were queued. */
export async function queueWebhookEvent(
	deps: DispatchDeps,
	accountId: string,
	event: WebhookEvent,
	data: Record<string, unknown>,
): Promise<number> {
	const hooks = await deps.db.select().from(webhooks).where(eq(webhooks.accountId, accountId));
	const subscribed = hooks.filter((hook) => hook.events.includes(event));
	if (subscribed.length === 0) return 0;
	const now = deps.clock.now();
	const jobs: WebhookJob[] = subscribed.map((hook) => {
		const deliveryId = newId("dlv");
		const body = JSON.stringify({ id: deliveryId, type: event, createdAt: now.toISOString(), accountId, data });
		return { deliveryId, webhookId: hook.id, accountId, event, body };
	});
	// The rows first: a delivery the queue never took stays visible as pending rather than vanishing.
	await runInBatch(
		deps.db,
		chunk(jobs, 10).map((part) =>
			deps.db.insert(webhookDeliveries).values(
				part.map((job) => ({
					id: job.deliveryId,
					webhookId: job.webhookId,
					accountId,
					event,
					status: "pending" as const,
					createdAt: now,
					updatedAt: now,
				})),
			),
		),
	);
	for (const part of chunk(jobs, 100)) {
		await deps.env.WEBHOOK_QUEUE.sendBatch(part.map((body) => ({ body, contentType: "json" as const })));
	}
	return jobs.length;
}
