/**
 * People the account's identity provider manages through SCIM (issue #27).
 * A `scim_users` row is the provider's intent for one person in one account
 * (active or not, which role); the membership follows it through the same
 * lifecycle functions every other path uses:
 *   - joining: one batch that writes the row and inserts the membership, both
 *     conditional on the account not locked down, the key's creator still
 *     allowed, and the address's domain still verified;
 *   - deactivation and deletion: `removeMembership` (src/accounts/offboarding.ts),
 *     the person's own keys revoked and every session of theirs ended before
 *     the call answers; keys of service accounts stay;
 *   - role changes: `changeRole` (src/accounts/members.ts), under the same
 *     rules as the members route (never owner, never above the key's creator).
 * Every write is conditional on the row's version as read, so a burst of
 * provider calls cannot fork a person's state; a call that finds the
 * membership behind the row (a failure between two steps) finishes the step.
 */
import { and, asc, count, eq, inArray, type SQL, sql } from "drizzle-orm";
import {
	checkInviteRole,
	checkRemoval,
	checkRoleChange,
	higherRole,
	type MemberChangeRefusal,
} from "../accounts/member-rules";
import { changeRole } from "../accounts/members";
import { removeMembership } from "../accounts/offboarding";
import { accountLockedDown, getMembership, grantLost, stillAllowed } from "../accounts/queries";
import type { AccountSettings, ScimMappedRole } from "../accounts/settings";
import type { Role } from "../auth/permissions";
import { chunk, D1_MAX_PARAMS, type Database } from "../db";
import { memberships, scimGroupMembers, scimGroups, scimUsers, users } from "../db/schema";
import { endEveryAccess } from "../identity/password-reset";
import { findUserByEmail, NO_FACTORS, unknownPasswordHash } from "../identity/users";
import type { Lifecycle } from "../keys/lifecycle";
import { newId } from "../platform/ids";
import { ApiError, isUniqueViolation } from "../problems";
import { domainStillVerified, verifiedDomainOf } from "./domains";
import { SCIM_TYPE_HEADER } from "./scim-errors";
import type { ScimUserInput } from "./scim-schemas";

export type ScimUserRow = typeof scimUsers.$inferSelect;
const PERMISSION = "members:provision" as const;

/** Who provisions: the SCIM key's creator (a person or a service account) with their current role and the account's settings. */
export interface ScimActor {
	id: string;
	role: Role;
	settings: AccountSettings;
	/**
	 * The people behind the key (`peopleBehind`). A SCIM key never adds, reactivates or raises them,
	 * so nobody the provider deactivated can bring themselves back with a key they set up beforehand,
	 * however many keys minted or rotated it since.
	 */
	behind: readonly string[];
}

/**
 * The people behind a key. For a person's key: that person and whoever made the key. For a service
 * account's key: everyone who made the service account or made or rotated any of its keys (revoked
 * ones too), followed back through service accounts. A key that a service account's key mints or
 * rotates names the service account as its creator, so without this walk the person who set up the
 * first key would drop out of the lineage. One recursive query; rows of keys are never purged.
 */
export async function peopleBehind(
	db: Database,
	accountId: string,
	userId: string,
	key: { createdBy: string; serviceAccountId?: string | null } | undefined,
): Promise<string[]> {
	const direct = [userId, ...(key ? [key.createdBy] : [])];
	if (!key?.serviceAccountId) return [...new Set(direct)];
	const lineage = await db.all<{ id: string }>(sql`
		WITH RECURSIVE lineage(id) AS (
			SELECT ${key.serviceAccountId}
			UNION SELECT k.created_by FROM api_keys AS k JOIN lineage ON k.service_account_id = lineage.id
				WHERE k.account_id = ${accountId}
			UNION SELECT s.created_by FROM service_accounts AS s JOIN lineage ON s.id = lineage.id
				WHERE s.account_id = ${accountId}
		)
		SELECT id FROM lineage`);
	return [...new Set([...direct, ...lineage.map((row) => row.id)])];
}

/** Refuses a grant to one of the people behind the acting key. */
export function refuseSelfGrant(actor: ScimActor, userId: string): void {
	if (actor.behind.includes(userId))
		throw new ApiError("forbidden", {
			detail:
				"A SCIM key never adds, reactivates or raises the person who made it (or its service account): " +
				"ask the identity provider's administrator, or another owner or admin",
		});
}

