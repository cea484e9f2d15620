/**
 * SCIM's filter and PatchOp (RFC 7644 §3.4.2.2, §3.5.2), as far as Okta and
 * Entra ID use them: `attribute eq "value"` filters; add, replace and remove
 * on the attributes Keyward keeps, with or without a path, including Entra's
 * `name.givenName` keys and `roles[primary eq "True"].value` paths and its
 * "True"/"False" strings. Attributes Keyward does not keep are accepted and
 * ignored, so a provider's full profile push does not fail. Pure functions:
 * a bad operation is a 400 naming it, before anything is written.
 */
import { z } from "@hono/zod-openapi";
import { fieldErrorsFromZod, validationError } from "../problems";
import { hasControlCharacters } from "../routes/openapi-shared";
import type { GroupState } from "./scim-groups";
import { ScimBoolean, ScimRole, ScimUserName } from "./scim-schemas";
import { type DesiredUser, type ScimUserRow, scimProblem } from "./scim-users";

type Operation = { op: "add" | "replace" | "remove"; path?: string; value?: unknown };

/** Re-validates a value against a schema, naming the bad fields under `where`. */
function parseOr400<T extends z.ZodType>(schema: T, value: unknown, where: string): z.output<T> {
	const parsed = schema.safeParse(value);
	if (!parsed.success) throw validationError(fieldErrorsFromZod(parsed.error.issues, where));
	return parsed.data;
}

const FILTER = /^\s*([A-Za-z.]+)\s+eq\s+"((?:[^"\\]|\\.)*)"\s*$/i;

/** `attribute eq "value"` on one of `allowed` (attribute names compare without case); anything else is `invalidFilter`. */
export function parseFilter<A extends string>(
	filter: string | undefined,
	allowed: readonly A[],
): { attribute: A; value: string } | null {
	if (filter === undefined || filter.trim() === "") return null;
	const match = FILTER.exec(filter);
	const attribute = allowed.find((a) => a.toLowerCase() === match?.[1]?.toLowerCase());
	if (!match || !attribute)
		throw scimProblem(
			"validation",
			`Only ${allowed.map((a) => `${a} eq "…"`).join(" and ")} filters are supported`,
			"invalidFilter",
		);
	return { attribute, value: (match[2] ?? "").replace(/\\(.)/g, "$1") };
}

const Text = (max: number) =>
	z
		.string()
		.trim()
		.max(max)
		.refine((v) => !hasControlCharacters(v), {
			message: "Control characters (line breaks, tabs, bidi overrides) are not allowed",
		})
		.nullable();

const RolesValue = z.union([ScimRole, z.array(z.object({ value: ScimRole, primary: ScimBoolean.optional() })).max(5)]);

/** Sets one attribute of a person; `where` names the operation in errors. */
function setUserAttribute(
	state: DesiredUser & { userName: string },
	attribute: string,
	value: unknown,
	where: string,
): void {
	switch (attribute.toLowerCase()) {
		case "active":
			state.active = parseOr400(ScimBoolean, value, where);
			return;
		case "displayname":
			state.displayName = parseOr400(Text(200), value, where);
			return;
		case "externalid":
			state.externalId = parseOr400(Text(256), value, where);
			return;
		case "name.givenname":
			state.givenName = parseOr400(Text(100), value, where);
			return;
		case "name.familyname":
			state.familyName = parseOr400(Text(100), value, where);
			return;
		case "name": {
			const name = parseOr400(
				z.object({ givenName: Text(100).optional(), familyName: Text(100).optional() }),
				value,
				where,
			);
			if (name.givenName !== undefined) state.givenName = name.givenName;
			if (name.familyName !== undefined) state.familyName = name.familyName;
			return;
		}
		case "username":
			if (parseOr400(ScimUserName, value, where) !== state.userName)
				throw scimProblem("validation", "userName cannot change: it is the person's address in Keyward", "mutability");
			return;
		case "roles":
		case 'roles[primary eq "true"].value': {
			const roles = parseOr400(RolesValue, value, where);
			const role = typeof roles === "string" ? roles : ((roles.find((r) => r.primary) ?? roles[0])?.value ?? "member");
			if (role === "owner") throw scimProblem("forbidden", "Ownership moves only by transfer-ownership");
			state.role = role;
			return;
		}
		default:
			// An attribute Keyward does not keep (title, emails, locale, the enterprise extension…): ignored.
			return;
	}
}

/** The person after a PatchOp, from their row; a bad operation is a 400 naming it. */
export function applyUserPatch(row: ScimUserRow, operations: Operation[]): DesiredUser {
	const state: DesiredUser & { userName: string } = {
		userName: row.userName,
		externalId: row.externalId,
		displayName: row.displayName,
		givenName: row.givenName,
		familyName: row.familyName,
		active: row.active,
		role: row.role,
	};
	operations.forEach((operation, i) => {
		const where = `Operations.${i}.value`;
		if (operation.op === "remove") {
			const path = operation.path?.toLowerCase();
			if (!path) throw scimProblem("validation", `Operations.${i}: a remove needs a path`, "noTarget");
			if (path === "roles" || path.startsWith("roles[")) state.role = "member";
			else if (["displayname", "externalid", "name.givenname", "name.familyname"].includes(path))
				setUserAttribute(state, path, null, where);
			else if (path === "active" || path === "username")
				throw scimProblem("validation", `Operations.${i}: ${operation.path} cannot be removed`, "mutability");
			return;
		}
		if (operation.path) {
			setUserAttribute(state, operation.path, operation.value, where);
			return;
		}
		const value = parseOr400(z.record(z.string(), z.unknown()), operation.value, where);
		for (const [key, v] of Object.entries(value)) setUserAttribute(state, key, v, `${where}.${key}`);
	});
	const { userName: _, ...desired } = state;
	return desired;
}

const MemberValues = z.array(z.object({ value: z.string().max(32) })).max(1000);
const MEMBER_PATH = /^members\[value eq "([^"]+)"\]$/i;

/** A group after a PatchOp: members added, removed or replaced, or a new name. */
export function applyGroupPatch(state: GroupState, operations: Operation[]): GroupState {
	const members = new Set(state.members);
	let { displayName, externalId } = state;
	operations.forEach((operation, i) => {
		const where = `Operations.${i}.value`;
		const path = operation.path ?? "";
		const one = MEMBER_PATH.exec(path);
		if (operation.op === "remove") {
			if (one?.[1]) members.delete(one[1]);
			else if (path.toLowerCase() === "members") {
				if (operation.value === undefined) members.clear();
				else for (const m of parseOr400(MemberValues, operation.value, where)) members.delete(m.value);
			} else
				throw scimProblem("validation", `Operations.${i}: only members can be removed from a group`, "invalidPath");
			return;
		}
		const apply = (key: string, value: unknown, at: string) => {
			switch (key.toLowerCase()) {
				case "members": {
					const values = parseOr400(MemberValues, value, at).map((m) => m.value);
					if (operation.op === "replace") members.clear();
					for (const v of values) members.add(v);
					return;
				}
				case "displayname":
					displayName = parseOr400(
						Text(256).pipe(z.string().min(1, { message: "displayName must not be empty" })),
						value,
						at,
					);
					return;
				case "externalid":
					externalId = parseOr400(Text(256), value, at);
					return;
				default:
					return;
			}
		};
		if (path) apply(path, operation.value, where);
		else
			for (const [key, v] of Object.entries(parseOr400(z.record(z.string(), z.unknown()), operation.value, where)))
				apply(key, v, `${where}.${key}`);
	});
	return { displayName, externalId, members: [...members] };
}
