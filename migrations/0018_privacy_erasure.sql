CREATE TABLE `erasure_requests` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`requested_at` integer NOT NULL,
	`requested_by` text NOT NULL,
	`done_at` integer,
	`outcome` text
);
--> statement-breakpoint
CREATE TABLE `user_data_keys` (
	`user_id` text PRIMARY KEY NOT NULL,
	`wrapped_key` text,
	`created_at` integer NOT NULL,
	`erased_at` integer
);
--> statement-breakpoint
ALTER TABLE `users` ADD `erased_at` integer;