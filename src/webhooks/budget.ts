/**
 * The failure budget of a webhook endpoint (issue #24). A receiver that keeps
 * failing costs a queue message and a D1 write per attempt, for every event,
 * forever; past the budget it is disabled, its owner is emailed and the trail
 * records `webhook.disabled`.
 *
 * The budget: `FAILURE_BUDGET.deliveries` deliveries in a row ended failed
 * (each after its whole retry schedule, about two hours) and the first of them
 * ended at least `FAILURE_BUDGET.hours` ago. One success resets it. Test
 * deliveries do not count either way.
 *
 * Counting and disabling are statements in the batch that records the
 * delivery's outcome; the disable is conditional on the endpoint being
 * enabled, so two consumers finishing at once disable it once.
 */
import { and, eq, gt, gte, isNull, lte, sql } from "drizzle-orm";
import { systemEvent } from "../audit/emitter";
import type { AuditEvent } from "../audit/event";
import type { Database } from "../db";
import { auditOutbox, memberships, users, webhooks } from "../db/schema";
import type { Mailer } from "../mail";

export const FAILURE_BUDGET = { deliveries: 10, hours: 24 } as const;

export const DISABLED_BY_BUDGET = `${FAILURE_BUDGET.deliveries} deliveries in a row failed over at least ${FAILURE_BUDGET.hours} hours`;

/** A delivery succeeded: the endpoint's budget is whole again (a write only when it was spent). */
export const restoreBudget = (db: Database, webhookId: string) =>
	db
		.update(webhooks)
		.set({ consecutiveFailures: 0, failingSince: null })
		.where(and(eq(webhooks.id, webhookId), gt(webhooks.consecutiveFailures, 0)));

/** A delivery ended failed: count it, then disable the endpoint if that spent the budget (returning it). */
export function spendBudget(db: Database, webhookId: string, now: Date) {
	const spentBefore = new Date(now.getTime() - FAILURE_BUDGET.hours * 3_600_000);
	const count = db
		.update(webhooks)
		.set({
			consecutiveFailures: sql`${webhooks.consecutiveFailures} + 1`,
			failingSince: sql`COALESCE(${webhooks.failingSince}, ${now.getTime()})`,
		})
		.where(eq(webhooks.id, webhookId));
	const disable = db
		.update(webhooks)
		.set({ disabledAt: now, disabledReason: DISABLED_BY_BUDGET })
		.where(
			and(
				eq(webhooks.id, webhookId),
				isNull(webhooks.disabledAt),
				gte(webhooks.consecutiveFailures, FAILURE_BUDGET.deliveries),
				lte(webhooks.failingSince, spentBefore),
			),
		)
		.returning({ id: webhooks.id });
	return { count, disable };
}

/** The audit event of a disable; its id is derived from the endpoint and the instant, so a repeat records it once. */
export const disabledEvent = (hook: { id: string; accountId: string }, now: Date) =>
	systemEvent(
		{
			action: "webhook.disabled",
			accountId: hook.accountId,
			target: { type: "webhook", id: hook.id },
			metadata: { reason: DISABLED_BY_BUDGET },
		},
		now,
		`webhook.disabled:${hook.id}:${now.getTime()}`,
	);

/** Puts the event in the audit outbox only if this batch disabled the endpoint (its `disabledAt` is this instant). */
export const recordDisabled = (db: Database, event: AuditEvent, webhookId: string, now: Date) =>
	db
		.insert(auditOutbox)
		.select(
			db
				.select({
					id: sql<string>`${event.id}`.as("id"),
					body: sql<string>`${JSON.stringify(event)}`.as("body"),
					createdAt: sql<Date>`${now.getTime()}`.as("created_at"),
				})
				.from(webhooks)
				.where(and(eq(webhooks.id, webhookId), eq(webhooks.disabledAt, now))),
		)
		.onConflictDoNothing();

/** Tells the account's owner, by email, that an endpoint was disabled and how to turn it back on. */
export async function emailOwnerOfDisabled(
	deps: { db: Database; mailer: Mailer },
	hook: { id: string; accountId: string; url: string },
): Promise<void> {
	const owners = await deps.db
		.select({ email: users.email })
		.from(memberships)
		.innerJoin(users, eq(users.id, memberships.userId))
		.where(and(eq(memberships.accountId, hook.accountId), eq(memberships.role, "owner")));
	const host = new URL(hook.url).host;
	await Promise.all(
		owners.map(({ email }) =>
			deps.mailer.send({
				to: email,
				subject: "Keyward: a webhook endpoint was disabled",
				text:
					`The webhook ${hook.id} (${host}) of account ${hook.accountId} was disabled: ${DISABLED_BY_BUDGET}. ` +
					"No events are sent to it until an owner or admin enables it again " +
					`(PATCH /v1/accounts/${hook.accountId}/webhooks/${hook.id} with {"enabled": true}).`,
			}),
		),
	);
}
