CREATE TABLE `secret_scanning_stats` (
	`day` text PRIMARY KEY NOT NULL,
	`reports` integer DEFAULT 0 NOT NULL,
	`true_positives` integer DEFAULT 0 NOT NULL,
	`false_positives` integer DEFAULT 0 NOT NULL
);
