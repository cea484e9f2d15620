/**
 * Scopes (API.md §5): `resource:action`, `resource:*` or `*`; each side
 * lowercase `[a-z][a-z0-9-]*`, at most 32 characters. A required scope
 * `database:read` is satisfied by `database:read`, `database:*` or `*`.
 */
const SIDE = "[a-z][a-z0-9-]{0,31}";
const SCOPE = new RegExp(`^(\\*|${SIDE}:(${SIDE}|\\*))$`);
const REQUIRED = new RegExp(`^${SIDE}:${SIDE}$`);

/** The reserved scopes through which a key reaches the management API. */
export const RESERVED_SCOPES = [
	"keys:read",
	"keys:write",
	"members:read",
	"members:write",
	"audit:read",
	"account:read",
] as const;

export const isValidScope = (scope: string): boolean => SCOPE.test(scope);
export const isValidRequiredScope = (scope: string): boolean => REQUIRED.test(scope);

export function scopeSatisfies(granted: readonly string[], required: string): boolean {
	const resource = required.slice(0, required.indexOf(":"));
	return granted.some((g) => g === "*" || g === required || g === `${resource}:*`);
}

export const allScopesSatisfied = (granted: readonly string[], required: readonly string[]): boolean =>
	required.every((r) => scopeSatisfies(granted, r));

/** Wildcards that grant more than one resource or action (flagged on production keys). */
export const isWildcard = (scope: string): boolean => scope === "*" || scope.endsWith(":*");
