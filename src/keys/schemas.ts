import { z } from "@hono/zod-openapi";
import { AccountParams, Cidr } from "../accounts/schemas";
import { EXAMPLE_SECRETS, Id, IssuedId, Timestamp } from "../routes/openapi-shared";
import { isValidRequiredScope, isValidScope, RESERVED_SCOPES } from "../security/scopes";

export const KeyParams = AccountParams.extend({
	keyId: Id("key").openapi({ description: "The key's id (`key_` and 16 characters), not its secret" }),
});
export const Environment = z.enum(["production", "staging", "development", "ci"]).openapi({
	description:
		"The key's environment: `production` keys start `kw_live_`, the others (`staging`, `development`, `ci`) " +
		"`kw_test_`. A key used on the management API manages only keys of its own environment.",
	example: "production",
});

const SCOPE_GRAMMAR =
	"`resource:action`, `resource:*` (every action on the resource) or `*` (every product scope). Each side " +
	"starts with a lowercase letter and holds only `a-z`, `0-9` and `-`, at most 32 characters.";

export const Scope = z
	.string()
	.max(65)
	.refine(isValidScope, { message: "A scope is resource:action, resource:* or *" })
	.openapi({ description: `A scope: ${SCOPE_GRAMMAR}`, example: "orders:read" });
