/** Schemas of API.md §4 shared by the account, member and invitation routes. */
import { z } from "@hono/zod-openapi";
import { ROLES } from "../auth/permissions";
import type { accounts } from "../db/schema";
import { FreeText, Id, IssuedId, Timestamp } from "../routes/openapi-shared";
import { parseCidr } from "../security/cidr";
import {
	ARCHIVE_RETENTION_YEARS,
	AUDIT_INDEX_DAYS,
	LEAKED_KEY_POLICIES,
	MFA_POLICIES,
	parseSettings,
	SCIM_GROUP_ROLES_MAX,
	SCIM_MAPPED_ROLES,
	type ShardCount,
	VERIFY_PLACEMENTS,
	VERIFY_SHARD_COUNTS,
} from "./settings";

export const AccountParams = z.strictObject({
	accountId: Id("acc").openapi({ description: "The account's id (`acc_` and 16 characters)" }),
});
export const MemberParams = AccountParams.extend({
	userId: Id("usr").openapi({ description: "The member's user id (`usr_` and 16 characters)" }),
});
export const InvitationParams = AccountParams.extend({
	invitationId: Id("inv").openapi({ description: "The invitation's id (`inv_` and 16 characters)" }),
});

export const Cidr = z
	.string()
	.max(64)
	.refine((v) => parseCidr(v) !== null, { message: "Not an IPv4 or IPv6 CIDR" })
	.openapi({
		description:
			"An IPv4 or IPv6 range in CIDR notation (a bare address is that one address). Host bits must be zero: " +
			"`10.0.0.1/8` is refused. At most 64 characters.",
		example: "203.0.113.0/24",
	});

const OWNER_ONLY = "Only the owner may change it.";

