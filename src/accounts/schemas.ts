/** Schemas of API.md §4 shared by the account, member and invitation routes. */
import { z } from "@hono/zod-openapi";
import { ROLES } from "../auth/permissions";
import type { accounts } from "../db/schema";
import { FreeText, Id } from "../routes/openapi-shared";
import { parseCidr } from "../security/cidr";
import { parseSettings } from "./settings";

export const AccountParams = z.strictObject({ accountId: Id("acc") });
export const MemberParams = AccountParams.extend({ userId: Id("usr") });
export const InvitationParams = AccountParams.extend({ invitationId: Id("inv") });

export const Cidr = z
	.string()
	.max(64)
	.refine((v) => parseCidr(v) !== null, { message: "Not an IPv4 or IPv6 CIDR" });

export const SettingsSchema = z
	.object({
		requireMfa: z.boolean(),
		sessionIdleMinutes: z.number().int().min(5).max(1440),
		sessionMaxAgeHours: z.number().int().min(1).max(720),
		keyMaxLifetimeDays: z.number().int().min(1).max(365),
		keyInactivityDays: z.number().int().min(7).max(365),
		rotationGraceHours: z.number().int().min(0).max(168),
		ipAllowlist: z.array(Cidr).max(100),
		passwordComposition: z.boolean(),
		emailCodeSecondFactor: z
			.boolean()
			.openapi({ description: "Members may finish a sign-in with an emailed code instead of their authenticator" }),
		failedLoginAlertThreshold: z.number().int().min(3).max(10_000),
		failedLoginAlertWindowMinutes: z.number().int().min(1).max(1440),
	})
	.openapi("AccountSettings");

export const SettingsPatch = SettingsSchema.partial().strict();

export const AccountSchema = z
	.object({
		id: z.string(),
		name: z.string(),
		createdAt: z.string(),
		settings: SettingsSchema,
		lockedDownAt: z.string().nullable().openapi({ description: "Set by POST …/lockdown; null when never locked down" }),
		lockedDownReason: z.string().nullable(),
	})
	.openapi("Account");

export const AccountName = FreeText(100);

export const publicAccount = (row: typeof accounts.$inferSelect) => ({
	id: row.id,
	name: row.name,
	createdAt: row.createdAt.toISOString(),
	settings: parseSettings(row.settings),
	lockedDownAt: row.lockedDownAt?.toISOString() ?? null,
	lockedDownReason: row.lockedDownReason ?? null,
});

export const RoleSchema = z.enum(ROLES);
export const AssignableRole = z.enum(["admin", "member", "readonly"]);

export const MemberSchema = z
	.object({
		userId: z.string(),
		email: z.string(),
		name: z.string(),
		role: RoleSchema,
		mfaEnabled: z.boolean(),
		joinedAt: z.string(),
		lastActiveAt: z.string().nullable(),
	})
	.openapi("Member");

export const InvitationSchema = z
	.object({ id: z.string(), email: z.string(), role: AssignableRole, expiresAt: z.string() })
	.openapi("Invitation");
