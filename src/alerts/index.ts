/**
 * Alerts (API.md §7): something an account's owner and admins must hear about
 * at once. Each alert is an audit event (the record) and an email to the owner
 * and admins (the human channel). Webhooks are not a channel of their own:
 * the audit consumer delivers every archived event, alerts included, to the
 * endpoints subscribed to it (`webhooks/dispatch.ts`), so an alert reaches a
 * receiver exactly when the trail holds it. Delivery failures are logged and
 * never undo or fail the action that raised the alert.
 */
import { and, eq, inArray, or } from "drizzle-orm";
import type { AuditRecordInput } from "../audit/emitter";
import type { Database } from "../db";
import { memberships, users } from "../db/schema";
import type { Mailer } from "../mail";
import type { Clock } from "../platform/clock";
import type { AlertName } from "./names";

export interface AlertDeps {
	db: Database;
	clock: Clock;
	mailer: Mailer;
	/** Where the alert's audit event goes: the request's audit log, or the cron run's. */
	record: (input: AuditRecordInput) => unknown;
	log?: (line: string) => void;
}

export interface Alert {
	accountId: string;
	type: AlertName;
	subject: string;
	/** Plain text for the email; never a secret (the same rule as audit metadata). */
	text: string;
	/** The audit event's metadata (and so the webhook payload's `data`). */
	data: Record<string, unknown>;
	target?: { type: string; id: string } | null;
	/** Who raised it, when not the request's caller (a leaked-key report acts as the system). */
	actor?: AuditRecordInput["actor"];
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
	...(alert.actor ? { actor: alert.actor } : {}),
});

export async function raiseAlert(deps: AlertDeps, alert: Alert): Promise<void> {
	deps.record(alertAuditInput(alert));
	await deliverAlert(deps, alert);
}

/**
 * The email channel; for callers that wrote the audit event themselves (the
 * sweeps, atomically). True when it was taken, or there was nobody to tell.
 */
export async function deliverAlert(deps: Omit<AlertDeps, "record">, alert: Alert): Promise<boolean> {
	const log = deps.log ?? ((line: string) => console.error(line));
	const failed = (reason: unknown) => {
		const error = reason instanceof Error ? reason.name : "unknown";
		log(JSON.stringify({ level: "error", msg: "alert delivery failed", alert: alert.type, channel: "email", error }));
	};
	// Counted per message, so "nothing to send" (no recipient) is not a failure.
	let attempted = 0;
	let sent = 0;
	try {
		const addresses = await recipients(deps.db, alert.accountId, alert.alsoNotify ?? []);
		await Promise.all(
			addresses.map((to) => {
				attempted++;
				return deps.mailer.send({ to, subject: alert.subject, text: alert.text }).then(
					() => void sent++,
					(reason) => failed(reason),
				);
			}),
		);
	} catch (reason) {
		attempted++;
		failed(reason);
	}
	return attempted === 0 || sent > 0;
}
