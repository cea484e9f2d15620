/**
 * The data model. Migrations in /migrations are generated from this file with
 * `npm run db:generate` (drizzle-kit) and applied by wrangler.
 */
import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import type { JsonObject } from "../platform/json";
import type { CreditPlan } from "../security/credits";
import type { NamedLimit } from "../security/sliding-window";

/** Development-only mail outbox: what would have been sent, readable at /v1/dev/outbox. */
export const devOutbox = sqliteTable(
	"dev_outbox",
	{
		id: text("id").primaryKey(),
		to: text("to").notNull(),
		subject: text("subject").notNull(),
		text: text("text").notNull(),
		sentAt: integer("sent_at", { mode: "timestamp_ms" }).notNull(),
	},
	(t) => [index("dev_outbox_to_sent_at").on(t.to, t.sentAt)],
);

/**
 * Index of recent audit events (at least 90 days), for the query route. The
 * archive in R2 is the record; this table is rebuilt from the queue and pruned
 * by the cron only for events already archived. `body` is the whole event as
 * sent, already scrubbed.
 */
export const auditEvents = sqliteTable(
	"audit_events",
	{
		id: text("id").primaryKey(),
		accountId: text("account_id").notNull(),
		time: integer("time", { mode: "timestamp_ms" }).notNull(),
		action: text("action").notNull(),
		outcome: text("outcome", { enum: ["success", "failure"] }).notNull(),
		actorType: text("actor_type").notNull(),
		actorId: text("actor_id"),
		targetType: text("target_type"),
		targetId: text("target_id"),
		keyId: text("key_id"),
		requestId: text("request_id"),
		body: text("body").notNull(),
		archivedAt: integer("archived_at", { mode: "timestamp_ms" }),
	},
	(t) => [
		index("audit_events_account_time").on(t.accountId, t.time, t.id),
		index("audit_events_account_action_time").on(t.accountId, t.action, t.time),
		// The actor, key and target indexes are partial: every lookup names an id (`= ?` implies IS NOT
		// NULL, so SQLite uses them), and most requests' events lack one or more of them (verify's have
		// a key id only). D1 bills each index entry as a row written: 5 to 9 rows an event, was 9.
		index("audit_events_account_actor_time").on(t.accountId, t.actorId, t.time).where(sql`${t.actorId} IS NOT NULL`),
		index("audit_events_account_key_time").on(t.accountId, t.keyId, t.time).where(sql`${t.keyId} IS NOT NULL`),
		index("audit_events_archived_time").on(t.archivedAt, t.time),
		// A person's own events across accounts (GET /v1/me/export).
		index("audit_events_actor_time").on(t.actorId, t.time, t.id).where(sql`${t.actorId} IS NOT NULL`),
		index("audit_events_target_time").on(t.targetId, t.time, t.id).where(sql`${t.targetId} IS NOT NULL`),
	],
);

/** Events whose queue send failed; the cron re-sends them. */
export const auditOutbox = sqliteTable("audit_outbox", {
	id: text("id").primaryKey(),
	body: text("body").notNull(),
	createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
});

/** What the dead-letter queue received, kept until replayed (`npm run audit:replay`). */
export const auditDeadLetters = sqliteTable("audit_dead_letters", {
	id: text("id").primaryKey(),
	body: text("body").notNull(),
	receivedAt: integer("received_at", { mode: "timestamp_ms" }).notNull(),
});

export const users = sqliteTable(
	"users",
	{
		id: text("id").primaryKey(),
		/** Lowercased; unique. */
		email: text("email").notNull(),
		name: text("name").notNull(),
		/** `$scrypt$…` (src/security/password-hash.ts); never the password. */
		passwordHash: text("password_hash").notNull(),
		emailVerifiedAt: integer("email_verified_at", { mode: "timestamp_ms" }),
		/** AES-256-GCM ciphertext of the active TOTP secret (src/security/secret-box.ts). */
		totpSecret: text("totp_secret"),
		/** Ciphertext of a secret being enrolled, not yet confirmed. */
		totpPendingSecret: text("totp_pending_secret"),
		/** The last TOTP time step accepted, so a code is never accepted twice. */
		totpLastStep: integer("totp_last_step"),
		/** When a sign-in found the password in a breach corpus; cleared when the password changes. */
		passwordBreachedAt: integer("password_breached_at", { mode: "timestamp_ms" }),
		/** How many passkeys the user has: recounted from `passkeys` in the same batch as every change to them. */
		passkeyCount: integer("passkey_count").notNull().default(0),
		createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
		/**
		 * Set when the person was erased (issue #26): the row is a tombstone, its email replaced by
		 * `erased-<id>@erased.invalid` (so the address can sign up again as a new person), its name
		 * emptied and its password unusable. Its id stays, so the trail's references still resolve to "someone".
		 */
		erasedAt: integer("erased_at", { mode: "timestamp_ms" }),
	},
	(t) => [uniqueIndex("users_email").on(t.email)],
);

