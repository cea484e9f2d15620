/**
 * SCIM 2.0 (RFC 7644) for the account's identity provider: `/scim/v2/Users`
 * and `/scim/v2/Groups`, the subset Okta and Entra ID use. Every route takes
 * an API key with the reserved `scim:write` scope, acting in the key's own
 * account; errors are SCIM's (src/sso/scim-errors.ts).
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { memberJoinedAlert, memberRemovedAlert, rolesChangedAlert } from "../accounts/members";
import { auditRoleChanged, recordRoleChanged, recordStreamsStopped } from "../accounts/members-routes";
import { DEFAULT_SETTINGS } from "../accounts/settings";
import { raiseAlertFrom } from "../alerts/raise";
import { keyAccount, requireAccountKey } from "../middleware/authorize";
import type { App, AppEnv } from "../platform/app-env";
import { PERMISSION_EXTENSION } from "../routes/account-route";
import { Id } from "../routes/openapi-shared";
import {
	createGroup,
	deleteGroup,
	type GroupFilter,
	getScimGroup,
	listScimGroups,
	memberIdsOf,
	membersOf,
	type RoleChange,
	type ScimGroupRow,
	setGroup,
} from "./scim-groups";
import { applyGroupPatch, applyUserPatch, parseFilter } from "./scim-patch";
import {
	SCIM_GROUP,
	SCIM_LIST,
	SCIM_USER,
	ScimGroupInput,
	ScimGroupSchema,
	ScimItemQuery,
	ScimListQuery,
	ScimListResponse,
	ScimPatchInput,
	ScimUserInput,
	ScimUserSchema,
	scimBody,
	scimContent,
	scimErrorResponses,
} from "./scim-schemas";
import {
	type DesiredUser,
	deleteUser,
	detailsOf,
	getScimUser,
	listScimUsers,
	type MembershipEffects,
	peopleBehind,
	provisionUser,
	requestedRole,
	type ScimActor,
	type ScimUserRow,
	scimProblem,
	type UserFilter,
	updateUser,
} from "./scim-users";

const gate = requireAccountKey("members:provision");
const TAGS = ["SCIM"];
const UserParams = z.strictObject({ id: Id("usr").openapi({ description: "The person's user id (`usr_…`)" }) });
const GroupParams = z.strictObject({ id: Id("grp").openapi({ description: "The group's id (`grp_…`)" }) });
const DEFAULT_COUNT = 100;

/** Every SCIM route: the key gate, and its permission declared (as account routes declare theirs) for the reference and the tests. */
const scimRoute = <const R extends Parameters<typeof createRoute>[0]>(route: R) =>
	createRoute({
		...route,
		tags: TAGS,
		middleware: [gate] as [typeof gate],
		[PERMISSION_EXTENSION]: "members:provision",
	});

export const listUsersRoute = scimRoute({
	method: "get",
	path: "/scim/v2/Users",
	summary: "People the provider provisioned into the key's account",
	request: { query: ScimListQuery },
	responses: {
		200: scimContent(ScimListResponse(ScimUserSchema, "ScimUserList"), "A page of people"),
		...scimErrorResponses(400, 401, 403),
	},
});
export const createUserRoute = scimRoute({
	method: "post",
	path: "/scim/v2/Users",
	summary: "Provision a person: a member of the account from this answer on (when active)",
	description:
		"The address's domain must be verified for the account (403 otherwise). A Keyward user who already proved the " +
		"address is linked and keeps their role unless `roles` says otherwise; one who never proved it is refused " +
		"(409) so that nobody can squat an address to be handed its membership. A new person has no password until " +
		"they reset one from their address. `roles` never grants `owner` nor a role above the key's creator (403); " +
		"while the account is locked down nobody is added (423).",
	request: { body: scimBody(ScimUserInput) },
	responses: {
		201: scimContent(ScimUserSchema, "Provisioned"),
		...scimErrorResponses(400, 401, 403, 409, 423),
	},
});
export const getUserRoute = scimRoute({
	method: "get",
	path: "/scim/v2/Users/{id}",
	summary: "One provisioned person",
	request: { params: UserParams, query: ScimItemQuery },
	responses: { 200: scimContent(ScimUserSchema, "The person"), ...scimErrorResponses(400, 401, 403, 404) },
});
export const replaceUserRoute = scimRoute({
	method: "put",
	path: "/scim/v2/Users/{id}",
	summary: "Replace a person's attributes; `active: false` ends their access before the answer",
	description:
		"`userName` cannot change (400 `mutability`). Deactivating runs the same offboarding as removing a member: " +
		"their sessions end and the keys they made in the account are revoked before this answers; service accounts' " +
		"keys stay. The owner cannot be deactivated (403 or 409).",
	request: { params: UserParams, body: scimBody(ScimUserInput) },
	responses: { 200: scimContent(ScimUserSchema, "Replaced"), ...scimErrorResponses(400, 401, 403, 404, 409, 423) },
});
export const patchUserRoute = scimRoute({
	method: "patch",
	path: "/scim/v2/Users/{id}",
	summary: "Change a person (`active`, names, `externalId`, `roles`): Okta's and Entra ID's PatchOp",
	description:
		"Operations apply in order, all or none. `active: false` ends the person's access before the answer (as PUT). " +
		"Attributes Keyward does not keep are accepted and ignored.",
	request: { params: UserParams, body: scimBody(ScimPatchInput) },
	responses: { 200: scimContent(ScimUserSchema, "Changed"), ...scimErrorResponses(400, 401, 403, 404, 409, 423) },
});
export const deleteUserRoute = scimRoute({
	method: "delete",
	path: "/scim/v2/Users/{id}",
	summary: "Deprovision a person: their access ends (as a deactivation) and the account forgets their SCIM record",
	request: { params: UserParams },
	responses: { 204: { description: "Deleted" }, ...scimErrorResponses(400, 401, 403, 404, 409) },
});

