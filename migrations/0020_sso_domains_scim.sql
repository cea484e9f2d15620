CREATE TABLE `account_domains` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`domain` text NOT NULL,
	`challenge` text NOT NULL,
	`created_by` text NOT NULL,
	`created_at` integer NOT NULL,
	`verified_at` integer,
	`last_checked_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `account_domains_account_domain` ON `account_domains` (`account_id`,`domain`);--> statement-breakpoint
CREATE UNIQUE INDEX `account_domains_verified` ON `account_domains` (`domain`) WHERE verified_at IS NOT NULL;--> statement-breakpoint
CREATE TABLE `scim_group_members` (
	`group_id` text NOT NULL,
	`account_id` text NOT NULL,
	`user_id` text NOT NULL,
	PRIMARY KEY(`group_id`, `user_id`)
);
--> statement-breakpoint
CREATE INDEX `scim_group_members_user` ON `scim_group_members` (`account_id`,`user_id`);--> statement-breakpoint
CREATE TABLE `scim_groups` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`display_name` text NOT NULL,
	`external_id` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`version` integer DEFAULT 1 NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `scim_groups_account_name` ON `scim_groups` (`account_id`,`display_name`);--> statement-breakpoint
CREATE TABLE `scim_users` (
	`account_id` text NOT NULL,
	`user_id` text NOT NULL,
	`user_name` text NOT NULL,
	`external_id` text,
	`display_name` text,
	`given_name` text,
	`family_name` text,
	`active` integer NOT NULL,
	`role` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`version` integer DEFAULT 1 NOT NULL,
	PRIMARY KEY(`account_id`, `user_id`)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `scim_users_account_user_name` ON `scim_users` (`account_id`,`user_name`);