/** What a person's record should say after a call (userName never changes). */
export interface DesiredUser {
	externalId: string | null;
	displayName: string | null;
	givenName: string | null;
	familyName: string | null;
	active: boolean;
	role: ScimMappedRole;
}

/** What a call did to the membership, for the route to record and alert. */
export interface MembershipEffects {
	joined?: Role;
	removed?: {
		role: Role;
		keysRevoked: number;
		webhooksRemoved: number;
		logStreamsDisabled: string[];
		sessionsEnded: number;
	};
	roleChanged?: { from: Role; to: Role; webhooksDisabled: string[]; logStreamsDisabled: string[] };
}

export const scimProblem = (
	kind: "validation" | "forbidden" | "conflict" | "not-found",
	detail: string,
	scimType?: string,
): ApiError => new ApiError(kind, { detail, ...(scimType ? { headers: { [SCIM_TYPE_HEADER]: scimType } } : {}) });

const refuse = (refusal: MemberChangeRefusal) => {
	if (refusal) throw new ApiError(refusal.status === 409 ? "conflict" : "forbidden", { detail: refusal.detail });
};

/** The role an input asks for: its primary role, else its first; none when it names none. */
export function requestedRole(roles: ScimUserInput["roles"]): Role | undefined {
	if (!roles || roles.length === 0) return undefined;
	return (roles.find((r) => r.primary) ?? roles[0])?.value;
}

/** An owner is never provisioned as such: the role a row keeps for them is irrelevant (their role never changes here). */
const assignable = (role: Role): ScimMappedRole => (role === "owner" ? "member" : role);

/**
 * True, in SQL, while a grant made by `actorId` may land: the account is not locked down, the
 * actor still holds the permission, the address's domain is still verified for the account, and
 * the person was not erased meanwhile.
 */
const mayGrant = (accountId: string, actorId: string, userName: string, userId: string): SQL =>
	sql`(NOT ${accountLockedDown(accountId)} AND ${stillAllowed(accountId, actorId, PERMISSION)} AND ${domainStillVerified(
		accountId,
		userName,
	)} AND NOT EXISTS (SELECT 1 FROM ${users} WHERE ${users.id} = ${userId} AND ${users.erasedAt} IS NOT NULL))`;

/** Why a grant's conditional write was undone: the domain, else the account or the actor's standing. */
async function grantRefused(db: Database, accountId: string, actorId: string, userName: string): Promise<never> {
	if (!(await verifiedDomainOf(db, accountId, userName)))
		throw scimProblem("forbidden", `The domain of ${userName} is not verified for this account`);
	return grantLost(db, accountId, actorId, PERMISSION, "nobody can be provisioned or raised", new ApiError("conflict"));
}

/** The membership insert of a join: from the person's row, only as that row was just written and while the grant may land. */
const joinStatement = (db: Database, row: ScimUserRow, role: Role, now: Date, actorId: string) =>
	db
		.insert(memberships)
		.select(
			db
				.select({
					accountId: scimUsers.accountId,
					userId: scimUsers.userId,
					role: sql<Role>`${role}`.as("role"),
					joinedAt: sql<number>`${now.getTime()}`.as("joined_at"),
					lastActiveAt: sql<null>`NULL`.as("last_active_at"),
				})
				.from(scimUsers)
				.where(
					and(
						eq(scimUsers.accountId, row.accountId),
						eq(scimUsers.userId, row.userId),
						eq(scimUsers.active, true),
						eq(scimUsers.version, row.version),
						mayGrant(row.accountId, actorId, row.userName, row.userId),
					),
				),
		)
		.onConflictDoNothing()
		.returning({ role: memberships.role });

export const getScimUser = (db: Database, accountId: string, userId: string) =>
	db.query.scimUsers.findFirst({ where: and(eq(scimUsers.accountId, accountId), eq(scimUsers.userId, userId)) });

/** The role a person's groups give them under the mapping: the highest mapped one, or none. */
export function roleFromGroups(
	mapping: AccountSettings["scimGroupRoles"],
	groupNames: readonly string[],
): ScimMappedRole | null {
	let role: ScimMappedRole | null = null;
	for (const name of groupNames) {
		if (!Object.hasOwn(mapping, name)) continue;
		const mapped = mapping[name] as ScimMappedRole;
		role = role ? higherRole(role, mapped) : mapped;
	}
	return role;
}

