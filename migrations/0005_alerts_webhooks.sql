CREATE TABLE `key_notices` (
	`key_id` text NOT NULL,
	`kind` text NOT NULL,
	`account_id` text NOT NULL,
	`sent_at` integer NOT NULL,
	PRIMARY KEY(`key_id`, `kind`)
);
--> statement-breakpoint
CREATE TABLE `webhook_deliveries` (
	`id` text PRIMARY KEY NOT NULL,
	`webhook_id` text NOT NULL,
	`account_id` text NOT NULL,
	`event` text NOT NULL,
	`status` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`last_status_code` integer,
	`last_error` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `webhook_deliveries_webhook` ON `webhook_deliveries` (`webhook_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `webhooks` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`url` text NOT NULL,
	`events` text NOT NULL,
	`secret_sealed` text NOT NULL,
	`created_at` integer NOT NULL,
	`created_by` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `webhooks_account` ON `webhooks` (`account_id`);--> statement-breakpoint
ALTER TABLE `accounts` ADD `locked_down_at` integer;--> statement-breakpoint
ALTER TABLE `accounts` ADD `locked_down_reason` text;--> statement-breakpoint
ALTER TABLE `api_keys` ADD `expiry_recorded_at` integer;