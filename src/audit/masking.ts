/**
 * Masking by role (issue #26): a `readonly` member (or a key acting with that
 * role) sees other people's emails and addresses masked in the audit log, its
 * export and the member list: `a…e@example.com`, `203.0.113.x`,
 * `2001:db8:85a3::x`. Owners and admins see them whole, and each such read is
 * itself recorded (`audit.read`). Ids, actions and times stay whole: a
 * readonly member can still follow what happened, but not who it was.
 */
import type { Context } from "hono";
import type { Role } from "../auth/permissions";
import { callerMembership } from "../middleware/authorize";
import type { AppEnv } from "../platform/app-env";

/** Whether a role sees other people's personal data unmasked. */
export const seesPersonalData = (role: Role): boolean => role === "owner" || role === "admin";

/**
 * `alice@example.com` → `a…e@example.com`; a local part of three characters or fewer keeps only its
 * first (`jo@…` → `j…@…`), so nothing short is shown whole. The domain stays (it names the company).
 */
export function maskEmail(email: string): string {
	const at = email.lastIndexOf("@");
	if (at < 1) return "…";
	const local = email.slice(0, at);
	return `${local[0]}…${local.length > 3 ? local.at(-1) : ""}${email.slice(at)}`;
}

/**
 * `203.0.113.7` → `203.0.113.x`. An IPv6 address is expanded first (`::` filled with zeros) and keeps
 * its first three groups (the /48 a site gets): `2001:db8::beef` → `2001:db8:0::x`. An IPv4 address
 * written as IPv6 (`::ffff:198.51.100.7`) is masked as the IPv4 address it is. Anything else is `x`.
 */
export function maskIp(ip: string): string {
	const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
	if (mapped?.[1]) return maskIp(mapped[1]);
	if (ip.includes(":")) {
		const groups = expandIpv6(ip);
		return groups ? `${groups.slice(0, 3).join(":")}::x` : "x";
	}
	const parts = ip.split(".");
	return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p)) ? `${parts.slice(0, 3).join(".")}.x` : "x";
}

/** The eight groups of an IPv6 address (leading zeros dropped), or null when it is not one. */
function expandIpv6(ip: string): string[] | null {
	const halves = ip.split("::");
	if (halves.length > 2) return null;
	const part = (text: string | undefined) => (text ? text.split(":") : []);
	const head = part(halves[0]);
	const tail = part(halves[1]);
	const missing = 8 - head.length - tail.length;
	if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
	const groups = [...head, ...Array.from({ length: halves.length === 2 ? missing : 0 }, () => "0"), ...tail];
	if (!groups.every((g) => /^[0-9a-f]{1,4}$/i.test(g))) return null;
	return groups.map((g) => Number.parseInt(g, 16).toString(16));
}

const EMAIL = /[^\s@"'<>(),;:]+@[^\s@"'<>(),;:]+\.[^\s@"'<>(),;:]+/g;
const IP_FIELD = /(^ip$|Ip$|^ipAddress$|^address$)/;

/** A copy of `value` with every email in a string masked, and every string under an address field masked as an IP. */
export function maskPersonalData<T>(value: T, key = ""): T {
	if (typeof value === "string") {
		if (IP_FIELD.test(key) && /^[0-9a-fA-F:.]+$/.test(value)) return maskIp(value) as T;
		return value.replace(EMAIL, maskEmail) as T;
	}
	if (Array.isArray(value)) return value.map((item) => maskPersonalData(item, key)) as T;
	if (value && typeof value === "object")
		return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskPersonalData(v, k)])) as T;
	return value;
}

/**
 * Whether the caller sees personal data whole (owner, admin); when they do, the read is recorded
 * as `audit.read` (issue #26), with what was read and how many events.
 */
export function unmaskedRead(c: Context<AppEnv>, accountId: string, what: string, count: number | null): boolean {
	if (!seesPersonalData(callerMembership(c, accountId).membership.role)) return false;
	c.get("audit").record({ action: "audit.read", metadata: { what, ...(count === null ? {} : { count }) } });
	return true;
}
