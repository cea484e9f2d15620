/**
 * One object per account: its API keys as verify needs them, their rate-limit
 * windows and usage, and the account's failed-login windows. Every verify of
 * the account's keys is answered here, and every lifecycle write pushes the
 * new record here first (src/keys/lifecycle.ts), so a revocation is seen on
 * the next verify in every location.
 *
 * Deployed as `AccountDurableObject` (its name before the roles were split;
 * wrangler.toml): keeping the name keeps the accounts' stored keys and windows
 * where they are. The instances the single-class layout kept for other roles
 * (`user:`, `login-…`, `quota:`, `audit:` names) still live in this namespace:
 * `audit:` ones keep the chain heads AuditArchive takes over (`legacyChain`),
 * the others drop their tables when their last alarm fires.
 */
import { DurableObject } from "cloudflare:workers";
import { createDatabase } from "../db";
import { ArchiveChain, type ChainState } from "./archive-store";
import { type KeyRecord, KeyStore } from "./key-store";
import { type FailedLoginVerdict, FailedLoginWindows } from "./login-alert-store";

export interface AccountGuardEnv {
	DB: D1Database;
}

const LAST_USED_FLUSH_MS = 30_000;
/** Tables of the single-class layout that no role here reads any more. */
const LEGACY_TABLES = ["sessions", "seen_sign_ins", "failure_streak", "failure_window", "known_devices"];

export class AccountGuard extends DurableObject<AccountGuardEnv> {
	readonly keys: KeyStore;
	readonly #failedLogins: FailedLoginWindows;
	#flushScheduled = false;

	constructor(ctx: DurableObjectState, env: AccountGuardEnv) {
		super(ctx, env);
		this.keys = new KeyStore(ctx.storage.sql, () => createDatabase(env.DB));
		this.#failedLogins = new FailedLoginWindows(ctx.storage.sql);
	}

	// ---- API keys

	/** Called by every management write right after D1, so verify never serves a stale key. */
	upsertKey(record: KeyRecord): void {
		this.keys.upsert(record);
	}

	/** Many at once (a lockdown or offboarding revokes every key in one call, not one call per key). */
	upsertKeys(records: KeyRecord[]): void {
		try {
			this.ctx.storage.transactionSync(() => {
				for (const record of records) this.keys.upsert(record);
			});
		} catch (err) {
			this.keys.windows.forget(records.map((r) => r.id));
			throw err;
		}
	}

	/** `accountId` is the one the key names (checked against the stored record); its set is this object's. */
	async verifyKey(accountId: string, hash: string, requiredScopes: string[], ip: string | null, now: number) {
		const outcome = await this.keys.verify(accountId, hash, requiredScopes, ip, now);
		// The flag spares a storage read per verify; after eviction the first VALID asks storage once.
		if (this.keys.hasPending && !this.#flushScheduled) {
			const current = await this.ctx.storage.getAlarm();
			const at = Date.now() + LAST_USED_FLUSH_MS;
			if (current === null || current > at) await this.ctx.storage.setAlarm(at);
			this.#flushScheduled = true;
		}
		return outcome;
	}

	keyUsage(id: string, now: number) {
		return this.keys.usage(id, now);
	}

	/** In-memory sizes and stored rows, for the load run's bounded-memory check (development route only). */
	memoryStats() {
		const sql = this.ctx.storage.sql;
		const rows = (table: string) => sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`).one().n;
		return {
			...this.keys.memory,
			storedKeys: rows("keys"),
			storedWindows: rows("key_windows"),
			d1Loads: this.keys.d1Loads,
			keySetComplete: this.keys.complete,
		};
	}

	// ---- failed-login spikes

	noteFailedLogin(now: number, threshold: number, windowMs: number): FailedLoginVerdict {
		return this.#failedLogins.note(now, threshold, windowMs);
	}

	failedLoginSpikes(since: number) {
		return this.#failedLogins.spikes(since);
	}

	// ---- the single-class layout's audit chains

	/**
	 * The chain an `audit:` instance of the single-class layout held for `stream` (null when it
	 * held none). Read only: AuditArchive takes it over once and never asks again, and nothing
	 * appends here any more, so the chain cannot continue in two places.
	 */
	legacyChain(stream: string, now: number): ChainState | null {
		const sql = this.ctx.storage.sql;
		const held = sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'chain_head'").toArray();
		return held.length > 0 ? new ArchiveChain(sql).export(stream, now) : null;
	}

	/** Writes rate-limit windows exactly and last-use times back to D1 in batches (never per request). */
	override async alarm(): Promise<void> {
		this.#flushScheduled = false;
		this.keys.windows.settle();
		await this.keys.flushLastUsed();
		for (const table of LEGACY_TABLES) this.ctx.storage.sql.exec(`DROP TABLE IF EXISTS ${table}`);
		if (this.keys.hasUnflushed() || this.keys.hasPending) {
			await this.ctx.storage.setAlarm(Date.now() + LAST_USED_FLUSH_MS);
			this.#flushScheduled = true;
		}
	}
}
