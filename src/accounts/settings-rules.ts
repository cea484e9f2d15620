/**
 * Who may change which account setting (API.md §4): nobody may lock the owner
 * out. Settings that decide who gets in at all (the IP allowlist, mfaPolicy,
 * session limits) are the owner's alone, so an admin cannot set an allowlist
 * the owner is outside of and then refuse the owner's attempts to undo it,
 * remove that admin or lock the account down. And no caller may set an
 * allowlist that excludes the address they are calling from.
 */
import type { Role } from "../auth/permissions";
import type { FieldError } from "../problems";
import { ipAllowed, parseIp } from "../security/cidr";
import type { AccountSettings } from "./settings";

export const OWNER_ONLY_SETTINGS = [
	"ipAllowlist",
	"mfaPolicy",
	"requireMfa",
	"sessionIdleMinutes",
	"sessionMaxAgeHours",
	"emailCodeSecondFactor",
	"leakedKeyPolicy",
	// Shortening it deletes searchable history: an admin must not be able to hide their own tracks.
	"auditIndexDays",
	// Shortening it deletes archived history once the bucket's rules are applied: the same reason.
	"archiveRetentionYears",
	// Decides who may sign in with a password at all.
	"enforceSso",
] as const satisfies readonly (keyof AccountSettings)[];

/** The policy and its old form change together; a refusal names the one the caller sent. */
const POLICY_FIELDS = new Set<string>(["mfaPolicy", "requireMfa"]);

export interface SettingsChangeCaller {
	role: Role;
	/** The address the change comes from (`CF-Connecting-IP`), or null when unknown. */
	ip: string | null;
	mfaEnabled: boolean;
	/** Whether the caller's own session was made with a passkey (a key: whether its creator has one). */
	phishingResistant: boolean;
}

/** The settings that differ between `before` and `after`. */
export const changedSettings = (before: AccountSettings, after: AccountSettings): (keyof AccountSettings)[] =>
	(Object.keys(after) as (keyof AccountSettings)[]).filter(
		(k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]),
	);

/** Refusals of a settings change: 403s (the caller may not) and 400s (the value would lock someone out). */
export function settingsChangeRefusals(
	caller: SettingsChangeCaller,
	before: AccountSettings,
	after: AccountSettings,
	sentFields: readonly string[] = [],
): { forbidden: FieldError[]; invalid: FieldError[] } {
	const changed = new Set(changedSettings(before, after));
	const sent = new Set(sentFields);
	const forbidden =
		caller.role === "owner"
			? []
			: OWNER_ONLY_SETTINGS.filter(
					(k) => changed.has(k) && (!POLICY_FIELDS.has(k) || sent.size === 0 || sent.has(k)),
				).map((k) => ({
					path: `settings.${k}`,
					message: "Only the owner can change this setting",
				}));
	const invalid: FieldError[] = [];
	if (changed.has("ipAllowlist") && !ipAllowed(after.ipAllowlist, caller.ip))
		invalid.push({
			path: "settings.ipAllowlist",
			message: `Your own address${caller.ip && parseIp(caller.ip) !== null ? ` (${caller.ip})` : ""} must be inside the allowlist, or you would lock yourself out`,
		});
	if (changed.has("enforceSso") && after.enforceSso && !caller.mfaEnabled)
		invalid.push({
			path: "settings.enforceSso",
			message:
				"Turn on two-factor authentication for yourself first: it is the owner's break-glass path when single sign-on fails",
		});
	// The error names the field the caller sent (the old `requireMfa` or `mfaPolicy`).
	const policyPath = sent.has("mfaPolicy") || !sent.has("requireMfa") ? "settings.mfaPolicy" : "settings.requireMfa";
	if (changed.has("mfaPolicy") && after.mfaPolicy !== "off" && !caller.mfaEnabled)
		invalid.push({
			path: policyPath,
			message: "Turn on two-factor authentication for yourself first, or you would lock yourself out",
		});
	else if (changed.has("mfaPolicy") && after.mfaPolicy === "phishing-resistant" && !caller.phishingResistant)
		invalid.push({
			path: policyPath,
			message: "Sign in with a passkey first (add one under /v1/me/passkeys), or you would lock yourself out",
		});
	return { forbidden, invalid };
}
