import type { Context } from "hono";
import type { Role } from "./permissions";

/** Who is calling: a signed-in user (session) or an API key, with the accounts they belong to. */
export interface Principal {
	type: "user" | "key";
	/** The session's user id, or the key id. */
	id: string;
	userId: string;
	memberships: readonly { accountId: string; role: Role }[];
}

/**
 * Resolves the credential of a request (Authorization: Bearer or the session
 * cookie; never the query string) to a principal, or null when there is none
 * or it is not valid. Identity (sessions) and API keys plug in here.
 */
export type Authenticator = (c: Context) => Promise<Principal | null>;

/** Until sessions and keys exist, no credential is valid. */
export const noCredentialsYet: Authenticator = async () => null;
