/**
 * SCIM groups (issue #27): the provider's groups, whose members are people it
 * provisioned here. The account's `scimGroupRoles` setting maps a group's
 * name to a role; after every group change the roles of the people it
 * touched are brought in line through `changeRole`, the members route's own
 * lifecycle function (never owner, never for the owner, never above the key's
 * creator). A group write is one conditional batch on the version read, the
 * account not locked down and the key's creator still allowed: while an
 * account is locked down, groups (which can raise people) do not change.
 */
import { and, asc, count, eq, inArray, sql } from "drizzle-orm";
import { checkRoleChange, higherRole } from "../accounts/member-rules";
import { changeRole } from "../accounts/members";
import { accountLockedDown, grantLost, stillAllowed } from "../accounts/queries";
import type { Role } from "../auth/permissions";
import { chunk, type Database } from "../db";
import { memberships, scimGroupMembers, scimGroups, scimUsers } from "../db/schema";
import type { Lifecycle } from "../keys/lifecycle";
import { newId } from "../platform/ids";
import { ApiError, isUniqueViolation, validationError } from "../problems";
import {
	IDS_PER_QUERY,
	refuseSelfGrant,
	roleFromGroups,
	type ScimActor,
	type ScimUserRow,
	scimProblem,
} from "./scim-users";

export type ScimGroupRow = typeof scimGroups.$inferSelect;
const PERMISSION = "members:provision" as const;

export interface GroupState {
	displayName: string;
	externalId: string | null;
	members: string[];
}

/** A role change a group change caused, for the route to record and alert. */
export interface RoleChange {
	userId: string;
	from: Role;
	to: Role;
	webhooksDisabled: string[];
	logStreamsDisabled: string[];
}

export const getScimGroup = (db: Database, accountId: string, id: string) =>
	db.query.scimGroups.findFirst({ where: and(eq(scimGroups.accountId, accountId), eq(scimGroups.id, id)) });

export async function memberIdsOf(db: Database, groupId: string): Promise<string[]> {
	const rows = await db
		.select({ userId: scimGroupMembers.userId })
		.from(scimGroupMembers)
		.where(eq(scimGroupMembers.groupId, groupId));
	return rows.map((r) => r.userId);
}

/** The members of some groups, with their userNames. */
export async function membersOf(db: Database, groupIds: string[]) {
	const out = new Map<string, { value: string; display: string }[]>();
	for (const ids of chunk(groupIds, IDS_PER_QUERY)) {
		const rows = await db
			.select({ groupId: scimGroupMembers.groupId, userId: scimGroupMembers.userId, userName: scimUsers.userName })
			.from(scimGroupMembers)
			.innerJoin(
				scimUsers,
				and(eq(scimUsers.accountId, scimGroupMembers.accountId), eq(scimUsers.userId, scimGroupMembers.userId)),
			)
			.where(inArray(scimGroupMembers.groupId, ids))
			.orderBy(asc(scimUsers.userName));
		for (const r of rows) out.set(r.groupId, [...(out.get(r.groupId) ?? []), { value: r.userId, display: r.userName }]);
	}
	return out;
}

export type GroupFilter = { attribute: "displayName" | "externalId"; value: string } | null;

export async function listScimGroups(
	db: Database,
	accountId: string,
	filter: GroupFilter,
	offset: number,
	limit: number,
) {
	const where = and(
		eq(scimGroups.accountId, accountId),
		filter
			? filter.attribute === "displayName"
				? eq(scimGroups.displayName, filter.value)
				: eq(scimGroups.externalId, filter.value)
			: undefined,
	);
	const [[total], rows] = await db.batch([
		db.select({ n: count() }).from(scimGroups).where(where),
		db
			.select()
			.from(scimGroups)
			.where(where)
			.orderBy(asc(scimGroups.createdAt), asc(scimGroups.id))
			.limit(limit)
			.offset(offset),
	]);
	return { total: total?.n ?? 0, rows };
}

/** Members must be people this account provisioned: each other value is named in the 400. */
async function checkMembers(db: Database, accountId: string, members: string[]): Promise<void> {
	if (members.length === 0) return;
	const known = new Set<string>();
	for (const ids of chunk([...new Set(members)], IDS_PER_QUERY))
		for (const r of await db
			.select({ userId: scimUsers.userId })
			.from(scimUsers)
			.where(and(eq(scimUsers.accountId, accountId), inArray(scimUsers.userId, ids))))
			known.add(r.userId);
	const unknown = members.flatMap((m, i) =>
		known.has(m) ? [] : [{ path: `members.${i}.value`, message: "Not a person provisioned in this account" }],
	);
	if (unknown.length > 0) throw validationError(unknown);
}

const allowedNow = (accountId: string, actorId: string) =>
	sql`(NOT ${accountLockedDown(accountId)} AND ${stillAllowed(accountId, actorId, PERMISSION)})`;

const uniqueName = (err: unknown, name: string): never => {
	if (isUniqueViolation(err)) throw scimProblem("conflict", `A group named "${name}" exists already`, "uniqueness");
	throw err;
};

