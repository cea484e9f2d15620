ALTER TABLE `sso_attempts` ADD `reauth_user_id` text;--> statement-breakpoint
ALTER TABLE `sso_attempts` ADD `reauth_session_id` text;--> statement-breakpoint
ALTER TABLE `sso_attempts` ADD `return_to` text;