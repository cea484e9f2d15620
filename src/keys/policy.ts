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
import { type KeyRecord, limitsOf } from "../durable/key-store";
import type { FieldError } from "../problems";
import { allowlistWithin } from "../security/cidr";
import type { CreditPlan } from "../security/credits";
import { isReservedScope, scopeCovered } from "../security/scopes";
import type { NamedLimit } from "../security/sliding-window";

/** Everything about a key that decides what it can do. */
export interface KeyGrant {
	environment: string;
	scopes: readonly string[];
	ipAllowlist: readonly string[];
	/** Every rate limit of the key (at least one). */
	limits: readonly NamedLimit[];
	expiresAt: number;
	/** The credit balance it spends (null: unlimited). */
	credits: { pool: string } | null;
	/** False while disabled: enabling a key hands its powers back. */
	enabled: boolean;
}

/**
 * `grant`'s limits are at least as tight as `bound`'s: each of bound's is met by one of grant's
 * of the same name (a verify checks limits by name, so a renamed copy would be skipped) with no
 * more uses over a window at least as long.
 */
export const limitsWithin = (grant: readonly NamedLimit[], bound: readonly NamedLimit[]): boolean =>
	bound.every((b) => grant.some((g) => g.name === b.name && g.limit <= b.limit && g.windowSeconds >= b.windowSeconds));

/**
 * `grant` never allows more uses than `bound`'s credits: unlimited bounds nothing; otherwise the
 * grant spends the very same balance. A separate balance of any size would add uses, and setting
 * credits sets (refills) a balance, so a key with credits makes only keys that share its own.
 */
export const creditsWithin = (grant: KeyGrant["credits"], bound: KeyGrant["credits"]): boolean =>
	!bound || grant?.pool === bound.pool;

/** A key's record, as the account's object holds it, seen as a grant (the calling key's bound). */
export const grantOfRecord = (key: KeyRecord): KeyGrant => ({
	environment: key.environment,
	scopes: key.scopes,
	ipAllowlist: key.ipAllowlist,
	limits: limitsOf(key),
	expiresAt: key.expiresAt,
	credits: key.credits ? { pool: key.credits.pool } : null,
	enabled: key.enabled !== false,
});

/** Who is making or changing a key. A key caller carries its own current record. */
export type KeyIssuer =
	/** `provedRecently`: the session proved itself within the recent-authentication window (src/auth/recent-auth.ts). */
	| { type: "user"; userId: string; role: Role; provedRecently: boolean }
	| { type: "key"; userId: string; role: Role; keyId: string; key: KeyGrant; creditPlan: CreditPlan | null };

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
	if (!limitsWithin(grant.limits, issuer.limits))
		out.push({
			path: "rateLimits",
			message: `Each of the calling key's limits (${issuer.limits.map((l) => `${l.limit} per ${l.windowSeconds} s`).join(", ")}) must be met by one at least as tight`,
		});
	if (!creditsWithin(grant.credits, issuer.credits))
		out.push({
			path: "credits",
			message: "The calling key has credits: keys it makes or changes spend its own balance, never another",
		});
	if (grant.enabled && !issuer.enabled) out.push({ path: "enabled", message: "The calling key is disabled" });
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
