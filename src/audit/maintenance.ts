/** Cron work of the audit trail: re-send the fallback outbox, prune the index past retention. */
import { and, asc, inArray, isNotNull, lt, sql } from "drizzle-orm";
import { AUDIT_INDEX_DAYS, DEFAULT_SETTINGS } from "../accounts/settings";
import { chunk, D1_MAX_PARAMS, type Database } from "../db";
import { accounts, auditEvents, auditOutbox } from "../db/schema";
import type { AuditEvent } from "./event";
import { packIntoBatches } from "./packets";

const DAY_MS = 24 * 3600 * 1000;

/**
 * Sends up to `limit` events from the outbox to the queue, oldest first, and
 * deletes each chunk only after the queue took it. A run that dies midway
 * leaves the rest for the next run; a chunk sent twice is deduplicated by the
 * consumer.
 */
export async function resendAuditOutbox(
	db: Database,
	queue: Pick<Queue, "sendBatch">,
	limit = 1000,
): Promise<{ sent: number; remaining: boolean }> {
	const rows = await db.select().from(auditOutbox).orderBy(asc(auditOutbox.createdAt)).limit(limit);
	let sent = 0;
	for (const part of chunk(rows, D1_MAX_PARAMS - 1)) {
		for (const batch of packIntoBatches(part.map((row) => JSON.parse(row.body) as AuditEvent)))
			await queue.sendBatch(batch.messages.map((body) => ({ body, contentType: "json" as const })));
		await db.delete(auditOutbox).where(
			inArray(
				auditOutbox.id,
				part.map((row) => row.id),
			),
		);
		sent += part.length;
	}
	return { sent, remaining: rows.length === limit };
}

/**
 * Deletes indexed events past their account's `auditIndexDays` (default 365; never under 90, never
 * over 3,650), only those already in the archive; bounded per run. Events of the system stream,
 * and of deleted accounts, keep the default.
 */
export async function pruneAuditIndex(db: Database, now: Date, limit = 5000): Promise<number> {
	const days = sql`MAX(${AUDIT_INDEX_DAYS.min}, MIN(${AUDIT_INDEX_DAYS.max}, COALESCE((SELECT json_extract(${accounts.settings}, '$.auditIndexDays') FROM ${accounts} WHERE ${accounts.id} = ${auditEvents.accountId}), ${DEFAULT_SETTINGS.auditIndexDays})))`;
	const doomed = db
		.select({ id: auditEvents.id })
		.from(auditEvents)
		.where(
			and(
				isNotNull(auditEvents.archivedAt),
				// Nothing younger than the minimum is ever looked up.
				lt(auditEvents.time, new Date(now.getTime() - AUDIT_INDEX_DAYS.min * DAY_MS)),
				sql`${auditEvents.time} < ${now.getTime()} - ${days} * ${DAY_MS}`,
			),
		)
		.limit(limit);
	const deleted = await db.delete(auditEvents).where(inArray(auditEvents.id, doomed)).returning({ id: auditEvents.id });
	return deleted.length;
}
