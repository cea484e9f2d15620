/** Account settings (API.md §4) with their defaults; stored as JSON, absent keys default. */
export interface AccountSettings {
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
}

export const DEFAULT_SETTINGS: AccountSettings = {
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
};

export function parseSettings(json: string | null | undefined): AccountSettings {
	try {
		return { ...DEFAULT_SETTINGS, ...(JSON.parse(json ?? "{}") as Partial<AccountSettings>) };
	} catch {
		return { ...DEFAULT_SETTINGS };
	}
}

/** A user in several accounts gets the strictest session limits among them. */
export function strictestSessionLimits(all: AccountSettings[]): { idleMs: number; maxAgeMs: number } {
	const list = all.length > 0 ? all : [DEFAULT_SETTINGS];
	return {
		idleMs: Math.min(...list.map((s) => s.sessionIdleMinutes)) * 60_000,
		maxAgeMs: Math.min(...list.map((s) => s.sessionMaxAgeHours)) * 3_600_000,
	};
}
