/**
 * An account's email domains (issue #27): claimed by the owner, proven by a
 * DNS TXT record, then trusted as the authority on its addresses: SCIM may
 * provision them into the account (and no others), and single sign-on routes
 * them to the account's connection. Each change is one conditional write on the state it starts
 * from, checked against the caller's standing and the account's lockdown in
 * the same statement.
 *
 * A verified domain belongs to one account: a second account that proves the
 * same domain is refused (409) until the first removes it, so a DNS record
 * briefly under someone else's control cannot move an organisation's people.
 */
import { and, count, eq, isNotNull, isNull, ne, sql } from "drizzle-orm";
import { accountLockedDown, grantLost, stillAllowed } from "../accounts/queries";
import type { Database } from "../db";
import { accountDomains } from "../db/schema";
import type { Env } from "../platform/env";
import { newId } from "../platform/ids";
import { ApiError, isUniqueViolation } from "../problems";
import { randomToken } from "../security/random";
import { lookupTxt } from "./dns";

export type DomainRow = typeof accountDomains.$inferSelect;

/** Domains one account may claim: enough for an organisation's brands, not a crawl of the DNS. */
export const DOMAINS_PER_ACCOUNT = 20;
export const CHALLENGE_LABEL = "_keyward-challenge";
const CHALLENGE_PREFIX = "keyward-domain-verification=";
const PERMISSION = "domains:manage" as const;

export const challengeName = (domain: string) => `${CHALLENGE_LABEL}.${domain}`;
export const challengeValue = (row: Pick<DomainRow, "challenge">) => `${CHALLENGE_PREFIX}${row.challenge}`;

/** A domain as the API shows it, with the record to publish while it is pending. */
export function publicDomain(row: DomainRow) {
	return {
		id: row.id,
		domain: row.domain,
		status: row.verifiedAt ? ("verified" as const) : ("pending" as const),
		record: { type: "TXT" as const, name: challengeName(row.domain), value: challengeValue(row) },
		createdAt: row.createdAt.toISOString(),
		verifiedAt: row.verifiedAt?.toISOString() ?? null,
		lastCheckedAt: row.lastCheckedAt?.toISOString() ?? null,
		recordMissingSince: row.recordMissingSince?.toISOString() ?? null,
	};
}

export const listDomains = (db: Database, accountId: string) =>
	db.query.accountDomains.findMany({
		where: eq(accountDomains.accountId, accountId),
		orderBy: (d, { asc }) => [asc(d.createdAt), asc(d.id)],
	});

export const getDomain = (db: Database, accountId: string, id: string) =>
	db.query.accountDomains.findFirst({ where: and(eq(accountDomains.accountId, accountId), eq(accountDomains.id, id)) });

/** The account's verified domain for an address, if any: the one proof SCIM provisioning rests on. */
export async function verifiedDomainOf(db: Database, accountId: string, email: string): Promise<DomainRow | undefined> {
	const domain = email.slice(email.lastIndexOf("@") + 1).toLowerCase();
	return db.query.accountDomains.findFirst({
		where: and(
			eq(accountDomains.accountId, accountId),
			eq(accountDomains.domain, domain),
			isNotNull(accountDomains.verifiedAt),
		),
	});
}

/** True, in SQL, while the address's domain is verified for the account (a grant re-checks it in its own write). */
export const domainStillVerified = (accountId: string, email: string) =>
	sql`EXISTS (SELECT 1 FROM ${accountDomains} WHERE ${and(
		eq(accountDomains.accountId, accountId),
		eq(accountDomains.domain, email.slice(email.lastIndexOf("@") + 1).toLowerCase()),
		isNotNull(accountDomains.verifiedAt),
	)})`;

/**
 * Claims a domain: a pending row with a fresh challenge. The insert is undone in the same batch
 * when the account already holds the limit, is locked down, or the caller lost the owner's role.
 */
