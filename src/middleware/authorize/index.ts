import { and, eq } from "drizzle-orm";
import type { Context, MiddlewareHandler } from "hono";
import { DEFAULT_SETTINGS } from "../../accounts/settings";
import { type Permission, reservedScopeFor, roleAllows } from "../../auth/permissions";
import type { Principal, PrincipalMembership } from "../../auth/principal";
import { memberships } from "../../db/schema";
import type { AppEnv } from "../../platform/app-env";
import { isIdOf } from "../../platform/ids";
import { ApiError, type CredentialProblem, validationError } from "../../problems";
import { ipAllowed } from "../../security/cidr";
import { scopeSatisfies } from "../../security/scopes";

const DETAILS: Record<CredentialProblem, string> = {
	missing_credentials: "Send a session token or API key as Authorization: Bearer",
	malformed_authorization: "The Authorization header must be `Bearer <token>`",
	invalid_token: "The token is not valid here; sign in again or use a current API key",
	session_expired: "The session has expired; sign in again",
	session_revoked: "The session was ended; sign in again",
	key_revoked: "The API key was revoked; use a current key",
	key_expired: "The API key has expired; rotate it or create a new one",
	key_disabled: "The API key is disabled; someone who manages it can enable it again",
};

/** The 401 for a request without a usable credential; its `code` says why (RFC 6750's `error` too). */
export function unauthorized(code: CredentialProblem): ApiError {
	const challenge =
		code === "missing_credentials" ? 'Bearer realm="keyward"' : 'Bearer realm="keyward", error="invalid_token"';
	return new ApiError("unauthorized", { detail: DETAILS[code], code, headers: { "WWW-Authenticate": challenge } });
}

const unauthorizedFor = (c: Context<AppEnv>) => unauthorized(c.get("credentialProblem") ?? "missing_credentials");

/**
 * What a gate admits, attached to the gate itself: the OpenAPI document reads it off the handlers
 * each route really runs (src/routes/openapi-security.ts), so the credentials it declares cannot
 * drift from the ones the route takes.
 */
export type CredentialGate =
	| { accepts: "session" }
	/** `keyScope`: the reserved scope that lets an API key through; undefined when no key may pass. */
	| { accepts: "session-or-key"; keyScope: string | undefined }
	/** SCIM: an API key with the scope, in the key's own account; never a session. */
	| { accepts: "key"; keyScope: string };

const GATE = Symbol("credential gate");

const declaring = (handler: MiddlewareHandler<AppEnv>, gate: CredentialGate): MiddlewareHandler<AppEnv> =>
	Object.assign(handler, { [GATE]: gate });

/** The credentials a route handler admits, when it is one of the gates below. */
export const credentialGateOf = (handler: unknown): CredentialGate | undefined =>
	typeof handler === "function" ? (handler as { [GATE]?: CredentialGate })[GATE] : undefined;

/** Routes of the signed-in user themself (`/v1/me*`, logout): a session is required, an API key is not enough. */
export const requireUser = (): MiddlewareHandler<AppEnv> =>
	declaring(
		async (c, next) => {
			const principal = c.get("principal");
			// An API key is a credential, but not one for these routes.
			if (principal?.type === "key") throw unauthorized("invalid_token");
			if (principal?.type !== "user") throw unauthorizedFor(c);
			await next();
		},
		{ accepts: "session" },
	);

export interface AccountGateOptions {
	/**
	 * The route hands out power (a credential, a role, a setting, a webhook). Such routes are
	 * refused in an account whose owner has not verified their email: anyone can sign up with
	 * someone else's address, and what that account granted would survive the real owner's
	 * claim of it.
	 */
	grants?: boolean;
	/**
	 * While the account is locked down, routes that grant answer 423: new credentials, roles,
	 * invitations, webhooks and key changes wait until the owner lifts it. The owner alone may
	 * still change settings (to tighten them) and lift it.
	 */
	ownerWhileLockedDown?: boolean;
}

