/**
 * Single sign-on through an account's connection (issue #27). OIDC: the authorization code flow
 * with PKCE (S256), `state` and `nonce`. SAML: an AuthnRequest whose ID the assertion must answer,
 * with `state` as the RelayState (the checks of the Response are in src/sso/saml-response.ts).
 * Both protocols share the sign-in row, the browser cookie and everything after the identity is
 * established (`conclude`).
 *   - start: the address's verified domain picks the account and its connection; a sign-in row
 *     (keyed by the hash of `state`, ten minutes, used once) holds the nonce, the sealed PKCE
 *     verifier and the hash of a cookie set on the browser that started it;
 *   - callback: the row is deleted as it is read (a replayed `state` finds nothing), the cookie
 *     must match (a callback URL pasted into another browser signs nobody in: login CSRF), the
 *     code is redeemed, the ID token checked (src/sso/oidc.ts), and the address must be in a
 *     domain the account still holds verified;
 *   - just-in-time membership: a first sign-in creates the user (address proven by the provider
 *     and the domain) and the membership, with the role `roleMapping` gives (never owner), in one
 *     batch conditional on the domain still verified, the account not locked down, and no SCIM
 *     record saying the provider deactivated the person;
 *   - a proof of identity (`POST /v1/me/reauthenticate/sso`): the same flow with `prompt=login`
 *     and `max_age=0`, for the signed-in person alone, and the provider must say it authenticated
 *     them after the flow started (`auth_time`).
 */
import { and, eq, sql } from "drizzle-orm";
import { higherRole } from "../accounts/member-rules";
import { accountLockedDown, getMembership } from "../accounts/queries";
import type { Role } from "../auth/permissions";
import type { Database } from "../db";
import { accounts, memberships, type SsoRoleMapping, scimUsers, ssoAttempts, users } from "../db/schema";
import { EmailField } from "../identity/schemas";
import { findUserByEmail, NO_FACTORS, unknownPasswordHash } from "../identity/users";
import { newId } from "../platform/ids";
import { ApiError, isUniqueViolation } from "../problems";
import { FreeText } from "../routes/openapi-shared";
import { constantTimeEqual, sha256Hex } from "../security/digest";
import { randomToken } from "../security/random";
import { openSecret, sealSecret } from "../security/secret-box";
import {
	type ConnectionDeps,
	type ConnectionRow,
	cachedKeys,
	getConnection,
	JWKS_MAX_AGE_MS,
	openClientSecret,
	redirectUriFor,
	refreshJwks,
} from "./connections";
import { domainStillVerified, verifiedDomainOf } from "./domains";
import { OidcError, redeemCode, verifyIdToken } from "./oidc";
import { authnRequestUrl, SamlError, spEndpoints } from "./saml";

export const ATTEMPT_TTL_MS = 10 * 60 * 1000;
/**
 * The cookie that ties a sign-in to the browser that started it. Lax for OIDC (the provider's
 * redirect back is a cross-site GET navigation); None for SAML, whose provider posts back
 * cross-site, which a Lax cookie does not come with.
 */
export const SSO_BROWSER_COOKIE = "__Host-keyward_sso";

const attemptBinding = (stateHash: string) => `sso-attempt:${stateHash}`;

const base64url = (bytes: Uint8Array) =>
	btoa(String.fromCharCode(...bytes))
		.replace(/\+/g, "-")
		.replace(/\//g, "_")
		.replace(/=+$/, "");

/** RFC 7636 §4.2: the S256 challenge of a verifier. */
export async function pkceChallenge(verifier: string): Promise<string> {
	return base64url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))));
}

export const browserCookie = (token: string, sameSite: "Lax" | "None" = "Lax") =>
	`${SSO_BROWSER_COOKIE}=${token}; Path=/; Max-Age=${ATTEMPT_TTL_MS / 1000}; HttpOnly; Secure; SameSite=${sameSite}`;
