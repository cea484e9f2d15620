/** Sealing audit events for the trail, and opening them for a read (issue #26): the data keys' D1 reads around the crypto. */
import type { AuditEvent } from "../audit/event";
import type { Database } from "../db";
import { dataKeysForSealing, existingDataKeys } from "./data-keys";
import { openEvent, type SealableEvent, sealEvent, sealedSubjects, sealingSubjects } from "./sealing";

/** The events with their personal fields sealed, ready to chain and index: one D1 read (plus one batch for a new person). */
export async function sealEvents(
	db: Database,
	wrappingKey: string,
	events: AuditEvent[],
	now: Date,
): Promise<AuditEvent[]> {
	const keys = await dataKeysForSealing(db, wrappingKey, sealingSubjects(events), now);
	return Promise.all(events.map((event) => sealEvent(event, keys)));
}

/** The events as a reader sees them: sealed fields opened, `[erased]` where the person is erased. One D1 read. */
export async function openEvents<E extends SealableEvent>(
	db: Database,
	wrappingKey: string,
	events: E[],
): Promise<E[]> {
	const subjects = new Set<string>();
	for (const event of events) sealedSubjects(event, subjects);
	if (subjects.size === 0) return events;
	const keys = await existingDataKeys(db, wrappingKey, subjects);
	return Promise.all(events.map((event) => openEvent(event, keys)));
}