export const Scopes = z
	.array(Scope)
	.min(1)
	.max(50)
	.openapi({
		description:
			`What the key may do: 1 to 50 scopes, each ${SCOPE_GRAMMAR} \`*\` is refused on production keys. ` +
			`The reserved scopes ${RESERVED_SCOPES.filter((s) => s !== "keys:verify")
				.map((s) => `\`${s}\``)
				.join(", ")} ` +
			"open the management API (the routes under /v1/accounts/{accountId} that name them), and `keys:verify` lets " +
			"the key vouch for the `ip` it sends to POST /v1/keys/verify. Reserved scopes are granted only by name (`*` " +
			"and `keys:*` never cover them), only by someone whose role holds what they open, and with a proof of " +
			"identity from the last ten minutes when a person grants them; the key never acts beyond its creator's " +
			"current role.",
		example: ["orders:read", "orders:write"],
	});
export const KeyIpAllowlist = z
	.array(Cidr)
	.max(50)
	.openapi({
		description:
			"The addresses the key may be used from, as CIDR ranges (at most 50); empty: any address. From elsewhere, " +
			"verify answers `IP_NOT_ALLOWED` and the management API refuses the key.",
		example: ["203.0.113.0/24"],
	});

const LIMIT = "Uses admitted per window: 1 to 1,000,000";
const WINDOW = "The window's length in seconds: 1 to 86,400 (a day)";
export const RATE_LIMIT_RULE =
	"The key's rate limit, a sliding window: in no window of `windowSeconds` ending at any instant are more than " +
	"`limit` uses admitted (a verify answered `VALID`, or a management API call the key authenticates), across every " +
	"location at once. Past it, verify answers `RATE_LIMITED`.";

export const RateLimitSchema = z
	.strictObject({
		limit: z.number().int().min(1).max(1_000_000).openapi({ description: LIMIT, example: 1000 }),
		windowSeconds: z.number().int().min(1).max(86_400).openapi({ description: WINDOW, example: 3600 }),
	})
	.openapi({ description: RATE_LIMIT_RULE });

const LIMIT_NAME = /^[a-z][a-z0-9-]{0,31}$/;
export const LimitName = z
	.string()
	.regex(LIMIT_NAME, { message: "A limit name is a lowercase letter, then up to 31 of a-z, 0-9 and -" })
	.openapi({
		description: "The limit's name: a lowercase letter, then up to 31 of `a-z`, `0-9` and `-`",
		example: "burst",
	});

export const NamedLimitSchema = z
	.strictObject({
		name: LimitName,
		limit: z.number().int().min(1).max(1_000_000).openapi({ description: LIMIT, example: 1000 }),
		windowSeconds: z.number().int().min(1).max(86_400).openapi({ description: WINDOW, example: 3600 }),
	})
	.openapi({ description: `One named limit. ${RATE_LIMIT_RULE}` });

export const RateLimitsSchema = z
	.array(NamedLimitSchema)
	.min(1)
	.max(5)
	.superRefine((limits, ctx) => {
		limits.forEach((l, i) => {
			if (limits.findIndex((o) => o.name === l.name) !== i)
				ctx.addIssue({ code: "custom", path: [i, "name"], message: `The name ${l.name} is used twice` });
		});
	})
	.openapi({
		description:
			"The key's rate limits, 1 to 5, each named: a use must fit every limit it is checked against (by default, all " +
			"of them). Replaces `rateLimit`, which is the limit named `default`; give one or the other.",
		example: [
			{ name: "default", limit: 1000, windowSeconds: 3600 },
			{ name: "burst", limit: 20, windowSeconds: 1 },
		],
	});

export const ExternalId = z
	.string()
	.min(1)
	.max(255)
	.regex(/^[\x21-\x7e]+$/, { message: "Printable ASCII without spaces" })
	.openapi({
		description:
			"Your customer's id for the key (1 to 255 printable ASCII characters, no spaces): verify returns it, and " +
			"GET …/keys?externalId= lists that customer's keys",
		example: "cus_8f3a21",
	});

export const KeyMeta = z
	.record(
		z
			.string()
			.max(100)
			.refine((k) => !["__proto__", "constructor", "prototype"].includes(k), {
				message: "__proto__, constructor and prototype cannot be field names",
			}),
		z.any(),
	)
	.openapi({
		description:
			"Your JSON object about the key (at most 4 KB as JSON, 8 levels), returned by a `VALID` verify. It must not " +
			"hold a credential: a field named like a secret (`password`, `token`, `apiKey`, …) or a value that looks like " +
			"one (a bearer header, a JWT, a private key, a vendor key) is refused with its path, never stored or scrubbed.",
		example: { plan: "pro", region: "eu" },
	});

export const CreditsSchema = z
	.strictObject({
		remaining: z
			.number()
			.int()
			.min(0)
			.max(1_000_000_000)
			.openapi({ description: "Credits the key has now: 0 to 1,000,000,000", example: 5000 }),
		refill: z
			.strictObject({
				amount: z
					.number()
					.int()
					.min(1)
					.max(1_000_000_000)
					.openapi({ description: "What the balance is set to at each refill (not added)", example: 5000 }),
				interval: z.enum(["daily", "monthly"]).openapi({
					description: "`daily`: at 00:00 UTC; `monthly`: on `day` at 00:00 UTC",
					example: "monthly",
				}),
				day: z.number().int().min(1).max(31).optional().openapi({
					description: "For `monthly`: the day of the month (1 to 31; in shorter months, their last day). Default 1.",
					example: 1,
				}),
			})
			.refine((r) => r.interval === "monthly" || r.day === undefined, {
				path: ["day"],
				message: "day is for a monthly refill only",
			})
			.nullable()
			.optional()
			.openapi({ description: "When the balance is set back to `amount`; null or absent: never" }),
	})
	.openapi({
		description:
			"The key's credits: each `VALID` verify spends its `cost` (default 1) in the same step as the rate-limit " +
			"check, exactly under any concurrency; a verify they cannot cover answers `USAGE_EXCEEDED` and spends nothing. " +
			"Setting them (on create or update) sets the balance. Absent: unlimited.",
	});

export const KeySchema = z
	.object({
		id: IssuedId("key", "The key's id (not secret)"),
		name: z.string().openapi({ description: "The key's name", example: "orders-service production" }),
		start: z.string().openapi({
			description:
				"The key's first 12 characters: its class and the start of its account part, the same for every key of the account",
			example: EXAMPLE_SECRETS.apiKey.slice(0, 12),
		}),
		last4: z
			.string()
			.nullable()
			.openapi({
				description:
					"The key's last 4 characters (the end of its CRC32 checksum: about 24 of its 300-odd bits), to tell keys apart; " +
					"shown as `kw_live_3kq7…Xy9Z`. Null for keys made before it was kept.",
				example: EXAMPLE_SECRETS.apiKey.slice(-4),
			}),
		environment: Environment,
		scopes: z.array(z.string()).openapi({
			description: "The key's scopes (their grammar: POST /v1/accounts/{accountId}/keys)",
			example: ["orders:read", "orders:write"],
		}),
		status: z.enum(["active", "expired", "revoked"]).openapi({
			description: "`active`, `expired` (past `expiresAt`) or `revoked`",
			example: "active",
		}),
		createdAt: Timestamp(
			"When the key was made (for a rotated key: when it was rotated in)",
			"2026-03-02T09:30:00.000Z",
		),
		createdBy: IssuedId(
			"usr",
			"Who made the key (or rotated it in): a user, or the creator of the key that did. The key acts with this " +
				"user's current role.",
		),
		expiresAt: Timestamp(
			"When the key stops working. Rotating it brings this forward to the end of the grace period (never later).",
			"2026-05-31T09:30:00.000Z",
		),
		lastUsedAt: z.string().nullable().openapi({
			format: "date-time",
			description:
				"Its last admitted use, by verify or on the management API (written in batches, so it may lag); null if never used",
			example: "2026-03-02T11:02:41.000Z",
		}),
		revokedAt: z.string().nullable().openapi({
			format: "date-time",
			description: "When it was revoked; null unless revoked",
			example: null,
		}),
		revokedReason: z
			.string()
			.nullable()
			.openapi({
				description:
					"The `reason` given to …/revoke, or the system's (`inactive`, `lockdown`, `member_removed`, " +
					"`address_claimed`, `account_deleted`); null unless revoked",
				example: null,
			}),
		rotatedFrom: z.string().nullable().openapi({
			description: "The id of the key this one succeeded by rotation; null for a key that was created",
			example: null,
		}),
		rotatedTo: z.string().nullable().openapi({
			description: "The id of the successor made by rotating this key; null until it is rotated",
			example: null,
		}),
		secretWaiting: z.boolean().openapi({
			description:
				"True on the successor of a key rotated because it leaked (`leakedKeyPolicy: rotate`) until a person " +
				"reveals its secret once (`POST …/keys/{keyId}/reveal-secret`, the console's key page) or a week passes",
			example: false,
		}),
		ipAllowlist: z.array(z.string()).openapi({
			description: "The CIDR ranges the key may be used from; empty: any address",
			example: ["203.0.113.0/24"],
		}),
		rateLimit: z
			.object({
				limit: z.number().openapi({ description: LIMIT, example: 1000 }),
				windowSeconds: z.number().openapi({ description: WINDOW, example: 3600 }),
			})
			.openapi({
				description: `The first of \`rateLimits\` (the one named \`default\` unless renamed). ${RATE_LIMIT_RULE}`,
			}),
		rateLimits: z
			.array(
				z.object({
					name: z.string().openapi({ description: "The limit's name", example: "default" }),
					limit: z.number().openapi({ description: LIMIT, example: 1000 }),
					windowSeconds: z.number().openapi({ description: WINDOW, example: 3600 }),
				}),
			)
			.openapi({
				description: "Every rate limit of the key, by name",
				example: [{ name: "default", limit: 1000, windowSeconds: 3600 }],
			}),
		enabled: z.boolean().openapi({
			description: "False while disabled: verify answers `DISABLED` until it is enabled again (unlike a revocation)",
			example: true,
		}),
		owner: z
			.object({
				type: z.enum(["user", "service_account"]).openapi({
					description: "`user`: the key acts as its creator; `service_account`: as that service account",
					example: "service_account",
				}),
				id: z.string().openapi({ description: "The user's or service account's id", example: "svc_2kx7mq5hw3zd6tna" }),
			})
			.openapi({ description: "Who the key acts as: its creator, or the service account that owns it" }),
		externalId: z
			.string()
			.nullable()
			.openapi({ description: "Your customer's id for the key; null if none", example: "cus_8f3a21" }),
		meta: z
			.record(z.string(), z.any())
			.nullable()
			.openapi({ description: "Your JSON metadata for the key; null if none", example: { plan: "pro" } }),
		credits: z
			.object({
				remaining: z.number().nullable().openapi({
					description: "The live balance (null when the account's object has not been reached)",
					example: 4210,
				}),
				refill: z
					.object({
						amount: z.number().openapi({ description: "What each refill sets the balance to", example: 5000 }),
						interval: z.enum(["daily", "monthly"]).openapi({ description: "How often", example: "monthly" }),
						day: z.number().optional().openapi({ description: "The day of the month, for `monthly`", example: 1 }),
					})
					.nullable()
					.openapi({ description: "The refill; null if none" }),
			})
			.nullable()
			.openapi({ description: "The key's credits; null: unlimited" }),
	})
	.openapi("ApiKey", { description: "An API key's record. Its secret is never shown after creation or rotation." });