export const listGroupsRoute = scimRoute({
	method: "get",
	path: "/scim/v2/Groups",
	summary: "The provider's groups in the key's account",
	request: { query: ScimListQuery },
	responses: {
		200: scimContent(ScimListResponse(ScimGroupSchema, "ScimGroupList"), "A page of groups"),
		...scimErrorResponses(400, 401, 403),
	},
});
export const createGroupRoute = scimRoute({
	method: "post",
	path: "/scim/v2/Groups",
	summary: "Push a group; its members take the role `scimGroupRoles` maps its name to",
	request: { body: scimBody(ScimGroupInput) },
	responses: { 201: scimContent(ScimGroupSchema, "Created"), ...scimErrorResponses(400, 401, 403, 409, 423) },
});
export const getGroupRoute = scimRoute({
	method: "get",
	path: "/scim/v2/Groups/{id}",
	summary: "One group, with its members unless `excludedAttributes=members`",
	request: { params: GroupParams, query: ScimItemQuery },
	responses: { 200: scimContent(ScimGroupSchema, "The group"), ...scimErrorResponses(400, 401, 403, 404) },
});
export const replaceGroupRoute = scimRoute({
	method: "put",
	path: "/scim/v2/Groups/{id}",
	summary: "Replace a group's name and members; the roles of the people it touched follow",
	request: { params: GroupParams, body: scimBody(ScimGroupInput) },
	responses: { 200: scimContent(ScimGroupSchema, "Replaced"), ...scimErrorResponses(400, 401, 403, 404, 409, 423) },
});
export const patchGroupRoute = scimRoute({
	method: "patch",
	path: "/scim/v2/Groups/{id}",
	summary: "Add or remove members, or rename: Okta's and Entra ID's PatchOp",
	request: { params: GroupParams, body: scimBody(ScimPatchInput) },
	responses: { 200: scimContent(ScimGroupSchema, "Changed"), ...scimErrorResponses(400, 401, 403, 404, 409, 423) },
});
export const deleteGroupRoute = scimRoute({
	method: "delete",
	path: "/scim/v2/Groups/{id}",
	summary: "Delete a group; its former members' roles follow",
	request: { params: GroupParams },
	responses: { 204: { description: "Deleted" }, ...scimErrorResponses(400, 401, 403, 404, 409, 423) },
});

function accountOf(c: Context<AppEnv>): { accountId: string } {
	return { accountId: keyAccount(c).membership.accountId };
}

/** Who acts: the key's owner with their current role, and the people behind the key (refused as grantees). */
async function actorOf(c: Context<AppEnv>): Promise<{ accountId: string; actor: ScimActor }> {
	const { principal, membership } = keyAccount(c);
	const behind = await peopleBehind(c.get("services").db, membership.accountId, principal.userId, principal.key);
	return {
		accountId: membership.accountId,
		actor: { id: principal.userId, role: membership.role, settings: membership.settings ?? DEFAULT_SETTINGS, behind },
	};
}