/**
 * The gate of every route under `/v1/accounts/{accountId}`: no caller → 401;
 * not a member → 404 (another tenant's account is indistinguishable from none);
 * a member whose role lacks the permission → 403. On success the request's
 * audit events go to that account's trail.
 */
export const requireAccountPermission = (
	permission: Permission,
	options: AccountGateOptions = {},
): MiddlewareHandler<AppEnv> =>
	declaring(accountGate(permission, options), {
		accepts: "session-or-key",
		keyScope: reservedScopeFor(permission),
	});

const accountGate =
	(permission: Permission, options: AccountGateOptions): MiddlewareHandler<AppEnv> =>
	async (c, next) => {
		const principal = c.get("principal");
		if (!principal) throw unauthorizedFor(c);
		const accountId = c.req.param("accountId") ?? "";
		// The gate runs before the route's own validation: refuse a malformed id the same way it would.
		if (!isIdOf("acc", accountId)) throw validationError([{ path: "accountId", message: "Not a acc_ id" }]);
		const membership = principal.memberships.find((m) => m.accountId === accountId);
		if (!membership) throw new ApiError("not-found", { detail: "No such account" });
		c.get("audit").accountId = membership.accountId;
		enforceAccountPolicies(c, principal, membership);
		if (!principal.serviceAccount) touchMembership(c, principal.userId, membership);
		if (principal.type === "key") {
			// A key reaches the management API only through its reserved scope, and never beyond its creator's role.
			const scope = reservedScopeFor(permission);
			if (!scope || !scopeSatisfies(principal.scopes ?? [], scope)) {
				throw new ApiError("forbidden", {
					detail: scope ? `This key lacks the ${scope} scope` : "API keys cannot do this",
				});
			}
		}
		if (!roleAllows(membership.role, permission)) {
			throw new ApiError("forbidden", { detail: `Your role (${membership.role}) does not allow ${permission}` });
		}
		if (options.grants && membership.lockedDownAt && !(options.ownerWhileLockedDown && membership.role === "owner")) {
			throw new ApiError("locked", {
				detail: "The account is locked down: nothing can be granted until an owner lifts it (POST …/lockdown/lift)",
			});
		}
		if (options.grants && membership.ownerEmailVerified === false) {
			throw new ApiError("email-unverified", {
				detail:
					"Verify your email address first: until the account owner's address is verified, the account grants nothing",
			});
		}
		await next();
	};

/**
 * The gate of the SCIM routes (issue #27): an API key holding the reserved scope that `permission`
 * maps to (`scim:write`), acting in the key's own account with its creator's current role, which
 * must still hold `permission`. A session is refused: an identity provider holds a key, and a
 * person's session reaching SCIM would be a second way to manage members. The account's IP
 * allowlist and factor policy apply as on every account route, and an account whose owner is
 * unverified provisions nothing. Errors are RFC 9457 here; the SCIM routes' own middleware
 * renders them in SCIM's error schema.
 */
export const requireAccountKey = (permission: Permission): MiddlewareHandler<AppEnv> => {
	const scope = reservedScopeFor(permission);
	if (!scope) throw new Error(`${permission} has no reserved scope: no key could pass`);
	return declaring(
		async (c, next) => {
			const principal = c.get("principal");
			if (principal?.type === "user") throw unauthorized("invalid_token");
			if (principal?.type !== "key" || !principal.key) throw unauthorizedFor(c);
			const membership = principal.memberships.find((m) => m.accountId === principal.key?.accountId);
			if (!membership) throw unauthorized("invalid_token");
			c.get("audit").accountId = membership.accountId;
			enforceAccountPolicies(c, principal, membership);
			if (!scopeSatisfies(principal.scopes ?? [], scope))
				throw new ApiError("forbidden", { detail: `This key lacks the ${scope} scope` });
			if (!roleAllows(membership.role, permission))
				throw new ApiError("forbidden", {
					detail: `The key's creator's role (${membership.role}) does not allow ${permission}`,
				});
			if (membership.ownerEmailVerified === false)
				throw new ApiError("email-unverified", {
					detail: "The account owner's email address is not verified: until it is, the account provisions nobody",
				});
			await next();
		},
		{ accepts: "key", keyScope: scope },
	);
};

