/** Reading the recent-event index in D1: filtered, newest first, paged by a keyset cursor; and its counts (development). */
import { and, count, desc, eq, gte, isNotNull, lt, lte, notInArray, or, type SQL } from "drizzle-orm";
import type { Database } from "../db";
import { auditDeadLetters, auditEvents, auditOutbox } from "../db/schema";
import { openEvents } from "../privacy/events";
import { decodeKeysetCursor, encodeKeysetCursor } from "../routes/pagination";
import { type AuditEvent, publicAuditEvent } from "./event";

/** One event per request: `requests: "exclude"` leaves these out, for a log of security events only. */
export const REQUEST_ACTIONS = ["http.request", "key.verified"] as const;

export interface AuditQuery {
	/** An action, or a prefix ending in a dot (`key.`) for every action under it. */
	action?: string;
	requests?: "include" | "exclude";
	actorId?: string;
	keyId?: string;
	since?: Date;
	until?: Date;
	cursor?: string;
	limit: number;
}

/** A page of the account's events, personal fields opened (`[erased]` where their person is erased). */
export async function listAuditEvents(db: Database, wrappingKey: string, accountId: string, q: AuditQuery) {
	const filters: (SQL | undefined)[] = [eq(auditEvents.accountId, accountId)];
	if (q.action?.endsWith(".")) {
		// A range, not LIKE (whose `_` is a wildcard): every action from "key." up to "key/".
		filters.push(gte(auditEvents.action, q.action), lt(auditEvents.action, `${q.action.slice(0, -1)}/`));
	} else if (q.action) filters.push(eq(auditEvents.action, q.action));
	if (q.requests === "exclude") filters.push(notInArray(auditEvents.action, [...REQUEST_ACTIONS]));
	if (q.actorId) filters.push(eq(auditEvents.actorId, q.actorId));
	if (q.keyId) filters.push(eq(auditEvents.keyId, q.keyId));
	if (q.since) filters.push(gte(auditEvents.time, q.since));
	if (q.until) filters.push(lte(auditEvents.time, q.until));
	if (q.cursor) {
		const { time, id } = decodeKeysetCursor(q.cursor);
		filters.push(or(lt(auditEvents.time, time), and(eq(auditEvents.time, time), lt(auditEvents.id, id))));
	}
	const rows = await db
		.select({ id: auditEvents.id, time: auditEvents.time, body: auditEvents.body })
		.from(auditEvents)
		.where(and(...filters))
		.orderBy(desc(auditEvents.time), desc(auditEvents.id))
		.limit(q.limit + 1);
	const page = rows.slice(0, q.limit);
	const last = page.at(-1);
	const nextCursor = rows.length > q.limit && last ? encodeKeysetCursor(last.time, last.id) : null;
	const events = await openEvents(
		db,
		wrappingKey,
		page.map((r) => JSON.parse(r.body) as AuditEvent),
	);
	return { data: events.map(publicAuditEvent), nextCursor };
}

/** How many events of a stream are indexed and archived, and what waits in the outbox and dead letters. */
export async function auditCounts(db: Database, stream: string, action?: string) {
	const ofStream = and(eq(auditEvents.accountId, stream), action ? eq(auditEvents.action, action) : undefined);
	const [indexed, archived, outbox, deadLetters] = await db.batch([
		db.select({ n: count() }).from(auditEvents).where(ofStream),
		db
			.select({ n: count() })
			.from(auditEvents)
			.where(and(ofStream, isNotNull(auditEvents.archivedAt))),
		db.select({ n: count() }).from(auditOutbox),
		db.select({ n: count() }).from(auditDeadLetters),
	]);
	return {
		indexed: indexed[0]?.n ?? 0,
		archived: archived[0]?.n ?? 0,
		outbox: outbox[0]?.n ?? 0,
		deadLetters: deadLetters[0]?.n ?? 0,
	};
}