const lifecycle = (c: Context<AppEnv>) => ({
	env: c.env,
	db: c.get("services").db,
	now: c.get("services").clock.now(),
});
const origin = (c: Context<AppEnv>) => new URL(c.req.url).origin;
const page = (q: { startIndex?: number; count?: number }) => ({
	startIndex: q.startIndex ?? 1,
	count: q.count ?? DEFAULT_COUNT,
});

function userResource(
	c: Context<AppEnv>,
	row: ScimUserRow,
	role: string | undefined,
	groups: { value: string; display: string }[],
) {
	return {
		schemas: [SCIM_USER],
		id: row.userId,
		externalId: row.externalId,
		userName: row.userName,
		displayName: row.displayName,
		name: { givenName: row.givenName, familyName: row.familyName },
		emails: [{ value: row.userName, primary: true, type: "work" }],
		active: row.active,
		roles: [{ value: row.active && role ? role : row.role, primary: true }],
		groups,
		meta: {
			resourceType: "User",
			created: row.createdAt.toISOString(),
			lastModified: row.updatedAt.toISOString(),
			location: `${origin(c)}/scim/v2/Users/${row.userId}`,
			version: `W/"${row.version}"`,
		},
	};
}

async function renderUser(c: Context<AppEnv>, row: ScimUserRow) {
	const { roles, groups } = await detailsOf(c.get("services").db, row.accountId, [row.userId]);
	return userResource(c, row, roles.get(row.userId), groups.get(row.userId) ?? []);
}

function groupResource(
	c: Context<AppEnv>,
	row: ScimGroupRow,
	members: { value: string; display: string }[] | undefined,
) {
	return {
		schemas: [SCIM_GROUP],
		id: row.id,
		externalId: row.externalId,
		displayName: row.displayName,
		...(members ? { members } : {}),
		meta: {
			resourceType: "Group",
			created: row.createdAt.toISOString(),
			lastModified: row.updatedAt.toISOString(),
			location: `${origin(c)}/scim/v2/Groups/${row.id}`,
			version: `W/"${row.version}"`,
		},
	};
}

/** A SCIM ListResponse (RFC 7644 §3.4.2): one page of resources and where it starts. */
const listPage = <T>(total: number, startIndex: number, resources: T[]) => ({
	schemas: [SCIM_LIST],
	totalResults: total,
	startIndex,
	itemsPerPage: resources.length,
	Resources: resources,
});

const withoutMembers = (excluded: string | undefined) =>
	(excluded ?? "")
		.split(",")
		.map((a) => a.trim().toLowerCase())
		.includes("members");

async function renderGroup(c: Context<AppEnv>, row: ScimGroupRow, excluded?: string) {
	if (withoutMembers(excluded)) return groupResource(c, row, undefined);
	const members = await membersOf(c.get("services").db, [row.id]);
	return groupResource(c, row, members.get(row.id) ?? []);
}

/** The audit trail and alerts of what a call did to a person's membership. */
function recordEffects(c: Context<AppEnv>, accountId: string, userId: string, effects: MembershipEffects) {
	const audit = c.get("audit");
	if (effects.joined) {
		audit.record({
			action: "member.joined",
			target: { type: "user", id: userId },
			metadata: { role: effects.joined, via: "scim" },
		});
		raiseAlertFrom(c, memberJoinedAlert(accountId, userId, effects.joined));
	}
	if (effects.removed) {
		const { role, keysRevoked, webhooksRemoved, sessionsEnded, logStreamsDisabled } = effects.removed;
		audit.record({
			action: "member.removed",
			target: { type: "user", id: userId },
			metadata: { role, keysRevoked, webhooksRemoved, sessionsEnded, via: "scim" },
		});
		recordStreamsStopped(c, logStreamsDisabled);
		raiseAlertFrom(c, memberRemovedAlert(accountId, userId, role, { keysRevoked, webhooksRemoved }));
	}
	if (effects.roleChanged) recordRoleChanged(c, accountId, { userId, ...effects.roleChanged }, { via: "scim" });
}

/** Each role a group call changed in the audit trail, and one alert for them all. */
function recordGroupChanges(
	c: Context<AppEnv>,
	accountId: string,
	group: { id: string; displayName: string },
	changes: RoleChange[],
) {
	for (const change of changes) auditRoleChanged(c, change, { via: "scim_group", groupId: group.id });
	if (changes.length > 0) raiseAlertFrom(c, rolesChangedAlert(accountId, group, changes));
}