/** The account a key-gated route acts in (the key's own), with the key's standing there. */
export function keyAccount(c: Context<AppEnv>): { principal: Principal; membership: PrincipalMembership } {
	const principal = c.get("principal");
	const membership = principal?.memberships.find((m) => m.accountId === principal.key?.accountId);
	if (!principal || !membership) throw new ApiError("not-found");
	return { principal, membership };
}

/**
 * The account's own rules, for sessions and API keys alike: its IP allowlist,
 * and `mfaPolicy` (members without the factor it asks for reach only /v1/me* and logout).
 */
function enforceAccountPolicies(c: Context<AppEnv>, principal: Principal, membership: PrincipalMembership): void {
	if (
		principal.type === "user" &&
		membership.sessionsNotBefore &&
		(principal.sessionCreatedAt ?? 0) <= membership.sessionsNotBefore.getTime()
	) {
		// A lockdown of this account ended this session's access to it, and only to it.
		throw new ApiError("unauthorized", {
			detail: "This account was locked down after you signed in; sign in again",
			code: "session_revoked",
			headers: { "WWW-Authenticate": 'Bearer realm="keyward", error="invalid_token"' },
		});
	}
	const settings = membership.settings ?? DEFAULT_SETTINGS;
	if (!ipAllowed(settings.ipAllowlist, c.req.header("CF-Connecting-IP") ?? null)) {
		throw new ApiError("forbidden", { detail: "This account does not accept requests from your address" });
	}
	if (settings.mfaPolicy !== "off" && !principal.mfaEnabled) {
		throw new ApiError("forbidden", {
			detail:
				settings.mfaPolicy === "phishing-resistant"
					? "This account requires a passkey: add one (POST /v1/me/passkeys/options), then sign in with it"
					: "This account requires two-factor authentication; turn it on under /v1/me/mfa or add a passkey",
		});
	}
	if (settings.mfaPolicy === "phishing-resistant" && !principal.phishingResistant) {
		throw new ApiError("forbidden", {
			detail:
				principal.type === "key"
					? "This account requires a passkey: the key's creator must add one (POST /v1/me/passkeys/options)"
					: "This account requires a phishing-resistant sign-in: sign in with your passkey (or add one under /v1/me/passkeys first)",
		});
	}
}

const TOUCH_EVERY_MS = 5 * 60_000;

/** Records the member's last activity, at most every five minutes, after the response. */
function touchMembership(c: Context<AppEnv>, userId: string, membership: PrincipalMembership): void {
	const { db, clock } = c.get("services");
	const now = clock.now();
	if (membership.lastActiveAt && now.getTime() - membership.lastActiveAt.getTime() < TOUCH_EVERY_MS) return;
	const update = db
		.update(memberships)
		.set({ lastActiveAt: now })
		.where(and(eq(memberships.accountId, membership.accountId), eq(memberships.userId, userId)))
		.then(() => undefined)
		.catch(() => undefined);
	try {
		c.executionCtx.waitUntil(update);
	} catch {
		// no execution context: the update runs on its own
	}
}

/** The caller and their membership in the path's account, inside a route the gate has already admitted. */
export function callerMembership(
	c: Context<AppEnv>,
	accountId: string,
): { principal: Principal; membership: PrincipalMembership } {
	const principal = c.get("principal");
	const membership = principal?.memberships.find((m) => m.accountId === accountId);
	if (!principal || !membership) throw new ApiError("not-found");
	return { principal, membership };
}