export const UsageSchema = z
	.object({
		requests24h: z.number().openapi({
			description:
				"Verdicts about this key (verify and management API uses, every code) in the current hour and the 23 before it",
			example: 1204,
		}),
		denied24h: z.number().openapi({ description: "Of those, the ones not `VALID`", example: 4 }),
		lastUsedAt: z.string().nullable().openapi({
			format: "date-time",
			description: "The key's last admitted use; null if never used",
			example: "2026-03-02T11:02:41.000Z",
		}),
		byCode: z.record(z.string(), z.number()).openapi({
			description:
				"The same verdicts by code (`VALID`, `RATE_LIMITED`, `EXPIRED`, …); codes that did not occur are left out",
			example: { VALID: 1200, INSUFFICIENT_SCOPE: 3, RATE_LIMITED: 1 },
		}),
	})
	.openapi("KeyUsage", { description: "How the key was used over the last 24 hours" });

export const VerifyBody = z.strictObject({
	key: z
		.string()
		.min(1)
		.max(256)
		.openapi({
			description:
				"The API key your service was given (`kw_live_…` or `kw_test_…`). One with the wrong shape or checksum is " +
				"`NOT_FOUND` without any lookup. The example is made up and fails the checksum.",
			example: EXAMPLE_SECRETS.apiKey,
		}),
	requiredScopes: z
		.array(z.string().max(65).refine(isValidRequiredScope, { message: "A required scope is resource:action" }))
		.max(50)
		.default([])
		.openapi({
			description:
				"The scopes this use needs, all of them: each `resource:action` (no wildcards), at most 50, default none. " +
				"`orders:read` is satisfied by `orders:read`, `orders:*` or `*`; a reserved scope only by itself.",
			example: ["orders:read"],
		}),
	ip: z
		.string()
		.max(64)
		.optional()
		.openapi({
			description:
				"The address of the client that presented the key, checked against the key's IP allowlist. Honoured only " +
				"when this request carries, as Authorization: Bearer, a key of the same account with `keys:verify` (or " +
				"comes through the service binding); otherwise the address this request comes from is used.",
			example: "203.0.113.7",
		}),
	cost: z
		.number()
		.int()
		.min(0)
		.max(1_000_000)
		.default(1)
		.openapi({
			description:
				"Credits this use spends, for a key with credits: 0 to 1,000,000, default 1; 0 checks the key without " +
				"spending. Spent only when the verdict is `VALID`.",
			example: 1,
		}),
	ratelimits: z
		.array(
			z.union([
				LimitName,
				z.strictObject({
					name: LimitName,
					cost: z.number().int().min(0).max(1_000_000).default(1).openapi({
						description: "Uses this counts against the limit: 0 to 1,000,000, default 1",
						example: 1,
					}),
				}),
			]),
		)
		.max(5)
		.optional()
		.openapi({
			description:
				"The key's named limits to check, by name or as `{name, cost}`, at most 5. Default: every limit of the " +
				"key, at cost 1. A name the key does not have is skipped (the verdict's `ratelimits` lists what was checked).",
			example: ["default", { name: "burst", cost: 1 }],
		}),
});