export const accounts = sqliteTable("accounts", {
	id: text("id").primaryKey(),
	name: text("name").notNull(),
	/** JSON of the account settings (API.md §4); absent keys take their defaults. */
	settings: text("settings").notNull().default("{}"),
	createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
	/**
	 * Set by `POST …/lockdown` (API.md §7), cleared by an owner's `POST …/lockdown/lift`. While set,
	 * no key is created or rotated, nobody is invited or joins, and no webhook is added.
	 */
	lockedDownAt: integer("locked_down_at", { mode: "timestamp_ms" }),
	lockedDownReason: text("locked_down_reason"),
	/**
	 * Sessions started before this instant no longer reach this account (a lockdown sets it). It
	 * ends a session's access to this account only, so locking one account down cannot sign its
	 * members out of their other accounts.
	 */
	sessionsNotBefore: integer("sessions_not_before", { mode: "timestamp_ms" }),
});

export const memberships = sqliteTable(
	"memberships",
	{
		accountId: text("account_id").notNull(),
		userId: text("user_id").notNull(),
		role: text("role", { enum: ["owner", "admin", "member", "readonly"] }).notNull(),
		joinedAt: integer("joined_at", { mode: "timestamp_ms" }).notNull(),
		/** Refreshed at most every few minutes by authorised requests to the account. */
		lastActiveAt: integer("last_active_at", { mode: "timestamp_ms" }),
	},
	(t) => [primaryKey({ columns: [t.accountId, t.userId] }), index("memberships_user").on(t.userId)],
);

/**
 * Single-use tokens sent by email, stored as SHA-256 only: verification, password reset, the two
 * halves of an email change (confirm, to the new address; cancel, to the old one), and the
 * "this wasn't me" link of a new-device notice. `subject` is what the token is about: the new
 * address, the old address, or the session to end.
 */
export const emailTokens = sqliteTable(
	"email_tokens",
	{
		tokenHash: text("token_hash").primaryKey(),
		userId: text("user_id").notNull(),
		purpose: text("purpose", {
			enum: ["verify_email", "password_reset", "email_change_confirm", "email_change_cancel", "not_me"],
		}).notNull(),
		expiresAt: integer("expires_at", { mode: "timestamp_ms" }).notNull(),
		subject: text("subject"),
	},
	(t) => [index("email_tokens_user").on(t.userId), index("email_tokens_expires").on(t.expiresAt)],
);

/** A login waiting for its second factor: short-lived, single use, stored as SHA-256 only. */
export const mfaChallenges = sqliteTable(
	"mfa_challenges",
	{
		tokenHash: text("token_hash").primaryKey(),
		userId: text("user_id").notNull(),
		expiresAt: integer("expires_at", { mode: "timestamp_ms" }).notNull(),
		/** HMAC of the emailed 6-digit code, its expiry and the attempts spent on it. */
		emailCodeHash: text("email_code_hash"),
		emailCodeExpiresAt: integer("email_code_expires_at", { mode: "timestamp_ms" }),
		emailCodeAttempts: integer("email_code_attempts").notNull().default(0),
	},
	(t) => [index("mfa_challenges_expires").on(t.expiresAt)],
);

/** Recovery codes, HMAC-hashed, single use. */
export const recoveryCodes = sqliteTable(
	"recovery_codes",
	{
		codeHash: text("code_hash").primaryKey(),
		userId: text("user_id").notNull(),
		usedAt: integer("used_at", { mode: "timestamp_ms" }),
	},
	(t) => [index("recovery_codes_user").on(t.userId)],
);

/** Pending invitations; the emailed token is stored as SHA-256 only. One pending invitation per email and account. */
/**
 * WebAuthn credentials (passkeys and security keys). The public key is stored as a JWK for
 * WebCrypto; nothing here is secret, but the credential id is unique across users.
 */
