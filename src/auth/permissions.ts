/**
 * The one permission table (API.md §4). Routes declare the permission they
 * need; nothing else checks roles.
 */
export const ROLES = ["owner", "admin", "member", "readonly"] as const;
export type Role = (typeof ROLES)[number];

export type Permission =
	| "account:read"
	| "members:read"
	| "keys:read"
	| "audit:read"
	| "report:read"
	| "keys:create"
	| "keys:manage-own"
	| "keys:manage-any"
	/** Revealing a parked key secret (a leaked key's successor): people only, no reserved scope opens it. */
	| "keys:reveal"
	| "members:manage"
	/** Provisioning members through SCIM (issue #27): an API key with `scim:write` only, never a session. */
	| "members:provision"
	/** Claiming and verifying the account's email domains (issue #27): the owner only, people only. */
	| "domains:manage"
	/** Managing the account's OIDC single sign-on connection (issue #27): the owner only, people only. */
	| "sso:manage"
	| "service-accounts:manage"
	| "settings:manage"
	| "webhooks:manage"
	/** Log streams copy the whole audit trail out of Keyward: people only, no reserved scope opens it. */
	| "log-streams:manage"
	| "lockdown"
	| "ownership:transfer"
	| "lockdown:lift"
	| "account:delete";

const READ: Permission[] = ["account:read", "members:read", "keys:read"];
const OVERSIGHT: Permission[] = ["audit:read", "report:read"];
const OWN_KEYS: Permission[] = ["keys:create", "keys:manage-own", "keys:reveal"];
const ADMINISTER: Permission[] = [
	"keys:manage-any",
	"members:manage",
	"members:provision",
	"service-accounts:manage",
	"settings:manage",
	"webhooks:manage",
	"log-streams:manage",
	"lockdown",
];

const ROLE_PERMISSIONS: Record<Role, ReadonlySet<Permission>> = {
	owner: new Set([
		...READ,
		...OVERSIGHT,
		...OWN_KEYS,
		...ADMINISTER,
		"ownership:transfer",
		"lockdown:lift",
		"account:delete",
		"domains:manage",
		"sso:manage",
	]),
	admin: new Set([...READ, ...OVERSIGHT, ...OWN_KEYS, ...ADMINISTER]),
	member: new Set([...READ, ...OWN_KEYS]),
	readonly: new Set([...READ, ...OVERSIGHT]),
};

export const roleAllows = (role: Role, permission: Permission): boolean => ROLE_PERMISSIONS[role].has(permission);

/** The roles that hold a permission (for conditions written into SQL). */
export const rolesWith = (permission: Permission): Role[] => ROLES.filter((role) => roleAllows(role, permission));

/**
 * The reserved scope an API key needs for each permission (API.md §5). A
 * permission with none (settings, webhooks, service accounts, lockdown,
 * ownership, deletion) is never reachable with an API key.
 */
const RESERVED_SCOPE: Partial<Record<Permission, string>> = {
	"account:read": "account:read",
	"members:read": "members:read",
	"keys:read": "keys:read",
	"audit:read": "audit:read",
	"report:read": "audit:read",
	"keys:create": "keys:write",
	"keys:manage-own": "keys:write",
	"keys:manage-any": "keys:write",
	"members:manage": "members:write",
	"members:provision": "scim:write",
};

export const reservedScopeFor = (permission: Permission): string | undefined => RESERVED_SCOPE[permission];

/**
 * Whether a role may put a reserved scope on a key: only when it holds a permission that scope
 * opens. A member's key with `members:write` would be capped at use anyway, but it would gain
 * that power the day its creator is promoted, without anyone granting it.
 */
export const roleMayGrantScope = (role: Role, scope: string): boolean => {
	const capability = CAPABILITY_SCOPES[scope];
	if (capability) return roleAllows(role, capability);
	return (Object.entries(RESERVED_SCOPE) as [Permission, string][]).some(
		([permission, reserved]) => reserved === scope && roleAllows(role, permission),
	);
};

/**
 * Reserved scopes that open no route but a capability, with the permission a role needs to grant
 * them and, at use, the permission the key's creator must still hold. `keys:verify` lets a key
 * vouch for the client address in a verify call: the power to satisfy any key's IP allowlist in
 * the account, so an admin's.
 */
const CAPABILITY_SCOPES: Record<string, Permission> = { "keys:verify": "keys:manage-any" };

export const capabilityPermission = (scope: string): Permission | undefined => CAPABILITY_SCOPES[scope];
