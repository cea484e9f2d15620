/**
 * Who may change which account setting (API.md §4): nobody may lock the owner
 * out. Settings that decide who gets in at all (the IP allowlist, requireMfa,
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
	"requireMfa",
	"sessionIdleMinutes",
	"sessionMaxAgeHours",
	"emailCodeSecondFactor",
] as const satisfies readonly (keyof AccountSettings)[];

export interface SettingsChangeCaller {
	role: Role;
	/** The address the change comes from (`CF-Connecting-IP`), or null when unknown. */
	ip: string | null;
	mfaEnabled: boolean;
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
): { forbidden: FieldError[]; invalid: FieldError[] } {
	const changed = new Set(changedSettings(before, after));
	const forbidden =
		caller.role === "owner"
			? []
			: OWNER_ONLY_SETTINGS.filter((k) => changed.has(k)).map((k) => ({
					path: `settings.${k}`,
					message: "Only the owner can change this setting",
				}));
	const invalid: FieldError[] = [];
	if (changed.has("ipAllowlist") && !ipAllowed(after.ipAllowlist, caller.ip))
		invalid.push({
			path: "settings.ipAllowlist",
			message: `Your own address${caller.ip && parseIp(caller.ip) !== null ? ` (${caller.ip})` : ""} must be inside the allowlist, or you would lock yourself out`,
		});
	if (changed.has("requireMfa") && after.requireMfa && !caller.mfaEnabled)
		invalid.push({
			path: "settings.requireMfa",
			message: "Turn on two-factor authentication for yourself first, or you would lock yourself out",
		});
	return { forbidden, invalid };
}