/** The role the mapped groups a person is in give them, or none. */
export async function mappedRole(
	db: Database,
	settings: AccountSettings,
	accountId: string,
	userId: string,
): Promise<ScimMappedRole | null> {
	const mapping = settings.scimGroupRoles ?? {};
	if (Object.keys(mapping).length === 0) return null;
	const groups = await db
		.select({ name: scimGroups.displayName })
		.from(scimGroupMembers)
		.innerJoin(scimGroups, eq(scimGroups.id, scimGroupMembers.groupId))
		.where(and(eq(scimGroupMembers.accountId, accountId), eq(scimGroupMembers.userId, userId)));
	return roleFromGroups(
		mapping,
		groups.map((g) => g.name),
	);
}

/** The role a person is to hold: their mapped groups decide first, then their own `roles` attribute. */
export const effectiveRole = async (
	db: Database,
	actor: ScimActor,
	row: Pick<ScimUserRow, "accountId" | "userId">,
	own: ScimMappedRole,
) => (await mappedRole(db, actor.settings, row.accountId, row.userId)) ?? own;

const displayNameOf = (input: ScimUserInput): string =>
	input.displayName ||
	[input.name?.givenName, input.name?.familyName].filter(Boolean).join(" ") ||
	input.userName.slice(0, input.userName.indexOf("@"));

/**
 * Provisions a person. Their address must be in a domain the account verified. An existing
 * Keyward user with that address is linked only when they have proven it: otherwise whoever
 * signed up with it (perhaps to squat it) would be handed the membership. A new person is made
 * with no password and no factor: only a reset from their address (or SSO) gives them one.
 */
export async function provisionUser(
	lc: Lifecycle,
	actor: ScimActor,
	accountId: string,
	input: ScimUserInput,
): Promise<{ row: ScimUserRow; effects: MembershipEffects; linked: boolean }> {
	const { db, now } = lc;
	const userName = input.userName;
	if (!(await verifiedDomainOf(db, accountId, userName)))
		throw scimProblem(
			"forbidden",
			`The domain of ${userName} is not verified for this account: the owner claims and verifies it under /v1/accounts/${accountId}/domains`,
		);
	const asked = requestedRole(input.roles);
	refuse(checkInviteRole(actor.role, asked ?? "member"));
	const taken = await db.query.scimUsers.findFirst({
		where: and(eq(scimUsers.accountId, accountId), eq(scimUsers.userName, userName)),
	});
	if (taken) throw scimProblem("conflict", `${userName} is already provisioned (id ${taken.userId})`, "uniqueness");
	const existing = await findUserByEmail(db, userName);
	if (existing && !existing.emailVerifiedAt)
		throw scimProblem(
			"conflict",
			`A Keyward user holds ${userName} without having proven it: provisioning waits until the address's owner ` +
				"proves it (a verification or a password reset)",
			"uniqueness",
		);
	const membership = existing ? await getMembership(db, accountId, existing.id) : undefined;
	if (existing && !membership && input.active !== false) refuseSelfGrant(actor, existing.id);
	// Provisioned inactive while already a member (Entra creates disabled people so): their access ends now.
	if (input.active === false && membership) refuse(checkRemoval(actor.role, membership.role));
	const row: ScimUserRow = {
		accountId,
		userId: existing?.id ?? newId("usr"),
		userName,
		externalId: input.externalId ?? null,
		displayName: input.displayName ?? null,
		givenName: input.name?.givenName ?? null,
		familyName: input.name?.familyName ?? null,
		active: input.active ?? true,
		role: assignable(asked ?? membership?.role ?? "member"),
		createdAt: now,
		updatedAt: now,
		version: 1,
	};
	const granted = mayGrant(accountId, actor.id, userName, row.userId);
	const newUser = existing
		? []
		: [
				db.insert(users).values({
					id: row.userId,
					email: userName,
					name: displayNameOf(input).slice(0, 100),
					passwordHash: await unknownPasswordHash(),
					...NO_FACTORS,
					createdAt: now,
					erasedAt: null,
				}),
			];
	const joins = row.active && !membership;
	let results: readonly unknown[];
	try {
		results = await db.batch([
			db.insert(scimUsers).values(row),
			...newUser,
			...(joins ? [joinStatement(db, row, row.role, now, actor.id)] : []),
			db
				.delete(scimUsers)
				.where(and(eq(scimUsers.accountId, accountId), eq(scimUsers.userId, row.userId), sql`NOT ${granted}`))
				.returning({ userId: scimUsers.userId }),
			...(existing ? [] : [db.delete(users).where(and(eq(users.id, row.userId), sql`NOT ${granted}`))]),
		] as unknown as Parameters<Database["batch"]>[0]);
	} catch (err) {
		if (isUniqueViolation(err))
			throw scimProblem("conflict", `${userName} is already provisioned or was just taken`, "uniqueness");
		throw err;
	}
	const undone = results[1 + newUser.length + (joins ? 1 : 0)] as unknown[];
	if (undone.length > 0) await grantRefused(db, accountId, actor.id, userName);
	const joined = joins ? (results[1 + newUser.length] as { role: Role }[]).length === 1 : false;
	const effects: MembershipEffects = joined ? { joined: row.role } : {};
	if (!row.active && membership) effects.removed = await deactivate(lc, row, membership.role);
	return { row, effects, linked: existing !== undefined };
}

