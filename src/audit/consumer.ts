/**
 * The audit queue's consumer and the dead-letter consumer.
 *
 * Per batch, events are grouped by stream (account or `system`); each group is
 * (1) appended to the stream's R2 hash chain through the stream's AuditArchive
 * object (src/durable/audit-archive.ts), which drops ids it has already
 * archived, (2) indexed in D1, idempotently by event id and marked archived in
 * the same statement, (3) queued to the account's webhooks subscribed to each event
 * (`webhooks/dispatch.ts`), (4) pokes the account's log streams, which copy
 * the archive out (`streams/poke.ts`). The archive is the record, so it is written first. A group that fails is
 * retried message by message with backoff; after the queue's max_retries the
 * messages go to the dead-letter queue, whose consumer keeps them in D1 until
 * `npm run audit:replay` moves them back into the send path.
 */
import { inArray, sql } from "drizzle-orm";
import { chunk, D1_MAX_PARAMS, type Database, runInBatch } from "../db";
import { auditDeadLetters, auditOutbox } from "../db/schema";
import { auditChain } from "../durable/address";
import type { Clock } from "../platform/clock";
import type { Env } from "../platform/env";
import { sealEvents } from "../privacy/events";
import { pokeAccountLogStreams } from "../streams/poke";
import { queueAuditWebhooks } from "../webhooks/dispatch";
import { type AuditEvent, keyIdOf, SYSTEM_STREAM } from "./event";
import { eventsOf } from "./packets";

export interface ConsumerDeps {
	env: Env;
	db: Database;
	clock: Clock;
	log?: (line: string) => void;
}

/** Exponential backoff for a retried message: 2, 4, 8 … seconds, at most 5 minutes. */
export const retryDelaySeconds = (attempts: number): number => Math.min(300, 2 ** Math.max(1, attempts));

export async function consumeAuditBatch(batch: MessageBatch<unknown>, deps: ConsumerDeps): Promise<void> {
	const log = deps.log ?? ((line: string) => console.error(line));
	// A packet may carry events of several streams: it is acked once every stream it touches is
	// archived, and retried whole otherwise (the archive and the index drop ids they already have).
	const groups = new Map<string, AuditEvent[]>();
	const streamsOf = new Map<Message<unknown>, Set<string>>();
	for (const message of batch.messages) {
		const events = eventsOf(message.body);
		if (!events) {
			// Never acked: it reaches the dead-letter queue, where a person can look at it.
			log(JSON.stringify({ level: "error", msg: "malformed audit message", messageId: message.id }));
			message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
			continue;
		}
		const streams = new Set<string>();
		for (const event of events) {
			const list = groups.get(event.accountId) ?? [];
			list.push(event);
			groups.set(event.accountId, list);
			streams.add(event.accountId);
		}
		streamsOf.set(message, streams);
	}

	const failed = new Set<string>();
	await Promise.all(
		[...groups].map(async ([stream, events]) => {
			try {
				await archiveStream(stream, events, deps);
			} catch (err) {
				failed.add(stream);
				log(
					JSON.stringify({
						level: "error",
						msg: "audit batch failed; retrying",
						stream,
						events: events.length,
						error: err instanceof Error ? err.name : typeof err,
					}),
				);
			}
		}),
	);
	for (const [message, streams] of streamsOf) {
		if ([...streams].some((s) => failed.has(s))) message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
		else message.ack();
	}
}

// The archive is the record, so it is written first: a D1 outage delays the index, never the archive.
async function archiveStream(stream: string, events: AuditEvent[], deps: ConsumerDeps): Promise<void> {
	const ordered = [...events].sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : a.id < b.id ? -1 : 1));
	// The trail holds each person's fields sealed under their data key (issue #26); the chain hashes
	// the sealed bytes, so destroying a key later erases them without breaking a link.
	const sealed = await sealEvents(deps.db, deps.env.PII_WRAPPING_KEY ?? "", ordered, deps.clock.now());
	const stub = auditChain(deps.env, stream);
	await stub.appendToArchive(
		stream,
		sealed.map((event) => ({ id: event.id, line: JSON.stringify(event) })),
		deps.clock.now().getTime(),
	);
	// Indexed as archived: the archive above holds them (a retry marks rows an earlier try indexed).
	await indexEvents(deps.db, sealed, deps.clock.now());
	// Last, so a receiver never hears of an event the trail does not hold; a failure here retries the
	// batch, which the archive and the index absorb, and which queues only deliveries still pending.
	// Webhooks carry the events readable (the receiver is the customer's own); log streams copy the
	// archive as it is, sealed fields included, so a later erasure reaches those copies too.
	if (stream !== SYSTEM_STREAM) {
		await queueAuditWebhooks(deps, stream, ordered);
		await pokeAccountLogStreams(deps, stream);
	}
}

/** JSON sent to D1 as one bound parameter: well under its 2 MB bound on a value. */
const INDEX_PART_CHARS = 1_000_000;

