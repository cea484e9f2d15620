/**
 * How audit events travel on the queue: packed, many to a message. Queues
 * bill each message by the 64 KB it takes to write, read and delete it (three
 * operations), so a message per event costs three operations per event, and
 * a packet of a hundred events costs three for all of them.
 *
 * A packet stays under 60 KB (one billed unit, well inside the 128 KB message
 * limit), and a `sendBatch` under 100 messages and 240 KB (its limits are
 * 100 and 256 KB). The consumer also takes a bare event as its own message
 * (the form before packets, and what an operator's replay may send).
 */
import type { AuditEvent } from "./event";

export interface AuditPacket {
	packet: "audit-events";
	events: AuditEvent[];
}

export const PACKET_MAX_BYTES = 60_000;
export const BATCH_MAX_BYTES = 240_000;
export const BATCH_MAX_MESSAGES = 100;

const isAuditEvent = (body: unknown): body is AuditEvent =>
	typeof body === "object" &&
	body !== null &&
	typeof (body as AuditEvent).id === "string" &&
	typeof (body as AuditEvent).accountId === "string" &&
	typeof (body as AuditEvent).action === "string" &&
	typeof (body as AuditEvent).time === "string";

/** The events a queue message carries, or null when it is not an audit message at all. */
export function eventsOf(body: unknown): AuditEvent[] | null {
	if (isAuditEvent(body)) return [body];
	const packet = body as AuditPacket | null;
	if (
		typeof packet === "object" &&
		packet !== null &&
		packet.packet === "audit-events" &&
		Array.isArray(packet.events) &&
		packet.events.length > 0 &&
		packet.events.every(isAuditEvent)
	)
		return packet.events;
	return null;
}

const sizeOf = (event: AuditEvent) => new TextEncoder().encode(JSON.stringify(event)).byteLength + 1;

/**
 * Events packed into messages, and the messages into `sendBatch` calls, each within the limits.
 * Each call lists the events it carries, so a refused call can keep exactly those.
 */
export function packIntoBatches(events: AuditEvent[]): { messages: AuditPacket[]; events: AuditEvent[] }[] {
	const batches: { messages: AuditPacket[]; events: AuditEvent[] }[] = [];
	let batch = { messages: [] as AuditPacket[], events: [] as AuditEvent[], bytes: 0 };
	let packet: AuditPacket | null = null;
	let packetBytes = 0;
	const closeBatch = () => {
		if (batch.messages.length > 0) batches.push({ messages: batch.messages, events: batch.events });
		batch = { messages: [], events: [], bytes: 0 };
	};
	for (const event of events) {
		const size = sizeOf(event);
		if (packet === null || packetBytes + size > PACKET_MAX_BYTES) {
			if (batch.messages.length >= BATCH_MAX_MESSAGES || batch.bytes + PACKET_MAX_BYTES > BATCH_MAX_BYTES) closeBatch();
			packet = { packet: "audit-events", events: [] };
			packetBytes = 64;
			batch.messages.push(packet);
		}
		packet.events.push(event);
		packetBytes += size;
		batch.bytes += size;
		batch.events.push(event);
	}
	closeBatch();
	return batches;
}

export interface QueueCounters {
	sendBatches: number;
	messages: number;
	events: number;
}

/** What this isolate's requests have sent to the audit queue (the bench reads it through `/v1/dev/audit-stats`). */
export const queueCounters: QueueCounters = { sendBatches: 0, messages: 0, events: 0 };

/**
 * Sends one of `packIntoBatches`' parts and counts it (an account object counts its own sends);
 * throws when the queue refuses, so the caller keeps those events.
 */
export async function sendPackedBatch(
	queue: Pick<Queue, "sendBatch">,
	part: { messages: AuditPacket[]; events: AuditEvent[] },
	counters: QueueCounters = queueCounters,
): Promise<void> {
	await queue.sendBatch(part.messages.map((body) => ({ body, contentType: "json" as const })));
	counters.sendBatches++;
	counters.messages += part.messages.length;
	counters.events += part.events.length;
}