export const passkeys = sqliteTable(
	"passkeys",
	{
		id: text("id").primaryKey(),
		userId: text("user_id").notNull(),
		/** The credential id, base64url. */
		credentialId: text("credential_id").notNull(),
		/** The public key as a JWK (JSON). */
		publicKey: text("public_key").notNull(),
		/** COSE algorithm: -7 (ES256), -257 (RS256) or -8 (Ed25519). */
		algorithm: integer("algorithm").notNull(),
		/** The last signature counter seen (0: the authenticator keeps none). */
		signCount: integer("sign_count").notNull().default(0),
		/** Flags from registration: may be backed up (BE), and is (BS, updated at each use). */
		backupEligible: integer("backup_eligible", { mode: "boolean" }).notNull(),
		backedUp: integer("backed_up", { mode: "boolean" }).notNull(),
		/** JSON array of the transports the browser reported (hints for later ceremonies). */
		transports: text("transports").notNull().default("[]"),
		name: text("name").notNull(),
		createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
		lastUsedAt: integer("last_used_at", { mode: "timestamp_ms" }),
	},
	(t) => [uniqueIndex("passkeys_credential").on(t.credentialId), index("passkeys_user").on(t.userId)],
);

/**
 * Single-use WebAuthn challenges (5 minutes), stored as SHA-256 hashes. `purpose` says which
 * ceremony may spend one: `register` (bound to the user), `sign_in` (anyone's passkey) or
 * `second_factor` (bound to the user and their pending login challenge).
 */
export const webauthnChallenges = sqliteTable(
	"webauthn_challenges",
	{
		challengeHash: text("challenge_hash").primaryKey(),
		purpose: text("purpose", { enum: ["register", "sign_in", "second_factor"] }).notNull(),
		userId: text("user_id"),
		/** The login challenge (its token hash) a `second_factor` challenge finishes. */
		loginChallengeHash: text("login_challenge_hash"),
		expiresAt: integer("expires_at", { mode: "timestamp_ms" }).notNull(),
	},
	(t) => [index("webauthn_challenges_expires").on(t.expiresAt)],
);

export const invitations = sqliteTable(
	"invitations",
	{
		id: text("id").primaryKey(),
		accountId: text("account_id").notNull(),
		email: text("email").notNull(),
		role: text("role", { enum: ["admin", "member", "readonly"] }).notNull(),
		tokenHash: text("token_hash").notNull(),
		invitedBy: text("invited_by").notNull(),
		createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
		expiresAt: integer("expires_at", { mode: "timestamp_ms" }).notNull(),
	},
	(t) => [
		uniqueIndex("invitations_account_email").on(t.accountId, t.email),
		uniqueIndex("invitations_token").on(t.tokenHash),
		index("invitations_expires").on(t.expiresAt),
	],
);

/**
 * API keys (API.md §5). The key itself is never stored: `keyHash` is its
 * HMAC-SHA256 under KEY_PEPPER, `start` its first 12 characters for display.
 * `lastUsedAt` is written back in batches by the account's Durable Object.
 */