export async function addDomain(
	db: Database,
	accountId: string,
	actorId: string,
	domain: string,
	now: Date,
): Promise<DomainRow> {
	const row: DomainRow = {
		id: newId("dom"),
		accountId,
		domain,
		challenge: randomToken(20),
		createdBy: actorId,
		createdAt: now,
		verifiedAt: null,
		lastCheckedAt: null,
		recordMissingSince: null,
	};
	const held = sql`(SELECT COUNT(*) FROM ${accountDomains} WHERE ${eq(accountDomains.accountId, accountId)})`;
	let undone: { id: string }[];
	try {
		[, undone] = await db.batch([
			db.insert(accountDomains).values(row),
			db
				.delete(accountDomains)
				.where(
					and(
						eq(accountDomains.id, row.id),
						sql`(${held} > ${DOMAINS_PER_ACCOUNT} OR ${accountLockedDown(accountId)} OR NOT ${stillAllowed(accountId, actorId, PERMISSION)})`,
					),
				)
				.returning({ id: accountDomains.id }),
		]);
	} catch (err) {
		if (isUniqueViolation(err)) throw new ApiError("conflict", { detail: `The account has already claimed ${domain}` });
		throw err;
	}
	if (undone.length > 0) {
		const [{ n } = { n: 0 }] = await db
			.select({ n: count() })
			.from(accountDomains)
			.where(eq(accountDomains.accountId, accountId));
		if (n >= DOMAINS_PER_ACCOUNT)
			throw new ApiError("conflict", {
				detail: `An account may claim at most ${DOMAINS_PER_ACCOUNT} domains; remove one first`,
			});
		await grantLost(db, accountId, actorId, PERMISSION, "no domain can be claimed", new ApiError("conflict"));
	}
	return row;
}

export type VerifyOutcome =
	| { verified: DomainRow; now: boolean }
	| { notFound: DomainRow }
	| { unavailable: string }
	| { takenElsewhere: true };

/**
 * Looks for the challenge record and, when it is there, marks the domain verified: one write,
 * conditional on the row still pending, the caller still the owner, the account not locked
 * down, and no other account holding the domain verified (the partial unique index decides a
 * race between two accounts).
 */
export async function verifyDomain(
	db: Database,
	env: Pick<Env, "DOH_RESOLVER_URL" | "ENVIRONMENT">,
	outbound: typeof fetch,
	row: DomainRow,
	actorId: string,
	now: Date,
): Promise<VerifyOutcome> {
	if (row.verifiedAt) return { verified: row, now: false };
	const taken = await db.query.accountDomains.findFirst({
		where: and(
			eq(accountDomains.domain, row.domain),
			isNotNull(accountDomains.verifiedAt),
			ne(accountDomains.accountId, row.accountId),
		),
	});
	if (taken) return { takenElsewhere: true };
	const answer = await lookupTxt(outbound, env, challengeName(row.domain));
	if ("unavailable" in answer) return answer;
	const expected = challengeValue(row);
	const found = answer.records.some((r) => r.trim() === expected);
	let updated: DomainRow[];
	try {
		updated = await db
			.update(accountDomains)
			.set(found ? { verifiedAt: now, lastCheckedAt: now } : { lastCheckedAt: now })
			.where(
				and(
					eq(accountDomains.id, row.id),
					isNull(accountDomains.verifiedAt),
					sql`NOT ${accountLockedDown(row.accountId)}`,
					stillAllowed(row.accountId, actorId, PERMISSION),
				),
			)
			.returning();
	} catch (err) {
		if (isUniqueViolation(err)) return { takenElsewhere: true };
		throw err;
	}
	const [after] = updated;
	if (!after) {
		const current = await getDomain(db, row.accountId, row.id);
		if (current?.verifiedAt) return { verified: current, now: false };
		await grantLost(
			db,
			row.accountId,
			actorId,
			PERMISSION,
			"no domain can be verified",
			new ApiError("conflict", { detail: "The domain changed meanwhile; reload and try again" }),
		);
	}
	return found && after ? { verified: after, now: true } : { notFound: after ?? row };
}

/** Gives a domain up: SCIM can no longer provision its addresses. People already provisioned stay members. */
export async function removeDomain(db: Database, row: DomainRow, actorId: string): Promise<boolean> {
	const deleted = await db
		.delete(accountDomains)
		.where(and(eq(accountDomains.id, row.id), stillAllowed(row.accountId, actorId, PERMISSION)))
		.returning({ id: accountDomains.id });
	if (deleted.length === 0) {
		if (!(await getDomain(db, row.accountId, row.id))) return false;
		await grantLost(db, row.accountId, actorId, PERMISSION, "no domain can be removed", new ApiError("conflict"));
	}
	return true;
}
