/**
 * Fanning audit events out to the account's webhooks (issue #24). The audit
 * consumer calls this once a stream's events are archived, so an endpoint
 * receives exactly what the trail records, in one place for every action
 * (alerts included). One delivery row per endpoint and event (what the account
 * sees, and what a person can redeliver), and one queue message per delivery
 * (what the consumer sends, retries and dead-letters).
 *
 * At least once: the first delivery of an event to an endpoint has an id
 * derived from both, so a retried audit batch finds its rows and queues only
 * those still pending. A receiver deduplicates by the payload's `id`.
 */
import { encodeBase32LowerCaseNoPadding } from "@oslojs/encoding";
import { and, eq, inArray, isNull } from "drizzle-orm";
import { type AuditEvent, publicAuditEvent } from "../audit/event";
import { chunk, D1_MAX_PARAMS, type Database, runInBatch } from "../db";
import { webhookDeliveries, webhooks } from "../db/schema";
import type { Clock } from "../platform/clock";
import type { Env } from "../platform/env";
import { isWebhookEvent, subscribesTo } from "./catalogue";

/** A queue message: the body is fixed when the event happens, so every retry sends the same bytes. */
export interface WebhookJob {
	deliveryId: string;
	webhookId: string;
	accountId: string;
	event: string;
	body: string;
}

export interface DispatchDeps {
	env: Pick<Env, "WEBHOOK_QUEUE">;
	db: Database;
	clock: Clock;
}

export type DeliveryRow = typeof webhookDeliveries.$inferInsert & { body: string };

/**
 * What a receiver gets: the audit event, with `type` for its action, `createdAt`
 * for its time and `data` for its metadata (an alert's details, as before #24).
 */
export function webhookPayload(event: AuditEvent): string {
	const { id, time, action, metadata, ...rest } = publicAuditEvent(event);
	return JSON.stringify({ id, type: action, createdAt: time, accountId: event.accountId, data: metadata, ...rest });
}

/** The first delivery of an event to an endpoint has one id, whoever queues it and however often. */
export async function firstDeliveryId(webhookId: string, eventId: string): Promise<string> {
	const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`${webhookId}:${eventId}`));
	return `dlv_${encodeBase32LowerCaseNoPadding(new Uint8Array(digest).slice(0, 10))}`;
}

/** Queues every archived event of one account to the endpoints subscribed to it; returns how many were queued. */
export async function queueAuditWebhooks(
	deps: DispatchDeps,
	accountId: string,
	events: readonly AuditEvent[],
): Promise<number> {
	// Request and verify events never reach a webhook: a batch of only those costs no query.
	const relevant = events.filter((e) => isWebhookEvent(e.action));
	if (relevant.length === 0) return 0;
	const hooks = await deps.db
		.select({ id: webhooks.id, events: webhooks.events, createdAt: webhooks.createdAt })
		.from(webhooks)
		.where(and(eq(webhooks.accountId, accountId), isNull(webhooks.disabledAt)));
	const now = deps.clock.now();
	const rows: DeliveryRow[] = [];
	for (const hook of hooks) {
		for (const event of relevant) {
			// An endpoint hears of what happens after it was added, not of what was still in the queue then.
			if (!subscribesTo(hook.events, event.action) || Date.parse(event.time) < hook.createdAt.getTime()) continue;
			rows.push({
				id: await firstDeliveryId(hook.id, event.id),
				webhookId: hook.id,
				accountId,
				event: event.action,
				eventId: event.id,
				body: webhookPayload(event),
				status: "pending",
				createdAt: now,
				updatedAt: now,
			});
		}
	}
	return queueDeliveries(deps, rows);
}

/**
 * Stores the rows (keeping any that exist) and queues each one still pending.
 * The rows come first: a delivery the queue never took stays visible, and the
 * retry of the batch that made it queues it again.
 */
export async function queueDeliveries(deps: DispatchDeps, rows: readonly DeliveryRow[]): Promise<number> {
	if (rows.length === 0) return 0;
	const { db } = deps;
	// 13 columns a row: 7 rows stay under D1's 100 bound parameters.
	await runInBatch(
		db,
		chunk([...rows], Math.floor(D1_MAX_PARAMS / 13)).map((part) =>
			db.insert(webhookDeliveries).values(part).onConflictDoNothing(),
		),
	);
	const pending = new Set<string>();
	for (const ids of chunk(
		rows.map((r) => r.id),
		D1_MAX_PARAMS - 1,
	)) {
		const found = await db
			.select({ id: webhookDeliveries.id })
			.from(webhookDeliveries)
			.where(and(inArray(webhookDeliveries.id, ids), eq(webhookDeliveries.status, "pending")));
		for (const { id } of found) pending.add(id);
	}
	const jobs: WebhookJob[] = rows
		.filter((r) => pending.has(r.id))
		.map((r) => ({ deliveryId: r.id, webhookId: r.webhookId, accountId: r.accountId, event: r.event, body: r.body }));
	for (const part of chunk(jobs, 100)) {
		await deps.env.WEBHOOK_QUEUE.sendBatch(part.map((body) => ({ body, contentType: "json" as const })));
	}
	return jobs.length;
}