export async function createGroup(
	lc: Lifecycle,
	actor: ScimActor,
	accountId: string,
	state: GroupState,
): Promise<{ row: ScimGroupRow; changes: RoleChange[] }> {
	const { db, now } = lc;
	const members = [...new Set(state.members)];
	await checkMembers(db, accountId, members);
	await planRoleChanges(lc, actor, accountId, members, { groupId: null, name: state.displayName, members });
	const row: ScimGroupRow = {
		id: newId("grp"),
		accountId,
		displayName: state.displayName,
		externalId: state.externalId,
		createdAt: now,
		updatedAt: now,
		version: 1,
	};
	const ok = allowedNow(accountId, actor.id);
	let undone: { id: string }[] = [];
	try {
		const results = await db.batch([
			db.insert(scimGroups).values(row),
			...members.map((userId) => db.insert(scimGroupMembers).values({ groupId: row.id, accountId, userId })),
			db.delete(scimGroupMembers).where(and(eq(scimGroupMembers.groupId, row.id), sql`NOT ${ok}`)),
			db
				.delete(scimGroups)
				.where(and(eq(scimGroups.id, row.id), sql`NOT ${ok}`))
				.returning({ id: scimGroups.id }),
		] as unknown as Parameters<Database["batch"]>[0]);
		undone = results.at(-1) as { id: string }[];
	} catch (err) {
		uniqueName(err, state.displayName);
	}
	if (undone.length > 0)
		await grantLost(db, accountId, actor.id, PERMISSION, "groups cannot change", new ApiError("conflict"));
	return { row, changes: await reconcileRoles(lc, actor, accountId, members) };
}

/** Replaces a group's name and members: one batch on the version read; then the roles it touched follow. */
export async function setGroup(
	lc: Lifecycle,
	actor: ScimActor,
	current: ScimGroupRow,
	state: GroupState,
): Promise<{ row: ScimGroupRow; changes: RoleChange[] }> {
	const { db, now } = lc;
	const { accountId } = current;
	const members = [...new Set(state.members)];
	await checkMembers(db, accountId, members);
	const before = await memberIdsOf(db, current.id);
	const next: ScimGroupRow = {
		...current,
		displayName: state.displayName,
		externalId: state.externalId,
		updatedAt: now,
		version: current.version + 1,
	};
	const touched =
		current.displayName === next.displayName
			? symmetricDifference(before, members)
			: [...new Set([...before, ...members])];
	await planRoleChanges(lc, actor, accountId, touched, { groupId: current.id, name: next.displayName, members });
	const landed = sql`EXISTS (SELECT 1 FROM ${scimGroups} WHERE ${scimGroups.id} = ${current.id} AND ${scimGroups.version} = ${next.version})`;
	let written: { id: string }[] = [];
	try {
		const [w] = await db.batch([
			db
				.update(scimGroups)
				.set({ displayName: next.displayName, externalId: next.externalId, updatedAt: now, version: next.version })
				.where(
					and(eq(scimGroups.id, current.id), eq(scimGroups.version, current.version), allowedNow(accountId, actor.id)),
				)
				.returning({ id: scimGroups.id }),
			// Only who left and who joined, each list in chunks D1 can bind; each write lands only with the version above.
			...chunk(
				before.filter((id) => !members.includes(id)),
				IDS_PER_QUERY,
			).map((ids) =>
				db
					.delete(scimGroupMembers)
					.where(and(eq(scimGroupMembers.groupId, current.id), inArray(scimGroupMembers.userId, ids), landed)),
			),
			...members
				.filter((id) => !before.includes(id))
				.map((userId) =>
					db
						.insert(scimGroupMembers)
						.select(
							db
								.select({
									groupId: scimGroups.id,
									accountId: scimGroups.accountId,
									userId: sql<string>`${userId}`.as("user_id"),
								})
								.from(scimGroups)
								.where(and(eq(scimGroups.id, current.id), eq(scimGroups.version, next.version))),
						)
						.onConflictDoNothing(),
				),
		] as unknown as Parameters<Database["batch"]>[0]);
		written = w as { id: string }[];
	} catch (err) {
		uniqueName(err, state.displayName);
	}
	if (written.length === 0) {
		const latest = await getScimGroup(db, accountId, current.id);
		if (!latest) throw scimProblem("not-found", "No such group");
		if (latest.version !== current.version)
			throw scimProblem("conflict", "The group changed meanwhile; read it again and retry", "uniqueness");
		await grantLost(db, accountId, actor.id, PERMISSION, "groups cannot change", new ApiError("conflict"));
	}
	return { row: next, changes: await reconcileRoles(lc, actor, accountId, touched) };
}

export async function deleteGroup(lc: Lifecycle, actor: ScimActor, current: ScimGroupRow): Promise<RoleChange[]> {
	const { db } = lc;
	const before = await memberIdsOf(db, current.id);
	await planRoleChanges(lc, actor, current.accountId, before, { groupId: current.id, name: "", members: [] });
	const ok = allowedNow(current.accountId, actor.id);
	const [, deleted] = await db.batch([
		db.delete(scimGroupMembers).where(and(eq(scimGroupMembers.groupId, current.id), ok)),
		db
			.delete(scimGroups)
			.where(and(eq(scimGroups.id, current.id), ok))
			.returning({ id: scimGroups.id }),
	]);
	if (deleted.length === 0) {
		if (!(await getScimGroup(db, current.accountId, current.id))) throw scimProblem("not-found", "No such group");
		await grantLost(db, current.accountId, actor.id, PERMISSION, "groups cannot change", new ApiError("conflict"));
	}
	return reconcileRoles(lc, actor, current.accountId, before);
}

