ALTER TABLE `account_domains` ADD `record_missing_since` integer;--> statement-breakpoint
CREATE INDEX `account_domains_recheck` ON `account_domains` (`last_checked_at`) WHERE verified_at IS NOT NULL;