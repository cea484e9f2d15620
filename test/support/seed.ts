import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import type { Role } from "../../src/auth/permissions";
import { createDatabase } from "../../src/db";
import {
	accounts,
	apiKeys,
	invitations,
	logStreams,
	memberships,
	serviceAccounts,
	users,
	webhooks,
} from "../../src/db/schema";
import { startSession } from "../../src/identity/sessions";
import { generateApiKey, hashApiKey, keyStart } from "../../src/keys/format";
import { revealBinding } from "../../src/keys/lifecycle";
import type { Clock } from "../../src/platform/clock";
import { newId } from "../../src/platform/ids";
import { sha256Hex } from "../../src/security/digest";
import { RESERVED_SCOPES } from "../../src/security/scopes";
import { sealSecret } from "../../src/security/secret-box";
import { logStreamSecretBinding } from "../../src/streams/streams";
import { webhookSecretBinding } from "../../src/webhooks/deliver";

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
	users: Record<Role | "stranger" | "demoted", SeededUser>;
	invitationId: string;
	webhookId: string;
	/** A log stream the owner added, paused (so no archived batch pokes it). */
	logStreamId: string;
	/** A readonly service account made by the owner, with no keys. */
	serviceAccountId: string;
	/**
	 * One key created by each of owner, admin and member (ids), one the admin made with `keys:read`
	 * only (a key the management keys may rotate: it fits inside them), and management keys (secrets).
	 */
	keyIds: Record<"owner" | "admin" | "member" | "reserved", string>;
	apiKeys: Record<"withScope" | "withoutScope" | "demoted", string>;
}

/** A real key row (hashed under the test pepper), created by `createdBy`. */
export async function seedKey(
	accountId: string,
	createdBy: string,
	scopes: string[],
	now: Date,
	environment: "production" | "staging" | "development" | "ci" = "staging",
	options: {
		ipAllowlist?: string[];
		rateLimit?: number;
		windowSeconds?: number;
		lifetimeDays?: number;
		/** Named limits (the first also fills the single-limit columns). */
		rateLimits?: { name: string; limit: number; windowSeconds: number }[];
		credits?: { remaining: number; refill?: { amount: number; interval: "daily" | "monthly" } };
		serviceAccountId?: string;
		/** Disabled by this user. */
		disabledBy?: string;
	} = {},
) {
	const secret = generateApiKey(accountId, environment === "production" ? "live" : "test");
	const id = newId("key");
	await db.insert(apiKeys).values({
		id,
		accountId,
		name: `seed ${id.slice(4, 8)}`,
		environment,
		scopes,
		keyHash: await hashApiKey(env.KEY_PEPPER ?? "", secret),
		start: keyStart(secret),
		createdAt: now,
		createdBy,
		expiresAt: new Date(now.getTime() + (options.lifetimeDays ?? 30) * 86_400_000),
		ipAllowlist: options.ipAllowlist ?? [],
		rateLimit: options.rateLimits?.[0]?.limit ?? options.rateLimit ?? 1000,
		rateLimitWindowSeconds: options.rateLimits?.[0]?.windowSeconds ?? options.windowSeconds ?? 3600,
		rateLimits: options.rateLimits ?? null,
		credits: options.credits
			? {
					remaining: options.credits.remaining,
					refill: options.credits.refill ?? null,
					version: 1,
					pool: id,
					setAt: now.getTime(),
				}
			: null,
		serviceAccountId: options.serviceAccountId ?? null,
		disabledAt: options.disabledBy ? now : null,
		disabledBy: options.disabledBy ?? null,
	});
	return { id, secret };
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

/**
 * An account with one user per role, a signed-in stranger, and a pending invitation; sessions are
 * real. `ownerVerified: false` seeds an owner who never proved their email.
 */
export async function seedAccount(
	clock: Clock,
	settings: Record<string, unknown> = {},
	options: { ownerVerified?: boolean } = {},
): Promise<SeededAccount> {
	const now = clock.now();
	const accountId = newId("acc");
	await db
		.insert(accounts)
		.values({ id: accountId, name: "Seeded", settings: JSON.stringify(settings), createdAt: now });
	const seeded = {} as SeededAccount["users"];
	for (const role of ["owner", "admin", "member", "readonly", "stranger", "demoted"] as const) {
		const user = await seedUser(clock, role !== "owner" || options.ownerVerified !== false);
		// "demoted" created a management key as an admin and is now only readonly.
		if (role !== "stranger") {
			const memberRole = role === "demoted" ? "readonly" : role;
			await db.insert(memberships).values({ accountId, userId: user.id, role: memberRole, joinedAt: now });
		}
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
	const reserved = [...RESERVED_SCOPES];
	const keyIds = {
		owner: (await seedKey(accountId, seeded.owner.id, ["data:read"], now)).id,
		admin: (await seedKey(accountId, seeded.admin.id, ["data:read"], now)).id,
		member: (await seedKey(accountId, seeded.member.id, ["data:read"], now)).id,
		reserved: (await seedKey(accountId, seeded.admin.id, ["keys:read"], now)).id,
	};
	const apiKeysBy = {
		withScope: (await seedKey(accountId, seeded.admin.id, reserved, now)).secret,
		withoutScope: (await seedKey(accountId, seeded.admin.id, ["data:read"], now)).secret,
		demoted: (await seedKey(accountId, seeded.demoted.id, reserved, now)).secret,
	};
	const webhookId = newId("whk");
	await db.insert(webhooks).values({
		id: webhookId,
		accountId,
		url: "https://hooks.example.com/seed",
		events: ["alert.key_created"],
		secretSealed: await sealSecret(
			env.TOTP_ENCRYPTION_KEY ?? "",
			new TextEncoder().encode("whsec_seed"),
			webhookSecretBinding(webhookId),
		),
		createdAt: now,
		createdBy: seeded.owner.id,
	});
	const logStreamId = newId("lgs");
	await db.insert(logStreams).values({
		id: logStreamId,
		accountId,
		type: "http",
		url: "https://logs.example.com/seed",
		config: { auth: "hmac" },
		secretSealed: await sealSecret(
			env.TOTP_ENCRYPTION_KEY ?? "",
			new TextEncoder().encode("whsec_seed"),
			logStreamSecretBinding(logStreamId),
		),
		createdAt: now,
		createdBy: seeded.owner.id,
		disabledAt: now,
		disabledReason: "paused by a person",
	});
	const serviceAccountId = newId("svc");
	await db.insert(serviceAccounts).values({
		id: serviceAccountId,
		accountId,
		name: "seeded service",
		role: "readonly",
		createdBy: seeded.owner.id,
		createdAt: now,
	});
	return {
		accountId,
		users: seeded,
		invitationId,
		webhookId,
		logStreamId,
		serviceAccountId,
		keyIds,
		apiKeys: apiKeysBy,
	};
}

/**
 * A secret parked on a key's row until `until`, as a leaked key's rotation leaves its successor's
 * (`leakedKeyPolicy: rotate`), for a person to reveal once. `secret` is what the reveal gives back.
 */
export async function parkKeySecret(keyId: string, until: Date, secret = "kw_test_parked") {
	await db
		.update(apiKeys)
		.set({
			revealSealed: await sealSecret(
				env.TOTP_ENCRYPTION_KEY ?? "",
				new TextEncoder().encode(secret),
				revealBinding(keyId),
			),
			revealUntil: until,
		})
		.where(eq(apiKeys.id, keyId));
}
