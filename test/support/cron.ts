import { createExecutionContext, createScheduledController, env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import type { AuditEvent } from "../../src/audit/event";
import { runScheduled } from "../../src/cron";
import type { SweepBudget } from "../../src/cron/sweep-budget";
import { createDatabase } from "../../src/db";
import { apiKeys } from "../../src/db/schema";
import type { Email, Mailer } from "../../src/mail";
import type { Clock } from "../../src/platform/clock";
import type { Env } from "../../src/platform/env";
import { observedQueue } from "./audit";
import { seedKey } from "./seed";

export const DAY = 86_400_000;
export const db = createDatabase(env.DB);

/** The outside world of a cron run: mail captured, webhook jobs captured (not sent anywhere). */
export function cronHarness(clock: Clock) {
	const mail: Email[] = [];
	/** Set to make both alert channels fail (mail provider and webhook queue down). */
	const outage = { on: false };
	const mailer: Mailer = {
		send: async (email) => {
			if (outage.on) throw new Error("mail provider down (injected)");
			mail.push(email);
		},
	};
	const audit = observedQueue();
	const webhookJobs: unknown[] = [];
	const webhookQueue = {
		sendBatch: async (messages: Iterable<MessageSendRequest>) => {
			if (outage.on) throw new Error("queue down (injected)");
			webhookJobs.push(...[...messages].map((m) => m.body));
		},
	} as unknown as Queue;
	return {
		mail,
		outage,
		audit,
		webhookJobs,
		run: (options: { budget?: SweepBudget; env?: Partial<Env>; fetch?: typeof fetch } = {}) =>
			runScheduled(
				createScheduledController({ cron: "*/15 * * * *", scheduledTime: clock.now() }),
				{ ...env, AUDIT_QUEUE: audit.queue, WEBHOOK_QUEUE: webhookQueue, ...options.env },
				createExecutionContext(),
				{ clock, mailer, budget: options.budget, noticeBudget: options.budget, fetch: options.fetch },
			),
		/** The audit events of one action sent so far, by target key. */
		events: (action: string) =>
			audit.sent.filter((e: AuditEvent) => e.action === action).map((e: AuditEvent) => e.target?.id),
	};
}

/** A key with chosen lifetime and last use, through the same seeding as the account tests. */
export async function keyWith(
	accountId: string,
	createdBy: string,
	now: Date,
	options: { expiresAt?: Date; lastUsedAt?: Date | null; createdAt?: Date } = {},
) {
	const key = await seedKey(accountId, createdBy, ["data:read"], options.createdAt ?? now);
	await db
		.update(apiKeys)
		.set({
			...(options.expiresAt ? { expiresAt: options.expiresAt } : {}),
			...(options.lastUsedAt !== undefined ? { lastUsedAt: options.lastUsedAt } : {}),
		})
		.where(eq(apiKeys.id, key.id));
	return key;
}
