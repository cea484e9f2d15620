import { env } from "cloudflare:test";
import type { Role } from "../../src/auth/permissions";
import type { Clock } from "../../src/clock";
import { createDatabase } from "../../src/db";
import { accounts, invitations, memberships, users } from "../../src/db/schema";
import { startSession } from "../../src/identity/sessions";
import { newId } from "../../src/ids";
import { sha256Hex } from "../../src/security/digest";

const db = createDatabase(env.DB);
// Seeded users never log in with a password, so no scrypt cost is paid here.
const NO_PASSWORD = "$scrypt$ln=15,r=8,p=3$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

export interface SeededUser {
	id: string;
	email: string;
	token: string;
}

export interface SeededAccount {
	accountId: string;
	users: Record<Role | "stranger", SeededUser>;
	invitationId: string;
}

async function seedUser(clock: Clock, emailVerified = true): Promise<Omit<SeededUser, "token">> {
	const id = newId("usr");
	const email = `${id.slice(4)}@example.com`;
	await db.insert(users).values({
		id,
		email,
		name: `User ${id.slice(4, 8)}`,
		passwordHash: NO_PASSWORD,
		emailVerifiedAt: emailVerified ? clock.now() : null,
		createdAt: clock.now(),
	});
	return { id, email };
}

/** An account with one user per role, a signed-in stranger, and a pending invitation; sessions are real. */
export async function seedAccount(clock: Clock, settings: Record<string, unknown> = {}): Promise<SeededAccount> {
	const now = clock.now();
	const accountId = newId("acc");
	await db
		.insert(accounts)
		.values({ id: accountId, name: "Seeded", settings: JSON.stringify(settings), createdAt: now });
	const seeded = {} as SeededAccount["users"];
	for (const role of ["owner", "admin", "member", "readonly", "stranger"] as const) {
		const user = await seedUser(clock);
		if (role !== "stranger") await db.insert(memberships).values({ accountId, userId: user.id, role, joinedAt: now });
		const session = await startSession(env, db, user.id, { ip: null, userAgent: "seed", country: null }, now);
		seeded[role] = { ...user, token: session.token };
	}
	const invitationId = newId("inv");
	await db.insert(invitations).values({
		id: invitationId,
		accountId,
		email: `invitee-${invitationId.slice(4)}@example.com`,
		role: "member",
		tokenHash: await sha256Hex(invitationId),
		invitedBy: seeded.owner.id,
		createdAt: now,
		expiresAt: new Date(now.getTime() + 7 * 24 * 3_600_000),
	});
	return { accountId, users: seeded, invitationId };
}