/** A PUT's person: what it sends, its `roles` or else `fallbackRole` (`owner` was refused before). */
const desiredFrom = (input: ScimUserInput, fallbackRole: DesiredUser["role"]): DesiredUser => {
	const asked = requestedRole(input.roles);
	return {
		externalId: input.externalId ?? null,
		displayName: input.displayName ?? null,
		givenName: input.name?.givenName ?? null,
		familyName: input.name?.familyName ?? null,
		active: input.active ?? true,
		role: asked === undefined || asked === "owner" ? fallbackRole : asked,
	};
};

/** `owner` is never granted through SCIM: refused as the members route refuses it. */
const refuseOwner = (asked: string | undefined) => {
	if (asked === "owner") throw scimProblem("forbidden", "Ownership moves only by transfer-ownership");
};

async function userOr404(c: Context<AppEnv>, accountId: string, id: string): Promise<ScimUserRow> {
	const row = await getScimUser(c.get("services").db, accountId, id);
	if (!row) throw scimProblem("not-found", "No such user in this account");
	return row;
}

async function groupOr404(c: Context<AppEnv>, accountId: string, id: string): Promise<ScimGroupRow> {
	const row = await getScimGroup(c.get("services").db, accountId, id);
	if (!row) throw scimProblem("not-found", "No such group in this account");
	return row;
}

/** Records a person's update and its transitions, and answers the person as they now are. */
async function answerUpdate(c: Context<AppEnv>, accountId: string, before: ScimUserRow, desired: DesiredUser) {
	const { row, effects } = await updateUser(lifecycle(c), (await actorOf(c)).actor, before, desired);
	const audit = c.get("audit");
	const target = { type: "user", id: row.userId };
	if (before.active && !row.active) audit.record({ action: "scim.user_deactivated", target, metadata: {} });
	else if (!before.active && row.active) audit.record({ action: "scim.user_reactivated", target, metadata: {} });
	else audit.record({ action: "scim.user_updated", target, metadata: { role: row.role } });
	recordEffects(c, accountId, row.userId, effects);
	return c.json(await renderUser(c, row), 200);
}

