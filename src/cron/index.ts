import type { Env } from "../env";

/** The cron trigger's entry. Sweeps register here as they are built (issue #7 and the audit fallback). */
export async function runScheduled(controller: ScheduledController, _env: Env, _ctx: ExecutionContext): Promise<void> {
	console.log(JSON.stringify({ level: "info", msg: "scheduled run", cron: controller.cron, sweeps: [] }));
}
