/**
 * Leaked-key reports (issue #24): a token a secret scanner found in public.
 * A token is a Keyward key only if its checksum holds and the account object
 * it names holds its hash (no D1 scan: the key names its account). A real key
 * that is still live is revoked, through the same lifecycle function as every
 * other revocation, and the revocation is audited and alerted
 * (`alert.key_leaked`, which emails the owner, the admins and the key's
 * creator). Anything else is a false positive and leaves only a count.
 *
 * The account's `leakedKeyPolicy` may say `rotate` instead: the key keeps
 * working for `LEAK_GRACE_MS` beside a successor made as its creator would
 * make it, whose secret waits sealed on its row for a person to reveal once.
 * A key that reaches the management API, a service account's key, and a key
 * whose creator may no longer rotate it are revoked anyway: a leaked secret
 * with those powers is not left alive for an hour.
 *
 * Idempotent: a report repeated (a replay, or GitHub retrying) finds the key
 * revoked (or already rotated) and does nothing more.
 */
import { sql } from "drizzle-orm";
import { getAccount, getMembership } from "../accounts/queries";
import { parseSettings } from "../accounts/settings";
import type { Alert } from "../alerts";
import type { AuditRecordInput } from "../audit/emitter";

import { secretScanningStats } from "../db/schema";
import { accountGuard } from "../durable/address";
import { ApiError } from "../problems";
import { sha256Hex } from "../security/digest";
import { isReservedScope } from "../security/scopes";
import { hashApiKey, parseApiKey } from "./format";
import { type Lifecycle, revokeKey, rotateKey } from "./lifecycle";
import { getKey, type KeyRow } from "./records";

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
const SYSTEM_ACTOR = { type: "system" as const, id: null, ip: null, userAgent: null };

/** How long a leaked key rotated under `leakedKeyPolicy: rotate` keeps working beside its successor. */
export const LEAK_GRACE_MS = 3_600_000;
/** How long the successor's secret waits to be revealed. */
export const REVEAL_WINDOW_MS = 7 * 86_400_000;

const leakedKeyPolicyOf = async (deps: LeakDeps, accountId: string) =>
	parseSettings((await getAccount(deps.db, accountId))?.settings).leakedKeyPolicy;

/**
 * Rotates a leaked key as its creator would (same role, no fresh proof), with
 * the successor's secret parked for the console; null when the policy says
 * revoke or the rotation is not one the creator could make.
 */
async function rotateLeaked(deps: LeakDeps, key: KeyRow): Promise<{ successor: KeyRow; previous: KeyRow } | null> {
	const settings = parseSettings((await getAccount(deps.db, key.accountId))?.settings);
	if (settings.leakedKeyPolicy !== "rotate" || key.serviceAccountId || key.scopes.some(isReservedScope)) return null;
	const creator = await getMembership(deps.db, key.accountId, key.createdBy);
	if (!creator) return null;
	const issuer = { type: "user" as const, userId: key.createdBy, role: creator.role, provedRecently: false };
	try {
		const park = {
			sealingKey: deps.env.TOTP_ENCRYPTION_KEY ?? "",
			until: new Date(deps.now.getTime() + REVEAL_WINDOW_MS),
		};
		const policy = { graceMs: LEAK_GRACE_MS, lifetimeDays: settings.keyMaxLifetimeDays, park };
		const { successor, previous } = await rotateKey(deps, issuer, key, policy);
		return { successor, previous };
	} catch (err) {
		if (err instanceof ApiError) return null;
		throw err;
	}
}

/** Acts on one token; true when it is a Keyward key (live, revoked or expired). */
async function actOn(deps: LeakDeps, report: LeakReport): Promise<boolean> {
	const parsed = parseApiKey(report.token);
	if (!parsed) return false;
	const hash = await hashApiKey(deps.env.KEY_PEPPER ?? "", report.token);
	const keyId = await accountGuard(deps.env, parsed.accountId).findKey(parsed.accountId, hash);
	const key = keyId ? await getKey(deps.db, parsed.accountId, keyId) : undefined;
	if (!key) return false;
	const where = { url: report.url, source: report.source ?? null, reportedBy: "github-secret-scanning" };
	// Rotated already and ending within a leak's grace (a repeat of this report, under `rotate`): nothing more.
	const withinGrace = key.rotatedTo && !key.revokedAt && key.expiresAt.getTime() <= deps.now.getTime() + LEAK_GRACE_MS;
	if (withinGrace && (await leakedKeyPolicyOf(deps, key.accountId)) === "rotate") return true;
	const rotated = key.revokedAt || key.rotatedTo ? null : await rotateLeaked(deps, key);
	if (rotated) {
		const { successor, previous } = rotated;
		const until = previous.expiresAt.toISOString();
		deps.record({
			action: "key.rotated",
			accountId: key.accountId,
			actor: SYSTEM_ACTOR,
			target: { type: "key", id: key.id },
			metadata: {
				reason: LEAK_REVOCATION_REASON,
				successorId: successor.id,
				previousExpiresAt: until,
				last4: key.lastFour,
				successorLast4: successor.lastFour,
				...where,
			},
		});
		deps.alert(leakAlert(key, report, where, { successorId: successor.id, workingUntil: until }));
		return true;
	}
	const { revoked } = await revokeKey(deps, key, LEAK_REVOCATION_REASON);
	if (!revoked) return true;
	deps.record({
		action: "key.revoked",
		accountId: key.accountId,
		actor: SYSTEM_ACTOR,
		target: { type: "key", id: key.id },
		metadata: { reason: LEAK_REVOCATION_REASON, last4: key.lastFour, ...where },
	});
	deps.alert(leakAlert(key, report, where, null));
	return true;
}

function leakAlert(
	key: KeyRow,
	report: LeakReport,
	where: Record<string, unknown>,
	rotation: { successorId: string; workingUntil: string } | null,
): Alert {
	const what = rotation
		? `Keyward rotated it (the account's leakedKeyPolicy is "rotate"): the old key works until ${rotation.workingUntil}, ` +
			`and its successor ${rotation.successorId}'s secret waits in the console, on that key's page, to be revealed once ` +
			"within 7 days. Deploy it, then remove the old one from where it was published: it stays in that history."
		: "Keyward revoked it. Create a new key, deploy it, and remove the old one from where it was published: it stays " +
			"in that history.";
	return {
		accountId: key.accountId,
		type: "alert.key_leaked",
		subject: `Keyward: the key "${key.name}" was found in public and ${rotation ? "rotated" : "revoked"}`,
		text: `GitHub secret scanning found the ${key.environment} key "${key.name}" (…${key.lastFour}) of account ${key.accountId} at ${report.url}. ${what}`,
		data: {
			keyId: key.id,
			name: key.name,
			environment: key.environment,
			last4: key.lastFour,
			action: rotation ? "rotated" : "revoked",
			...(rotation ?? {}),
			...where,
		},
		target: { type: "key", id: key.id },
		actor: SYSTEM_ACTOR,
		alsoNotify: key.createdBy ? [key.createdBy] : [],
	};
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
