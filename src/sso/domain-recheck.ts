/**
 * Verified domains are checked again (issue #27): a domain routes sign-ins and SCIM provisioning
 * only while the organisation still publishes its record. Once a day each verified domain's TXT
 * record is looked up again:
 *   - there: nothing changes (a record that had gone missing and came back clears the warning);
 *   - missing for the first time: the owner and admins are alerted, and the domain lapses if the
 *     record is still missing seven days later;
 *   - still missing after seven days: the domain lapses (pending again; SCIM and single sign-on
 *     stop routing its addresses, people already members stay), audited and alerted;
 *   - the resolver does not answer: nothing changes, and the domain is tried again in an hour
 *     (an outage of the resolver never lapses a domain).
 * Each change is one conditional write on the state it was read in, with its audit event in the
 * same batch (the outbox), so two runs cannot both lapse or both warn.
 */
import { and, asc, eq, isNotNull, isNull, lte, or, sql } from "drizzle-orm";
import { type Alert, alertAuditInput, deliverAlert } from "../alerts";
import { outboxInsert, systemEvent } from "../audit/emitter";
import { accountDomains } from "../db/schema";
import type { SweepDeps } from "../keys/sweeps";
import { lookupTxt } from "./dns";
import { challengeName, challengeValue, type DomainRow } from "./domains";

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** How often a verified domain's record is looked up again. */
export const RECHECK_EVERY_MS = DAY_MS;
/** How long a record may stay missing before its domain lapses. */
export const LAPSE_AFTER_MS = 7 * DAY_MS;
/** Look-ups per run (each is a DNS-over-HTTPS request); the rest wait for the next run. */
export const RECHECKS_PER_RUN = 25;

export interface RecheckDeps extends SweepDeps {
	fetch: typeof fetch;
}

export type RecheckResult = { checked: number; missing: number; lapsed: number; unavailable: number };

export async function recheckDomains(deps: RecheckDeps): Promise<RecheckResult> {
	const { db } = deps;
	const now = deps.clock.now();
	const due = await db
		.select()
		.from(accountDomains)
		.where(
			and(
				isNotNull(accountDomains.verifiedAt),
				or(
					isNull(accountDomains.lastCheckedAt),
					lte(accountDomains.lastCheckedAt, new Date(now.getTime() - RECHECK_EVERY_MS)),
				),
			),
		)
		.orderBy(
			sql`${accountDomains.lastCheckedAt} IS NOT NULL`,
			asc(accountDomains.lastCheckedAt),
			asc(accountDomains.id),
		)
		.limit(RECHECKS_PER_RUN);
	const result: RecheckResult = { checked: 0, missing: 0, lapsed: 0, unavailable: 0 };
	for (const row of due) {
		const answer = await lookupTxt(deps.fetch, deps.env, challengeName(row.domain));
		result.checked++;
		if ("unavailable" in answer) {
			result.unavailable++;
			// Due again in an hour, not at once: a resolver outage must not hold the run's budget.
			await db
				.update(accountDomains)
				.set({ lastCheckedAt: new Date(now.getTime() - RECHECK_EVERY_MS + HOUR_MS) })
				.where(unchanged(row));
			continue;
		}
		const present = answer.records.some((r) => r.trim() === challengeValue(row));
		if (present) {
			await db.update(accountDomains).set({ lastCheckedAt: now, recordMissingSince: null }).where(unchanged(row));
			continue;
		}
		result.missing++;
		if (!row.recordMissingSince) await warn(deps, row, now);
		else if (row.recordMissingSince.getTime() <= now.getTime() - LAPSE_AFTER_MS) {
			if (await lapse(deps, row, now)) result.lapsed++;
		} else await db.update(accountDomains).set({ lastCheckedAt: now }).where(unchanged(row));
	}
	return result;
}

/** The row as it was read: still verified at the same time, the record missing since the same time. */
const unchanged = (row: DomainRow) =>
	and(
		eq(accountDomains.id, row.id),
		row.verifiedAt ? eq(accountDomains.verifiedAt, row.verifiedAt) : isNull(accountDomains.verifiedAt),
		row.recordMissingSince
			? eq(accountDomains.recordMissingSince, row.recordMissingSince)
			: isNull(accountDomains.recordMissingSince),
	);

/**
 * One transition of a domain: the write, conditional on the row as it was read, with its audit
 * event and the alert's in the same batch (keyed by the state it starts from, so runs racing on
 * the same row write the same events, once); the alert goes out only from the run whose write won.
 */
async function transition(
	deps: RecheckDeps,
	row: DomainRow,
	now: Date,
	change: {
		set: Partial<DomainRow>;
		action: "domain.record_missing" | "domain.lapsed";
		metadata: Record<string, unknown>;
		alert: Alert;
	},
): Promise<boolean> {
	const state = [row.lastCheckedAt, row.verifiedAt, row.recordMissingSince].map((d) => d?.getTime() ?? "-").join(":");
	const event = await systemEvent(
		{
			action: change.action,
			accountId: row.accountId,
			actor: { type: "system", id: "domain-recheck" },
			target: { type: "domain", id: row.id },
			metadata: { domain: row.domain, ...change.metadata },
		},
		now,
		`${change.action}:${row.id}:${state}`,
	);
	const [won] = await deps.db.batch([
		deps.db.update(accountDomains).set(change.set).where(unchanged(row)).returning({ id: accountDomains.id }),
		outboxInsert(deps.db, event, now),
		outboxInsert(deps.db, await systemEvent(alertAuditInput(change.alert), now, `alert:${event.id}`), now),
	]);
	if (won.length !== 1) return false;
	await deliverAlert(deps, change.alert);
	return true;
}

const warn = (deps: RecheckDeps, row: DomainRow, now: Date) => {
	const lapsesAt = new Date(now.getTime() + LAPSE_AFTER_MS);
	return transition(deps, row, now, {
		set: { lastCheckedAt: now, recordMissingSince: now },
		action: "domain.record_missing",
		metadata: { lapsesAt: lapsesAt.toISOString() },
		alert: domainAlert(row, "record_missing", lapsesAt),
	});
};

const lapse = (deps: RecheckDeps, row: DomainRow, now: Date) =>
	transition(deps, row, now, {
		set: { verifiedAt: null, recordMissingSince: null, lastCheckedAt: now },
		action: "domain.lapsed",
		metadata: { missingSince: row.recordMissingSince?.toISOString() ?? null },
		alert: domainAlert(row, "lapsed", now),
	});

function domainAlert(row: DomainRow, change: "record_missing" | "lapsed", at: Date): Alert {
	const record = `TXT ${challengeName(row.domain)} "${challengeValue(row)}"`;
	return {
		accountId: row.accountId,
		type: "alert.domain_lapsing",
		subject:
			change === "lapsed"
				? `Keyward: ${row.domain} is no longer verified`
				: `Keyward: ${row.domain}'s verification record is missing`,
		text:
			change === "lapsed"
				? `The record ${record} was missing for seven days, so ${row.domain} is no longer verified: single sign-on ` +
					"and SCIM stop routing its addresses to this account (its members stay). Publish the record and verify " +
					"the domain again."
				: `The record ${record} is no longer published. Put it back before ${at.toISOString()}, or ${row.domain} ` +
					"stops being verified then, and single sign-on and SCIM stop routing its addresses to this account.",
		data: {
			domainId: row.id,
			domain: row.domain,
			change,
			...(change === "lapsed" ? {} : { lapsesAt: at.toISOString() }),
		},
		target: { type: "domain", id: row.id },
	};
}
