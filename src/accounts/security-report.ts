/**
 * The monthly security checklist (API.md §7), computed from current data in a
 * fixed number of reads whatever the account's size: the account, its
 * members, its live keys, its invitations, its members with breached
 * passwords, its service accounts (six D1 queries) and its
 * failed-login windows (one Durable Object call). Each check names the
 * offending items so the reader can act on them.
 */
import { and, eq, gt, isNull } from "drizzle-orm";
import type { Database } from "../db";
import { apiKeys } from "../db/schema";
import { accountGuard } from "../durable/address";
import type { Env } from "../platform/env";
import { listLogStreams, streamStatus } from "../streams/streams";
import { getAccount, listMembers, membersWithBreachedPasswords, pendingInvitations } from "./queries";
import { listServiceAccounts } from "./service-accounts";
import { parseSettings } from "./settings";

export type CheckStatus = "pass" | "warn" | "fail";

export interface Check {
	id: string;
	status: CheckStatus;
	title: string;
	detail: string;
	items: string[];
}

const DAY_MS = 86_400_000;
export const EXPIRING_SOON_DAYS = 14;
/** Invitations live 7 days, so "stale" must come sooner to ever be seen. */
export const STALE_INVITATION_DAYS = 3;
const SPIKE_LOOKBACK_DAYS = 30;
/** More owner/admins than this widens the blast radius of one stolen session. */
const MAX_ADMINS = 5;
/** A service account none of whose keys was used this long is listed as idle. */
export const SERVICE_ACCOUNT_IDLE_DAYS = 90;

const check = (id: string, title: string, items: string[], failing: CheckStatus, detail: string): Check => ({
	id,
	title,
	items,
	status: items.length === 0 ? "pass" : failing,
	detail: items.length === 0 ? "Nothing to do." : detail,
});

