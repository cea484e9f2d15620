/**
 * What a caller may put on a key (API.md §5): the rules every create, update
 * and rotation passes through src/keys/lifecycle.ts. Pure functions; the
 * lifecycle turns their findings into problems.
 *
 * The threat is a credential that widens itself: a `keys:write` key that adds
 * `members:write` to its own record, drops its IP allowlist, or mints a key
 * without one. So a key caller's grant must fit inside the calling key on every
 * axis (scopes, allowlist, rate limit, lifetime, environment), and a person's
 * grant of reserved scopes must fit inside their role.
 */
import { type Role, roleMayGrantScope } from "../auth/permissions";
import type { FieldError } from "../problems";
import { allowlistWithin } from "../security/cidr";
import { isReservedScope, scopeCovered } from "../security/scopes";

/** Everything about a key that decides what it can do. */
export interface KeyGrant {
	environment: string;
	scopes: readonly string[];
	ipAllowlist: readonly string[];
	limit: number;
	windowSeconds: number;
	expiresAt: number;
}

/** Who is making or changing a key. A key caller carries its own current record. */
export type KeyIssuer =
	/** `provedRecently`: the session proved itself within the recent-authentication window (src/auth/recent-auth.ts). */
	| { type: "user"; userId: string; role: Role; provedRecently: boolean }
	| { type: "key"; userId: string; role: Role; keyId: string; key: KeyGrant };

/** Reserved scopes the issuer's role does not hold. */
export function scopesBeyondRole(role: Role, scopes: readonly string[]): FieldError[] {
	return scopes.flatMap((scope, i) =>
		isReservedScope(scope) && !roleMayGrantScope(role, scope)
			? [{ path: `scopes.${i}`, message: `A ${role} cannot grant ${scope}` }]
			: [],
	);
}

/** The ways `grant` would exceed the calling key; empty when it fits inside. */
export function excessOverKey(issuer: KeyGrant, grant: KeyGrant): FieldError[] {
	const out: FieldError[] = grant.scopes.flatMap((scope, i) =>
		scopeCovered(issuer.scopes, scope)
			? []
			: [{ path: `scopes.${i}`, message: `The calling key does not hold ${scope}` }],
	);
	if (!allowlistWithin(grant.ipAllowlist, issuer.ipAllowlist))
		out.push({ path: "ipAllowlist", message: "Must stay inside the calling key's IP allowlist" });
	if (grant.limit > issuer.limit || grant.windowSeconds < issuer.windowSeconds)
		out.push({
			path: "rateLimit",
			message: `At most ${issuer.limit} per ${issuer.windowSeconds} s, the calling key's own limit`,
		});
	if (grant.expiresAt > issuer.expiresAt)
		out.push({ path: "expiresInDays", message: "Cannot outlive the calling key" });
	if (grant.environment !== issuer.environment)
		out.push({ path: "environment", message: `The calling key is a ${issuer.environment} key` });
	return out;
}

/**
 * A key that reaches the management API hands over the account: a person makes one (creates,
 * widens into one, or rotates one into a new secret) only with a fresh proof of identity, so a
 * stolen session cannot. A key caller proved itself by holding such a key already.
 */
export const needsFreshProof = (issuer: KeyIssuer, grant: KeyGrant): boolean =>
	issuer.type === "user" && !issuer.provedRecently && grant.scopes.some(isReservedScope);

/** Every way the issuer may not make `grant`: beyond its role, and (for a key caller) beyond that key. */
export const grantRefusals = (issuer: KeyIssuer, grant: KeyGrant): FieldError[] => [
	...scopesBeyondRole(issuer.role, grant.scopes),
	...(issuer.type === "key" ? excessOverKey(issuer.key, grant) : []),
];

/**
 * What a change from `before` to `after` may not do. Renaming and narrowing are always allowed,
 * whoever the key belongs to. A change that widens anything hands out the whole resulting key, so
 * the whole result must then be the issuer's to grant, on every axis: adding a scope the caller
 * holds to a production key with no allowlist would otherwise carry that scope out of the caller's
 * environment, allowlist, rate limit and lifetime.
 */
export function changeRefusals(issuer: KeyIssuer, before: KeyGrant, after: KeyGrant): FieldError[] {
	if (excessOverKey(before, after).length === 0) return [];
	return grantRefusals(issuer, after);
}
