/**
 * The credit balances of one account's keys, inside that account's Durable
 * Object: in memory, and in its SQLite storage with a reserve taken off
 * (src/security/credits.ts), so a use rarely waits for a write and a crash can
 * only lose unspent credits, never spend one twice. Every check and spend
 * happens inside the object's single-threaded verify, with no await between
 * them, so a burst of parallel verifies can never spend more than is left.
 */
import { balanceFrom, type CreditBalance, type CreditPlan, creditReserveFor, refillDue } from "../security/credits";

interface LiveBalance {
	balance: CreditBalance;
	/** Credits spent since the last write. */
	unwritten: number;
	/** What the last write took off in advance. */
	reserve: number;
}

interface StoredBalance extends CreditBalance {
	/** Taken off `remaining` already when written: what may have been spent since without a write. */
	reserve: number;
}

export class CreditStore {
	readonly #live = new Map<string, LiveBalance>();

	constructor(private readonly sql: SqlStorage) {
		sql.exec("CREATE TABLE IF NOT EXISTS key_credits (id TEXT PRIMARY KEY, state TEXT NOT NULL)");
	}

	/** The key's balance now: read back on first use, replaced when the plan is newer, refilled when due. */
	balance(pool: string, plan: CreditPlan, now: number): CreditBalance {
		const live = this.#get(pool, plan);
		if (refillDue(live.balance, plan, now)) this.#write(pool, live, creditReserveFor(live.balance.remaining));
		return live.balance;
	}

	/** Spends `cost` from a balance `balance()` just said covers it; writes first when past the reserve. */
	spend(id: string, plan: CreditPlan, cost: number): void {
		const live = this.#get(id, plan);
		live.balance.remaining -= cost;
		live.unwritten += cost;
		if (live.unwritten > live.reserve) this.#write(id, live, creditReserveFor(live.balance.remaining));
	}

	/** Writes every balance exactly (no reserve); the alarm calls it, like the windows' settle. */
	settle(): void {
		for (const [id, live] of this.#live) if (live.unwritten > 0 || live.reserve > 0) this.#write(id, live, 0);
	}

	/** Drops balances from memory (a rolled-back write): they are read back from storage, reserve spent. */
	forget(ids: readonly string[]): void {
		for (const id of ids) this.#live.delete(id);
	}

	/** A plan newer than the balance held replaces it at once (a PATCH of `credits` sets the balance). */
	planChanged(id: string, plan: CreditPlan | null | undefined): void {
		if (!plan) return;
		const live = this.#get(id, plan);
		if (live.balance.version < plan.version) this.#replace(id, plan);
	}

	get size(): number {
		return this.#live.size;
	}

	#get(id: string, plan: CreditPlan): LiveBalance {
		const live = this.#live.get(id);
		if (live && live.balance.version >= plan.version) return live;
		if (!live) {
			const stored = this.sql.exec<{ state: string }>("SELECT state FROM key_credits WHERE id = ?", id).toArray()[0];
			const parsed = stored ? (JSON.parse(stored.state) as StoredBalance) : null;
			if (parsed && parsed.version >= plan.version) {
				// The stored reserve may have been spent before a crash: it stays taken off.
				const restored = {
					balance: { remaining: parsed.remaining, version: parsed.version, refilledAt: parsed.refilledAt },
					unwritten: 0,
					reserve: 0,
				};
				this.#live.set(id, restored);
				return restored;
			}
		}
		return this.#replace(id, plan);
	}

	#replace(id: string, plan: CreditPlan): LiveBalance {
		const live = { balance: balanceFrom(plan), unwritten: 0, reserve: 0 };
		this.#live.set(id, live);
		this.#write(id, live, creditReserveFor(live.balance.remaining));
		return live;
	}

	#write(id: string, live: LiveBalance, reserve: number): void {
		const held = Math.min(reserve, live.balance.remaining);
		const stored: StoredBalance = { ...live.balance, remaining: live.balance.remaining - held, reserve: held };
		this.sql.exec(
			"INSERT INTO key_credits (id, state) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET state = excluded.state",
			id,
			JSON.stringify(stored),
		);
		live.unwritten = 0;
		live.reserve = held;
	}
}
