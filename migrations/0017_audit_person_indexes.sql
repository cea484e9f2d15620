CREATE INDEX `audit_events_actor_time` ON `audit_events` (`actor_id`,`time`,`id`);--> statement-breakpoint
CREATE INDEX `audit_events_target_time` ON `audit_events` (`target_id`,`time`,`id`);