export function registerScim(app: App) {
	app.openapi(listUsersRoute, async (c) => {
		const { accountId } = accountOf(c);
		const query = c.req.valid("query");
		const filter = parseFilter(query.filter, ["userName", "externalId"]) as UserFilter;
		const { startIndex, count } = page(query);
		const db = c.get("services").db;
		const { total, rows } = await listScimUsers(db, accountId, filter, startIndex - 1, count);
		const { roles, groups } = await detailsOf(
			db,
			accountId,
			rows.map((r) => r.userId),
		);
		return c.json(
			listPage(
				total,
				startIndex,
				rows.map((r) => userResource(c, r, roles.get(r.userId), groups.get(r.userId) ?? [])),
			),
			200,
		);
	});

	app.openapi(createUserRoute, async (c) => {
		const { accountId, actor } = await actorOf(c);
		const input = c.req.valid("json");
		refuseOwner(requestedRole(input.roles));
		const { row, effects, linked } = await provisionUser(lifecycle(c), actor, accountId, input);
		c.get("audit").record({
			action: "scim.user_provisioned",
			target: { type: "user", id: row.userId },
			metadata: { role: row.role, active: row.active, linkedExistingUser: linked },
		});
		recordEffects(c, accountId, row.userId, effects);
		c.header("Location", `${origin(c)}/scim/v2/Users/${row.userId}`);
		return c.json(await renderUser(c, row), 201);
	});

	app.openapi(getUserRoute, async (c) => {
		const { accountId } = accountOf(c);
		return c.json(await renderUser(c, await userOr404(c, accountId, c.req.valid("param").id)), 200);
	});

	app.openapi(replaceUserRoute, async (c) => {
		const { accountId } = accountOf(c);
		const input = c.req.valid("json");
		const before = await userOr404(c, accountId, c.req.valid("param").id);
		if (input.userName !== before.userName)
			throw scimProblem("validation", "userName cannot change: it is the person's address in Keyward", "mutability");
		refuseOwner(requestedRole(input.roles));
		return answerUpdate(c, accountId, before, desiredFrom(input, input.roles ? "member" : before.role));
	});

	app.openapi(patchUserRoute, async (c) => {
		const { accountId } = accountOf(c);
		const { Operations } = c.req.valid("json");
		const before = await userOr404(c, accountId, c.req.valid("param").id);
		const desired = applyUserPatch(before, Operations);
		return answerUpdate(c, accountId, before, desired);
	});

	app.openapi(deleteUserRoute, async (c) => {
		const { accountId, actor } = await actorOf(c);
		const before = await userOr404(c, accountId, c.req.valid("param").id);
		const effects = await deleteUser(lifecycle(c), actor, before);
		c.get("audit").record({ action: "scim.user_deleted", target: { type: "user", id: before.userId }, metadata: {} });
		recordEffects(c, accountId, before.userId, effects);
		return c.body(null, 204);
	});

	app.openapi(listGroupsRoute, async (c) => {
		const { accountId } = accountOf(c);
		const query = c.req.valid("query");
		const filter = parseFilter(query.filter, ["displayName", "externalId"]) as GroupFilter;
		const { startIndex, count } = page(query);
		const db = c.get("services").db;
		const { total, rows } = await listScimGroups(db, accountId, filter, startIndex - 1, count);
		const members = withoutMembers(query.excludedAttributes)
			? null
			: await membersOf(
					db,
					rows.map((r) => r.id),
				);
		return c.json(
			listPage(
				total,
				startIndex,
				rows.map((r) => groupResource(c, r, members ? (members.get(r.id) ?? []) : undefined)),
			),
			200,
		);
	});

	app.openapi(createGroupRoute, async (c) => {
		const { accountId, actor } = await actorOf(c);
		const input = c.req.valid("json");
		const { row, changes } = await createGroup(lifecycle(c), actor, accountId, {
			displayName: input.displayName,
			externalId: input.externalId ?? null,
			members: (input.members ?? []).map((m) => m.value),
		});
		c.get("audit").record({
			action: "scim.group_created",
			target: { type: "scim_group", id: row.id },
			metadata: { displayName: row.displayName, members: input.members?.length ?? 0 },
		});
		recordGroupChanges(c, accountId, row, changes);
		c.header("Location", `${origin(c)}/scim/v2/Groups/${row.id}`);
		return c.json(await renderGroup(c, row), 201);
	});

	app.openapi(getGroupRoute, async (c) => {
		const { accountId } = accountOf(c);
		const row = await groupOr404(c, accountId, c.req.valid("param").id);
		return c.json(await renderGroup(c, row, c.req.valid("query").excludedAttributes), 200);
	});

	app.openapi(replaceGroupRoute, async (c) => {
		const { accountId, actor } = await actorOf(c);
		const input = c.req.valid("json");
		const before = await groupOr404(c, accountId, c.req.valid("param").id);
		const { row, changes } = await setGroup(lifecycle(c), actor, before, {
			displayName: input.displayName,
			externalId: input.externalId ?? null,
			members: (input.members ?? []).map((m) => m.value),
		});
		c.get("audit").record({
			action: "scim.group_updated",
			target: { type: "scim_group", id: row.id },
			metadata: { displayName: row.displayName },
		});
		recordGroupChanges(c, accountId, row, changes);
		return c.json(await renderGroup(c, row), 200);
	});

	app.openapi(patchGroupRoute, async (c) => {
		const { accountId, actor } = await actorOf(c);
		const { Operations } = c.req.valid("json");
		const before = await groupOr404(c, accountId, c.req.valid("param").id);
		const db = c.get("services").db;
		const state = applyGroupPatch(
			{ displayName: before.displayName, externalId: before.externalId, members: await memberIdsOf(db, before.id) },
			Operations,
		);
		const { row, changes } = await setGroup(lifecycle(c), actor, before, state);
		c.get("audit").record({
			action: "scim.group_updated",
			target: { type: "scim_group", id: row.id },
			metadata: { displayName: row.displayName },
		});
		recordGroupChanges(c, accountId, row, changes);
		return c.json(await renderGroup(c, row), 200);
	});

	app.openapi(deleteGroupRoute, async (c) => {
		const { accountId, actor } = await actorOf(c);
		const before = await groupOr404(c, accountId, c.req.valid("param").id);
		const changes = await deleteGroup(lifecycle(c), actor, before);
		c.get("audit").record({
			action: "scim.group_deleted",
			target: { type: "scim_group", id: before.id },
			metadata: { displayName: before.displayName },
		});
		recordGroupChanges(c, accountId, before, changes);
		return c.body(null, 204);
	});
}