/** Each indexed column and where it comes from: the row sent and the statement's columns, in one list. */
const INDEX_COLUMNS: readonly (readonly [column: string, of: (e: AuditEvent) => string | number | null])[] = [
	["id", (e) => e.id],
	["account_id", (e) => e.accountId],
	["time", (e) => Date.parse(e.time)],
	["action", (e) => e.action],
	["outcome", (e) => e.outcome],
	["actor_type", (e) => e.actor.type],
	["actor_id", (e) => e.actor.id],
	["target_type", (e) => e.target?.type ?? null],
	["target_id", (e) => e.target?.id ?? null],
	["key_id", keyIdOf],
	["request_id", (e) => e.requestId],
	["body", (e) => JSON.stringify(e)],
];

/** The upsert of many events from one JSON array of rows (?2), marked archived at ?1 (null: not yet). */
const INDEX_SQL = `INSERT INTO audit_events (${INDEX_COLUMNS.map(([column]) => column).join(", ")}, archived_at)
	SELECT ${INDEX_COLUMNS.map((_, i) => `value ->> ${i}`).join(", ")}, ?1
	FROM json_each(?2) WHERE true
	ON CONFLICT (id) DO UPDATE SET archived_at = excluded.archived_at
	WHERE audit_events.archived_at IS NULL AND excluded.archived_at IS NOT NULL`;

/**
 * Indexes events in D1, idempotently by id, `archivedAt` when the archive already holds them (a row
 * indexed earlier unarchived is then marked). One statement reads many rows from one JSON parameter
 * (`json_each`), so a batch costs one statement per megabyte, not one per 7 rows (D1's 100 bound
 * parameters), and no drizzle builder per row. Returns the rows D1 says it wrote (what it bills).
 */
export async function indexEvents(db: Database, events: AuditEvent[], archivedAt: Date | null = null): Promise<number> {
	const parts: string[][] = [];
	let part: string[] = [];
	let chars = 0;
	for (const event of events) {
		const row = JSON.stringify(INDEX_COLUMNS.map(([, of]) => of(event)));
		if (part.length > 0 && chars + row.length > INDEX_PART_CHARS) {
			parts.push(part);
			part = [];
			chars = 0;
		}
		part.push(row);
		chars += row.length + 1;
	}
	if (part.length > 0) parts.push(part);
	if (parts.length === 0) return 0;
	const d1 = db.$client;
	const at = archivedAt?.getTime() ?? null;
	const results = await d1.batch(parts.map((rows) => d1.prepare(INDEX_SQL).bind(at, `[${rows.join(",")}]`)));
	return results.reduce((sum, r) => sum + (r.meta.rows_written ?? 0), 0);
}

/** The dead-letter consumer: keep every message so it can be replayed; ack only once stored. */
export async function storeDeadLetters(batch: MessageBatch<unknown>, deps: ConsumerDeps): Promise<void> {
	const receivedAt = deps.clock.now();
	// One row per event (a packet is unpacked), so a replay puts each back in the outbox on its own.
	const rows = batch.messages.flatMap((m) => {
		const events = eventsOf(m.body);
		return events
			? events.map((event) => ({ id: event.id, body: JSON.stringify(event), receivedAt }))
			: [{ id: `msg_${m.id}`, body: JSON.stringify(m.body), receivedAt }];
	});
	try {
		const inserts = chunk(rows, Math.floor(D1_MAX_PARAMS / 3)).map((part) =>
			deps.db.insert(auditDeadLetters).values(part).onConflictDoNothing(),
		);
		await runInBatch(deps.db, inserts);
		batch.ackAll();
	} catch {
		// D1 is down: the dead-letter queue is the last stop, so keep them in R2 instead of letting
		// the runtime drop them after this queue's retries. An operator replays them from there.
		try {
			await deps.env.AUDIT_ARCHIVE.put(
				`dead-letters/audit/${receivedAt.toISOString()}-${crypto.randomUUID()}.ndjson`,
				rows.map((r) => r.body).join("\n"),
			);
			batch.ackAll();
		} catch {
			batch.retryAll({ delaySeconds: 60 });
		}
	}
}

/**
 * Moves dead letters into the audit outbox, which the cron re-sends to the
 * queue. Safe to run any time: the consumer drops events it already has.
 */
export async function replayDeadLetters(db: Database): Promise<number> {
	const moved = await db
		.insert(auditOutbox)
		.select(
			db
				.select({ id: auditDeadLetters.id, body: auditDeadLetters.body, createdAt: auditDeadLetters.receivedAt })
				.from(auditDeadLetters)
				// SQLite needs a WHERE here to parse INSERT … SELECT … ON CONFLICT unambiguously.
				.where(sql`true`),
		)
		.onConflictDoNothing()
		.returning({ id: auditOutbox.id });
	const ids = db.select({ id: auditOutbox.id }).from(auditOutbox);
	await db.delete(auditDeadLetters).where(inArray(auditDeadLetters.id, ids));
	return moved.length;
}
