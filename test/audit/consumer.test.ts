import {
	createExecutionContext,
	createMessageBatch,
	createScheduledController,
	env,
	getQueueResult,
	runInDurableObject,
} from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { verifyChain } from "../../src/audit/chain";
import { replayDeadLetters } from "../../src/audit/consumer";
import type { AuditEvent } from "../../src/audit/event";
import { eventsOf } from "../../src/audit/packets";
import { runScheduled } from "../../src/cron";
import { createDatabase } from "../../src/db";
import { auditDeadLetters, auditEvents, auditOutbox } from "../../src/db/schema";
import { auditChain } from "../../src/durable/address";
import worker from "../../src/index";
import { archivedEventIds, deliver, listArchive, syntheticEvent, uniqueAccount } from "../support/audit";

const db = createDatabase(env.DB);
const MAX_RETRIES = 5; // wrangler.toml [[queues.consumers]] max_retries for keyward-audit

const indexedIds = async (accountId: string) =>
	(await db.select({ id: auditEvents.id }).from(auditEvents).where(eq(auditEvents.accountId, accountId))).map(
		(r) => r.id,
	);

/** Wraps the account Durable Object's real R2 binding so its next `failures` writes throw. */
async function failArchiveWrites(stream: string, failures: number) {
	const stub = auditChain(env, stream);
	await runInDurableObject(stub, (instance) => {
		const real = env.AUDIT_ARCHIVE;
		let left = failures;
		instance.archive = {
			put: ((...args: Parameters<R2Bucket["put"]>) => {
				if (left-- > 0) throw new Error("R2 unavailable");
				return real.put(...args);
			}) as R2Bucket["put"],
		};
	});
	return stub;
}

/** Redelivers what the consumer asked to retry, as the queue would, until everything is acked or retries run out. */
async function deliverUntilSettled(events: AuditEvent[]) {
	let pending = events;
	let attempts = 0;
	const dead: AuditEvent[] = [];
	while (pending.length > 0) {
		attempts++;
		const attempt = attempts;
		const result = await deliver(pending, attempt);
		const retried = new Set(result.retryMessages.map((r) => r.msgId));
		pending = pending.filter((e, i) => retried.has(`msg-${e.id}-${attempt}-${i}`));
		if (attempt > MAX_RETRIES) {
			dead.push(...pending);
			break;
		}
	}
	return { attempts, dead };
}

