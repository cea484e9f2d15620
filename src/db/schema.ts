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
