/**
 * Service accounts: non-human members of an account that own API keys, so
 * the keys a product runs on outlive the people who made them. The one place
 * a service account changes; each change is one conditional D1 write on the
 * state read (the version, the caller's standing, the account not locked
 * down), so parallel requests cannot fork one.
 *
 * Rules (docs/SECURITY.md, "Service accounts"):
 * - owners and admins manage them, with a session and a fresh proof of
 *   identity; no API key can (no reserved scope opens them);
 * - a service account is never an owner and never above its creator's role;
 * - its keys act with its current role, capped there at creation and at use;
 * - deleting it revokes its keys in the same step.
 */
import { and, count, eq, isNull, max, sql } from "drizzle-orm";
import type { PrincipalMembership } from "../auth/principal";
import type { Database } from "../db";
import { accounts, apiKeys, serviceAccounts } from "../db/schema";
import { ownerVerified } from "../identity/users";
import { type Lifecycle, revokeAccountKeys } from "../keys/lifecycle";
import { getServiceAccount, type ServiceAccountRow } from "../keys/records";
import { newId } from "../platform/ids";
import { ApiError } from "../problems";
import { checkInviteRole } from "./member-rules";
import { accountLockedDown, grantLost, stillAllowed } from "./queries";
import { parseSettings } from "./settings";

type AssignableRole = ServiceAccountRow["role"];

/** Who is changing a service account: a person with their current role in the account. */
export interface ServiceAccountActor {
	userId: string;
	role: PrincipalMembership["role"];
}

const PERMISSION = "service-accounts:manage" as const;

/** A role the actor may give a service account: never owner, never above their own. */
function refuseRole(actor: ServiceAccountActor, role: AssignableRole | "owner"): void {
	const refusal = checkInviteRole(actor.role, role);
	if (refusal)
		throw new ApiError("forbidden", {
			detail: refusal.detail.replace("invite a", "make a service account a"),
		});
}

export async function createServiceAccount(
	lc: Lifecycle,
	actor: ServiceAccountActor,
	accountId: string,
	input: { name: string; role: AssignableRole; description?: string },
): Promise<ServiceAccountRow> {
	refuseRole(actor, input.role);
	const row: ServiceAccountRow = {
		id: newId("svc"),
		accountId,
		name: input.name,
		description: input.description ?? "",
		role: input.role,
		createdBy: actor.userId,
		createdAt: lc.now,
		version: 0,
	};
	const { db } = lc;
	const [, undone] = await db.batch([
		db.insert(serviceAccounts).values(row),
		db
			.delete(serviceAccounts)
			.where(
				and(
					eq(serviceAccounts.id, row.id),
					sql`(${accountLockedDown(accountId)} OR NOT ${stillAllowed(accountId, actor.userId, PERMISSION)})`,
				),
			)
			.returning({ id: serviceAccounts.id }),
	]);
	if (undone.length > 0)
		await grantLost(
			db,
			accountId,
			actor.userId,
			PERMISSION,
			"no service account can be made",
			new ApiError("conflict"),
		);
	return row;
}

/** Renames, re-describes or changes the role of a service account: one write on the version read. */
export async function updateServiceAccount(
	lc: Lifecycle,
	actor: ServiceAccountActor,
	current: ServiceAccountRow,
	change: { name?: string; role?: AssignableRole; description?: string },
): Promise<ServiceAccountRow> {
	if (change.role) refuseRole(actor, change.role);
	const unchanged =
		(change.name ?? current.name) === current.name &&
		(change.description ?? current.description) === current.description &&
		(change.role ?? current.role) === current.role;
	if (unchanged) return current;
	const { db } = lc;
	const [updated] = await db
		.update(serviceAccounts)
		.set({
			name: change.name ?? current.name,
			description: change.description ?? current.description,
			role: change.role ?? current.role,
			version: current.version + 1,
		})
		.where(
			and(
				eq(serviceAccounts.id, current.id),
				eq(serviceAccounts.version, current.version),
				sql`NOT ${accountLockedDown(current.accountId)}`,
				stillAllowed(current.accountId, actor.userId, PERMISSION),
			),
		)
		.returning();
	if (!updated)
		await grantLost(
			db,
			current.accountId,
			actor.userId,
			PERMISSION,
			"no service account can change",
			new ApiError("conflict", { detail: "The service account changed meanwhile; reload and try again" }),
		);
	if (!updated) throw new ApiError("conflict");
	return updated;
}

