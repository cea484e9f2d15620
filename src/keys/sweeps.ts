/**
 * The key sweeps of API.md §8: expiry, rotation reminders, the inactivity
 * warning and the inactivity revocation. Each handles a batch of keys with
 * one D1 batch that makes the change and puts its audit event (actor
 * `system`, an id derived from key and action) in the audit outbox, so the
 * change and its record land together or not at all; the run re-sends the
 * outbox at its end. Reminder and warning emails and webhooks go out after
 * their notice row is claimed: at most once each, never twice.
 */
import { and, eq, gt, isNull, lte, notExists, sql } from "drizzle-orm";
import { DEFAULT_SETTINGS } from "../accounts/settings";
import { type Alert, alertAuditInput, deliverAlert } from "../alerts";
import { outboxInsert, systemEvent } from "../audit/emitter";
import { fairly, type SweepBudget, sweepInBatches } from "../cron/sweep-budget";
import { type Database, runInBatch } from "../db";
import { accounts, apiKeys, keyNotices } from "../db/schema";
import { accountGuard } from "../durable/address";
import type { Mailer } from "../mail";
import type { Clock } from "../platform/clock";
import type { Env } from "../platform/env";
import { revokeKeyRows } from "./lifecycle";
import type { KeyRow } from "./records";

const DAY_MS = 86_400_000;
/** Keys unused this many days before their revocation are warned first. */
export const INACTIVITY_WARNING_DAYS = 7;
export const REMINDER_DAYS = [1, 7, 14] as const;

export interface SweepDeps {
	env: Env;
	db: Database;
	clock: Clock;
	mailer: Mailer;
	budget: SweepBudget;
	/** Notices cost a webhook send and an email per recipient each, so they get a smaller budget. */
	noticeBudget: SweepBudget;
}

type ReminderKind = "expiry_1d" | "expiry_7d" | "expiry_14d";
const reminderKind = (days: number) => `expiry_${days}d` as ReminderKind;

/** The key's last activity: its last use, or its creation when never used. */
const lastActivity = sql`coalesce(${apiKeys.lastUsedAt}, ${apiKeys.createdAt})`;
/** The account's inactivity period in ms, from its settings JSON, defaulted as in API.md §4. */
const inactivityMs = sql`coalesce(json_extract(${accounts.settings}, '$.keyInactivityDays'), ${DEFAULT_SETTINGS.keyInactivityDays}) * ${DAY_MS}`;

const live = (now: Date) => and(isNull(apiKeys.revokedAt), gt(apiKeys.expiresAt, now));

/** Keys past `expiresAt` become `expired`, recorded once as `key.expired`. */
export function expireKeys(deps: SweepDeps) {
	const { db } = deps;
	return sweepInBatches(deps.budget, async (limit) => {
		const now = deps.clock.now();
		const due = await db
			.select()
			.from(apiKeys)
			.where(and(lte(apiKeys.expiresAt, now), isNull(apiKeys.expiryRecordedAt), isNull(apiKeys.revokedAt)))
			.orderBy(...fairly(apiKeys.accountId, apiKeys.expiresAt, apiKeys.id))
			.limit(limit);
		const statements = [];
		for (const key of due) {
			const event = await systemEvent(
				{
					action: "key.expired",
					accountId: key.accountId,
					target: { type: "key", id: key.id },
					metadata: { expiresAt: key.expiresAt.toISOString(), rotatedTo: key.rotatedTo },
				},
				now,
				`key.expired:${key.id}`,
			);
			statements.push(
				db
					.update(apiKeys)
					.set({ expiryRecordedAt: now })
					.where(and(eq(apiKeys.id, key.id), isNull(apiKeys.expiryRecordedAt))),
				outboxInsert(db, event, now),
			);
		}
		await runInBatch(db, statements);
		return due.length;
	});
}

/**
 * Rotation reminders 14, 7 and 1 days before expiry. Each reminder has its
 * own band (7–14 days, 1–7 days, the last day), so a key is in at most one
 * band at a time and a key created with five days to live gets one reminder
 * (the 7-day one), not two.
 */
export async function sendRotationReminders(deps: SweepDeps) {
	let handled = 0;
	let remaining = false;
	for (const days of REMINDER_DAYS) {
		const result = await sweepInBatches(deps.noticeBudget, (limit) => remindBatch(deps, days, limit));
		handled += result.handled;
		remaining ||= result.remaining;
	}
	return { handled, remaining };
}