export const clearedBrowserCookie = () => `${SSO_BROWSER_COOKIE}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax`;

/** What a proof of identity through the provider is for: whose, the session it replaces, where to go after. */
export interface ReauthRequest {
	userId: string;
	sessionId: string | null;
	returnTo: string | null;
}

/** Starts a sign-in (or, with `reauth`, a proof of identity): where to send the browser, and the cookie to set on it. */
export async function startSignIn(
	deps: ConnectionDeps,
	connection: ConnectionRow,
	email: string,
	origin: string,
	reauth?: ReauthRequest,
): Promise<{ location: string; cookie: string }> {
	const state = randomToken(32);
	const saml = connection.protocol === "saml";
	// For SAML the nonce is the AuthnRequest's ID, which the assertion must answer (InResponseTo).
	const nonce = saml ? `_${randomToken(32)}` : randomToken(32);
	const verifier = randomToken(40);
	const browser = randomToken(32);
	const stateHash = await sha256Hex(state);
	await deps.db.insert(ssoAttempts).values({
		stateHash,
		accountId: connection.accountId,
		connectionId: connection.id,
		nonce,
		verifierSealed: saml
			? ""
			: await sealSecret(deps.sealingKey, new TextEncoder().encode(verifier), attemptBinding(stateHash)),
		browserHash: await sha256Hex(browser),
		expiresAt: new Date(deps.now.getTime() + ATTEMPT_TTL_MS),
		reauthUserId: reauth?.userId ?? null,
		reauthSessionId: reauth?.sessionId ?? null,
		returnTo: reauth?.returnTo ?? null,
	});
	if (saml) {
		const location = await authnRequestUrl({
			ssoUrl: connection.authorizationEndpoint,
			requestId: nonce,
			...spEndpoints(origin, connection.id),
			relayState: state,
			now: deps.now,
			forceAuthn: reauth !== undefined,
		});
		// The provider posts the assertion back cross-site: only a SameSite=None cookie comes with it.
		return { location, cookie: browserCookie(browser, "None") };
	}
	const url = new URL(connection.authorizationEndpoint);
	url.searchParams.set("response_type", "code");
	url.searchParams.set("client_id", connection.clientId);
	url.searchParams.set("redirect_uri", redirectUriFor(origin));
	url.searchParams.set("scope", connection.scopes.join(" "));
	url.searchParams.set("state", state);
	url.searchParams.set("nonce", nonce);
	url.searchParams.set("code_challenge", await pkceChallenge(verifier));
	url.searchParams.set("code_challenge_method", "S256");
	url.searchParams.set("login_hint", email);
	if (reauth) for (const [name, value] of reauthParams(connection.issuer)) url.searchParams.set(name, value);
	return { location: url.toString(), cookie: browserCookie(browser) };
}

/**
 * How a proof of identity asks the provider to authenticate the person again (OIDC Core §3.1.2.1):
 * `max_age=0`, which the OpenID working group reads as `prompt=login`, and `prompt=login` itself
 * for the providers that honour only that. Google refuses `prompt=login` (it takes none, consent
 * and select_account), so it gets `max_age=0` alone. Either way the proof is checked at the
 * callback by `auth_time`, never by trusting that the provider asked.
 */
export function reauthParams(issuer: string): [string, string][] {
	const google = new URL(issuer).hostname === "accounts.google.com";
	return google
		? [["max_age", "0"]]
		: [
				["prompt", "login"],
				["max_age", "0"],
			];
}

