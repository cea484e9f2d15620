/**
 * Collects a request's audit events; the isolate's coalescer (`coalescer.ts`)
 * sends them with other requests' events, packed many to a queue message
 * (`packets.ts`), after the response (waitUntil). If the Queue refuses, the events
 * go to the `audit_outbox` table, which the cron re-sends; nothing is dropped
 * silently. Every event is scrubbed when it is recorded, before it can reach
 * the queue, the table or a log.
 */
import { encodeBase32LowerCaseNoPadding } from "@oslojs/encoding";
import { chunk, D1_MAX_PARAMS, type Database, runInBatch } from "../db";
import { auditOutbox } from "../db/schema";
import type { Clock } from "../platform/clock";
import { newId } from "../platform/ids";
import { type AuditAction, type AuditActor, type AuditEvent, SYSTEM_STREAM } from "./event";
import { packIntoBatches, sendPackedBatch } from "./packets";
import { scrubActor, scrubMetadata } from "./scrub";

export interface AuditRecordInput {
	action: AuditAction;
	outcome?: "success" | "failure";
	accountId?: string | null;
	actor?: Partial<AuditActor>;
	target?: { type: string; id: string } | null;
	metadata?: Record<string, unknown>;
}

export interface AuditSink {
	queue: Pick<Queue, "sendBatch">;
	db: Database;
	clock: Clock;
	log?: (line: string) => void;
}

export class AuditLog {
	readonly #events: AuditEvent[] = [];

	constructor(
		private readonly sink: AuditSink,
		/** Defaults for events of this request: who acted, from where, under which request id. */
		private readonly context: { actor: AuditActor; requestId: string | null },
	) {}

	/** The account whose trail this request's events default to, once the caller is authorised for it. */
	accountId: string | null = null;

	/** Facts a route adds to its request's `http.request` event (verify: the key and the verdict). */
	readonly requestFacts: Record<string, unknown> = {};

	annotate(facts: Record<string, unknown>): void {
		Object.assign(this.requestFacts, facts);
	}

	/** The actor may become known only after authentication, partway through the request. */
	setActor(actor: Partial<AuditActor>): void {
		this.context.actor = { ...this.context.actor, ...actor };
	}

	/**
	 * Set by a route whose `http.request` event another party stored (verify's, by the account's
	 * object): the middleware then records none for a 200, so the request is in the trail once.
	 */
	requestEventStored = false;

	record(input: AuditRecordInput): AuditEvent {
		const event = this.#build(input);
		this.#events.push(event);
		return event;
	}

	/** An event of this request, not recorded here: its account is filled in by whoever stores it. */
	draft(input: Omit<AuditRecordInput, "accountId">): Omit<AuditEvent, "accountId"> {
		return draftEvent(this.context, input, this.sink.clock.now());
	}

	#build(input: AuditRecordInput): AuditEvent {
		return { ...this.draft(input), accountId: input.accountId ?? this.accountId ?? SYSTEM_STREAM };
	}

	/** Sends everything recorded so far; safe to call once per request, from waitUntil. */
	async flush(): Promise<void> {
		const events = this.#events.splice(0);
		await sendAuditEvents(this.sink, events);
	}

	/** Takes everything recorded so far, to send with other requests' events (`coalescer.ts`). */
	take(): AuditEvent[] {
		return this.#events.splice(0);
	}
}

/** An event, scrubbed, with no account yet: `AuditLog` routes it, or the key's account object (verify). */
export function draftEvent(
	context: { actor: AuditActor; requestId: string | null },
	input: Omit<AuditRecordInput, "accountId">,
	now: Date,
): Omit<AuditEvent, "accountId"> {
	return {
		id: newId("evt"),
		time: now.toISOString(),
		action: input.action,
		outcome: input.outcome ?? "success",
		actor: scrubActor({ ...context.actor, ...input.actor }),
		target: input.target ?? null,
		requestId: context.requestId,
		metadata: scrubMetadata(input.metadata ?? {}),
	};
}

/** Sends events packed many to a message (`packets.ts`); what the queue refuses goes to the outbox. */
export async function sendAuditEvents(sink: AuditSink, events: AuditEvent[]): Promise<void> {
	for (const part of packIntoBatches(events)) {
		try {
			await sendPackedBatch(sink.queue, part);
		} catch {
			await keepInOutbox(sink, part.events);
		}
	}
}

async function keepInOutbox(sink: AuditSink, events: AuditEvent[]): Promise<void> {
	try {
		const now = sink.clock.now();
		const rows = events.map((event) => ({ id: event.id, body: JSON.stringify(event), createdAt: now }));
		const inserts = chunk(rows, Math.floor(D1_MAX_PARAMS / 3)).map((part) =>
			sink.db.insert(auditOutbox).values(part).onConflictDoNothing(),
		);
		await runInBatch(sink.db, inserts);
	} catch {
		// Both the queue and D1 are down: the log is the last place left. Events are already scrubbed.
		const log = sink.log ?? ((line: string) => console.error(line));
		for (const event of events) log(JSON.stringify({ level: "error", msg: "audit event not delivered", event }));
	}
}

/**
 * An event recorded by the system (the cron sweeps). Its id is derived from
 * `seed` (what happened to what), so a sweep that repeats an action after a
 * crash, or two overlapping runs, record it once: the outbox and the
 * consumer both deduplicate by id.
 */
export async function systemEvent(input: AuditRecordInput, now: Date, seed: string): Promise<AuditEvent> {
	const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(seed)));
	return {
		id: `evt_${encodeBase32LowerCaseNoPadding(digest.slice(0, 10))}`,
		time: now.toISOString(),
		accountId: input.accountId ?? SYSTEM_STREAM,
		action: input.action,
		outcome: input.outcome ?? "success",
		actor: scrubActor({ type: "system", id: null, ip: null, userAgent: null, ...input.actor }),
		target: input.target ?? null,
		requestId: null,
		metadata: scrubMetadata(input.metadata ?? {}),
	};
}

/** The statement that puts an event in the outbox, for a D1 batch that also makes the change it records. */
export const outboxInsert = (db: Database, event: AuditEvent, now: Date) =>
	db
		.insert(auditOutbox)
		.values({ id: event.id, body: JSON.stringify(event), createdAt: now })
		.onConflictDoNothing();
