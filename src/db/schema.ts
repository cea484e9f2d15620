/**
 * The data model. Migrations in /migrations are generated from this file with
 * `npm run db:generate` (drizzle-kit) and applied by wrangler.
 */
import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/** Development-only mail outbox: what would have been sent, readable at /v1/dev/outbox. */
export const devOutbox = sqliteTable(
	"dev_outbox",
	{
		id: text("id").primaryKey(),
		to: text("to").notNull(),
		subject: text("subject").notNull(),
		text: text("text").notNull(),
		sentAt: integer("sent_at", { mode: "timestamp_ms" }).notNull(),
	},
	(t) => [index("dev_outbox_to_sent_at").on(t.to, t.sentAt)],
);

/**
 * Index of recent audit events (at least 90 days), for the query route. The
 * archive in R2 is the record; this table is rebuilt from the queue and pruned
 * by the cron only for events already archived. `body` is the whole event as
 * sent, already scrubbed.
 */
export const auditEvents = sqliteTable(
	"audit_events",
	{
		id: text("id").primaryKey(),
		accountId: text("account_id").notNull(),
		time: integer("time", { mode: "timestamp_ms" }).notNull(),
		action: text("action").notNull(),
		outcome: text("outcome", { enum: ["success", "failure"] }).notNull(),
		actorType: text("actor_type").notNull(),
		actorId: text("actor_id"),
		targetType: text("target_type"),
		targetId: text("target_id"),
		keyId: text("key_id"),
		requestId: text("request_id"),
		body: text("body").notNull(),
		archivedAt: integer("archived_at", { mode: "timestamp_ms" }),
	},
	(t) => [
		index("audit_events_account_time").on(t.accountId, t.time, t.id),
		index("audit_events_account_action_time").on(t.accountId, t.action, t.time),
		index("audit_events_account_actor_time").on(t.accountId, t.actorId, t.time),
		index("audit_events_account_key_time").on(t.accountId, t.keyId, t.time),
		index("audit_events_archived_time").on(t.archivedAt, t.time),
	],
);

/** Events whose queue send failed; the cron re-sends them. */
export const auditOutbox = sqliteTable("audit_outbox", {
	id: text("id").primaryKey(),
	body: text("body").notNull(),
	createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
});

/** What the dead-letter queue received, kept until replayed (`npm run audit:replay`). */
export const auditDeadLetters = sqliteTable("audit_dead_letters", {
	id: text("id").primaryKey(),
	body: text("body").notNull(),
	receivedAt: integer("received_at", { mode: "timestamp_ms" }).notNull(),
});