export const apiKeys = sqliteTable(
	"api_keys",
	{
		id: text("id").primaryKey(),
		accountId: text("account_id").notNull(),
		name: text("name").notNull(),
		environment: text("environment", { enum: ["production", "staging", "development", "ci"] }).notNull(),
		scopes: text("scopes", { mode: "json" }).$type<string[]>().notNull(),
		keyHash: text("key_hash").notNull(),
		start: text("start").notNull(),
		/** The key's last 4 characters (of its checksum), so keys of one account can be told apart; null before 0010. */
		lastFour: text("last_four"),
		createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
		createdBy: text("created_by").notNull(),
		expiresAt: integer("expires_at", { mode: "timestamp_ms" }).notNull(),
		lastUsedAt: integer("last_used_at", { mode: "timestamp_ms" }),
		revokedAt: integer("revoked_at", { mode: "timestamp_ms" }),
		revokedReason: text("revoked_reason"),
		rotatedFrom: text("rotated_from"),
		rotatedTo: text("rotated_to"),
		ipAllowlist: text("ip_allowlist", { mode: "json" }).$type<string[]>().notNull(),
		rateLimit: integer("rate_limit").notNull(),
		rateLimitWindowSeconds: integer("rate_limit_window_seconds").notNull(),
		/** When the expiry sweep recorded `key.expired`; keeps the sweep idempotent. */
		expiryRecordedAt: integer("expiry_recorded_at", { mode: "timestamp_ms" }),
		/**
		 * Bumped by every lifecycle write (src/keys/lifecycle.ts), each conditional on the version it
		 * read; the account's Durable Object keeps the highest version it was told of, so a late push
		 * of an older record cannot undo a newer one.
		 */
		version: integer("version").notNull().default(0),
		/** The service account that owns the key (it acts with that account's role); null: its creator. */
		serviceAccountId: text("service_account_id"),
		/** The customer's id for the key (≤ 255 characters), returned by verify and listed by. */
		externalId: text("external_id"),
		/** The customer's JSON metadata (≤ 4 KB serialised), returned by verify. */
		meta: text("meta", { mode: "json" }).$type<JsonObject>(),
		/** Set while the key is disabled (verify answers DISABLED); cleared to enable it again. */
		disabledAt: integer("disabled_at", { mode: "timestamp_ms" }),
		/** Who disabled it: only they, or someone who may manage every key, enable it again. */
		disabledBy: text("disabled_by"),
		/** Credits as last set; the live balance is the account object's (src/durable/credit-store.ts). */
		credits: text("credits", { mode: "json" }).$type<CreditPlan>(),
		/** The named rate limits; null: one, `default`, of `rate_limit` per `rate_limit_window_seconds`. */
		rateLimits: text("rate_limits", { mode: "json" }).$type<NamedLimit[]>(),
		/**
		 * A successor made because its predecessor leaked (account setting `leakedKeyPolicy: "rotate"`): its
		 * secret, AES-GCM sealed to the key id, until a person reveals it once in the console or `revealUntil`.
		 */
		revealSealed: text("reveal_sealed"),
		revealUntil: integer("reveal_until", { mode: "timestamp_ms" }),
	},
	(t) => [
		uniqueIndex("api_keys_hash").on(t.keyHash),
		index("api_keys_account_external").on(t.accountId, t.externalId),
		index("api_keys_account_service").on(t.accountId, t.serviceAccountId),
		index("api_keys_account_created").on(t.accountId, t.createdAt, t.id),
		index("api_keys_account_creator").on(t.accountId, t.createdBy),
		index("api_keys_expires").on(t.expiresAt),
	],
);

/**
 * Service accounts: non-human members that own keys, so a key the product runs on outlives the
 * person who made it. Never an owner; never made above its creator's role.
 */
export const serviceAccounts = sqliteTable(
	"service_accounts",
	{
		id: text("id").primaryKey(),
		accountId: text("account_id").notNull(),
		name: text("name").notNull(),
		description: text("description").notNull().default(""),
		role: text("role", { enum: ["admin", "member", "readonly"] }).notNull(),
		createdBy: text("created_by").notNull(),
		createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
		/** Bumped by every change, each conditional on the version read. */
		version: integer("version").notNull().default(0),
	},
	(t) => [index("service_accounts_account").on(t.accountId)],
);

/**
 * Notices the sweeps have sent about a key (rotation reminders 14, 7 and 1 days
 * ahead, the inactivity warning). The primary key makes each one go out once.
 */
export const keyNotices = sqliteTable(
	"key_notices",
	{
		keyId: text("key_id").notNull(),
		kind: text("kind", { enum: ["expiry_14d", "expiry_7d", "expiry_1d", "inactivity_warning"] }).notNull(),
		accountId: text("account_id").notNull(),
		sentAt: integer("sent_at", { mode: "timestamp_ms" }).notNull(),
	},
	(t) => [primaryKey({ columns: [t.keyId, t.kind] })],
);

/**
 * Webhook endpoints (API.md §7). The signing secret must be read back to sign
 * deliveries, so it is stored as AES-GCM ciphertext bound to the webhook id.
 */
