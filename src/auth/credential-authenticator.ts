/**
 * Resolves a session token from `Authorization: Bearer` or the
 * `__Host-keyward_session` cookie (never from the query string). A cookie is
 * sent by the browser on its own, so unsafe cookie requests must also come
 * from an allowed Origin (CSRF), on top of SameSite=Strict.
 */

import type { Context } from "hono";
import { getCookie } from "hono/cookie";
import { serviceAccountMembership } from "../accounts/service-accounts";
import { resolveSessionToken, SESSION_COOKIE } from "../identity/sessions";
import { getUser, hasSecondFactor, membershipsOf } from "../identity/users";
import { hashApiKey, parseApiKey } from "../keys/format";
import { getServiceAccount } from "../keys/records";
import { verifyAtOwner } from "../keys/verify";
import type { AppEnv } from "../platform/app-env";
import { ApiError, type CredentialProblem } from "../problems";
import { fromOwnSite, parseOriginList } from "../security/origin";
import { throttledHeaders } from "../security/rate-limit-headers";
import type { Authenticator, Principal } from "./principal";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export function credentialOf(c: Context): { token: string; via: "bearer" | "cookie" } | null {
	const header = c.req.header("Authorization");
	if (header !== undefined) {
		const match = /^Bearer ([\x21-\x7e]{1,512})$/.exec(header);
		return match?.[1] ? { token: match[1], via: "bearer" } : null;
	}
	const cookie = getCookie(c, SESSION_COOKIE);
	return cookie ? { token: cookie, via: "cookie" } : null;
}

function assertSameSiteOrigin(c: Context<AppEnv>): void {
	if (!fromOwnSite(c.req, c.req.url, parseOriginList(c.env.CORS_ORIGINS))) {
		throw new ApiError("forbidden", { detail: "Cookie-authenticated changes must come from an allowed Origin" });
	}
}

/** Records why a credential that was sent did not authenticate (the 401's `code`). */
const rejected = (c: Context, problem: CredentialProblem): null => {
	(c as Context<AppEnv>).set("credentialProblem", problem);
	return null;
};

export const credentialAuthenticator: Authenticator = async (c) => {
	const credential = credentialOf(c);
	if (!credential) return c.req.header("Authorization") === undefined ? null : rejected(c, "malformed_authorization");
	if (credential.via === "cookie" && !SAFE_METHODS.has(c.req.method)) assertSameSiteOrigin(c as Context<AppEnv>);
	const { services } = (c as Context<AppEnv>).var;
	if (credential.token.startsWith("kw_")) return keyPrincipal(c as Context<AppEnv>, credential.token);
	const resolved = await resolveSessionToken(c.env, credential.token, services.clock.now());
	if (!resolved) return rejected(c, "invalid_token");
	if ("ended" in resolved) return rejected(c, resolved.ended === "expired" ? "session_expired" : "session_revoked");
	const [user, memberships] = await Promise.all([
		getUser(services.db, resolved.userId),
		membershipsOf(services.db, resolved.userId),
	]);
	// An erased person's sessions end after the tombstone is written (privacy/erasure.ts), so a
	// request that lands between the two is refused here rather than served as the tombstone.
	if (!user || user.erasedAt) return rejected(c, "invalid_token");
	(c as Context<AppEnv>).set("sessionUser", { user, memberships });
	const principal: Principal = {
		type: "user",
		id: resolved.userId,
		userId: resolved.userId,
		sessionId: resolved.session.id,
		sessionCreatedAt: resolved.session.createdAt,
		sessionProvedAt: resolved.session.provedAt,
		via: credential.via,
		mfaEnabled: hasSecondFactor(user),
		phishingResistant: resolved.session.factors.includes("passkey"),
		sessionFactors: resolved.session.factors,
		memberships,
	};
	return principal;
};

/**
 * An API key as a caller of the management API: valid right now (the same
 * verification as POST /v1/keys/verify, counted against its rate limits and
 * credits), and acting with its owner's current role in the key's account:
 * its creator's, or the service account's that owns it.
 */
async function keyPrincipal(c: Context<AppEnv>, token: string): Promise<Principal | null> {
	const { services } = c.var;
	const parsed = parseApiKey(token);
	if (!parsed) return rejected(c, "invalid_token");
	const outcome = await verifyAtOwner(c.env, parsed.accountId, await hashApiKey(c.env.KEY_PEPPER ?? "", token), [
		[],
		c.req.header("CF-Connecting-IP") ?? null,
		services.clock.now().getTime(),
	]);
	if (outcome.code === "REVOKED") return rejected(c, "key_revoked");
	if (outcome.code === "EXPIRED") return rejected(c, "key_expired");
	if (outcome.code === "DISABLED") return rejected(c, "key_disabled");
	// A key over its limit or out of credits is a real key told to wait, not an unknown one: 429.
	if (outcome.code === "RATE_LIMITED" && outcome.window) {
		const { name, limit, windowSeconds, resetMs } = outcome.window;
		throw new ApiError("quota-exceeded", {
			detail: `This key is over its rate limit "${name}" (${limit} per ${windowSeconds} s); try again later`,
			headers: throttledHeaders(
				{ name: name === "default" ? "key" : name, limit, windowSeconds, now: services.clock.now() },
				Math.ceil(resetMs / 1000),
			),
		});
	}
	if (outcome.code === "USAGE_EXCEEDED")
		throw new ApiError("quota-exceeded", { detail: "This key has used all its credits" });
	if (outcome.code !== "VALID" || !outcome.key) return rejected(c, "invalid_token");
	const key = outcome.key;
	if (key.serviceAccountId) {
		const owner = await getServiceAccount(services.db, key.accountId, key.serviceAccountId);
		if (!owner) return rejected(c, "invalid_token");
		return {
			type: "key",
			id: key.id,
			userId: owner.id,
			via: "bearer",
			scopes: key.scopes,
			key,
			// No person signs in as a service account: the account's factor policy bound the people who
			// made it and its keys (docs/SECURITY.md, "Service accounts").
			mfaEnabled: true,
			phishingResistant: true,
			serviceAccount: true,
			memberships: [await serviceAccountMembership(services.db, owner)],
		};
	}
	const [creatorUser, creatorMemberships] = await Promise.all([
		getUser(services.db, key.createdBy),
		membershipsOf(services.db, key.createdBy),
	]);
	const creator = creatorMemberships.find((m) => m.accountId === key.accountId);
	// An erased creator's keys are revoked after the tombstone is written, with their memberships:
	// until then they do not act as the tombstone.
	if (!creator || !creatorUser || creatorUser.erasedAt) return rejected(c, "invalid_token");
	return {
		type: "key",
		id: key.id,
		userId: key.createdBy,
		via: "bearer",
		scopes: key.scopes,
		key,
		// The creator's own standing: mfaPolicy applies to their keys as to their sessions. A key has
		// no sign-in of its own, so under `phishing-resistant` its creator must hold a passkey.
		mfaEnabled: hasSecondFactor(creatorUser),
		phishingResistant: creatorUser.passkeyCount > 0,
		memberships: [creator],
	};
}