/** The role a first sign-in gets: the highest the claim's values map to, else the mapping's default, else member. */
export function jitRole(mapping: SsoRoleMapping | null, claims: Record<string, unknown>): Exclude<Role, "owner"> {
	if (!mapping) return "member";
	const raw = claims[mapping.claim];
	const values = (typeof raw === "string" ? [raw] : Array.isArray(raw) ? raw : []).filter(
		(v): v is string => typeof v === "string",
	);
	let role: Exclude<Role, "owner"> | null = null;
	for (const value of values.slice(0, 200)) {
		if (!Object.hasOwn(mapping.values, value)) continue;
		const mapped = mapping.values[value] as Exclude<Role, "owner">;
		role = role ? higherRole(role, mapped) : mapped;
	}
	return role ?? mapping.default;
}

/** A refused sign-in: 401 (or 403 for a person the account does not take), with the check that failed. */
export class SignInRefused extends ApiError {
	readonly reason: string;
	constructor(
		reason: string,
		readonly accountId: string | null,
		kind: "unauthorized" | "forbidden" | "conflict" | "locked" = "unauthorized",
	) {
		super(kind, { detail: `Single sign-on refused: ${reason.slice(0, 300)}` });
		this.reason = reason.slice(0, 300);
	}
}

export interface SignedIn {
	userId: string;
	accountId: string;
	connectionId: string;
	/** The role a just-in-time membership was created with. */
	joined?: Exclude<Role, "owner">;
	newUser: boolean;
	/** When the provider last authenticated the person (ms; 0 when the token does not say). */
	provedAt: number;
	/** Set when this was a proof of identity: the session it replaces and where to continue. */
	reauth?: { replaces: string | null; returnTo: string | null };
}

/** Clock skew allowed on `auth_time`, as on `iat` (src/sso/oidc.ts). */
const AUTH_TIME_SKEW_MS = 120_000;

/**
 * When the provider authenticated the person: its `auth_time` (seconds), if it is a number not in
 * the future beyond the skew; 0 otherwise, which proves nothing recent (src/auth/recent-auth.ts).
 */
export function provedAtOf(claims: Record<string, unknown>, now: Date): number {
	const at = claims.auth_time;
	if (typeof at !== "number" || !Number.isFinite(at) || at <= 0) return 0;
	const ms = at * 1000;
	return ms > now.getTime() + AUTH_TIME_SKEW_MS ? 0 : Math.min(ms, now.getTime());
}

/** The sign-in a callback finishes: its row, taken (deleted) as it is read, and its connection unchanged since. */
async function takeAttempt(deps: ConnectionDeps, state: string, browser: string | undefined) {
	const { db, now } = deps;
	const stateHash = await sha256Hex(state);
	const [attempt] = await db.delete(ssoAttempts).where(eq(ssoAttempts.stateHash, stateHash)).returning();
	if (!attempt) throw new SignInRefused("this sign-in is unknown or was used already; start again", null);
	const refuse = (reason: string, kind?: ConstructorParameters<typeof SignInRefused>[2]) =>
		new SignInRefused(reason, attempt.accountId, kind);
	if (attempt.expiresAt.getTime() <= now.getTime())
		throw refuse("this sign-in took more than ten minutes; start again");
	if (!browser || !constantTimeEqual(await sha256Hex(browser), attempt.browserHash))
		throw refuse("this sign-in was started in another browser");
	const connection = await getConnection(db, attempt.accountId);
	if (!connection || connection.id !== attempt.connectionId) throw refuse("the connection changed meanwhile");
	return { attempt, connection, stateHash, refuse };
}

