/**
 * Scopes (API.md §5): `resource:action`, `resource:*` or `*`; each side
 * lowercase `[a-z][a-z0-9-]*`, at most 32 characters. A required scope
 * `database:read` is satisfied by `database:read`, `database:*` or `*`.
 *
 * Reserved scopes open the management API, and are granted only by name: `*`
 * and `keys:*` cover product scopes, never `keys:write`. Otherwise a `ci` key
 * with `["*"]`, meant for a product's test data, could change roles and revoke
 * production keys.
 */
const SIDE = "[a-z][a-z0-9-]{0,31}";
const SCOPE = new RegExp(`^(\\*|${SIDE}:(${SIDE}|\\*))$`);
const REQUIRED = new RegExp(`^${SIDE}:${SIDE}$`);

/**
 * The reserved scopes: those through which a key reaches the management API, and `keys:verify`,
 * which lets a key (a "root key" of the customer's own service) vouch for the client address it
 * sends to verify.
 */
export const RESERVED_SCOPES = [
	"keys:read",
	"keys:write",
	"members:read",
	"members:write",
	"audit:read",
	"account:read",
	"keys:verify",
	"scim:write",
] as const;
export type ReservedScope = (typeof RESERVED_SCOPES)[number];

const RESERVED: ReadonlySet<string> = new Set(RESERVED_SCOPES);
export const isReservedScope = (scope: string): scope is ReservedScope => RESERVED.has(scope);

export const isValidScope = (scope: string): boolean => SCOPE.test(scope);
export const isValidRequiredScope = (scope: string): boolean => REQUIRED.test(scope);

export function scopeSatisfies(granted: readonly string[], required: string): boolean {
	if (isReservedScope(required)) return granted.includes(required);
	const resource = required.slice(0, required.indexOf(":"));
	return granted.some((g) => g === "*" || g === required || g === `${resource}:*`);
}

export const allScopesSatisfied = (granted: readonly string[], required: readonly string[]): boolean =>
	required.every((r) => scopeSatisfies(granted, r));

/**
 * Whether `granted` covers everything `scope` would grant: what a credential may hand on. A
 * wildcard is covered only by an equal or wider wildcard; a reserved scope only by itself.
 */
export function scopeCovered(granted: readonly string[], scope: string): boolean {
	if (scope === "*") return granted.includes("*");
	if (scope.endsWith(":*")) return granted.includes("*") || granted.includes(scope);
	return scopeSatisfies(granted, scope);
}

/** Wildcards that grant more than one resource or action (flagged on production keys). */
export const isWildcard = (scope: string): boolean => scope === "*" || scope.endsWith(":*");
