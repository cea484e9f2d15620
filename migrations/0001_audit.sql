CREATE TABLE `audit_dead_letters` (
	`id` text PRIMARY KEY NOT NULL,
	`body` text NOT NULL,
	`received_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `audit_events` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`time` integer NOT NULL,
	`action` text NOT NULL,
	`outcome` text NOT NULL,
	`actor_type` text NOT NULL,
	`actor_id` text,
	`target_type` text,
	`target_id` text,
	`key_id` text,
	`request_id` text,
	`body` text NOT NULL,
	`archived_at` integer
);
--> statement-breakpoint
CREATE INDEX `audit_events_account_time` ON `audit_events` (`account_id`,`time`,`id`);--> statement-breakpoint
CREATE INDEX `audit_events_account_action_time` ON `audit_events` (`account_id`,`action`,`time`);--> statement-breakpoint
CREATE INDEX `audit_events_account_actor_time` ON `audit_events` (`account_id`,`actor_id`,`time`);--> statement-breakpoint
CREATE INDEX `audit_events_account_key_time` ON `audit_events` (`account_id`,`key_id`,`time`);--> statement-breakpoint
CREATE INDEX `audit_events_archived_time` ON `audit_events` (`archived_at`,`time`);--> statement-breakpoint
CREATE TABLE `audit_outbox` (
	`id` text PRIMARY KEY NOT NULL,
	`body` text NOT NULL,
	`created_at` integer NOT NULL
);
