DROP INDEX `audit_events_account_actor_time`;--> statement-breakpoint
DROP INDEX `audit_events_account_key_time`;--> statement-breakpoint
DROP INDEX `audit_events_actor_time`;--> statement-breakpoint
DROP INDEX `audit_events_target_time`;--> statement-breakpoint
CREATE INDEX `audit_events_account_actor_time` ON `audit_events` (`account_id`,`actor_id`,`time`) WHERE "audit_events"."actor_id" IS NOT NULL;--> statement-breakpoint
CREATE INDEX `audit_events_account_key_time` ON `audit_events` (`account_id`,`key_id`,`time`) WHERE "audit_events"."key_id" IS NOT NULL;--> statement-breakpoint
CREATE INDEX `audit_events_actor_time` ON `audit_events` (`actor_id`,`time`,`id`) WHERE "audit_events"."actor_id" IS NOT NULL;--> statement-breakpoint
CREATE INDEX `audit_events_target_time` ON `audit_events` (`target_id`,`time`,`id`) WHERE "audit_events"."target_id" IS NOT NULL;