import { pruneAuditIndex, resendAuditOutbox } from "../audit/maintenance";
import { createDatabase } from "../db";
import { expireKeys, refillCredits, sendRotationReminders, sweepInactiveKeys, warnInactiveKeys } from "../keys/sweeps";
import { createMailer, type Mailer } from "../mail";
import { type Clock, systemClock } from "../platform/clock";
import type { Env } from "../platform/env";
import { runOperatorErasures } from "../privacy/operator-erasures";
import { recheckDomains } from "../sso/domain-recheck";
import { pokeAllLogStreams } from "../streams/poke";
import { purgeExpired } from "./purge";
import { DEFAULT_BUDGET, DEFAULT_NOTICE_BUDGET, type SweepBudget } from "./sweep-budget";

export interface ScheduledOptions {
	clock?: Clock;
	mailer?: Mailer;
	budget?: SweepBudget;
	noticeBudget?: SweepBudget;
	/** The outside world's fetch (the DNS-over-HTTPS resolver of the domain re-checks). */
	fetch?: typeof fetch;
}

/**
 * The cron trigger's entry (API.md §8). Each sweep is idempotent and bounded;
 * one that fails is logged and does not stop the others, and the next run
 * finishes it. The audit outbox goes last, so the events the sweeps wrote
 * there leave in the same run.
 */
export async function runScheduled(
	controller: ScheduledController,
	env: Env,
	_ctx: ExecutionContext,
	options: ScheduledOptions = {},
): Promise<Record<string, unknown>> {
	const clock = options.clock ?? systemClock;
	const db = createDatabase(env.DB);
	const deps = {
		env,
		db,
		clock,
		mailer: options.mailer ?? createMailer(env, db, clock),
		budget: options.budget ?? DEFAULT_BUDGET,
		noticeBudget: options.noticeBudget ?? DEFAULT_NOTICE_BUDGET,
	};
	const sweeps: Record<string, () => Promise<unknown>> = {
		expiredKeys: () => expireKeys(deps),
		rotationReminders: () => sendRotationReminders(deps),
		inactivityWarnings: () => warnInactiveKeys(deps),
		inactiveKeys: () => sweepInactiveKeys(deps),
		creditRefills: () => refillCredits(deps),
		purge: () => purgeExpired(db, clock.now()),
		erasures: () => runOperatorErasures(deps),
		auditIndexRetention: () => pruneAuditIndex(db, clock.now()),
		logStreams: () => pokeAllLogStreams(db, env.WEBHOOK_QUEUE),
		domainRechecks: () => recheckDomains({ ...deps, fetch: options.fetch ?? ((input, init) => fetch(input, init)) }),
		auditOutbox: () => resendAuditOutbox(db, env.AUDIT_QUEUE),
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
