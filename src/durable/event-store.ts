/**
 * Audit events an account's object has recorded (verify's), kept in its
 * storage until its alarm sends them to the audit queue, packed many to a
 * message (src/audit/packets.ts). An event is written in the same
 * synchronous step that decides the verdict, before the answer leaves the
 * object, so a crash after the answer cannot lose it.
 *
 * Storage bills each row written, an update or a delete alike, so events
 * share rows: up to CHUNK_EVENTS to a row, appended by an update. An event
 * costs one row written to store, and its row's delete is shared by the
 * row's events: about 1.04 rows written per event, where a row each costs 2.
 *
 * Rows are deleted only after the queue accepted all their events; a refused
 * send leaves them for the next alarm. A row whose events went out in two
 * sends, the second refused, is sent whole again, as is a send whose delete
 * was lost in a crash: the consumer keeps an event once by its id.
 */
import type { AuditEvent } from "../audit/event";
import { packIntoBatches, type QueueCounters, sendPackedBatch } from "../audit/packets";

/** Events per stored row. */
const CHUNK_EVENTS = 25;
/** Most events one alarm sends; the rest wait for the next alarm, which follows at once. */
const SEND_MAX = 1_000;

type Chunk = { seq: number; n: number; body: string };

export class PendingAuditEvents {
	#count: number;
	/** What this object has sent since it started (the bench reads it through `/v1/dev/object-stats`). */
	readonly sent: QueueCounters = { sendBatches: 0, messages: 0, events: 0 };
	/** The row new events are appended to (null: the next event starts a row). */
	#open: { seq: number; n: number } | null = null;

	constructor(private readonly sql: SqlStorage) {
		sql.exec(
			"CREATE TABLE IF NOT EXISTS audit_pending (seq INTEGER PRIMARY KEY, n INTEGER NOT NULL, body TEXT NOT NULL)",
		);
		this.#count = sql.exec<{ n: number | null }>("SELECT SUM(n) AS n FROM audit_pending").one().n ?? 0;
	}

	/** Events waiting. */
	get count(): number {
		return this.#count;
	}

	add(event: AuditEvent): void {
		const line = JSON.stringify(event);
		const open = this.#open;
		if (open && open.n < CHUNK_EVENTS) {
			this.sql.exec("UPDATE audit_pending SET n = n + 1, body = body || char(10) || ? WHERE seq = ?", line, open.seq);
			open.n++;
		} else {
			const seq = this.sql
				.exec<{ seq: number }>("INSERT INTO audit_pending (n, body) VALUES (1, ?) RETURNING seq", line)
				.one().seq;
			this.#open = { seq, n: 1 };
		}
		this.#count++;
	}

	/** The oldest rows, up to about `limit` events; `more` when older rows than those arriving now were left. */
	#take(limit: number): { chunks: Chunk[]; more: boolean } {
		const chunks: Chunk[] = [];
		let events = 0;
		for (const row of this.sql.exec<Chunk>("SELECT seq, n, body FROM audit_pending ORDER BY seq")) {
			if (events >= limit) return { chunks, more: true };
			chunks.push(row);
			events += row.n;
		}
		return { chunks, more: false };
	}

	/** What is waiting, oldest first (the tests read it; nothing else needs to). */
	list(limit = SEND_MAX): AuditEvent[] {
		return this.#take(limit)
			.chunks.flatMap((c) => c.body.split("\n").map((line) => JSON.parse(line) as AuditEvent))
			.slice(0, limit);
	}

	/**
	 * Sends up to about SEND_MAX waiting events and deletes each row once all its events were
	 * accepted. Returns how many went, and `more` when it stopped at SEND_MAX with older rows left;
	 * throws (after deleting what did go) when the queue refused.
	 */
	async send(queue: Pick<Queue, "sendBatch">): Promise<{ sent: number; more: boolean }> {
		// Events that arrive while this send awaits the queue start a row of their own.
		this.#open = null;
		const { chunks, more } = this.#take(SEND_MAX);
		const events = chunks.flatMap((c) => c.body.split("\n").map((line) => JSON.parse(line) as AuditEvent));
		let sent = 0;
		let deleted = 0; // rows of `chunks` deleted so far
		let covered = 0; // events in those rows
		// Parts keep the events' order, so the rows fully sent are a prefix of `chunks`.
		for (const part of packIntoBatches(events)) {
			await sendPackedBatch(queue, part, this.sent);
			sent += part.events.length;
			let upTo = deleted;
			let through = covered;
			while (upTo < chunks.length && through + (chunks[upTo]?.n ?? 0) <= sent) through += chunks[upTo++]?.n ?? 0;
			if (upTo > deleted) {
				this.sql.exec(
					"DELETE FROM audit_pending WHERE seq BETWEEN ? AND ?",
					chunks[deleted]?.seq ?? 0,
					chunks[upTo - 1]?.seq ?? -1,
				);
				this.#count -= through - covered;
				deleted = upTo;
				covered = through;
			}
		}
		return { sent, more };
	}
}