export async function securityReport(env: Env, db: Database, accountId: string, now: Date) {
	const t = now.getTime();
	const [account, members, keys, invites, spikes, breached, services, streams] = await Promise.all([
		getAccount(db, accountId),
		listMembers(db, accountId),
		db
			.select()
			.from(apiKeys)
			.where(and(eq(apiKeys.accountId, accountId), isNull(apiKeys.revokedAt), gt(apiKeys.expiresAt, now))),
		pendingInvitations(db, accountId, now),
		accountGuard(env, accountId).failedLoginSpikes(t - SPIKE_LOOKBACK_DAYS * DAY_MS),
		membersWithBreachedPasswords(db, accountId),
		listServiceAccounts(db, accountId),
		listLogStreams(db, accountId),
	]);
	const serviceKeys = Map.groupBy(
		keys.filter((k) => k.serviceAccountId !== null),
		(k) => k.serviceAccountId ?? "",
	);
	const serviceAccountStandings = services.map((sa) => {
		const own = serviceKeys.get(sa.id) ?? [];
		const lastUse = Math.max(0, ...own.map((k) => k.lastUsedAt?.getTime() ?? 0));
		const oldest = Math.min(...own.map((k) => k.createdAt.getTime()));
		return {
			id: sa.id,
			name: sa.name,
			role: sa.role,
			liveKeys: own.length,
			oldestKeyAgeDays: own.length > 0 ? Math.floor((t - oldest) / DAY_MS) : null,
			lastKeyUsedAt: lastUse > 0 ? new Date(lastUse).toISOString() : null,
			// No use of any key for the idle period, counted from its creation when never used.
			idle: t - Math.max(lastUse, sa.createdAt.getTime()) >= SERVICE_ACCOUNT_IDLE_DAYS * DAY_MS,
		};
	});
	const settings = parseSettings(account?.settings);
	const memberIds = new Set(members.map((m) => m.userId));
	const admins = members.filter((m) => m.role === "owner" || m.role === "admin").map((m) => m.userId);
	const maxLifetimeMs = settings.keyMaxLifetimeDays * DAY_MS;
	const ids = (rows: { id: string }[]) => rows.map((r) => r.id);

	const checks: Check[] = [
		check(
			"members_with_breached_passwords",
			"No member signs in with a password known from data breaches",
			breached,
			"fail",
			"These members' passwords appear in known data breaches; they are asked to change them at sign-in.",
		),
		check(
			"members_without_mfa",
			"Every member uses two-factor authentication",
			members.filter((m) => !m.mfaEnabled).map((m) => m.userId),
			settings.mfaPolicy !== "off" ? "warn" : "fail",
			settings.mfaPolicy !== "off"
				? "These members have no second factor; mfaPolicy confines them to /v1/me until they add one."
				: "These members sign in with a password alone. Set mfaPolicy, or ask them to add a passkey or TOTP.",
		),
		check(
			"members_without_passkey",
			"Every member can sign in with a phishing-resistant passkey",
			members.filter((m) => m.strongestFactor !== "passkey").map((m) => m.userId),
			"warn",
			settings.mfaPolicy === "phishing-resistant"
				? "These members have no passkey; mfaPolicy confines them to /v1/me until they add one and sign in with it."
				: "A password and a TOTP code can be phished in real time; a passkey cannot. Ask these members to add one.",
		),
		check(
			"keys_older_than_policy",
			`No key lives longer than the ${settings.keyMaxLifetimeDays}-day policy`,
			ids(
				keys.filter(
					(k) =>
						t - k.createdAt.getTime() > maxLifetimeMs || k.expiresAt.getTime() - k.createdAt.getTime() > maxLifetimeMs,
				),
			),
			"fail",
			"These keys are older than the policy allows (or were created under a longer one). Rotate them.",
		),
		check(
			"keys_expiring_soon",
			`No key expires within ${EXPIRING_SOON_DAYS} days without a successor`,
			ids(keys.filter((k) => k.rotatedTo === null && k.expiresAt.getTime() - t <= EXPIRING_SOON_DAYS * DAY_MS)),
			"warn",
			"These keys expire soon and have not been rotated.",
		),
		check(
			"keys_inactive",
			`No key unused for ${settings.keyInactivityDays} days`,
			ids(keys.filter((k) => t - (k.lastUsedAt ?? k.createdAt).getTime() >= settings.keyInactivityDays * DAY_MS)),
			"warn",
			"These keys have not been used for the inactivity period; the sweep will revoke them. Revoke them now if unneeded.",
		),
		wildcardCheck(keys),
		check(
			"service_accounts_idle",
			`No service account unused for ${SERVICE_ACCOUNT_IDLE_DAYS} days`,
			serviceAccountStandings.filter((s) => s.idle).map((s) => s.id),
			"warn",
			"No key of these service accounts was used for the period (see serviceAccounts for their keys' ages). Delete the ones nothing runs on.",
		),
		check(
			"keys_of_former_members",
			"Every live key was created by a current member (a service account's keys belong to it)",
			ids(keys.filter((k) => k.serviceAccountId === null && !memberIds.has(k.createdBy))),
			"fail",
			"These keys were created by people no longer in the account. Revoke or rotate them.",
		),
		check(
			"failed_login_spikes",
			`No failed-login spike in the last ${SPIKE_LOOKBACK_DAYS} days`,
			spikes.map((s) => new Date(s.windowStart).toISOString()),
			"warn",
			"Failed sign-ins to members crossed the alert threshold in these windows. Review auth.login.failed events.",
		),
		check(
			"stale_invitations",
			`No invitation pending for more than ${STALE_INVITATION_DAYS} days`,
			ids(invites.filter((i) => t - i.createdAt.getTime() > STALE_INVITATION_DAYS * DAY_MS)),
			"warn",
			"These invitations are still open. Cancel the ones nobody will accept.",
		),
		check(
			"log_streams_failing",
			"Every log stream delivers (none failing, none stopped)",
			streams.filter((s) => streamStatus(s) !== "healthy").map((s) => s.id),
			"warn",
			"These log streams are failing (they back off and retry; see lastError) or were stopped. Your SIEM misses what they have not delivered.",
		),
		{
			id: "owner_admin_count",
			title: `Between 2 and ${MAX_ADMINS} people can administer the account`,
			items: admins.length >= 2 && admins.length <= MAX_ADMINS ? [] : admins,
			status: admins.length >= 2 && admins.length <= MAX_ADMINS ? "pass" : "warn",
			detail:
				admins.length < 2
					? "Only the owner can administer the account; add an admin so a lost device does not lock you out."
					: admins.length > MAX_ADMINS
						? `${admins.length} people can administer the account; demote those who do not need it.`
						: `${admins.length} owner and admins.`,
		},
	];
	return {
		generatedAt: now.toISOString(),
		checks,
		memberFactors: members.map((m) => ({ userId: m.userId, strongestFactor: m.strongestFactor })),
		serviceAccounts: serviceAccountStandings,
		logStreams: streams.map((s) => ({
			id: s.id,
			type: s.type,
			host: new URL(s.url).host,
			status: streamStatus(s),
			deliveredEvents: s.deliveredEvents,
			lastDeliveredAt: s.lastDeliveredAt?.toISOString() ?? null,
			failingSince: s.failingSince?.toISOString() ?? null,
			lastError: s.disabledAt ? s.disabledReason : s.lastError,
		})),
	};
}

/** `*` on a production key is a failure (creation refuses it; it can only be a leftover); `resource:*` a warning. */
function wildcardCheck(keys: (typeof apiKeys.$inferSelect)[]): Check {
	const production = keys.filter((k) => k.environment === "production");
	const full = production.filter((k) => k.scopes.includes("*")).map((k) => k.id);
	const wide = production
		.filter((k) => !full.includes(k.id) && k.scopes.some((s) => s.endsWith(":*")))
		.map((k) => k.id);
	const items = [...full, ...wide];
	return {
		id: "production_wildcard_scopes",
		title: "No production key has full-access or wildcard scopes",
		items,
		status: full.length > 0 ? "fail" : wide.length > 0 ? "warn" : "pass",
		detail:
			items.length === 0
				? "Nothing to do."
				: "These production keys hold `*` or `resource:*` scopes. Narrow them to the actions they need.",
	};
}
