/** Fixtures for issue #27: verified domains, and people who signed up with an address in one. */
import { eq } from "drizzle-orm";
import type { Database } from "../../src/db";
import { accountDomains, users } from "../../src/db/schema";
import { newId } from "../../src/platform/ids";
import { PASSWORD } from "./identity";
import { jsonRequest } from "./request";

export const uniqueDomain = () => `${newId("dom").slice(4)}.example.com`;

/** A domain the account holds verified (as `…/verify` leaves it); answers the domain. */
export async function seedVerifiedDomain(
	db: Database,
	accountId: string,
	ownerId: string,
	now: Date,
	domain = uniqueDomain(),
) {
	await db.insert(accountDomains).values({
		id: newId("dom"),
		accountId,
		domain,
		challenge: "seeded",
		createdBy: ownerId,
		createdAt: now,
		verifiedAt: now,
	});
	return domain;
}

export interface SignedUp {
	user: { id: string };
	account: { id: string };
	session: { token: string };
}

/** Signs `email` up with the test password and marks the address proven (the mailbox step, done). */
export async function signUpProven(
	request: (path: string, init?: RequestInit) => Promise<Response>,
	db: Database,
	now: Date,
	email: string,
	name = "Ada",
): Promise<SignedUp> {
	const res = await request("/v1/auth/signup", jsonRequest("POST", { email, password: PASSWORD, name }));
	if (res.status !== 201) throw new Error(`signup failed: ${res.status} ${await res.text()}`);
	const body = await res.json<SignedUp>();
	await db.update(users).set({ emailVerifiedAt: now }).where(eq(users.id, body.user.id));
	return body;
}
