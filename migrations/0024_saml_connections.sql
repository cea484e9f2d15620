ALTER TABLE `sso_connections` ADD `protocol` text DEFAULT 'oidc' NOT NULL;--> statement-breakpoint
ALTER TABLE `sso_connections` ADD `saml_certificate` text;