/**
 * Brings a person to `desired`: one write of the row on the version read (with the join in the
 * same batch, or conditional on the grant when it raises them), then the membership follows
 * through the shared lifecycle functions.
 */
export async function updateUser(
	lc: Lifecycle,
	actor: ScimActor,
	current: ScimUserRow,
	desired: DesiredUser,
): Promise<{ row: ScimUserRow; effects: MembershipEffects }> {
	const { db, now } = lc;
	const { accountId, userId } = current;
	const membership = await getMembership(db, accountId, userId);
	if (!desired.active && membership) refuse(checkRemoval(actor.role, membership.role));
	const role = desired.active ? await effectiveRole(db, actor, current, desired.role) : desired.role;
	const joins = desired.active && !membership;
	if (joins) refuse(checkInviteRole(actor.role, role));
	const changesRole = desired.active && membership && membership.role !== "owner" && membership.role !== role;
	if (changesRole) refuse(checkRoleChange(actor.role, membership.role, role));
	// The owner's role changes only by transfer: a push that asks for another is refused, not ignored.
	if (membership?.role === "owner" && desired.role !== current.role)
		refuse(checkRoleChange(actor.role, "owner", desired.role));
	const raises = joins || (changesRole && higherRole(membership.role, role) === role);
	if (raises) refuseSelfGrant(actor, userId);
	const next: ScimUserRow = { ...current, ...desired, updatedAt: now, version: current.version + 1 };
	const write = db
		.update(scimUsers)
		.set({ ...desired, updatedAt: now, version: next.version })
		.where(
			and(
				eq(scimUsers.accountId, accountId),
				eq(scimUsers.userId, userId),
				eq(scimUsers.version, current.version),
				raises ? mayGrant(accountId, actor.id, current.userName, userId) : undefined,
			),
		)
		.returning({ version: scimUsers.version });
	const [written, joined] = joins
		? await db.batch([write, joinStatement(db, next, role, now, actor.id)])
		: [await write, []];
	if (written.length === 0) {
		const now_ = await getScimUser(db, accountId, userId);
		if (!now_) throw scimProblem("not-found", "No such user");
		if (now_.version !== current.version)
			throw scimProblem("conflict", "The user changed meanwhile; read it again and retry", "uniqueness");
		await grantRefused(db, accountId, actor.id, current.userName);
	}
	const effects: MembershipEffects = {};
	if (joins && joined.length === 1) effects.joined = role;
	if (!desired.active && membership) effects.removed = await deactivate(lc, current, membership.role);
	if (changesRole) {
		const changed = await changeRole(db, accountId, actor.id, { userId, role: membership.role }, role, now);
		effects.roleChanged = { from: membership.role, to: role, ...changed };
	}
	return { row: next, effects };
}

