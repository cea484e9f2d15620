ALTER TABLE `api_keys` ADD `reveal_sealed` text;--> statement-breakpoint
ALTER TABLE `api_keys` ADD `reveal_until` integer;