const symmetricDifference = (a: string[], b: string[]) => {
	const sa = new Set(a);
	const sb = new Set(b);
	return [...a.filter((x) => !sb.has(x)), ...b.filter((x) => !sa.has(x))];
};

/** The most roles one group call may change: a larger push is refused before it writes anything. */
export const MAX_ROLE_CHANGES_PER_CALL = 100;

/** A group as a call would leave it (`groupId` null for one not yet written), to plan against before writing. */
interface ProposedGroup {
	groupId: string | null;
	name: string;
	members: readonly string[];
}

interface PlannedChange {
	userId: string;
	from: Role;
	to: Role;
}

/**
 * The role changes that bringing these people in line with their groups makes, each checked as
 * the members route checks it (never owner, never for the owner, never above the key's creator,
 * never raising a person behind the key), and at most `MAX_ROLE_CHANGES_PER_CALL` of them. With
 * `proposed`, it plans against the group as the call would leave it: a group call plans first and
 * writes only if every change may happen, so a refused call leaves the group as it was.
 */
async function planRoleChanges(
	lc: Lifecycle,
	actor: ScimActor,
	accountId: string,
	userIds: readonly string[],
	proposed?: ProposedGroup,
): Promise<PlannedChange[]> {
	const { db } = lc;
	if (userIds.length === 0) return [];
	const ids = [...new Set(userIds)];
	const mapping = actor.settings.scimGroupRoles ?? {};
	const rows: { userId: string; role: ScimUserRow["role"]; active: boolean }[] = [];
	const members: { userId: string; role: Role }[] = [];
	const places: { userId: string; groupId: string; name: string }[] = [];
	for (const part of chunk(ids, IDS_PER_QUERY)) {
		const [r, m, p] = await db.batch([
			db
				.select({ userId: scimUsers.userId, role: scimUsers.role, active: scimUsers.active })
				.from(scimUsers)
				.where(and(eq(scimUsers.accountId, accountId), inArray(scimUsers.userId, part))),
			db
				.select({ userId: memberships.userId, role: memberships.role })
				.from(memberships)
				.where(and(eq(memberships.accountId, accountId), inArray(memberships.userId, part))),
			db
				.select({ userId: scimGroupMembers.userId, groupId: scimGroups.id, name: scimGroups.displayName })
				.from(scimGroupMembers)
				.innerJoin(scimGroups, eq(scimGroups.id, scimGroupMembers.groupId))
				.where(and(eq(scimGroupMembers.accountId, accountId), inArray(scimGroupMembers.userId, part))),
		]);
		rows.push(...r);
		members.push(...m);
		places.push(...p);
	}
	const namesOf = new Map<string, string[]>();
	const place = (userId: string, name: string) => namesOf.set(userId, [...(namesOf.get(userId) ?? []), name]);
	for (const p of places) if (p.groupId !== proposed?.groupId) place(p.userId, p.name);
	if (proposed) for (const userId of proposed.members) place(userId, proposed.name);
	const current = new Map(members.map((m) => [m.userId, m.role]));
	const planned: PlannedChange[] = [];
	for (const row of rows) {
		const from = current.get(row.userId);
		const to = roleFromGroups(mapping, namesOf.get(row.userId) ?? []) ?? row.role;
		if (!row.active || !from || from === "owner" || from === to) continue;
		const refusal = checkRoleChange(actor.role, from, to);
		if (refusal) throw new ApiError(refusal.status === 409 ? "conflict" : "forbidden", { detail: refusal.detail });
		if (higherRole(from, to) === to) refuseSelfGrant(actor, row.userId);
		planned.push({ userId: row.userId, from, to });
	}
	if (planned.length > MAX_ROLE_CHANGES_PER_CALL)
		throw scimProblem(
			"validation",
			`This call would change the roles of ${planned.length} people; one group call changes at most ` +
				`${MAX_ROLE_CHANGES_PER_CALL}: send the members in smaller PATCH calls`,
			"invalidValue",
		);
	return planned;
}

/**
 * Brings the roles of the given people in line with their groups as they now stand: the plan above,
 * then `changeRole` for each change, conditional on the role it starts from.
 */
export async function reconcileRoles(
	lc: Lifecycle,
	actor: ScimActor,
	accountId: string,
	userIds: string[],
): Promise<RoleChange[]> {
	const changes: RoleChange[] = [];
	for (const { userId, from, to } of await planRoleChanges(lc, actor, accountId, userIds)) {
		const changed = await changeRole(lc.db, accountId, actor.id, { userId, role: from }, to, lc.now);
		changes.push({ userId, from, to, ...changed });
	}
	return changes;
}
