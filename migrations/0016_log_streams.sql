CREATE TABLE `log_streams` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`type` text NOT NULL,
	`url` text NOT NULL,
	`config` text NOT NULL,
	`secret_sealed` text,
	`created_at` integer NOT NULL,
	`created_by` text NOT NULL,
	`disabled_at` integer,
	`disabled_reason` text,
	`cursor_seq` integer DEFAULT 0 NOT NULL,
	`cursor_key` text,
	`cursor_hash` text,
	`delivered_objects` integer DEFAULT 0 NOT NULL,
	`delivered_events` integer DEFAULT 0 NOT NULL,
	`last_delivered_at` integer,
	`lease_token` text,
	`lease_until` integer,
	`failures` integer DEFAULT 0 NOT NULL,
	`failing_since` integer,
	`last_error` text,
	`next_attempt_at` integer,
	`version` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE INDEX `log_streams_account` ON `log_streams` (`account_id`);