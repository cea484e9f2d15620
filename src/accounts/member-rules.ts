/**
 * Who may change whose membership (API.md §4): exactly one owner, never
 * granted by a role change (ownership moves only by transfer); nobody grants a
 * role above their own; admins never touch the owner.
 */
import type { Role } from "../auth/permissions";

const RANK: Record<Role, number> = { readonly: 0, member: 1, admin: 2, owner: 3 };

/** The higher of two roles (a person in several mapped SCIM groups holds the highest). */
export const higherRole = <R extends Role>(a: R, b: R): R => (RANK[b] > RANK[a] ? b : a);

export type MemberChangeRefusal = { status: 403 | 409; detail: string } | null;

export function checkRoleChange(actor: Role, target: Role, next: Role): MemberChangeRefusal {
	if (next === "owner") return { status: 403, detail: "Ownership moves only by transfer-ownership" };
	if (target === "owner") {
		return actor === "owner"
			? { status: 409, detail: "The owner's role changes only by transferring ownership" }
			: { status: 403, detail: "Only the owner can change the owner's membership" };
	}
	if (RANK[next] > RANK[actor]) return { status: 403, detail: `A ${actor} cannot grant ${next}` };
	return null;
}

export function checkRemoval(actor: Role, target: Role): MemberChangeRefusal {
	if (target === "owner") {
		return actor === "owner"
			? { status: 409, detail: "Transfer ownership before leaving the account" }
			: { status: 403, detail: "Only the owner can change the owner's membership" };
	}
	return null;
}

export function checkInviteRole(actor: Role, role: Role): MemberChangeRefusal {
	if (role === "owner") return { status: 403, detail: "Ownership moves only by transfer-ownership" };
	return RANK[role] > RANK[actor] ? { status: 403, detail: `A ${actor} cannot invite a ${role}` } : null;
}