/** Finishes an OIDC sign-in from the provider's redirect back. */
export async function finishSignIn(
	deps: ConnectionDeps,
	params: { state: string; code: string; browser: string | undefined; origin: string },
): Promise<SignedIn> {
	const { now } = deps;
	const { attempt, connection, stateHash, refuse } = await takeAttempt(deps, params.state, params.browser);
	if (connection.protocol !== "oidc") throw refuse("this sign-in is SAML: the provider posts it to the ACS URL");
	const verifier = new TextDecoder().decode(
		await openSecret(deps.sealingKey, attempt.verifierSealed, attemptBinding(stateHash)),
	);
	let identity: Awaited<ReturnType<typeof verifyIdToken>>;
	try {
		const idToken = await redeemCode(
			deps.fetch,
			connection,
			await openClientSecret(deps.sealingKey, connection),
			{
				code: params.code,
				redirectUri: redirectUriFor(params.origin),
				verifier,
			},
			deps.development,
		);
		const stale = now.getTime() - connection.jwksFetchedAt.getTime() > JWKS_MAX_AGE_MS;
		const keys = stale ? await refreshJwks(deps, connection) : cachedKeys(connection);
		identity = await verifyIdToken(
			idToken,
			{ issuer: connection.issuer, clientId: connection.clientId, nonce: attempt.nonce, now },
			keys,
			() => (stale ? Promise.resolve(keys) : refreshJwks(deps, connection)),
		);
	} catch (err) {
		if (err instanceof OidcError) throw refuse(err.reason);
		throw err;
	}
	return conclude(deps, attempt, connection, refuse, {
		email: identity.email,
		claims: identity.claims,
		provedAt: provedAtOf(identity.claims, now),
	});
}

/** Finishes a SAML sign-in from the assertion the provider posted to the connection's ACS URL. */
export async function finishSamlSignIn(
	deps: ConnectionDeps,
	params: {
		relayState: string;
		samlResponse: string;
		browser: string | undefined;
		origin: string;
		connectionId: string;
	},
): Promise<SignedIn> {
	const { attempt, connection, refuse } = await takeAttempt(deps, params.relayState, params.browser);
	if (connection.protocol !== "saml" || connection.id !== params.connectionId || !connection.samlCertificate)
		throw refuse("the assertion was posted to another connection's ACS URL");
	// Loaded here, not at start-up: see src/sso/saml-response.ts.
	const { verifySamlResponse } = await import("./saml-response");
	let identity: ReturnType<typeof verifySamlResponse>;
	try {
		identity = verifySamlResponse(params.samlResponse, {
			idpEntityId: connection.issuer,
			certificate: connection.samlCertificate,
			...spEndpoints(params.origin, connection.id),
			requestId: attempt.nonce,
			now: deps.now,
		});
	} catch (err) {
		if (err instanceof SamlError) throw refuse(err.reason);
		throw err;
	}
	return conclude(deps, attempt, connection, refuse, {
		email: identity.email,
		claims: identity.claims,
		provedAt: Math.min(identity.authnInstant, deps.now.getTime()),
	});
}

/** What both protocols establish, then the same rules: a verified domain, the same person for a proof, or admission. */
async function conclude(
	deps: ConnectionDeps,
	attempt: typeof ssoAttempts.$inferSelect,
	connection: ConnectionRow,
	refuse: (reason: string, kind?: ConstructorParameters<typeof SignInRefused>[2]) => SignInRefused,
	identity: { email: unknown; claims: Record<string, unknown>; provedAt: number },
): Promise<SignedIn> {
	const { db } = deps;
	const { email, claims, provedAt } = identity;
	if (typeof email !== "string" || !EmailField.safeParse(email).success)
		throw refuse("the provider named no email address Keyward takes");
	if (!(await verifiedDomainOf(db, connection.accountId, email)))
		throw refuse(`the address's domain is not verified for this account`, "forbidden");
	if (attempt.reauthUserId) {
		const user = await findUserByEmail(db, email);
		if (!user || user.id !== attempt.reauthUserId)
			throw refuse("the provider signed in someone other than the person proving it is them", "forbidden");
		const started = attempt.expiresAt.getTime() - ATTEMPT_TTL_MS;
		if (provedAt < started - AUTH_TIME_SKEW_MS)
			throw refuse("the provider did not ask the person to sign in again (auth_time or AuthnInstant)");
		return {
			userId: user.id,
			accountId: connection.accountId,
			connectionId: connection.id,
			newUser: false,
			provedAt,
			reauth: { replaces: attempt.reauthSessionId, returnTo: attempt.returnTo },
		};
	}
	return { ...(await admit(deps, connection, email, claims)), provedAt };
}

