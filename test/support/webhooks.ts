/**
 * Webhook deliveries end to end in tests: the request's audit events are
 * captured at the producer, handed to the real audit consumer (which queues
 * the webhook jobs, captured too), and the jobs to the real webhook consumer,
 * which POSTs over HTTP to the receiver the test configuration runs
 * (test/support/receiver-server.mjs). Nothing here delivers in the background,
 * so every test counts exactly what it caused.
 */
import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import type { AuditEvent } from "../../src/audit/event";
import { eventsOf } from "../../src/audit/packets";
import type { ManualClock } from "../../src/platform/clock";
import type { Env } from "../../src/platform/env";
import { handleQueueBatch } from "../../src/queues";
import type { WebhookJob } from "../../src/webhooks/dispatch";

export const RECEIVER_ORIGIN = "https://receiver.hooks-test.example";

export interface ReceivedCall {
	method: string;
	path: string;
	headers: Record<string, string>;
	body: string;
}

/** One mailbox at the receiver (a fresh one, or a named one such as `datadog`): its URL, what it has received, and what it answers next. */
export function receiverBox(name: string = crypto.randomUUID()) {
	return {
		url: `${RECEIVER_ORIGIN}/r/${name}`,
		async calls(): Promise<ReceivedCall[]> {
			return (await fetch(`${RECEIVER_ORIGIN}/__calls/${name}`)).json();
		},
		async answer(...statuses: number[]): Promise<void> {
			await fetch(`${RECEIVER_ORIGIN}/__script/${name}`, { method: "PUT", body: JSON.stringify({ statuses }) });
		},
	};
}

/** A queue binding that keeps what is sent (audit packets unpacked into events) instead of sending it. */
export function capturingQueue<T>() {
	const bodies: T[] = [];
	const queue = {
		async send(body: T) {
			bodies.push(body);
		},
		async sendBatch(messages: Iterable<MessageSendRequest<T>>) {
			for (const m of messages) bodies.push(m.body);
		},
	} as unknown as Queue;
	return { queue, bodies };
}

export function auditCapture() {
	const captured = capturingQueue<unknown>();
	return {
		queue: captured.queue,
		events: (): AuditEvent[] => captured.bodies.flatMap((b) => eventsOf(b) ?? []),
		clear: () => void captured.bodies.splice(0),
	};
}

async function runBatch<T>(
	queueName: string,
	bodies: T[],
	attempts: number,
	queueEnv: Partial<Env>,
	clock: ManualClock,
) {
	const batch = createMessageBatch<T>(
		queueName,
		bodies.map((body, i) => ({ id: `m-${crypto.randomUUID()}-${i}`, timestamp: new Date(), attempts, body })),
	);
	const ctx = createExecutionContext();
	await handleQueueBatch(batch as MessageBatch, { ...env, ...queueEnv }, ctx, { clock });
	return getQueueResult(batch, ctx);
}

/** Runs the audit consumer on `events`; returns the webhook jobs it queued. */
export async function archiveAndDispatch(events: AuditEvent[], clock: ManualClock): Promise<WebhookJob[]> {
	const jobs = capturingQueue<WebhookJob>();
	// One event a message: the consumer groups by account as it does for packets.
	const result = await runBatch("keyward-audit", events, 1, { WEBHOOK_QUEUE: jobs.queue }, clock);
	if (result.retryMessages.length > 0) throw new Error("the audit consumer asked for a retry");
	return jobs.bodies;
}

/** Runs the webhook consumer (or its dead-letter consumer) on `jobs`, as attempt number `attempts`. */
export const deliverJobs = (jobs: WebhookJob[], clock: ManualClock, attempts = 1, queue = "keyward-webhooks") =>
	runBatch(queue, jobs, attempts, {}, clock);