async function remindBatch(deps: SweepDeps, days: number, limit: number): Promise<number> {
	const { db } = deps;
	const now = deps.clock.now();
	const kind = reminderKind(days);
	const bandStart = REMINDER_DAYS[REMINDER_DAYS.indexOf(days as (typeof REMINDER_DAYS)[number]) - 1] ?? 0;
	const due = await db
		.select()
		.from(apiKeys)
		.where(
			and(
				live(now),
				isNull(apiKeys.rotatedTo),
				lte(apiKeys.expiresAt, new Date(now.getTime() + days * DAY_MS)),
				gt(apiKeys.expiresAt, new Date(now.getTime() + bandStart * DAY_MS)),
				notExists(
					db
						.select({ one: sql`1` })
						.from(keyNotices)
						.where(and(eq(keyNotices.keyId, apiKeys.id), eq(keyNotices.kind, kind))),
				),
			),
		)
		.orderBy(...fairly(apiKeys.accountId, apiKeys.expiresAt, apiKeys.id))
		.limit(limit);
	for (const key of due) {
		const alert = expiringAlert(key, days, now);
		const event = await systemEvent(alertAuditInput(alert), now, `${kind}:${key.id}`);
		const [claimed] = await db.batch([
			db
				.insert(keyNotices)
				.values({ keyId: key.id, kind, accountId: key.accountId, sentAt: now })
				.onConflictDoNothing()
				.returning({ kind: keyNotices.kind }),
			outboxInsert(db, event, now),
		]);
		// Another run claimed it first: that run sends it. When no channel took it, the claim is
		// released so the next run tries again (the audit event, keyed by key and kind, stays one).
		if (claimed.length === 1 && !(await deliverAlert(deps, alert))) await releaseNotices(db, key.id, now);
	}
	return due.length;
}

function expiringAlert(key: KeyRow, days: number, now: Date): Alert {
	const left = Math.max(0, Math.ceil((key.expiresAt.getTime() - now.getTime()) / DAY_MS));
	return {
		accountId: key.accountId,
		type: "alert.key_expiring",
		subject: `Keyward: API key "${key.name}" expires in ${left} day${left === 1 ? "" : "s"}`,
		text:
			`Key ${key.id} ("${key.name}", ${key.environment}) expires at ${key.expiresAt.toISOString()}. ` +
			"Rotate it (POST …/keys/{keyId}/rotate) and move your services to the new secret before then.",
		data: {
			keyId: key.id,
			name: key.name,
			environment: key.environment,
			expiresAt: key.expiresAt.toISOString(),
			reminder: `${days}d`,
		},
		target: { type: "key", id: key.id },
		alsoNotify: [key.createdBy],
	};
}

/** Keys unused for the account's inactivity period minus seven days are warned, once per stretch of inactivity. */
export function warnInactiveKeys(deps: SweepDeps) {
	const { db } = deps;
	return sweepInBatches(deps.noticeBudget, async (limit) => {
		const now = deps.clock.now();
		const due = await db
			.select({ key: apiKeys })
			.from(apiKeys)
			.innerJoin(accounts, eq(accounts.id, apiKeys.accountId))
			.where(
				and(
					live(now),
					sql`${lastActivity} <= ${now.getTime()} - (${inactivityMs} - ${INACTIVITY_WARNING_DAYS * DAY_MS})`,
					notExists(currentWarning(db)),
				),
			)
			.orderBy(...fairly(apiKeys.accountId, lastActivity, apiKeys.id))
			.limit(limit);
		for (const { key } of due) {
			const activity = key.lastUsedAt ?? key.createdAt;
			const event = await systemEvent(
				{
					action: "key.inactivity_warned",
					accountId: key.accountId,
					target: { type: "key", id: key.id },
					metadata: { lastActivityAt: activity.toISOString(), revocationInDays: INACTIVITY_WARNING_DAYS },
				},
				now,
				`key.inactivity_warned:${key.id}:${activity.getTime()}`,
			);
			const [claimed] = await db.batch([
				db
					.insert(keyNotices)
					.values({ keyId: key.id, kind: "inactivity_warning", accountId: key.accountId, sentAt: now })
					// A warning from an earlier stretch of inactivity (the key was used since) is replaced.
					.onConflictDoUpdate({
						target: [keyNotices.keyId, keyNotices.kind],
						set: { sentAt: now },
						setWhere: sql`${keyNotices.sentAt} <= ${activity.getTime()}`,
					})
					.returning({ kind: keyNotices.kind }),
				outboxInsert(db, event, now),
			]);
			if (claimed.length === 1 && !(await deliverAlert(deps, inactivityAlert(key, now))))
				await releaseNotices(db, key.id, now);
		}
		return due.length;
	});
}

