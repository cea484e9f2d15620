/**
 * Audit events of concurrent requests share one queue send (issue #20), and
 * none is lost or doubled for it: each request's waitUntil settles only after
 * the send that carries its events, and a refused send goes to the outbox.
 */
import { env } from "cloudflare:test";
import { eq, inArray } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { AuditCoalescer, COALESCE_MAX_EVENTS } from "../../src/audit/coalescer";
import type { AuditEvent } from "../../src/audit/event";
import {
	BATCH_MAX_BYTES,
	BATCH_MAX_MESSAGES,
	eventsOf,
	PACKET_MAX_BYTES,
	packIntoBatches,
} from "../../src/audit/packets";
import { createDatabase } from "../../src/db";
import { auditOutbox } from "../../src/db/schema";
import { systemClock } from "../../src/platform/clock";
import { testApp } from "../support/app";
import { observedQueue, syntheticEvent, uniqueAccount } from "../support/audit";

const db = createDatabase(env.DB);

/** A queue that counts its sendBatch calls (events and messages of each) and passes them on to the real one. */
function countingQueue(options: { fail?: boolean } = {}) {
	const observed = observedQueue(options);
	const sizes: number[] = [];
	const messages: number[] = [];
	const queue = {
		send: observed.queue.send,
		async sendBatch(batch: Iterable<MessageSendRequest<unknown>>) {
			const list = [...batch];
			sizes.push(list.reduce((n, m) => n + (eventsOf(m.body)?.length ?? 0), 0));
			messages.push(list.length);
			await observed.queue.sendBatch(list);
		},
	} as unknown as Queue;
	return { queue, sizes, messages, sent: observed.sent };
}

describe("coalesced audit sends", () => {
	it("40 concurrent requests in a 50 ms window make one send, and every request's event is in it exactly once", async () => {
		const t = testApp();
		const { queue, sizes, messages, sent } = countingQueue();
		const vars = { AUDIT_QUEUE: queue, AUDIT_COALESCE_MS: "50" };
		const answers = await Promise.all(Array.from({ length: 40 }, () => t.request("/health", undefined, vars)));
		// Each t.request waited for its own execution context: its events were sent before it returned.
		const ids = answers.map((r) => r.headers.get("X-Request-Id"));
		const requests = sent.filter((e) => e.action === "http.request").map((e) => e.requestId);
		expect(requests.sort()).toEqual([...ids].sort());
		expect(sizes.reduce((a, n) => a + n, 0)).toBe(sent.length);
		expect(sizes.length).toBeLessThanOrEqual(2);
		expect(sizes.every((n) => n <= COALESCE_MAX_EVENTS)).toBe(true);
		// Packed: one queue message (three billed operations) carries them all.
		expect(messages.reduce((a, n) => a + n, 0)).toBeLessThanOrEqual(2);
	});

	it("100 gathered events are sent at once by the request that fills the batch; the rest follow when the next window ends", async () => {
		const { queue, sizes, sent } = countingQueue();
		const coalescer = new AuditCoalescer({ queue, db, clock: systemClock }, 2_000);
		const accountId = uniqueAccount();
		const events = Array.from({ length: 130 }, () => syntheticEvent(accountId));
		const started = Date.now();
		// Ten requests of ten events: the one that fills the batch sends it at once and waits only for
		// its own send; the others wait for the end of the window they joined (wall time, no CPU).
		const joined = Array.from({ length: 9 }, (_, i) => coalescer.add(events.slice(i * 10, i * 10 + 10)));
		await coalescer.add(events.slice(90, 100));
		expect(Date.now() - started).toBeLessThan(1_500);
		expect(sizes).toEqual([100]);
		const late = coalescer.add(events.slice(100));
		await Promise.all([...joined, late]);
		expect(sizes).toEqual([100, 30]);
		expect(new Set(sent.map((e) => e.id)).size).toBe(130);
		expect(sent).toHaveLength(130);
	});

	it("when the queue refuses a coalesced send, every event of every request is kept in the D1 outbox", async () => {
		const t = testApp();
		const { queue } = countingQueue({ fail: true });
		const vars = { AUDIT_QUEUE: queue, AUDIT_COALESCE_MS: "50" };
		const answers = await Promise.all(Array.from({ length: 12 }, () => t.request("/health", undefined, vars)));
		const ids = answers.map((r) => r.headers.get("X-Request-Id") ?? "");
		const kept = await db.select().from(auditOutbox);
		const keptRequests = kept
			.map((row) => JSON.parse(row.body) as AuditEvent)
			.filter((e) => e.action === "http.request" && ids.includes(e.requestId ?? ""));
		expect(keptRequests.map((e) => e.requestId).sort()).toEqual([...ids].sort());
		await db.delete(auditOutbox).where(
			inArray(
				auditOutbox.id,
				keptRequests.map((e) => e.id),
			),
		);
		expect(
			await db
				.select()
				.from(auditOutbox)
				.where(eq(auditOutbox.id, keptRequests[0]?.id ?? "")),
		).toEqual([]);
	});
});

describe("packets", () => {
	it("packs events under 60 KB a message and 100 messages or 240 KB a send, losing and reordering none", () => {
		const accountId = uniqueAccount();
		const events = Array.from({ length: 900 }, (_, i) =>
			syntheticEvent(accountId, { metadata: { note: "x".repeat(i % 3 === 0 ? 900 : 20) } }),
		);
		const batches = packIntoBatches(events);
		const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value)).byteLength;
		for (const batch of batches) {
			expect(batch.messages.length).toBeLessThanOrEqual(BATCH_MAX_MESSAGES);
			expect(bytes(batch.messages)).toBeLessThanOrEqual(BATCH_MAX_BYTES);
			for (const message of batch.messages) expect(bytes(message)).toBeLessThanOrEqual(PACKET_MAX_BYTES);
			expect(batch.messages.flatMap((m) => m.events)).toEqual(batch.events);
		}
		expect(batches.flatMap((b) => b.events)).toEqual(events);
		expect(batches.flatMap((b) => b.messages).length).toBeLessThan(events.length / 50);
	});

	it("the consumer takes a packet and a bare event alike, and refuses anything else", () => {
		const accountId = uniqueAccount();
		const event = syntheticEvent(accountId);
		expect(eventsOf(event)).toEqual([event]);
		expect(eventsOf({ packet: "audit-events", events: [event, event] })).toEqual([event, event]);
		for (const bad of [null, {}, { packet: "audit-events", events: [] }, { packet: "audit-events", events: [{}] }, "x"])
			expect(eventsOf(bad)).toBeNull();
	});
});
