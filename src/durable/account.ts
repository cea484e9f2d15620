import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";

/**
 * One instance per account (addressed by `idFromName(accountId)`), SQLite-backed.
 * It is the single place where per-account state that must be consistent
 * everywhere at once lives: sliding-window rate limits, session and key
 * revocation, and the head of the account's audit hash chain. Later capabilities
 * add their state here as tables in `ctx.storage.sql`.
 */
export class AccountDurableObject extends DurableObject<Env> {
	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		ctx.blockConcurrencyWhile(async () => {
			this.ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
		});
	}

	/** The schema version this instance runs; a cheap round trip for health checks and tests. */
	schemaVersion(): number {
		return 1;
	}
}
