/**
 * `enforceSso` (issue #27): a member whose address is in a domain the account holds verified, of
 * an account that enforces single sign-on, signs in only through it. A password or passkey
 * sign-in is refused after it proved the person (so the refusal tells a guesser nothing). The
 * owner keeps a break-glass path for when the provider is down or misconfigured: a passkey, or a
 * password with an authenticator code; each use is audited and alerted.
 */
import { and, eq, isNotNull } from "drizzle-orm";
import { parseSettings } from "../accounts/settings";
import type { Role } from "../auth/permissions";
import type { Database } from "../db";
import { accountDomains, accounts, memberships, ssoConnections } from "../db/schema";
import type { SessionFactor } from "../durable/session-store";

/**
 * The account that enforces single sign-on for this person, with their role in it; none when none
 * does. It enforces while `enforceSso` is on, the person's domain is verified there, and it has a
 * connection to send them to.
 */
export async function enforcingAccount(
	db: Database,
	userId: string,
	email: string,
): Promise<{ accountId: string; role: Role } | undefined> {
	const domain = email.slice(email.lastIndexOf("@") + 1).toLowerCase();
	const rows = await db
		.select({ accountId: accounts.id, role: memberships.role, settings: accounts.settings })
		.from(memberships)
		.innerJoin(accounts, eq(accounts.id, memberships.accountId))
		.innerJoin(
			accountDomains,
			and(
				eq(accountDomains.accountId, accounts.id),
				eq(accountDomains.domain, domain),
				isNotNull(accountDomains.verifiedAt),
			),
		)
		// Without a connection there is nowhere to send the person: enforcement waits for one, so removing
		// the connection never locks the account's people out.
		.innerJoin(ssoConnections, eq(ssoConnections.accountId, accounts.id))
		.where(eq(memberships.userId, userId));
	const row = rows.find((r) => parseSettings(r.settings).enforceSso);
	return row && { accountId: row.accountId, role: row.role };
}

/** The factors that open the owner's break-glass path: a passkey, or an authenticator code. */
const BREAK_GLASS_FACTORS: readonly SessionFactor[] = ["passkey", "totp"];

export type SignInVerdict = { allowed: true } | { allowed: true; breakGlass: string } | { allowed: false };

/** Whether a sign-in proved by `factors` may go on for a person under `enforcing`. */
export function decideSignIn(
	enforcing: { accountId: string; role: Role } | undefined,
	factors: readonly SessionFactor[],
): SignInVerdict {
	if (!enforcing || factors.includes("sso")) return { allowed: true };
	if (enforcing.role === "owner" && factors.some((f) => BREAK_GLASS_FACTORS.includes(f)))
		return { allowed: true, breakGlass: enforcing.accountId };
	return { allowed: false };
}
