/**
 * Deliveries a person asks for (issue #24): a signed `webhook.test` event to
 * check a receiver, and a redelivery of a delivery's exact payload. Both are
 * new deliveries with ids of their own, queued like any other.
 *
 * Both send to a URL the account chose, so both are capped: at most
 * `MANUAL_DELIVERIES_PER_HOUR` a webhook, counted in the write that stores the
 * delivery (a burst cannot pass the cap), and a test is tried once, never
 * retried: a person's click must not become nine POSTs to somebody's server.
 */
import { and, eq, gt, isNotNull, or, sql } from "drizzle-orm";
import type { Database } from "../db";
import { webhookDeliveries } from "../db/schema";
import { newId } from "../platform/ids";
import { ApiError } from "../problems";
import { TEST_EVENT } from "./catalogue";
import { type DeliveryRow, type DispatchDeps, queueDeliveries } from "./dispatch";
import { findWebhook } from "./endpoints";

/**
 * Queues a `webhook.test` event to one endpoint. It is sent even while the
 * endpoint is disabled (to check it before turning it back on), and does not
 * count against the failure budget.
 */
export async function queueTestEvent(deps: DispatchDeps, accountId: string, actorId: string, webhookId: string) {
	const hook = await findWebhook(deps.db, accountId, webhookId);
	const now = deps.clock.now();
	const eventId = newId("evt");
	const body = JSON.stringify({
		id: eventId,
		type: TEST_EVENT,
		createdAt: now.toISOString(),
		accountId,
		data: { webhookId: hook.id, requestedBy: actorId },
	});
	const row: DeliveryRow = {
		id: newId("dlv"),
		webhookId: hook.id,
		accountId,
		event: TEST_EVENT,
		eventId,
		body,
		status: "pending",
		createdAt: now,
		updatedAt: now,
	};
	await storeManualDelivery(deps, row);
	return row;
}

export const MANUAL_DELIVERIES_PER_HOUR = 20;

/** Stores a delivery a person asked for, unless the webhook is past its hourly cap (then 429), and queues it. */
async function storeManualDelivery(deps: DispatchDeps, row: DeliveryRow): Promise<void> {
	const since = deps.clock.now().getTime() - 3_600_000;
	const overCap = sql`(SELECT COUNT(*) FROM ${webhookDeliveries} WHERE ${and(
		eq(webhookDeliveries.webhookId, row.webhookId),
		gt(webhookDeliveries.createdAt, new Date(since)),
		or(eq(webhookDeliveries.event, TEST_EVENT), isNotNull(webhookDeliveries.redeliveryOf)),
	)}) > ${MANUAL_DELIVERIES_PER_HOUR}`;
	const [, undone] = await deps.db.batch([
		deps.db.insert(webhookDeliveries).values(row),
		deps.db
			.delete(webhookDeliveries)
			.where(and(eq(webhookDeliveries.id, row.id), overCap))
			.returning({ id: webhookDeliveries.id }),
	]);
	if (undone.length > 0)
		throw new ApiError("quota-exceeded", {
			detail: `A webhook takes at most ${MANUAL_DELIVERIES_PER_HOUR} test events and redeliveries an hour`,
		});
	await queueDeliveries(deps, [row]);
}

async function findDelivery(db: Database, accountId: string, webhookId: string, deliveryId: string) {
	const row = await db.query.webhookDeliveries.findFirst({
		where: and(
			eq(webhookDeliveries.accountId, accountId),
			eq(webhookDeliveries.webhookId, webhookId),
			eq(webhookDeliveries.id, deliveryId),
		),
	});
	if (!row) throw new ApiError("not-found", { detail: "No such delivery of this webhook" });
	return row;
}

/** Sends a delivery's payload again, byte for byte, as a new delivery that names the one it repeats. */
export async function queueRedelivery(deps: DispatchDeps, accountId: string, webhookId: string, deliveryId: string) {
	const hook = await findWebhook(deps.db, accountId, webhookId);
	const original = await findDelivery(deps.db, accountId, hook.id, deliveryId);
	if (hook.disabledAt && original.event !== TEST_EVENT)
		throw new ApiError("conflict", { detail: "The webhook is disabled; enable it before redelivering" });
	if (original.body === null)
		throw new ApiError("conflict", { detail: "This delivery predates kept payloads and cannot be redelivered" });
	const now = deps.clock.now();
	const row: DeliveryRow = {
		id: newId("dlv"),
		webhookId: hook.id,
		accountId,
		event: original.event,
		eventId: original.eventId,
		redeliveryOf: original.id,
		body: original.body,
		status: "pending",
		createdAt: now,
		updatedAt: now,
	};
	await storeManualDelivery(deps, row);
	return row;
}
