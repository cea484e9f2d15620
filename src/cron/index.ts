import { pruneAuditIndex, resendAuditOutbox } from "../audit/maintenance";
import { type Clock, systemClock } from "../clock";
import { createDatabase } from "../db";
import type { Env } from "../env";

/**
 * The cron trigger's entry. Each sweep is idempotent and bounded; one that
 * fails is logged and does not stop the others, and the next run finishes it.
 */
export async function runScheduled(
	controller: ScheduledController,
	env: Env,
	_ctx: ExecutionContext,
	clock: Clock = systemClock,
): Promise<Record<string, unknown>> {
	const db = createDatabase(env.DB);
	const sweeps: Record<string, () => Promise<unknown>> = {
		auditOutbox: () => resendAuditOutbox(db, env.AUDIT_QUEUE),
		auditIndexRetention: () => pruneAuditIndex(db, clock.now()),
	};
	const results: Record<string, unknown> = {};
	for (const [name, sweep] of Object.entries(sweeps)) {
		try {
			results[name] = await sweep();
		} catch (err) {
			results[name] = { failed: err instanceof Error ? err.name : typeof err };
		}
	}
	console.log(JSON.stringify({ level: "info", msg: "scheduled run", cron: controller.cron, results }));
	return results;
}
