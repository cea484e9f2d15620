import { SHARD_COUNTS, type ShardCount } from "../durable/shard-map";

/**
 * Who must prove more than a password: nobody (`off`), every member with a second factor of any
 * kind (`any`), or with a passkey in the session's own sign-in (`phishing-resistant`).
 */
export const MFA_POLICIES = ["off", "any", "phishing-resistant"] as const;
export type MfaPolicy = (typeof MFA_POLICIES)[number];

/** What a key reported leaked (GitHub secret scanning) becomes: revoked at once, or rotated with a short grace. */
export const LEAKED_KEY_POLICIES = ["revoke", "rotate"] as const;
export type LeakedKeyPolicy = (typeof LEAKED_KEY_POLICIES)[number];

/**
 * Where the account's keys are verified (issue #25, docs/GLOBAL.md): every verify at the account's
 * home object (`home`, the default), or by a guard in the caller's region on shares lent by it.
 */
export const VERIFY_PLACEMENTS = ["home", "regional"] as const;
/** How many objects may share an account's verifies (docs/GLOBAL.md §7): the shard counts. */
export const VERIFY_SHARD_COUNTS = SHARD_COUNTS;
export type { ShardCount };
export type VerifyPlacement = (typeof VERIFY_PLACEMENTS)[number];

/** How long the searchable audit index may keep events (`auditIndexDays`): the seeds' 90-day minimum to ten years. */
export const AUDIT_INDEX_DAYS = { min: 90, max: 3650 } as const;

/**
 * How long the R2 archive keeps an account's events (`archiveRetentionYears`): null keeps them
 * (the default), else 1 to 100 years, enforced by the bucket's lifecycle and lock rules
 * (`npm run audit:retention`, src/audit/retention.ts). One year is the floor every archived
 * object is locked for, above the seeds' 90 days.
 */
export const ARCHIVE_RETENTION_YEARS = { min: 1, max: 100 } as const;

/** Account settings (API.md §4) with their defaults; stored as JSON, absent keys default. */
export interface AccountSettings {
	mfaPolicy: MfaPolicy;
	/** The old form of `mfaPolicy`, kept for readers: always `mfaPolicy !== "off"`. */
	requireMfa: boolean;
	sessionIdleMinutes: number;
	sessionMaxAgeHours: number;
	keyMaxLifetimeDays: number;
	keyInactivityDays: number;
	rotationGraceHours: number;
	ipAllowlist: string[];
	passwordComposition: boolean;
	/** Whether an emailed code may stand in for a member's authenticator at sign-in. */
	emailCodeSecondFactor: boolean;
	/** Failed logins of the account's members within the window that raise `alert.failed_logins_spike`. */
	failedLoginAlertThreshold: number;
	failedLoginAlertWindowMinutes: number;
	leakedKeyPolicy: LeakedKeyPolicy;
	/** How long the searchable audit index keeps events (the archive keeps them regardless): 90 to 3,650 days. */
	auditIndexDays: number;
	/** How long the archive keeps events: null keeps them; else 1 to 100 years. */
	archiveRetentionYears: number | null;
	/** SCIM group displayName → the role its members hold (issue #27); never `owner`. */
	scimGroupRoles: Record<string, ScimMappedRole>;
	/**
	 * Whether members whose address is in one of the account's verified domains must sign in through
	 * its single sign-on connection (issue #27); the owner keeps a break-glass path.
	 */
	enforceSso: boolean;
	/** Where verify is answered: the account's home object, or regional guards on lent shares. */
	verifyPlacement: VerifyPlacement;
	/** How many objects the account's keys are spread over (1: its one object). */
	verifyShards: ShardCount;
}

/** The roles a SCIM group may map to: never owner (ownership moves only by transfer). */
export const SCIM_MAPPED_ROLES = ["admin", "member", "readonly"] as const;
export type ScimMappedRole = (typeof SCIM_MAPPED_ROLES)[number];
export const SCIM_GROUP_ROLES_MAX = 50;

export const DEFAULT_SETTINGS: AccountSettings = {
	mfaPolicy: "off",
	requireMfa: false,
	sessionIdleMinutes: 30,
	sessionMaxAgeHours: 24,
	keyMaxLifetimeDays: 90,
	keyInactivityDays: 90,
	rotationGraceHours: 24,
	ipAllowlist: [],
	passwordComposition: false,
	emailCodeSecondFactor: true,
	failedLoginAlertThreshold: 10,
	failedLoginAlertWindowMinutes: 15,
	leakedKeyPolicy: "revoke",
	auditIndexDays: 365,
	archiveRetentionYears: null,
	scimGroupRoles: {},
	enforceSso: false,
	verifyPlacement: "home",
	verifyShards: 1,
};

const isPolicy = (v: unknown): v is MfaPolicy => MFA_POLICIES.includes(v as MfaPolicy);

/** `requireMfa` follows `mfaPolicy`; settings stored before the policy existed read `requireMfa: true` as `any`. */
const withPolicy = (s: AccountSettings, policy: MfaPolicy): AccountSettings => ({
	...s,
	mfaPolicy: policy,
	requireMfa: policy !== "off",
});

export function parseSettings(json: string | null | undefined): AccountSettings {
	try {
		const stored = JSON.parse(json ?? "{}") as Partial<AccountSettings>;
		const policy = isPolicy(stored.mfaPolicy) ? stored.mfaPolicy : stored.requireMfa === true ? "any" : "off";
		return withPolicy({ ...DEFAULT_SETTINGS, ...stored }, policy);
	} catch {
		return { ...DEFAULT_SETTINGS };
	}
}

/**
 * A PATCH's settings on top of the current ones. `requireMfa` is still accepted: `true` asks for
 * at least `any` (a stricter policy stays), `false` for `off`. Sent together and disagreeing, they
 * are refused, each field named.
 */
export function applySettingsPatch(
	before: AccountSettings,
	patch: Partial<AccountSettings>,
): { settings: AccountSettings; conflict: boolean } {
	const { requireMfa, mfaPolicy, ...rest } = patch;
	const conflict = requireMfa !== undefined && mfaPolicy !== undefined && requireMfa !== (mfaPolicy !== "off");
	const policy =
		mfaPolicy ??
		(requireMfa === undefined
			? before.mfaPolicy
			: requireMfa
				? before.mfaPolicy === "off"
					? "any"
					: before.mfaPolicy
				: "off");
	return { settings: withPolicy({ ...before, ...rest }, policy), conflict };
}

/** A user in several accounts gets the strictest session limits among them. */
export function strictestSessionLimits(all: AccountSettings[]): { idleMs: number; maxAgeMs: number } {
	const list = all.length > 0 ? all : [DEFAULT_SETTINGS];
	return {
		idleMs: Math.min(...list.map((s) => s.sessionIdleMinutes)) * 60_000,
		maxAgeMs: Math.min(...list.map((s) => s.sessionMaxAgeHours)) * 3_600_000,
	};
}
