CREATE TABLE `sso_attempts` (
	`state_hash` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`connection_id` text NOT NULL,
	`nonce` text NOT NULL,
	`verifier_sealed` text NOT NULL,
	`browser_hash` text NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `sso_attempts_expiry` ON `sso_attempts` (`expires_at`);--> statement-breakpoint
CREATE TABLE `sso_connections` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`issuer` text NOT NULL,
	`client_id` text NOT NULL,
	`client_secret_sealed` text NOT NULL,
	`scopes` text NOT NULL,
	`role_mapping` text,
	`authorization_endpoint` text NOT NULL,
	`token_endpoint` text NOT NULL,
	`jwks_uri` text NOT NULL,
	`token_auth_method` text NOT NULL,
	`jwks` text NOT NULL,
	`jwks_fetched_at` integer NOT NULL,
	`created_by` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`version` integer DEFAULT 1 NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `sso_connections_account` ON `sso_connections` (`account_id`);