const releaseNotices = (db: Database, keyId: string, sentAt: Date) =>
	db.delete(keyNotices).where(and(eq(keyNotices.keyId, keyId), eq(keyNotices.sentAt, sentAt)));

/** A warning issued after the key's last activity (so it still stands). */
const currentWarning = (db: Database) =>
	db
		.select({ one: sql`1` })
		.from(keyNotices)
		.where(
			and(
				eq(keyNotices.keyId, apiKeys.id),
				eq(keyNotices.kind, "inactivity_warning"),
				sql`${keyNotices.sentAt} > ${lastActivity}`,
			),
		);

function inactivityAlert(key: KeyRow, now: Date): Alert {
	return {
		accountId: key.accountId,
		type: "alert.key_expiring",
		subject: `Keyward: unused API key "${key.name}" will be revoked in ${INACTIVITY_WARNING_DAYS} days`,
		text:
			`Key ${key.id} ("${key.name}", ${key.environment}) has not been used since ` +
			`${(key.lastUsedAt ?? key.createdAt).toISOString()}. Unless it is used, it will be revoked after ` +
			`${new Date(now.getTime() + INACTIVITY_WARNING_DAYS * DAY_MS).toISOString()}.`,
		data: {
			keyId: key.id,
			name: key.name,
			reason: "inactivity",
			revokeAfter: new Date(now.getTime() + INACTIVITY_WARNING_DAYS * DAY_MS).toISOString(),
		},
		target: { type: "key", id: key.id },
		alsoNotify: [key.createdBy],
	};
}

/**
 * Keys unused for the account's inactivity period are revoked (`key.swept`,
 * reason `inactive`), but only once their warning has stood for seven days.
 * Through the key lifecycle, like every revocation: the account's Durable
 * Object is told first, so verify refuses them at once; a crash before D1
 * leaves them selected for the next run.
 */
export function sweepInactiveKeys(deps: SweepDeps) {
	const { db, env } = deps;
	return sweepInBatches(deps.budget, async (limit) => {
		const now = deps.clock.now();
		const warnedBefore = now.getTime() - INACTIVITY_WARNING_DAYS * DAY_MS;
		const due = (
			await db
				.select({ key: apiKeys })
				.from(apiKeys)
				.innerJoin(accounts, eq(accounts.id, apiKeys.accountId))
				.innerJoin(keyNotices, and(eq(keyNotices.keyId, apiKeys.id), eq(keyNotices.kind, "inactivity_warning")))
				.where(
					and(
						live(now),
						sql`${lastActivity} <= ${now.getTime()} - ${inactivityMs}`,
						sql`${keyNotices.sentAt} > ${lastActivity}`,
						sql`${keyNotices.sentAt} <= ${warnedBefore}`,
					),
				)
				.orderBy(...fairly(apiKeys.accountId, lastActivity, apiKeys.id))
				.limit(limit)
		).map((r) => r.key);
		if (due.length === 0) return 0;
		const events = [];
		for (const key of due) {
			const event = await systemEvent(
				{
					action: "key.swept",
					accountId: key.accountId,
					target: { type: "key", id: key.id },
					metadata: { reason: "inactive", lastActivityAt: (key.lastUsedAt ?? key.createdAt).toISOString() },
				},
				now,
				`key.swept:${key.id}`,
			);
			events.push(outboxInsert(db, event, now));
		}
		await revokeKeyRows({ env, db, now }, due, "inactive", events);
		return due.length;
	});
}

/**
 * Applies due credit refills in the account objects of keys that have a refill, so balances read
 * by the API are current without a verify. Verify applies the same refill itself (idempotently:
 * once per refill instant), so no balance ever depends on this sweep; it takes up to the budget's
 * accounts per run, in random order, one object call each.
 */
export async function refillCredits(deps: SweepDeps) {
	const now = deps.clock.now();
	const accountsWithRefills = await deps.db
		.selectDistinct({ accountId: apiKeys.accountId })
		.from(apiKeys)
		.where(and(live(now), sql`json_extract(${apiKeys.credits}, '$.refill') IS NOT NULL`))
		.orderBy(sql`random()`)
		.limit(deps.budget.batchSize * deps.budget.batches);
	let keys = 0;
	for (const { accountId } of accountsWithRefills)
		keys += await accountGuard(deps.env, accountId).refillCredits(now.getTime(), accountId);
	return { accounts: accountsWithRefills.length, keys };
}
