/** Cron work of the audit trail: re-send the fallback outbox, prune the index past retention. */
import { and, asc, inArray, isNotNull, lt } from "drizzle-orm";
import { chunk, D1_MAX_PARAMS, type Database } from "../db";
import { auditEvents, auditOutbox } from "../db/schema";
import type { AuditEvent } from "./event";
import { packIntoBatches } from "./packets";

/** The index keeps at least this long; API.md and the issue promise 90 days. */
export const AUDIT_INDEX_RETENTION_DAYS = 90;
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

/** Deletes indexed events older than the retention, only those already in the archive; bounded per run. */
export async function pruneAuditIndex(
	db: Database,
	now: Date,
	retentionDays = AUDIT_INDEX_RETENTION_DAYS,
	limit = 5000,
): Promise<number> {
	const cutoff = new Date(now.getTime() - Math.max(AUDIT_INDEX_RETENTION_DAYS, retentionDays) * DAY_MS);
	const doomed = db
		.select({ id: auditEvents.id })
		.from(auditEvents)
		.where(and(isNotNull(auditEvents.archivedAt), lt(auditEvents.time, cutoff)))
		.limit(limit);
	const deleted = await db.delete(auditEvents).where(inArray(auditEvents.id, doomed)).returning({ id: auditEvents.id });
	return deleted.length;
}
