import { z } from "@hono/zod-openapi";
import { AccountParams, Cidr } from "../accounts/schemas";
import { Id } from "../routes/openapi-shared";
import { isValidRequiredScope, isValidScope } from "../security/scopes";

export const KeyParams = AccountParams.extend({ keyId: Id("key") });
export const Environment = z.enum(["production", "staging", "development", "ci"]);
export const Scope = z
	.string()
	.max(65)
	.refine(isValidScope, { message: "A scope is resource:action, resource:* or *" });
export const Scopes = z.array(Scope).min(1).max(50);
export const KeyIpAllowlist = z.array(Cidr).max(50);
export const RateLimitSchema = z.strictObject({
	limit: z.number().int().min(1).max(1_000_000),
	windowSeconds: z.number().int().min(1).max(86_400),
});

export const KeySchema = z
	.object({
		id: z.string(),
		name: z.string(),
		start: z.string().openapi({
			description:
				"The key's first 12 characters: its class and the start of its account part, the same for every key of the account",
			example: "kw_live_abcd",
		}),
		last4: z
			.string()
			.nullable()
			.openapi({
				description:
					"The key's last 4 characters (the end of its CRC32 checksum: about 24 of its 300-odd bits), to tell keys apart; " +
					"shown as `kw_live_abcd…Xy9Z`. Null for keys made before it was kept.",
				example: "Xy9Z",
			}),
		environment: Environment,
		scopes: z.array(z.string()),
		status: z.enum(["active", "expired", "revoked"]),
		createdAt: z.string(),
		createdBy: z.string(),
		expiresAt: z.string(),
		lastUsedAt: z.string().nullable(),
		revokedAt: z.string().nullable(),
		revokedReason: z.string().nullable(),
		rotatedFrom: z.string().nullable(),
		rotatedTo: z.string().nullable(),
		ipAllowlist: z.array(z.string()),
		rateLimit: z.object({ limit: z.number(), windowSeconds: z.number() }),
	})
	.openapi("ApiKey");

export const UsageSchema = z
	.object({
		requests24h: z.number(),
		denied24h: z.number(),
		lastUsedAt: z.string().nullable(),
		byCode: z.record(z.string(), z.number()),
	})
	.openapi("KeyUsage");

export const VerifyBody = z.strictObject({
	key: z.string().min(1).max(256),
	requiredScopes: z
		.array(z.string().max(65).refine(isValidRequiredScope, { message: "A required scope is resource:action" }))
		.max(50)
		.default([]),
	ip: z.string().max(64).optional(),
});

export const VerifyResponse = z
	.object({
		valid: z.boolean(),
		code: z.enum(["VALID", "NOT_FOUND", "EXPIRED", "REVOKED", "IP_NOT_ALLOWED", "INSUFFICIENT_SCOPE", "RATE_LIMITED"]),
		keyId: z.string().optional(),
		accountId: z.string().optional(),
		environment: Environment.optional(),
		scopes: z.array(z.string()).optional(),
		expiresAt: z.string().optional(),
		ratelimit: z.object({ limit: z.number(), remaining: z.number(), resetAt: z.string() }).optional(),
	})
	.openapi("VerifyResult");