export const webhooks = sqliteTable(
	"webhooks",
	{
		id: text("id").primaryKey(),
		accountId: text("account_id").notNull(),
		url: text("url").notNull(),
		events: text("events", { mode: "json" }).$type<string[]>().notNull(),
		secretSealed: text("secret_sealed").notNull(),
		createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
		createdBy: text("created_by").notNull(),
		/** The secret before the last rotation, still signing (as a second `v1=`) until it expires. */
		previousSecretSealed: text("previous_secret_sealed"),
		previousSecretExpiresAt: integer("previous_secret_expires_at", { mode: "timestamp_ms" }),
		/** Set when the failure budget ran out (or a person paused it); no delivery is queued while set. */
		disabledAt: integer("disabled_at", { mode: "timestamp_ms" }),
		disabledReason: text("disabled_reason"),
		/** Deliveries that ended failed in a row, and when the first of them did: the failure budget. */
		consecutiveFailures: integer("consecutive_failures").notNull().default(0),
		failingSince: integer("failing_since", { mode: "timestamp_ms" }),
		/** Bumped by every change a person makes, so each is one conditional write on what was read. */
		version: integer("version").notNull().default(0),
	},
	(t) => [index("webhooks_account").on(t.accountId)],
);

/** One row per event sent to one webhook: what the account sees of its deliveries. */
export const webhookDeliveries = sqliteTable(
	"webhook_deliveries",
	{
		id: text("id").primaryKey(),
		webhookId: text("webhook_id").notNull(),
		accountId: text("account_id").notNull(),
		event: text("event").notNull(),
		status: text("status", { enum: ["pending", "delivered", "retrying", "failed"] }).notNull(),
		attempts: integer("attempts").notNull().default(0),
		/** The receiver's HTTP status of the last attempt, or null when it did not answer. */
		lastStatusCode: integer("last_status_code"),
		lastError: text("last_error"),
		createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
		updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
		/** The signed payload, kept so a person can redeliver it byte for byte; null on rows older than #24. */
		body: text("body"),
		/** The audit event it carries (or the test event's id). */
		eventId: text("event_id"),
		/** Set on a redelivery: the delivery it repeats. */
		redeliveryOf: text("redelivery_of"),
	},
	(t) => [index("webhook_deliveries_webhook").on(t.webhookId, t.createdAt)],
);

/**
 * Leaked-key reports received per UTC day (issue #24): the only trace a token
 * that is not a Keyward key leaves. Reports that name a real key are also in
 * that account's audit trail.
 */
export const secretScanningStats = sqliteTable("secret_scanning_stats", {
	day: text("day").primaryKey(),
	reports: integer("reports").notNull().default(0),
	truePositives: integer("true_positives").notNull().default(0),
	falsePositives: integer("false_positives").notNull().default(0),
});

/**
 * Log streams (issue #24): an account's audit archive copied, in order and at
 * least once, to the customer's SIEM or bucket. The destination's secret
 * (bearer token, HMAC secret, Splunk or Datadog token, S3 secret key) must be
 * read back to send, so it is stored as AES-GCM ciphertext bound to the
 * stream id. The cursor names the last archive object delivered; it moves
 * only after the destination accepted that object, in one conditional write
 * on the lease that sent it.
 */
export const logStreams = sqliteTable(
	"log_streams",
	{
		id: text("id").primaryKey(),
		accountId: text("account_id").notNull(),
		type: text("type", { enum: ["http", "splunk-hec", "datadog", "s3"] }).notNull(),
		/** Where batches go: the NDJSON or HEC URL, the Datadog intake, or the S3 endpoint. */
		url: text("url").notNull(),
		/** The destination's settings that are not secret (auth mode, bucket, region, prefix, index, key id). */
		config: text("config", { mode: "json" }).$type<Record<string, string>>().notNull(),
		secretSealed: text("secret_sealed"),
		createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
		createdBy: text("created_by").notNull(),
		disabledAt: integer("disabled_at", { mode: "timestamp_ms" }),
		disabledReason: text("disabled_reason"),
		/** The last archive object delivered: its seq, R2 key (listing resumes after it) and hash (the next must name it). */
		cursorSeq: integer("cursor_seq").notNull().default(0),
		cursorKey: text("cursor_key"),
		cursorHash: text("cursor_hash"),
		/** Objects sent and events in them, since creation. */
		deliveredObjects: integer("delivered_objects").notNull().default(0),
		deliveredEvents: integer("delivered_events").notNull().default(0),
		lastDeliveredAt: integer("last_delivered_at", { mode: "timestamp_ms" }),
		/** One pump at a time: whoever holds an unexpired lease sends; the cursor moves only under it. */
		leaseToken: text("lease_token"),
		leaseUntil: integer("lease_until", { mode: "timestamp_ms" }),
		/** Failed attempts in a row, since when, why the last failed, and when the next may start. */
		failures: integer("failures").notNull().default(0),
		failingSince: integer("failing_since", { mode: "timestamp_ms" }),
		lastError: text("last_error"),
		nextAttemptAt: integer("next_attempt_at", { mode: "timestamp_ms" }),
		version: integer("version").notNull().default(0),
	},
	(t) => [index("log_streams_account").on(t.accountId)],
);

