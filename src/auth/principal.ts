import type { Context } from "hono";
import type { AccountSettings } from "../accounts/settings";
import type { KeyRecord } from "../durable/key-store";
import type { SessionFactor } from "../durable/session-store";
import type { Role } from "./permissions";

export interface PrincipalMembership {
	accountId: string;
	role: Role;
	/** The account's settings (policies are enforced per request); defaults when absent. */
	settings?: AccountSettings;
	lastActiveAt?: Date | null;
	/** Until the owner's email is verified, the account grants nothing (API.md §4); absent: verified. */
	ownerEmailVerified?: boolean;
	lockedDownAt?: Date | null;
	/** Sessions started before this no longer reach the account (set by a lockdown). */
	sessionsNotBefore?: Date | null;
}

/** Who is calling: a signed-in user (session) or an API key, with the accounts they belong to. */
export interface Principal {
	type: "user" | "key";
	/** The session's user id, or the key id. */
	id: string;
	userId: string;
	/** The session the request came with (user principals), and when it started. */
	sessionId?: string;
	sessionCreatedAt?: number;
	/** When the session's person last proved who they are (src/auth/recent-auth.ts). */
	sessionProvedAt?: number;
	/** How the credential arrived; cookie requests get the cross-site checks. */
	via?: "bearer" | "cookie";
	/** An API key's scopes (key principals only). */
	scopes?: readonly string[];
	/** The calling key's current record (key principals only): what it may hand on is bounded by it. */
	key?: KeyRecord;
	/** Whether the user behind the credential has a second factor (for `mfaPolicy: "any"`). */
	mfaEnabled?: boolean;
	/**
	 * For `mfaPolicy: "phishing-resistant"`: a session made with a passkey, or a key whose creator
	 * has one.
	 */
	phishingResistant?: boolean;
	/** A key owned by a service account: `userId` is the service account's id, and no person stands behind it. */
	serviceAccount?: boolean;
	/** What proved the session's sign-in (user principals). */
	sessionFactors?: readonly SessionFactor[];
	memberships: readonly PrincipalMembership[];
}

/**
 * Resolves the credential of a request (Authorization: Bearer or the session
 * cookie; never the query string) to a principal, or null when there is none
 * or it is not valid. Identity (sessions) and API keys plug in here.
 */
export type Authenticator = (c: Context) => Promise<Principal | null>;

/** Accepts no credential at all; for apps and tests that serve only public routes. */
export const noCredentials: Authenticator = async () => null;