const ONLY_VALID = "With `VALID` only:";

export const VerifyResponse = z
	.object({
		valid: z.boolean().openapi({ description: "True exactly when `code` is `VALID`", example: true }),
		code: z
			.enum([
				"VALID",
				"NOT_FOUND",
				"EXPIRED",
				"REVOKED",
				"DISABLED",
				"IP_NOT_ALLOWED",
				"INSUFFICIENT_SCOPE",
				"RATE_LIMITED",
				"USAGE_EXCEEDED",
			])
			.openapi({
				description:
					"The verdict, checked in this order. `NOT_FOUND`: no such key (unknown, malformed, or a wrong " +
					"checksum). `EXPIRED`: past its `expiresAt` (a rotated key, after its grace period). `REVOKED`: revoked. " +
					"`DISABLED`: disabled (PATCH `enabled: false`), until it is enabled again. " +
					"`IP_NOT_ALLOWED`: the client address is outside the key's IP allowlist. `INSUFFICIENT_SCOPE`: the key " +
					"lacks one of `requiredScopes`. `RATE_LIMITED`: one of the limits checked cannot take this use now. " +
					"`USAGE_EXCEEDED`: the key's credits cannot cover `cost`. `VALID`: the key may be used, and this use " +
					"counts against its limits and spends its credits (no other verdict does).",
				example: "VALID",
			}),
		keyId: IssuedId("key", `${ONLY_VALID} the key's id`).optional(),
		accountId: IssuedId("acc", `${ONLY_VALID} the account the key belongs to`).optional(),
		environment: Environment.optional().openapi({ description: `${ONLY_VALID} the key's environment` }),
		scopes: z
			.array(z.string())
			.optional()
			.openapi({ description: `${ONLY_VALID} the key's scopes`, example: ["orders:read", "orders:write"] }),
		expiresAt: z
			.string()
			.optional()
			.openapi({
				format: "date-time",
				description: `${ONLY_VALID} when the key expires`,
				example: "2026-05-31T09:30:00.000Z",
			}),
		ratelimit: z
			.object({
				limit: z.number().openapi({ description: "The key's `rateLimit.limit`", example: 1000 }),
				remaining: z.number().openapi({ description: "Uses left in the window after this one", example: 999 }),
				resetAt: z.string().openapi({
					format: "date-time",
					description: "When the oldest use still counted leaves the window, freeing a slot",
					example: "2026-03-02T10:30:00.000Z",
				}),
			})
			.optional()
			.openapi({
				description:
					"With `VALID`, `RATE_LIMITED` and `USAGE_EXCEEDED` only: the tightest limit checked (fewest uses left), the one the headers report",
			}),
		ratelimits: z
			.array(
				z.object({
					name: z.string().openapi({ description: "The limit's name", example: "default" }),
					limit: z.number().openapi({ description: "Uses per window", example: 1000 }),
					windowSeconds: z.number().openapi({ description: "The window in seconds", example: 3600 }),
					remaining: z.number().openapi({ description: "Uses left after this one", example: 999 }),
					resetAt: z.string().openapi({
						format: "date-time",
						description: "When the oldest use still counted leaves the window",
						example: "2026-03-02T10:30:00.000Z",
					}),
				}),
			)
			.optional()
			.openapi({ description: "With `VALID`, `RATE_LIMITED` and `USAGE_EXCEEDED` only: every limit checked" }),
		credits: z
			.object({
				remaining: z.number().openapi({ description: "Credits left after this use", example: 4209 }),
			})
			.optional()
			.openapi({ description: "With `VALID` and `USAGE_EXCEEDED`, for a key with credits only: its balance" }),
		externalId: z
			.string()
			.nullable()
			.optional()
			.openapi({ description: `${ONLY_VALID} your customer's id for the key (null if none)`, example: "cus_8f3a21" }),
		meta: z
			.record(z.string(), z.any())
			.nullable()
			.optional()
			.openapi({ description: `${ONLY_VALID} your metadata for the key (null if none)`, example: { plan: "pro" } }),
		serviceAccountId: z
			.string()
			.nullable()
			.optional()
			.openapi({
				description: `${ONLY_VALID} the service account that owns the key (null: a person's key)`,
				example: null,
			}),
	})
	.openapi("VerifyResult", {
		description:
			"A verify verdict. When `valid` is false only `valid`, `code` and (for `RATE_LIMITED` and `USAGE_EXCEEDED`) " +
			"the limits and credits are present.",
	});
