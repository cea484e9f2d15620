import type { AccountGuard } from "../durable/account-guard";
import type { AuditArchive } from "../durable/audit-archive";
import type { LoginThrottle } from "../durable/login-throttle";
import type { RegionalGuard } from "../durable/regional-guard";
import type { UserSessions } from "../durable/user-sessions";

/** The Worker's bindings, as declared in wrangler.toml and .dev.vars. */
export interface Env {
	ENVIRONMENT: "development" | "staging" | "production";
	/** Comma-separated exact origins allowed to call the API from a browser. */
	CORS_ORIGINS: string;
	/** `outbox` (development: stored, readable at /v1/dev/outbox) or `http`. */
	MAIL_TRANSPORT: "outbox" | "http";
	MAIL_FROM: string;
	MAIL_API_URL: string;
	MAIL_API_TOKEN?: string;
	PASSWORD_MIN_LENGTH: string;
	/** Breached-password range API (default: the public one outside development; `off` disables). */
	BREACHED_PASSWORDS_URL?: string;
	BREACHED_PASSWORDS_TIMEOUT_MS?: string;
	/** `accept` (default: log and audit the skipped check) or `refuse` (503) when the range API cannot answer. */
	BREACHED_PASSWORDS_ON_ERROR?: string;
	/** How long a proof of identity counts for sensitive actions (seconds; default 600). */
	REAUTH_WINDOW_SECONDS?: string;
	/** Live keys one account may hold (default 10,000): bounds what one tenant makes sweeps and lockdown walk. */
	MAX_KEYS_PER_ACCOUNT?: string;
	/** How long (ms, 0–1000, default 1000) a request's audit events wait to share one queue send with others'. */
	AUDIT_COALESCE_MS?: string;
	/** How long (ms, 0–600000, default 1000) verify's audit events wait in the account's object to be sent together. */
	AUDIT_OBJECT_FLUSH_MS?: string;
	/** Fraction (0–1, default 0) of successful requests that also get Keyward's own log line; errors and refusals always do. */
	REQUEST_LOG_SAMPLE?: string;
	/** Where links in emails lead (default: this Worker's own /console). */
	CONSOLE_URL?: string;
	/** The WebAuthn relying party id: the console's registrable domain (development: `localhost`). */
	WEBAUTHN_RP_ID?: string;
	/** Comma-separated exact origins passkey ceremonies may come from (development: the CORS_ORIGINS on the rpId). */
	WEBAUTHN_ORIGINS?: string;
	/**
	 * GitHub's secret-scanning public keys, as the JSON GitHub publishes (`{"public_keys": [...]}`): set it to
	 * pin them; left unset, they are fetched from GITHUB_SECRET_SCANNING_KEYS_URL (default GitHub's) and cached.
	 */
	GITHUB_SECRET_SCANNING_KEYS?: string;
	GITHUB_SECRET_SCANNING_KEYS_URL?: string;
	/**
	 * Development only, ignored elsewhere: `name=http://127.0.0.1:port,…` sends webhook deliveries and
	 * log-stream batches addressed to `name` to a local server instead (the bench's receiver). The
	 * SSRF guard still checks the URL as the customer gave it; loopback is never accepted there.
	 */
	DEV_OUTBOUND_ALIASES?: string;
	/**
	 * The DNS-over-HTTPS resolver (JSON API) that checks domain verification records (issue #27):
	 * default Cloudflare's. Must be https, except in development.
	 */
	DOH_RESOLVER_URL?: string;
	/**
	 * Development only, ignored elsewhere: comma-separated Durable Objects location hints whose guards
	 * answer verifies in turn for accounts with `verifyPlacement: regional`, instead of the region of
	 * `request.cf` (docs/GLOBAL.md).
	 */
	DEV_VERIFY_REGIONS?: string;
	KEY_PEPPER?: string;
	TOTP_ENCRYPTION_KEY?: string;
	/** Base64, 32 bytes: seals each person's audit data key (issue #26, src/privacy/data-keys.ts). */
	PII_WRAPPING_KEY?: string;

	DB: D1Database;
	/** One object per role (src/durable/address.ts names the instances). */
	ACCOUNT_GUARD: DurableObjectNamespace<AccountGuard>;
	/** An account's guard per region, when its placement is `regional` (docs/GLOBAL.md). */
	REGIONAL_GUARD: DurableObjectNamespace<RegionalGuard>;
	USER_SESSIONS: DurableObjectNamespace<UserSessions>;
	LOGIN_THROTTLE: DurableObjectNamespace<LoginThrottle>;
	AUDIT_CHAIN: DurableObjectNamespace<AuditArchive>;
	AUDIT_QUEUE: Queue;
	WEBHOOK_QUEUE: Queue;
	AUDIT_ARCHIVE: R2Bucket;
}

export const isDevelopment = (env: Pick<Env, "ENVIRONMENT">): boolean => env.ENVIRONMENT === "development";