/**
 * Each person's data key (issue #26): the AES-256-GCM key their personal fields in audit events
 * are sealed under, itself sealed under the PII_WRAPPING_KEY secret and bound to the user id.
 * Erasing the person clears `wrappedKey` and sets `erasedAt`: the row stays, so an event of theirs
 * still in flight is written as `[erased]` rather than under a fresh key.
 */
export const userDataKeys = sqliteTable("user_data_keys", {
	userId: text("user_id").primaryKey(),
	wrappedKey: text("wrapped_key"),
	createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
	erasedAt: integer("erased_at", { mode: "timestamp_ms" }),
});

/**
 * Erasures an operator asked for (`npm run privacy:erase -- --user <id>` or `--email <address>`): the cron runs each
 * through the same lifecycle as `DELETE /v1/me` and records how it ended.
 */
export const erasureRequests = sqliteTable("erasure_requests", {
	id: text("id").primaryKey(),
	/**
	 * The user to erase; for a request by address, empty until the cron runs it, then the user the
	 * address belonged to or the address's invitee subject (`eml_…`).
	 */
	userId: text("user_id").notNull(),
	/** A request by address (`--email`), held only until the cron runs it: then null. */
	email: text("email"),
	requestedAt: integer("requested_at", { mode: "timestamp_ms" }).notNull(),
	/** Who ran the script (the operator's login name, as the script found it). */
	requestedBy: text("requested_by").notNull(),
	doneAt: integer("done_at", { mode: "timestamp_ms" }),
	/** `erased`, `already-erased`, `no-such-user` or `refused: sole owner of …`. */
	outcome: text("outcome"),
});

/**
 * Email domains an account claims (issue #27): a domain is `verified` once a DNS TXT record at
 * `_keyward-challenge.<domain>` carried the row's challenge. A verified domain belongs to one
 * account at a time (the partial unique index); while it does, SCIM may provision its addresses
 * into that account, and only its addresses.
 */
export const accountDomains = sqliteTable(
	"account_domains",
	{
		id: text("id").primaryKey(),
		accountId: text("account_id").notNull(),
		/** Lowercase, no trailing dot. */
		domain: text("domain").notNull(),
		/** The random value the TXT record must carry (public by design: it proves control, not identity). */
		challenge: text("challenge").notNull(),
		createdBy: text("created_by").notNull(),
		createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
		verifiedAt: integer("verified_at", { mode: "timestamp_ms" }),
		lastCheckedAt: integer("last_checked_at", { mode: "timestamp_ms" }),
		/** A verified domain's record was first found missing at this re-check (src/sso/domain-recheck.ts). */
		recordMissingSince: integer("record_missing_since", { mode: "timestamp_ms" }),
	},
	(t) => [
		uniqueIndex("account_domains_account_domain").on(t.accountId, t.domain),
		uniqueIndex("account_domains_verified").on(t.domain).where(sql`verified_at IS NOT NULL`),
		index("account_domains_recheck").on(t.lastCheckedAt).where(sql`verified_at IS NOT NULL`),
	],
);

/**
 * People an account's identity provider manages through SCIM (issue #27), one row per account and
 * person. The row outlives a deactivation (`active` false, membership ended) so that a
 * reactivation restores the same person with the role they are to hold.
 */
export const scimUsers = sqliteTable(
	"scim_users",
	{
		accountId: text("account_id").notNull(),
		userId: text("user_id").notNull(),
		/** The email address the provider manages them by (lowercase). */
		userName: text("user_name").notNull(),
		externalId: text("external_id"),
		displayName: text("display_name"),
		givenName: text("given_name"),
		familyName: text("family_name"),
		active: integer("active", { mode: "boolean" }).notNull(),
		/** The role their `roles` attribute asks for; groups mapped to a role outrank it. */
		role: text("role", { enum: ["admin", "member", "readonly"] }).notNull(),
		createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
		updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
		version: integer("version").notNull().default(1),
	},
	(t) => [
		primaryKey({ columns: [t.accountId, t.userId] }),
		uniqueIndex("scim_users_account_user_name").on(t.accountId, t.userName),
	],
);

