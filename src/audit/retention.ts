/**
 * The archive's retention as R2 bucket rules (issue #26): what `npm run
 * audit:retention` writes to the archive bucket from the accounts'
 * `archiveRetentionYears` settings.
 *
 * - One lock rule for everything under `audit/`: no archived object can be
 *   deleted or overwritten for its first year, by anyone holding the bucket's
 *   object credentials (the Worker included). One year is the setting's
 *   minimum, above the seeds' 90 days.
 * - Per account with a retention: a lifecycle rule that deletes its objects
 *   once they are that many years old, and a lock rule for the same period, so
 *   nothing deletes them sooner. Accounts that keep (the default) get no rule:
 *   nothing expires them.
 * - R2 allows 1,000 rules per configuration. The floor takes one and the
 *   default multipart rule one, so at most 998 accounts may have a retention
 *   per bucket; past that the script refuses rather than apply a partial set.
 *
 * `npm run audit:retention` runs this file in Node, so its relative imports
 * name their .ts files.
 */
import { archivePrefix } from "./chain.ts";

export const RULE_LIMIT = 1000;
const DAY_SECONDS = 86_400;
/** R2 rules count in days; a year here is 365 of them, rounded up by a day for leap years. */
const yearSeconds = (years: number): number => (years * 365 + Math.ceil(years / 4)) * DAY_SECONDS;

export const FLOOR_LOCK_ID = "keyward-audit-floor";
export const FLOOR_YEARS = 1;

export interface AccountRetention {
	accountId: string;
	years: number;
}

/** The request bodies of R2's put-lifecycle and put-lock APIs (what `wrangler r2 bucket … set --file` reads). */
export interface RetentionRules {
	lifecycle: {
		rules: {
			id: string;
			enabled: true;
			conditions: { prefix: string };
			deleteObjectsTransition?: { condition: { type: "Age"; maxAge: number } };
			abortMultipartUploadsTransition?: { condition: { type: "Age"; maxAge: number } };
		}[];
	};
	lock: { rules: { id: string; enabled: true; prefix: string; condition: { type: "Age"; maxAgeSeconds: number } }[] };
}

export class TooManyRetentions extends Error {}

/** Whether a stored value is a retention the rules may use: an integer number of years, 1 to 100. */
export const validRetention = (years: unknown): years is number =>
	typeof years === "number" && Number.isInteger(years) && years >= 1 && years <= 100;

/**
 * The bucket's whole lifecycle and lock configuration for these accounts (`set` replaces what was
 * there). Accounts are ordered by id so the same settings always produce the same files.
 */
export function retentionRules(accounts: readonly AccountRetention[]): RetentionRules {
	const kept = accounts
		.filter((a) => validRetention(a.years) && a.accountId !== "" && !a.accountId.includes("/"))
		.sort((a, b) => (a.accountId < b.accountId ? -1 : a.accountId > b.accountId ? 1 : 0));
	if (kept.length + 2 > RULE_LIMIT) {
		throw new TooManyRetentions(
			`${kept.length} accounts set archiveRetentionYears; one bucket's rules cover at most ${RULE_LIMIT - 2}`,
		);
	}
	return {
		lifecycle: {
			rules: [
				// R2's default, kept because `set` replaces the whole configuration.
				{
					id: "keyward-abort-multipart",
					enabled: true,
					conditions: { prefix: "" },
					abortMultipartUploadsTransition: { condition: { type: "Age", maxAge: 7 * DAY_SECONDS } },
				},
				...kept.map((a) => ({
					id: `keyward-audit-${a.accountId}`,
					enabled: true as const,
					// The trailing slash keeps acc_1's rule off acc_12's objects.
					conditions: { prefix: archivePrefix(a.accountId) },
					deleteObjectsTransition: { condition: { type: "Age" as const, maxAge: yearSeconds(a.years) } },
				})),
			],
		},
		lock: {
			rules: [
				{
					id: FLOOR_LOCK_ID,
					enabled: true,
					prefix: "audit/",
					condition: { type: "Age", maxAgeSeconds: yearSeconds(FLOOR_YEARS) },
				},
				...kept.map((a) => ({
					id: `keyward-audit-${a.accountId}`,
					enabled: true as const,
					prefix: archivePrefix(a.accountId),
					condition: { type: "Age" as const, maxAgeSeconds: yearSeconds(a.years) },
				})),
			],
		},
	};
}