/**
 * Deletes a service account, then revokes its keys. The deletion goes first (if the caller may
 * still manage service accounts): from its commit on, no key can be made or rotated for it (both
 * check it exists in their own write), so the keys selected after it are all it will ever have,
 * a successor rotated in just before included. They are revoked the usual way, the object first.
 * A retry after a failure between the two finds the row gone and the keys live, and revokes them.
 */
export async function deleteServiceAccount(
	lc: Lifecycle,
	actor: ServiceAccountActor,
	accountId: string,
	id: string,
): Promise<{ deleted: boolean; keysRevoked: number }> {
	const { db } = lc;
	const deleted = await db
		.delete(serviceAccounts)
		.where(
			and(
				eq(serviceAccounts.id, id),
				eq(serviceAccounts.accountId, accountId),
				stillAllowed(accountId, actor.userId, PERMISSION),
			),
		)
		.returning({ id: serviceAccounts.id });
	const stillThere = deleted.length === 0 && (await getServiceAccount(db, accountId, id)) !== undefined;
	if (stillThere) throw new ApiError("forbidden", { detail: "Your membership of this account changed meanwhile" });
	const { revoked } = await revokeAccountKeys(lc, accountId, "service_account_deleted", { serviceAccountId: id });
	return { deleted: deleted.length === 1, keysRevoked: revoked.length };
}

export const listServiceAccounts = (db: Database, accountId: string) =>
	db
		.select()
		.from(serviceAccounts)
		.where(eq(serviceAccounts.accountId, accountId))
		.orderBy(serviceAccounts.createdAt, serviceAccounts.id);

/** Each service account's live keys: how many, the oldest's creation, and the last use of any. */
export async function serviceAccountKeyStats(db: Database, accountId: string, now: Date) {
	const rows = await db
		.select({
			serviceAccountId: apiKeys.serviceAccountId,
			liveKeys: count(),
			oldestKeyAt: sql<number | null>`min(${apiKeys.createdAt})`,
			lastUsedAt: max(apiKeys.lastUsedAt),
		})
		.from(apiKeys)
		.where(
			and(
				eq(apiKeys.accountId, accountId),
				isNull(apiKeys.revokedAt),
				sql`${apiKeys.expiresAt} > ${now.getTime()}`,
				sql`${apiKeys.serviceAccountId} IS NOT NULL`,
			),
		)
		.groupBy(apiKeys.serviceAccountId);
	return new Map(
		rows.map((r) => [
			r.serviceAccountId ?? "",
			{
				liveKeys: r.liveKeys,
				oldestKeyAt: r.oldestKeyAt === null ? null : new Date(r.oldestKeyAt),
				lastUsedAt: r.lastUsedAt ?? null,
			},
		]),
	);
}

/** A service account's standing in its account, as a key principal's membership. */
export async function serviceAccountMembership(db: Database, sa: ServiceAccountRow): Promise<PrincipalMembership> {
	const [account] = await db
		.select({
			settings: accounts.settings,
			lockedDownAt: accounts.lockedDownAt,
			ownerEmailVerified: ownerVerified(sa.accountId),
		})
		.from(accounts)
		.where(eq(accounts.id, sa.accountId));
	return {
		accountId: sa.accountId,
		role: sa.role,
		settings: parseSettings(account?.settings),
		lastActiveAt: null,
		ownerEmailVerified: Boolean(account?.ownerEmailVerified),
		lockedDownAt: account?.lockedDownAt ?? null,
		sessionsNotBefore: null,
	};
}