/** The person behind a checked ID token: found or created, and made a member on a first sign-in. */
async function admit(
	deps: ConnectionDeps,
	connection: ConnectionRow,
	email: string,
	claims: Record<string, unknown>,
): Promise<Omit<SignedIn, "provedAt">> {
	const { db, now } = deps;
	const { accountId } = connection;
	const refuse = (reason: string, kind?: ConstructorParameters<typeof SignInRefused>[2]) =>
		new SignInRefused(reason, accountId, kind);
	const existing = await findUserByEmail(db, email);
	// Someone signed up with the address and never proved it: the same rule as SCIM (a squatter
	// must not receive the membership). A password reset from the mailbox lifts it.
	if (existing && !existing.emailVerifiedAt)
		throw refuse(
			"a Keyward user with this address has not proven it; reset the password from the mailbox first",
			"conflict",
		);
	const base = { userId: existing?.id ?? newId("usr"), accountId, connectionId: connection.id };
	if (existing && (await getMembership(db, accountId, existing.id))) return { ...base, newUser: false };
	const role = jitRole(connection.roleMapping ?? null, claims);
	const deactivated = sql`EXISTS (SELECT 1 FROM ${scimUsers} WHERE ${scimUsers.accountId} = ${accountId} AND ${scimUsers.userId} = ${base.userId} AND ${scimUsers.active} = 0)`;
	const admissible = sql`(${domainStillVerified(accountId, email)} AND NOT ${accountLockedDown(accountId)} AND NOT ${deactivated})`;
	const named = FreeText(100).safeParse(claims.name);
	const name = named.success ? named.data : (email.split("@")[0] ?? "").slice(0, 100);
	let joined: unknown[];
	try {
		const results = await db.batch([
			...(existing
				? []
				: [
						db.insert(users).values({
							id: base.userId,
							email,
							name,
							passwordHash: await unknownPasswordHash(),
							...NO_FACTORS,
							emailVerifiedAt: now,
							createdAt: now,
							erasedAt: null,
						}),
					]),
			db
				.insert(memberships)
				.select(
					db
						.select({
							accountId: accounts.id,
							userId: sql<string>`${base.userId}`.as("user_id"),
							role: sql<Role>`${role}`.as("role"),
							joinedAt: sql<number>`${now.getTime()}`.as("joined_at"),
							lastActiveAt: sql<null>`NULL`.as("last_active_at"),
						})
						.from(accounts)
						.where(and(eq(accounts.id, accountId), admissible)),
				)
				.onConflictDoNothing()
				.returning({ role: memberships.role }),
			...(existing
				? []
				: [
						db
							.delete(users)
							.where(
								and(
									eq(users.id, base.userId),
									sql`NOT EXISTS (SELECT 1 FROM ${memberships} WHERE ${memberships.userId} = ${base.userId})`,
								),
							),
					]),
		] as unknown as Parameters<Database["batch"]>[0]);
		joined = results[existing ? 0 : 1] as unknown[];
	} catch (err) {
		if (isUniqueViolation(err)) throw refuse("the address was just taken; try again", "conflict");
		throw err;
	}
	if (joined.length === 0) {
		if (existing && (await getMembership(db, accountId, existing.id))) return { ...base, newUser: false };
		const [account] = await db.all<{ locked: number }>(sql`SELECT ${accountLockedDown(accountId)} AS locked`);
		if (account?.locked) throw refuse("the account is locked down: nobody joins until it is lifted", "locked");
		if (!(await verifiedDomainOf(db, accountId, email)))
			throw refuse("the address's domain is not verified for this account", "forbidden");
		throw refuse("the identity provider deactivated this person (SCIM)", "forbidden");
	}
	return { ...base, joined: role, newUser: !existing };
}
