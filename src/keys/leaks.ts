/**
 * Leaked-key reports (issue #24): a token a secret scanner found in public.
 * A token is a Keyward key only if its checksum holds and the account object
 * it names holds its hash (no D1 scan: the key names its account). A real key
 * that is still live is revoked, through the same lifecycle function as every
 * other revocation, and the revocation is audited and alerted
 * (`alert.key_leaked`, which emails the owner, the admins and the key's
 * creator). Anything else is a false positive and leaves only a count.
 *
 * Idempotent: a report repeated (a replay, or GitHub retrying) finds the key
 * revoked and does nothing more.
 */
import { sql } from "drizzle-orm";
import type { Alert } from "../alerts";
import type { AuditRecordInput } from "../audit/emitter";
import { secretScanningStats } from "../db/schema";
import { accountGuard } from "../durable/address";
import { sha256Hex } from "../security/digest";
import { hashApiKey, parseApiKey } from "./format";
import { type Lifecycle, revokeKey } from "./lifecycle";
import { getKey } from "./records";

export interface LeakReport {
	token: string;
	type: string;
	url: string;
	source?: string;
}

/** GitHub's feedback shape; the token goes back only as its SHA-256, never as itself. */
export interface LeakVerdict {
	token_hash: string;
	token_type: string;
	label: "true_positive" | "false_positive";
}

export interface LeakDeps extends Lifecycle {
	record: (input: AuditRecordInput) => void;
	alert: (alert: Alert) => void;
}

export const LEAK_REVOCATION_REASON = "leaked: found in public by GitHub secret scanning";

/** Acts on one token; true when it is a Keyward key (live, revoked or expired). */
async function actOn(deps: LeakDeps, report: LeakReport): Promise<boolean> {
	const parsed = parseApiKey(report.token);
	if (!parsed) return false;
	const hash = await hashApiKey(deps.env.KEY_PEPPER ?? "", report.token);
	const keyId = await accountGuard(deps.env, parsed.accountId).findKey(parsed.accountId, hash);
	const key = keyId ? await getKey(deps.db, parsed.accountId, keyId) : undefined;
	if (!key) return false;
	const { revoked } = await revokeKey(deps, key, LEAK_REVOCATION_REASON);
	if (!revoked) return true;
	const where = { url: report.url, source: report.source ?? null, reportedBy: "github-secret-scanning" };
	deps.record({
		action: "key.revoked",
		accountId: key.accountId,
		actor: { type: "system", id: null, ip: null, userAgent: null },
		target: { type: "key", id: key.id },
		metadata: { reason: LEAK_REVOCATION_REASON, last4: key.lastFour, ...where },
	});
	deps.alert({
		accountId: key.accountId,
		type: "alert.key_leaked",
		subject: `Keyward: the key "${key.name}" was found in public and revoked`,
		text:
			`GitHub secret scanning found the ${key.environment} key "${key.name}" (…${key.lastFour}) of account ` +
			`${key.accountId} at ${report.url} and Keyward revoked it. Create a new key, deploy it, and remove the old ` +
			"one from where it was published: it stays in that history.",
		data: { keyId: key.id, name: key.name, environment: key.environment, last4: key.lastFour, ...where },
		target: { type: "key", id: key.id },
		alsoNotify: key.createdBy ? [key.createdBy] : [],
	});
	return true;
}

export async function handleLeakReports(deps: LeakDeps, reports: readonly LeakReport[]): Promise<LeakVerdict[]> {
	// A token listed twice is acted on once.
	const outcomes = new Map<string, Promise<boolean>>();
	for (const report of reports) if (!outcomes.has(report.token)) outcomes.set(report.token, actOn(deps, report));
	const verdicts = await Promise.all(
		reports.map(async (report) => ({
			token_hash: await sha256Hex(report.token),
			token_type: report.type,
			label: (await outcomes.get(report.token)) ? ("true_positive" as const) : ("false_positive" as const),
		})),
	);
	const positives = verdicts.filter((v) => v.label === "true_positive").length;
	await deps.db
		.insert(secretScanningStats)
		.values({
			day: deps.now.toISOString().slice(0, 10),
			reports: 1,
			truePositives: positives,
			falsePositives: verdicts.length - positives,
		})
		.onConflictDoUpdate({
			target: secretScanningStats.day,
			set: {
				reports: sql`${secretScanningStats.reports} + 1`,
				truePositives: sql`${secretScanningStats.truePositives} + ${positives}`,
				falsePositives: sql`${secretScanningStats.falsePositives} + ${verdicts.length - positives}`,
			},
		});
	return verdicts;
}