/** SCIM groups (issue #27): the account's `scimGroupRoles` setting maps a group's displayName to a role. */
export const scimGroups = sqliteTable(
	"scim_groups",
	{
		id: text("id").primaryKey(),
		accountId: text("account_id").notNull(),
		displayName: text("display_name").notNull(),
		externalId: text("external_id"),
		createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
		updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
		version: integer("version").notNull().default(1),
	},
	(t) => [uniqueIndex("scim_groups_account_name").on(t.accountId, t.displayName)],
);

export const scimGroupMembers = sqliteTable(
	"scim_group_members",
	{
		groupId: text("group_id").notNull(),
		accountId: text("account_id").notNull(),
		userId: text("user_id").notNull(),
	},
	(t) => [primaryKey({ columns: [t.groupId, t.userId] }), index("scim_group_members_user").on(t.accountId, t.userId)],
);

/** How an OIDC connection maps the ID token to a role on a first sign-in (never owner). */
export interface SsoRoleMapping {
	/** The ID token claim to read (a string or an array of strings), such as `groups`. */
	claim: string;
	/** Claim value to role; the highest matched role wins. */
	values: Record<string, "admin" | "member" | "readonly">;
	/** The role when nothing matches. */
	default: "admin" | "member" | "readonly";
}

/**
 * An account's OpenID Connect identity provider (issue #27), one per account. The client secret
 * must be read back to redeem codes, so it is AES-GCM ciphertext bound to the connection id.
 * The provider's endpoints come from its discovery document; its JWKS is cached here.
 */
export const ssoConnections = sqliteTable(
	"sso_connections",
	{
		id: text("id").primaryKey(),
		accountId: text("account_id").notNull(),
		issuer: text("issuer").notNull(),
		clientId: text("client_id").notNull(),
		clientSecretSealed: text("client_secret_sealed").notNull(),
		scopes: text("scopes", { mode: "json" }).$type<string[]>().notNull(),
		roleMapping: text("role_mapping", { mode: "json" }).$type<SsoRoleMapping | null>(),
		authorizationEndpoint: text("authorization_endpoint").notNull(),
		tokenEndpoint: text("token_endpoint").notNull(),
		jwksUri: text("jwks_uri").notNull(),
		/** `client_secret_basic` or `client_secret_post`, from the discovery document. */
		tokenAuthMethod: text("token_auth_method").notNull(),
		jwks: text("jwks").notNull(),
		jwksFetchedAt: integer("jwks_fetched_at", { mode: "timestamp_ms" }).notNull(),
		createdBy: text("created_by").notNull(),
		createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
		updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
		version: integer("version").notNull().default(1),
		/**
		 * `oidc` or `saml`. A SAML connection keeps the provider's entity id in `issuer`, its
		 * single sign-on URL in `authorizationEndpoint` and its pinned signing certificate (PEM)
		 * in `samlCertificate`; the OIDC-only columns hold empty values.
		 */
		protocol: text("protocol").$type<"oidc" | "saml">().notNull().default("oidc"),
		samlCertificate: text("saml_certificate"),
	},
	(t) => [uniqueIndex("sso_connections_account").on(t.accountId)],
);

/**
 * A sign-in through a connection, from `…/sso/start` to its callback (ten minutes at most, used
 * once). Keyed by the SHA-256 of `state`; the browser that started it holds a cookie whose hash is
 * `browserHash`, so a callback URL pasted into another browser signs nobody in (login CSRF). The
 * PKCE verifier is sealed, bound to the row.
 */
export const ssoAttempts = sqliteTable(
	"sso_attempts",
	{
		stateHash: text("state_hash").primaryKey(),
		accountId: text("account_id").notNull(),
		connectionId: text("connection_id").notNull(),
		nonce: text("nonce").notNull(),
		verifierSealed: text("verifier_sealed").notNull(),
		browserHash: text("browser_hash").notNull(),
		expiresAt: integer("expires_at", { mode: "timestamp_ms" }).notNull(),
		/** Set for a proof of identity (`POST /v1/me/reauthenticate/sso`): whose, and the session it replaces. */
		reauthUserId: text("reauth_user_id"),
		reauthSessionId: text("reauth_session_id"),
		/** Where the console continues afterwards: a console path. */
		returnTo: text("return_to"),
	},
	(t) => [index("sso_attempts_expiry").on(t.expiresAt)],
);