export const SettingsSchema = z
	.object({
		mfaPolicy: z.enum(MFA_POLICIES).openapi({
			description:
				"Who must prove more than a password on this account's routes, with sessions and API keys alike: `off` " +
				"(default); `any`: members without a second factor (TOTP or a passkey) are refused (403); " +
				"`phishing-resistant`: sessions not made with a passkey are refused (403, saying to add one and sign in " +
				"with it), and API keys work only while their creator has a passkey. /v1/me* stays open so members can " +
				`enrol. ${OWNER_ONLY} An owner cannot set \`any\` without a second factor, nor \`phishing-resistant\` ` +
				"from a session not made with a passkey (400).",
			example: "off",
		}),
		requireMfa: z.boolean().openapi({
			description:
				"The old form of `mfaPolicy`, still read and accepted: it reads `true` whenever `mfaPolicy` is not `off`. " +
				"Sent, `true` sets `any` (a stricter policy stays) and `false` sets `off`; sent with a `mfaPolicy` that " +
				`disagrees, both are refused (400). Settings stored as \`requireMfa: true\` read as \`any\`. ${OWNER_ONLY}`,
			example: false,
		}),
		sessionIdleMinutes: z
			.number()
			.int()
			.min(5)
			.max(1440)
			.openapi({
				description:
					"A session ends after this many minutes without a request: 5 to 1440, default 30. A member of several " +
					`accounts gets the strictest value among them, for sessions started after the change. ${OWNER_ONLY}`,
				example: 30,
			}),
		sessionMaxAgeHours: z
			.number()
			.int()
			.min(1)
			.max(720)
			.openapi({
				description:
					"A session ends this many hours after sign-in, however it is used: 1 to 720, default 24. The strictest " +
					`among a member's accounts applies, to sessions started after the change. ${OWNER_ONLY}`,
				example: 24,
			}),
		keyMaxLifetimeDays: z
			.number()
			.int()
			.min(1)
			.max(365)
			.openapi({
				description:
					"The longest lifetime of a new key, and the lifetime of a key created without `expiresInDays` and of a " +
					"rotation's successor: 1 to 365 days, default 90",
				example: 90,
			}),
		keyInactivityDays: z
			.number()
			.int()
			.min(7)
			.max(365)
			.openapi({
				description:
					"Keys unused for this many days are revoked by the scheduled sweep (`key.swept`, reason `inactive`) " +
					"and flagged by the security report: 7 to 365, default 90",
				example: 90,
			}),
		rotationGraceHours: z
			.number()
			.int()
			.min(0)
			.max(168)
			.openapi({
				description:
					"How long a rotated key keeps working beside its successor when the rotation names no " +
					"`gracePeriodHours`: 0 to 168 hours, default 24",
				example: 24,
			}),
		ipAllowlist: z
			.array(Cidr)
			.max(100)
			.openapi({
				description:
					"When not empty, requests to this account's routes from other addresses are refused (403), for " +
					"sessions and API keys alike: at most 100 ranges, default empty (any address). It must contain the " +
					`caller's own address (400). ${OWNER_ONLY} A key's own allowlist is separate (see the key).`,
				example: ["203.0.113.0/24", "2001:db8::/32"],
			}),
		passwordComposition: z.boolean().openapi({
			description:
				"Members' new passwords must hold a lowercase letter, an uppercase letter, a digit and a symbol. Default " +
				"false: NIST advises against such rules.",
			example: false,
		}),
		emailCodeSecondFactor: z.boolean().openapi({
			description:
				"Members may finish a sign-in with an emailed code instead of their authenticator (verified addresses " +
				`only). Default true; a user is offered no emailed code while any of their accounts turns it off. ${OWNER_ONLY}`,
			example: true,
		}),
		failedLoginAlertThreshold: z
			.number()
			.int()
			.min(3)
			.max(10_000)
			.openapi({
				description:
					"Failed sign-ins to the account's members within `failedLoginAlertWindowMinutes` that raise " +
					"`alert.failed_logins_spike`: 3 to 10,000, default 10",
				example: 10,
			}),
		failedLoginAlertWindowMinutes: z
			.number()
			.int()
			.min(1)
			.max(1440)
			.openapi({ description: "The window of that count: 1 to 1440 minutes, default 15", example: 15 }),
		leakedKeyPolicy: z.enum(LEAKED_KEY_POLICIES).openapi({
			description:
				"What a live key GitHub secret scanning finds in public becomes: `revoke` (default: refused at once) or " +
				"`rotate` (it keeps working for one more hour beside a successor whose secret is revealed once in the " +
				"console; keys that reach the management API, service accounts' keys and keys whose creator may no " +
				`longer rotate them are revoked anyway). ${OWNER_ONLY}`,
			example: "revoke",
		}),
		auditIndexDays: z
			.number()
			.int()
			.min(AUDIT_INDEX_DAYS.min)
			.max(AUDIT_INDEX_DAYS.max)
			.openapi({
				description:
					"How long the searchable audit index (`GET …/audit-events`, the console's audit log) keeps an event: " +
					"90 to 3,650 days, default 365. The cron deletes older rows once they are archived; the archive itself " +
					`keeps every event (docs/AUDIT.md, "Retention"). ${OWNER_ONLY}`,
				example: 365,
			}),
		archiveRetentionYears: z
			.number()
			.int()
			.min(ARCHIVE_RETENTION_YEARS.min)
			.max(ARCHIVE_RETENTION_YEARS.max)
			.nullable()
			.openapi({
				description:
					"How long the R2 archive (the hash-chained trail `audit:verify` checks) keeps the account's events: " +
					"`null` keeps them (the default), else 1 to 100 years. The archive bucket's lifecycle rule deletes " +
					"objects past it and its lock rule keeps anyone from deleting them sooner; both are applied from this " +
					"setting by `npm run audit:retention`, so a change takes effect when the operator next runs it " +
					`(docs/AUDIT.md, "Retention"). ${OWNER_ONLY}`,
				example: null,
			}),
		scimGroupRoles: z
			.record(
				FreeText(256).refine((k) => k !== "__proto__", { message: "Not a usable group name" }),
				z.enum(SCIM_MAPPED_ROLES),
			)
			.refine((m) => Object.keys(m).length <= SCIM_GROUP_ROLES_MAX, {
				message: `At most ${SCIM_GROUP_ROLES_MAX} groups can be mapped`,
			})
			.openapi({
				description:
					"Which role the members of a SCIM group hold, by the group's `displayName` as the identity provider " +
					"pushes it: `admin`, `member` or `readonly`, never `owner`; at most 50 groups, default none. A person " +
					"in several mapped groups holds the highest of their roles; in none, the role of their SCIM `roles` " +
					"attribute, else `member`. A change applies to each person at the provider's next push that touches " +
					"them (docs/SSO.md). The owner's own role never changes this way.",
				example: { "Keyward Admins": "admin", Auditors: "readonly" },
			}),
		enforceSso: z.boolean().openapi({
			description:
				"Members whose address is in one of the account's verified domains must sign in through its single " +
				"sign-on connection: a password or passkey sign-in is refused (403 `sso-required`) after it proves the " +
				"person. The owner keeps a break-glass path (passkey, or password with an authenticator code), audited " +
				"and alerted. Needs a connection to turn on. Default false. " +
				OWNER_ONLY,
			example: false,
		}),
		verifyPlacement: z.enum(VERIFY_PLACEMENTS).openapi({
			description:
				"Where `POST /v1/keys/verify` is answered for the account's keys: `home` (default) at the account's one " +
				"object, wherever the caller is; `regional` by a guard near the caller, on shares of each key's rate-limit " +
				"windows lent by that object, so limits stay exact and a revocation still holds on the next verify after " +
				"it returns (it may wait up to about 5 s for an unreachable guard). Credits are lent too, never spent past " +
				"the balance; a guard's answer shows the credits left as of its last renewal. Keys with a window " +
				"under 60 s are still answered at home. See docs/GLOBAL.md.",
			example: "home",
		}),
		verifyShards: z
			.number()
			.int()
			.refine((n): n is ShardCount => (VERIFY_SHARD_COUNTS as readonly number[]).includes(n), {
				message: `One of ${VERIFY_SHARD_COUNTS.join(", ")}`,
			})
			.openapi({
				type: "integer",
				enum: [...VERIFY_SHARD_COUNTS],
				description:
					"How many objects the account's keys are spread over, for verify past one object's throughput (about " +
					"1,000 verifies a second): 1 (default), 2, 4, 8 or 16. Each key lives in one of them by its hash, so " +
					"limits, credits and revocation stay exact. A change moves keys between objects before the request " +
					"answers; a verify meanwhile is answered once, by the object that holds the key at that moment. " +
					"Refused while a rotated key and its predecessor, both live, share credits but would land in " +
					"different objects (keys rotated before shards existed; wait for the old key's grace to end). See " +
					"docs/GLOBAL.md §7.",
				example: 1,
			}),
	})
	.openapi("AccountSettings", { description: "The account's policies. Each has a default." });