describe("audit consumer", () => {
	it("indexes and archives a batch, one object per account, chain intact", async () => {
		const a = uniqueAccount();
		const b = uniqueAccount();
		const events = [syntheticEvent(a), syntheticEvent(b), syntheticEvent(a)];
		const result = await deliver(events);
		expect(result.explicitAcks).toHaveLength(3);
		expect((await indexedIds(a)).sort()).toEqual([events[0]?.id, events[2]?.id].sort());
		expect(await listArchive(a)).toHaveLength(1);
		expect(await listArchive(b)).toHaveLength(1);
		const rows = await db
			.select({ archivedAt: auditEvents.archivedAt })
			.from(auditEvents)
			.where(eq(auditEvents.accountId, a));
		expect(rows.every((r) => r.archivedAt !== null)).toBe(true);
	});

	it("the same batch delivered twice creates no duplicates in the index or the archive", async () => {
		const a = uniqueAccount();
		const events = Array.from({ length: 20 }, () => syntheticEvent(a));
		await deliver(events);
		await deliver(events, 2);
		await deliver(events.slice(5, 9), 3);
		expect((await indexedIds(a)).length).toBe(20);
		const archived = await archivedEventIds(a);
		expect(archived.length).toBe(20);
		expect(new Set(archived).size).toBe(20);
		expect(await listArchive(a)).toHaveLength(1);
	});

	it("archive writes failing on the first deliveries: retried, then everything is there exactly once", async () => {
		const a = uniqueAccount();
		const stub = await failArchiveWrites(a, 3);
		const events = Array.from({ length: 12 }, () => syntheticEvent(a));
		const { attempts, dead } = await deliverUntilSettled(events);
		expect(attempts).toBe(4);
		expect(dead).toEqual([]);
		expect((await indexedIds(a)).sort()).toEqual(events.map((e) => e.id).sort());
		const archived = await archivedEventIds(a);
		expect(archived.sort()).toEqual(events.map((e) => e.id).sort());
		const report = await verifyChain(a, await listArchive(a), await stub.chainHead(a));
		expect(report).toMatchObject({ ok: true, objects: 1, events: 12 });
	});

	it("a packet spanning two streams is retried whole when one fails, and each event is archived once", async () => {
		const a = uniqueAccount();
		const b = uniqueAccount();
		await failArchiveWrites(b, 1);
		const events = [
			...Array.from({ length: 4 }, () => syntheticEvent(a)),
			...Array.from({ length: 3 }, () => syntheticEvent(b)),
		];
		const packet = { packet: "audit-events", events };
		const deliverPacket = async (attempts: number) => {
			const batch = createMessageBatch<unknown>("keyward-audit", [
				{ id: `pkt-${attempts}`, timestamp: new Date(), attempts, body: packet },
			]);
			const ctx = createExecutionContext();
			await worker.queue(batch as MessageBatch, env, ctx);
			return getQueueResult(batch, ctx);
		};
		const first = await deliverPacket(1);
		expect(first.retryMessages.map((m) => m.msgId)).toEqual(["pkt-1"]);
		expect(first.explicitAcks).toEqual([]);
		const second = await deliverPacket(2);
		expect(second.explicitAcks).toEqual(["pkt-2"]);
		expect((await archivedEventIds(a)).sort()).toEqual(
			events
				.slice(0, 4)
				.map((e) => e.id)
				.sort(),
		);
		expect((await archivedEventIds(b)).sort()).toEqual(
			events
				.slice(4)
				.map((e) => e.id)
				.sort(),
		);
	});

	it("an always-failing batch ends in the dead-letter queue, and replay restores it with nothing lost", async () => {
		const a = uniqueAccount();
		const stub = await failArchiveWrites(a, 1000);
		const events = Array.from({ length: 7 }, () => syntheticEvent(a));
		const { dead } = await deliverUntilSettled(events);
		expect(dead.map((e) => e.id).sort()).toEqual(events.map((e) => e.id).sort());

		// The runtime now hands them to the dead-letter consumer, which keeps them.
		const dlq = await deliver(dead, 1, "keyward-audit-dlq");
		expect(dlq.ackAll).toBe(true);
		const kept = await db.select({ id: auditDeadLetters.id }).from(auditDeadLetters);
		expect(kept.map((r) => r.id)).toEqual(expect.arrayContaining(events.map((e) => e.id)));

		// R2 recovers; replay moves them to the outbox, the cron sends them, the consumer archives them.
		await failArchiveWrites(a, 0);
		expect(await replayDeadLetters(db)).toBeGreaterThanOrEqual(7);
		const sent: AuditEvent[] = [];
		const queue = {
			sendBatch: async (messages: Iterable<MessageSendRequest<unknown>>) => {
				sent.push(...[...messages].flatMap((m) => eventsOf(m.body) ?? []));
			},
		} as unknown as Queue;
		await runScheduled(
			createScheduledController({ cron: "*/15 * * * *" }),
			{ ...env, AUDIT_QUEUE: queue },
			createExecutionContext(),
		);
		const mine = sent.filter((e) => e.accountId === a);
		expect(mine.map((e) => e.id).sort()).toEqual(events.map((e) => e.id).sort());
		await deliver(mine, 1);

		expect((await archivedEventIds(a)).sort()).toEqual(events.map((e) => e.id).sort());
		expect(await verifyChain(a, await listArchive(a), await stub.chainHead(a))).toMatchObject({ ok: true });
		const leftovers = await db.select({ id: auditDeadLetters.id }).from(auditDeadLetters);
		expect(leftovers.filter((r) => events.some((e) => e.id === r.id))).toEqual([]);
		const outbox = await db.select({ id: auditOutbox.id }).from(auditOutbox);
		expect(outbox.filter((r) => events.some((e) => e.id === r.id))).toEqual([]);
	});

	it("a crash between the R2 write and the head update is retried under the same key", async () => {
		const a = uniqueAccount();
		const stub = auditChain(env, a);
		await runInDurableObject(stub, (instance) => {
			const real = env.AUDIT_ARCHIVE;
			let crashes = 1;
			instance.archive = {
				put: (async (...args: Parameters<R2Bucket["put"]>) => {
					const stored = await real.put(...args);
					if (crashes-- > 0) throw new Error("crashed after the write");
					return stored;
				}) as R2Bucket["put"],
			};
		});
		const events = Array.from({ length: 3 }, () => syntheticEvent(a));
		await deliver(events, 1);
		await deliver(events, 2);
		const objects = await listArchive(a);
		expect(objects).toHaveLength(1);
		expect(await verifyChain(a, objects, await stub.chainHead(a))).toMatchObject({ ok: true, events: 3 });
	});

	it("sends malformed messages toward the dead-letter queue instead of acking them", async () => {
		const result = await deliver([{ nonsense: true } as unknown as AuditEvent]);
		expect(result.retryMessages).toHaveLength(1);
		expect(result.explicitAcks).toHaveLength(0);
	});

	it("events without an account go to the system stream", async () => {
		const e = syntheticEvent("system", { action: "auth.login.failed", outcome: "failure" });
		await deliver([e]);
		expect(await archivedEventIds("system")).toContain(e.id);
		const stub = auditChain(env, "system");
		const head = await runInDurableObject(stub, (instance) => instance.chainHead("system"));
		expect(head.seq).toBeGreaterThan(0);
	});
});