/** The offboarding lifecycle, then every session of the person: their next request anywhere is refused. */
async function deactivate(
	lc: Lifecycle,
	row: ScimUserRow,
	role: Role,
): Promise<NonNullable<MembershipEffects["removed"]>> {
	const removed = await removeMembership(lc.env, lc.db, row.accountId, row.userId, lc.now);
	const sessionsEnded = await endEveryAccess(lc.env, lc.db, { id: row.userId, email: row.userName });
	return {
		role,
		keysRevoked: removed?.keysRevoked ?? 0,
		webhooksRemoved: removed?.webhooksRemoved ?? 0,
		logStreamsDisabled: removed?.logStreamsDisabled ?? [],
		sessionsEnded,
	};
}

/**
 * Deletes a person from the account: first their access ends as in a deactivation (so a failure
 * midway leaves the row for the provider's retry to find), then the row and their group places go.
 */
export async function deleteUser(lc: Lifecycle, actor: ScimActor, current: ScimUserRow): Promise<MembershipEffects> {
	const { db, now } = lc;
	const { accountId, userId } = current;
	const membership = await getMembership(db, accountId, userId);
	if (membership) refuse(checkRemoval(actor.role, membership.role));
	// First the record turns inactive under a new version: a reactivation racing this deletion was
	// read at the old version, so its conditional write fails instead of joining behind it.
	const version = current.version + 1;
	const [marked] = await db
		.update(scimUsers)
		.set({ active: false, updatedAt: now, version })
		.where(
			and(eq(scimUsers.accountId, accountId), eq(scimUsers.userId, userId), eq(scimUsers.version, current.version)),
		)
		.returning({ userId: scimUsers.userId });
	if (!marked) throw scimProblem("conflict", "The user changed meanwhile; read it again and retry", "uniqueness");
	const effects: MembershipEffects = membership ? { removed: await deactivate(lc, current, membership.role) } : {};
	await db.batch([
		db
			.delete(scimGroupMembers)
			.where(and(eq(scimGroupMembers.accountId, accountId), eq(scimGroupMembers.userId, userId))),
		db
			.delete(scimUsers)
			.where(and(eq(scimUsers.accountId, accountId), eq(scimUsers.userId, userId), eq(scimUsers.version, version))),
	]);
	return effects;
}

export type UserFilter = { attribute: "userName" | "externalId"; value: string } | null;

/** A page of the account's provisioned people, oldest first, with the total. */
export async function listScimUsers(
	db: Database,
	accountId: string,
	filter: UserFilter,
	offset: number,
	limit: number,
) {
	const where = and(
		eq(scimUsers.accountId, accountId),
		filter
			? filter.attribute === "userName"
				? eq(scimUsers.userName, filter.value.toLowerCase())
				: eq(scimUsers.externalId, filter.value)
			: undefined,
	);
	const [[total], rows] = await db.batch([
		db.select({ n: count() }).from(scimUsers).where(where),
		db
			.select()
			.from(scimUsers)
			.where(where)
			.orderBy(asc(scimUsers.createdAt), asc(scimUsers.userId))
			.limit(limit)
			.offset(offset),
	]);
	return { total: total?.n ?? 0, rows };
}

/** Ids bound in one `IN (…)` list: below D1's 100 parameters, with room for the statement's others. */
export const IDS_PER_QUERY = D1_MAX_PARAMS - 10;

/** The memberships and groups of a page of people, to render their `roles` and `groups`. */
export async function detailsOf(db: Database, accountId: string, userIds: string[]) {
	const roles = new Map<string, Role>();
	const groups = new Map<string, { value: string; display: string }[]>();
	for (const ids of chunk(userIds, IDS_PER_QUERY)) {
		const [members, places] = await db.batch([
			db
				.select({ userId: memberships.userId, role: memberships.role })
				.from(memberships)
				.where(and(eq(memberships.accountId, accountId), inArray(memberships.userId, ids))),
			db
				.select({ userId: scimGroupMembers.userId, id: scimGroups.id, name: scimGroups.displayName })
				.from(scimGroupMembers)
				.innerJoin(scimGroups, eq(scimGroups.id, scimGroupMembers.groupId))
				.where(and(eq(scimGroupMembers.accountId, accountId), inArray(scimGroupMembers.userId, ids))),
		]);
		for (const m of members) roles.set(m.userId, m.role);
		for (const p of places) groups.set(p.userId, [...(groups.get(p.userId) ?? []), { value: p.id, display: p.name }]);
	}
	return { roles, groups };
}