export const SettingsPatch = SettingsSchema.partial()
	.strict()
	.openapi({ description: "The settings to change; those left out keep their values" });

export const AccountSchema = z
	.object({
		id: IssuedId("acc", "The account's id"),
		name: z.string().openapi({ description: "The account's name", example: "Acme Corp" }),
		createdAt: Timestamp("When the account was made", "2026-01-12T08:15:00.000Z"),
		settings: SettingsSchema,
		lockedDownAt: z.string().nullable().openapi({
			format: "date-time",
			description: "Set by POST …/lockdown; null when never locked down, or since the lockdown was lifted",
			example: null,
		}),
		lockedDownReason: z.string().nullable().openapi({
			description: "The `reason` given to the lockdown; null when not locked down",
			example: null,
		}),
	})
	.openapi("Account", { description: "An account: the tenant its members, keys, webhooks and audit trail belong to" });

export const AccountName = FreeText(100).openapi({
	description: "The account's name: 1 to 100 characters after trimming, no control characters",
	example: "Acme Corp",
});

export const publicAccount = (row: typeof accounts.$inferSelect) => ({
	id: row.id,
	name: row.name,
	createdAt: row.createdAt.toISOString(),
	settings: parseSettings(row.settings),
	lockedDownAt: row.lockedDownAt?.toISOString() ?? null,
	lockedDownReason: row.lockedDownReason ?? null,
});

export const RoleSchema = z.enum(ROLES).openapi({
	description: "A role: `owner` (exactly one per account), `admin`, `member` or `readonly`",
	example: "member",
});
export const AssignableRole = z.enum(["admin", "member", "readonly"]).openapi({
	description:
		"`admin`, `member` or `readonly`: never `owner` (ownership moves only by POST …/transfer-ownership), and never " +
		"above the caller's own role",
	example: "member",
});

export const MemberSchema = z
	.object({
		userId: IssuedId("usr", "The member's user id (for a service account: its `svc_` id)"),
		type: z.enum(["person", "service_account"]).openapi({
			description:
				"`person`, or `service_account`: a non-human member that owns keys (managed under …/service-accounts, " +
				"never through the member routes)",
			example: "person",
		}),
		email: z
			.string()
			.nullable()
			.openapi({ description: "The member's email address; null for a service account", example: "grace@example.com" }),
		name: z.string().openapi({ description: "The member's name", example: "Grace Hopper" }),
		role: RoleSchema.openapi({ description: "The member's role: `owner`, `admin`, `member` or `readonly`" }),
		mfaEnabled: z.boolean().openapi({
			description: "Whether the member has a second factor (TOTP or a passkey)",
			example: true,
		}),
		strongestFactor: z.enum(["passkey", "totp", "password", "none"]).openapi({
			description:
				"The strongest way the member can sign in: `passkey` (phishing-resistant), `totp` (password and an " +
				"authenticator app), `password` alone, or `none` (a service account never signs in)",
			example: "passkey",
		}),
		joinedAt: Timestamp("When they joined the account", "2026-02-03T14:20:00.000Z"),
		lastActiveAt: z
			.string()
			.nullable()
			.openapi({
				format: "date-time",
				description:
					"Their last request to this account's routes, with a session or one of their API keys (recorded at most " +
					"every five minutes); null if none since they joined",
				example: "2026-03-02T09:30:00.000Z",
			}),
	})
	.openapi("Member", { description: "A member of the account" });

export const InvitationSchema = z
	.object({
		id: IssuedId("inv", "The invitation's id"),
		email: z.string().openapi({
			description: "The invited address, lowercased: only a user signed in with it, verified, can accept",
			example: "grace@example.com",
		}),
		role: AssignableRole.openapi({ description: "The role the invitee gets on accepting" }),
		expiresAt: Timestamp("When it expires: 7 days after it was sent", "2026-03-09T09:30:00.000Z"),
	})
	.openapi("Invitation", { description: "A pending invitation into the account" });
