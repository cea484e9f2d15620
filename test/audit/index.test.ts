/**
 * The audit index's upsert (`indexEvents`): many events in one statement per megabyte of JSON,
 * idempotent by id, each column as the event says, and `archivedAt` set once the archive holds
 * the events, never moved by a redelivery.
 */
import { env } from "cloudflare:test";
import { inArray } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { indexEvents } from "../../src/audit/consumer";
import type { AuditEvent } from "../../src/audit/event";
import { createDatabase } from "../../src/db";
import { auditEvents } from "../../src/db/schema";
import { syntheticEvent, uniqueAccount } from "../support/audit";

const db = createDatabase(env.DB);

const rowsOf = async (events: AuditEvent[]) =>
	db
		.select()
		.from(auditEvents)
		.where(
			inArray(
				auditEvents.id,
				events.map((e) => e.id),
			),
		);

describe("the audit index", () => {
	it("stores every column of each event as the event says, the body whole", async () => {
		const accountId = uniqueAccount();
		const events = [
			syntheticEvent(accountId, { time: "2026-12-01T10:00:00.123Z" }),
			syntheticEvent(accountId, {
				action: "http.request",
				actor: { type: "system", id: null, ip: null, userAgent: null },
				target: null,
				requestId: null,
				metadata: { keyId: "key_from_metadata", note: 'quotes " and \\ and\nnewlines, ünïcödé' },
			}),
		];
		await indexEvents(db, events);
		const rows = new Map((await rowsOf(events)).map((r) => [r.id, r]));
		const [first, second] = events as [AuditEvent, AuditEvent];
		expect(rows.get(first.id)).toEqual({
			id: first.id,
			accountId,
			time: new Date("2026-12-01T10:00:00.123Z"),
			action: "key.created",
			outcome: "success",
			actorType: "user",
			actorId: "usr_a",
			targetType: "key",
			targetId: "key_1",
			keyId: "key_1",
			requestId: "req_test",
			body: JSON.stringify(first),
			archivedAt: null,
		});
		expect(rows.get(second.id)).toMatchObject({
			actorType: "system",
			actorId: null,
			targetType: null,
			targetId: null,
			keyId: "key_from_metadata",
			requestId: null,
		});
		expect(JSON.parse(rows.get(second.id)?.body ?? "null")).toEqual(second);
	});

	it("is idempotent, and marks archived once: a redelivery neither doubles a row nor moves archivedAt", async () => {
		const accountId = uniqueAccount();
		const events = [syntheticEvent(accountId), syntheticEvent(accountId), syntheticEvent(accountId)];
		const [first] = events as [AuditEvent];
		// One indexed before its archive (an earlier try that failed after the index) stays unarchived…
		await indexEvents(db, [first]);
		expect((await rowsOf([first]))[0]?.archivedAt).toBeNull();
		// …until the batch is indexed as archived: every row is marked, the early one included.
		const archived = new Date("2026-12-02T00:00:00Z");
		await indexEvents(db, [...events, first], archived);
		const rows = await rowsOf(events);
		expect(rows).toHaveLength(3);
		expect(rows.map((r) => r.archivedAt?.getTime())).toEqual([1, 2, 3].map(() => archived.getTime()));
		// A later redelivery keeps the first mark, and an unarchived index of them unmarks nothing.
		await indexEvents(db, events, new Date("2026-12-03T00:00:00Z"));
		await indexEvents(db, events);
		expect((await rowsOf(events)).map((r) => r.archivedAt?.getTime())).toEqual([1, 2, 3].map(() => archived.getTime()));
	});

	it("stores a batch past a megabyte of JSON whole (split into statements of one D1 batch)", async () => {
		const accountId = uniqueAccount();
		// 3 × 400 KB of metadata: past one statement's megabyte, each event under D1's 2 MB value.
		const events = [1, 2, 3].map((n) => syntheticEvent(accountId, { metadata: { pad: String(n).repeat(400_000) } }));
		await indexEvents(db, events, new Date());
		const rows = await rowsOf(events);
		expect(rows).toHaveLength(3);
		for (const event of events)
			expect(rows.find((r) => r.id === event.id)?.body.length).toBe(JSON.stringify(event).length);
	});

	it("indexes nothing for no events (D1 refuses an empty batch, so none is sent)", async () => {
		await expect(indexEvents(db, [])).resolves.toBe(0);
	});

	it("bills 5 to 9 rows an event: the partial indexes skip an absent actor, key or target id", async () => {
		const accountId = uniqueAccount();
		const anonymous = { type: "user" as const, id: null, ip: null, userAgent: null };
		const tenOf = (overrides: Partial<AuditEvent>) =>
			Array.from({ length: 10 }, () => syntheticEvent(accountId, overrides));
		// D1's own count. Every event: the row, its primary key, and the account/time,
		// account/action/time and archived/time indexes (5); then one for a key id, two for an actor
		// id (account/actor/time and actor/time), one for a target id.
		const health = tenOf({ action: "http.request", actor: anonymous, target: null });
		expect(await indexEvents(db, health, new Date())).toBe(50);
		const verifies = tenOf({ action: "http.request", actor: anonymous, target: null, metadata: { keyId: "key_v" } });
		expect(await indexEvents(db, verifies, new Date())).toBe(60);
		const me = tenOf({ action: "http.request", target: null });
		expect(await indexEvents(db, me, new Date())).toBe(70);
		const acted = tenOf({});
		expect(await indexEvents(db, acted, new Date())).toBe(90);
		// A redelivery that finds every row marked writes none.
		expect(await indexEvents(db, acted, new Date())).toBe(0);
	});

	it("answers each lookup of an actor, key or target id from its partial index", async () => {
		// `INDEXED BY` makes SQLite refuse a statement the named index cannot answer, so each
		// lookup's shape (the audit list's actor and key filters, the export's actor and target)
		// proves its partial index still serves it.
		const lookups = [
			["audit_events_account_actor_time", "account_id = ?1 AND actor_id = ?2"],
			["audit_events_account_key_time", "account_id = ?1 AND key_id = ?2"],
			["audit_events_actor_time", "actor_id = ?2"],
			["audit_events_target_time", "target_type = 'user' AND target_id = ?2"],
		] as const;
		for (const [index, where] of lookups) {
			const statement = `SELECT id FROM audit_events INDEXED BY ${index} WHERE ${where}`;
			await expect(env.DB.prepare(statement).bind("acc_x", "usr_x").all(), index).resolves.toBeTruthy();
		}
		// And a lookup the index cannot answer is refused, so the check above can fail.
		await expect(
			env.DB.prepare("SELECT id FROM audit_events INDEXED BY audit_events_actor_time WHERE actor_id IS NULL").all(),
		).rejects.toThrow(/no query solution/);
	});
});
