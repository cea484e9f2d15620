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
	| "members:manage"
	| "settings:manage"
	| "webhooks:manage"
	| "lockdown"
	| "ownership:transfer"
	| "account:delete";

const READ: Permission[] = ["account:read", "members:read", "keys:read"];
const OVERSIGHT: Permission[] = ["audit:read", "report:read"];
const OWN_KEYS: Permission[] = ["keys:create", "keys:manage-own"];
const ADMINISTER: Permission[] = [
	"keys:manage-any",
	"members:manage",
	"settings:manage",
	"webhooks:manage",
	"lockdown",
];

const ROLE_PERMISSIONS: Record<Role, ReadonlySet<Permission>> = {
	owner: new Set([...READ, ...OVERSIGHT, ...OWN_KEYS, ...ADMINISTER, "ownership:transfer", "account:delete"]),
	admin: new Set([...READ, ...OVERSIGHT, ...OWN_KEYS, ...ADMINISTER]),
	member: new Set([...READ, ...OWN_KEYS]),
	readonly: new Set([...READ, ...OVERSIGHT]),
};

export const roleAllows = (role: Role, permission: Permission): boolean => ROLE_PERMISSIONS[role].has(permission);
