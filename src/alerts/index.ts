/**
 * Alerts (API.md §7): something an account's owner and admins must hear about
 * at once. Each alert is three things: an audit event (the record), a webhook
 * delivery to every endpoint subscribed to it (the machine channel) and an
 * email to the owner and admins (the human channel). Delivery failures are
 * logged and never undo or fail the action that raised the alert.
 */
import { and, eq, inArray, or } from "drizzle-orm";
import type { AuditRecordInput } from "../audit/emitter";
import type { Database } from "../db";
import { memberships, users } from "../db/schema";
import type { Mailer } from "../mail";
import type { Clock } from "../platform/clock";
import type { Env } from "../platform/env";
import { queueWebhookEvent, type WebhookEvent } from "../webhooks/dispatch";

export interface AlertDeps {
	env: Pick<Env, "WEBHOOK_QUEUE">;
	db: Database;
	clock: Clock;
	mailer: Mailer;
	/** Where the alert's audit event goes: the request's audit log, or the cron run's. */
	record: (input: AuditRecordInput) => unknown;
	log?: (line: string) => void;
}

export interface Alert {
	accountId: string;
	type: WebhookEvent;
	subject: string;
	/** Plain text for the email; never a secret (the same rule as audit metadata). */
	text: string;
	/** The webhook payload's `data` and the audit event's metadata. */
	data: Record<string, unknown>;
	target?: { type: string; id: string } | null;
	/** Users to email besides the owner and admins (the creator of an expiring key, say). */
	alsoNotify?: string[];
}

/** Email addresses of the account's owner and admins, plus the given users if they are still members. */
async function recipients(db: Database, accountId: string, alsoNotify: string[]): Promise<string[]> {
	const rows = await db
		.select({ email: users.email })
		.from(memberships)
		.innerJoin(users, eq(users.id, memberships.userId))
		.where(
			and(
				eq(memberships.accountId, accountId),
				or(
					inArray(memberships.role, ["owner", "admin"]),
					alsoNotify.length ? inArray(memberships.userId, alsoNotify) : undefined,
				),
			),
		);
	return [...new Set(rows.map((r) => r.email))];
}

/** The alert's audit event. */
export const alertAuditInput = (alert: Alert): AuditRecordInput => ({
	action: alert.type,
	accountId: alert.accountId,
	target: alert.target ?? null,
	metadata: alert.data,
});

export async function raiseAlert(deps: AlertDeps, alert: Alert): Promise<void> {
	deps.record(alertAuditInput(alert));
	await deliverAlert(deps, alert);
}

/**
 * The webhook and email channels only; for callers that wrote the audit event
 * themselves (the sweeps, atomically). True when at least one channel took it.
 */
export async function deliverAlert(deps: Omit<AlertDeps, "record">, alert: Alert): Promise<boolean> {
	const log = deps.log ?? ((line: string) => console.error(line));
	const failed = (channel: string, reason: unknown) => {
		const error = reason instanceof Error ? reason.name : "unknown";
		log(JSON.stringify({ level: "error", msg: "alert delivery failed", alert: alert.type, channel, error }));
	};
	// Counted per message, so "nothing to send" (no subscribed webhook, no recipient) is not a failure.
	let attempted = 0;
	let sent = 0;
	const webhooks = queueWebhookEvent(deps, alert.accountId, alert.type, alert.data).then(
		(n) => {
			attempted += n;
			sent += n;
		},
		(reason) => {
			attempted++;
			failed("webhook", reason);
		},
	);
	const emails = recipients(deps.db, alert.accountId, alert.alsoNotify ?? []).then(
		(addresses) =>
			Promise.all(
				addresses.map((to) => {
					attempted++;
					return deps.mailer.send({ to, subject: alert.subject, text: alert.text }).then(
						() => void sent++,
						(reason) => failed("email", reason),
					);
				}),
			),
		(reason) => {
			attempted++;
			failed("email", reason);
		},
	);
	await Promise.all([webhooks, emails]);
	return attempted === 0 || sent > 0;
}
