CREATE TABLE `service_accounts` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`name` text NOT NULL,
	`description` text DEFAULT '' NOT NULL,
	`role` text NOT NULL,
	`created_by` text NOT NULL,
	`created_at` integer NOT NULL,
	`version` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE INDEX `service_accounts_account` ON `service_accounts` (`account_id`);--> statement-breakpoint
ALTER TABLE `api_keys` ADD `service_account_id` text;--> statement-breakpoint
ALTER TABLE `api_keys` ADD `external_id` text;--> statement-breakpoint
ALTER TABLE `api_keys` ADD `meta` text;--> statement-breakpoint
ALTER TABLE `api_keys` ADD `disabled_at` integer;--> statement-breakpoint
ALTER TABLE `api_keys` ADD `disabled_by` text;--> statement-breakpoint
ALTER TABLE `api_keys` ADD `credits` text;--> statement-breakpoint
ALTER TABLE `api_keys` ADD `rate_limits` text;--> statement-breakpoint
CREATE INDEX `api_keys_account_external` ON `api_keys` (`account_id`,`external_id`);--> statement-breakpoint
CREATE INDEX `api_keys_account_service` ON `api_keys` (`account_id`,`service_account_id`);