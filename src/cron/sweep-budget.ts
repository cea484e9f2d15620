/**
 * How much one cron run may do per sweep. A run has bounded CPU time and
 * subrequests, so each sweep takes at most `batches` batches of `batchSize`
 * rows and leaves the rest for the next run; every sweep selects only rows
 * it has not handled yet, so the next run picks up exactly where a finished
 * or crashed one stopped. Within a batch, accounts take turns (`fairly`).
 */
import { type SQL, sql } from "drizzle-orm";
import type { AnySQLiteColumn } from "drizzle-orm/sqlite-core";
export interface SweepBudget {
	batchSize: number;
	batches: number;
}

export const DEFAULT_BUDGET: SweepBudget = { batchSize: 50, batches: 10 };
/** About 20 notices per kind per run: each costs ~3 D1 queries, a queue send and an email per recipient. */
export const DEFAULT_NOTICE_BUDGET: SweepBudget = { batchSize: 20, batches: 1 };

/**
 * Runs `step` (which handles one batch and returns how many rows it handled)
 * until a batch comes back short or the budget is spent. Returns the rows
 * handled and whether work may remain for the next run.
 */
export async function sweepInBatches(
	budget: SweepBudget,
	step: (limit: number) => Promise<number>,
): Promise<{ handled: number; remaining: boolean }> {
	let handled = 0;
	for (let i = 0; i < budget.batches; i++) {
		const n = await step(budget.batchSize);
		handled += n;
		if (n < budget.batchSize) return { handled, remaining: false };
	}
	return { handled, remaining: true };
}

/**
 * The order every sweep takes its rows in: round-robin across accounts, oldest due first (each
 * account's most overdue row, then each account's second, …). One account with many due keys
 * cannot take a run's whole budget and delay another account's reminders, and a row's turn
 * depends only on what is due, not on the order rows happen to be stored in.
 */
export const fairly = (accountId: AnySQLiteColumn, due: SQL | AnySQLiteColumn, id: AnySQLiteColumn) =>
	[sql`row_number() over (partition by ${accountId} order by ${due}, ${id})`, due, id] as const;
