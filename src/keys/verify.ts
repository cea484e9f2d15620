/**
 * The verify operation (API.md §5), shared by the HTTP route and the
 * service-binding entrypoint (src/entrypoint.ts). A key whose shape or
 * checksum is wrong is answered NOT_FOUND here, before any storage; every
 * other decision is made by the owning account's Durable Object in one call.
 */
import type { z } from "@hono/zod-openapi";
import type { VerifyPlacement } from "../accounts/settings";
import type { VerifyEventDraft } from "../audit/verify-event";
import { roleAllows } from "../auth/permissions";
import type { Principal } from "../auth/principal";
import type { ObjectVerdict } from "../durable/account-guard";
import { accountShard, type GuardRegion, regionalGuard } from "../durable/address";
import type { UseCost, VerifyCode } from "../durable/key-store";
import { atOwner, shardOfSlot, slotOf } from "../durable/shard-map";
import type { Env } from "../platform/env";
import { rateLimitHeaders } from "../security/rate-limit-headers";
import { hashApiKey, parseApiKey } from "./format";
import type { VerifyResponse } from "./schemas";

/**
 * The client address a verify is judged by. The public route is anonymous, and anyone holding a
 * leaked allowlisted key could claim an allowed address in the body; so the body's `ip` counts only
 * when the caller proves it is the customer's own service: a key of the same account with the
 * `keys:verify` scope whose creator may still manage every key (or the service binding, which
 * passes `trusted`). Anyone else is judged by the address they connect from.
 */
export function clientAddressFor(
	input: { key: string; ip?: string | null },
	connecting: string | null,
	caller: Principal | null | "trusted",
): string | null {
	if (caller === "trusted") return input.ip ?? connecting;
	const membership = caller?.type === "key" ? caller.memberships[0] : undefined;
	const vouches =
		membership !== undefined &&
		caller?.scopes?.includes("keys:verify") === true &&
		membership.accountId === parseApiKey(input.key)?.accountId &&
		roleAllows(membership.role, "keys:manage-any");
	return vouches ? (input.ip ?? connecting) : connecting;
}

export interface VerifyInput {
	key: string;
	requiredScopes: string[];
	ip?: string | null;
	/** Credits this use spends (default 1; 0 checks the key without spending). */
	cost?: number;
	/** The named limits to check, each with its cost (default: every limit of the key, 1 each). */
	ratelimits?: (string | { name: string; cost?: number })[];
}

/** The verdict body: what `POST /v1/keys/verify` answers and the entrypoint's `verify()` returns. */
export type VerifyVerdict = Omit<z.infer<typeof VerifyResponse>, "meta"> & {
	/** Typed shallowly: a recursive JSON type is too deep for the RPC stub's types. */
	meta?: Record<string, MetaValue> | null;
};
type MetaValue = string | number | boolean | null | object;

export interface VerifyAnswer {
	body: VerifyVerdict;
	headers: Record<string, string>;
	/** Who the verdict was about (null: no such key), for the request's audit event. */
	key: { accountId: string; keyId: string; code: VerifyCode; decidedAt: number } | null;
	recorded: boolean;
}

const HINTS = new Set<string>(["wnam", "enam", "sam", "weur", "eeur", "apac", "apac-ne", "apac-se", "oc", "afr", "me"]);
let nextDevRegion = 0;

/**
 * The region whose guard should answer a verify, from the request's `cf` (continent, and longitude
 * to split North America and Europe): null when unknown (no `cf`, or Tor), and the home answers. In
 * development `DEV_VERIFY_REGIONS` (comma-separated hints) takes turns instead, so the local stack
 * exercises several guards of one account.
 */
export function guardRegionFor(
	cf: object | undefined,
	env: Pick<Env, "ENVIRONMENT" | "DEV_VERIFY_REGIONS">,
): GuardRegion | null {
	if (env.ENVIRONMENT === "development" && env.DEV_VERIFY_REGIONS) {
		const regions = env.DEV_VERIFY_REGIONS.split(",")
			.map((r) => r.trim())
			.filter((r) => HINTS.has(r));
		if (regions.length > 0) return regions[nextDevRegion++ % regions.length] as GuardRegion;
	}
	const { continent, longitude: lon } = (cf ?? {}) as { continent?: unknown; longitude?: unknown };
	const longitude = Number(lon);
	switch (continent) {
		case "NA":
			return Number.isFinite(longitude) && longitude < -100 ? "wnam" : "enam";
		case "SA":
			return "sam";
		case "EU":
			return Number.isFinite(longitude) && longitude > 20 ? "eeur" : "weur";
		case "AS":
			return "apac";
		case "OC":
			return "oc";
		case "AF":
			return "afr";
		default:
			return null;
	}
}

/**
 * Each account's placement and shard count as its objects last answered them, for a minute, in this
 * isolate: a verify never reads D1 to route. Wrong for a minute after a change, which costs only a
 * hop (a guard of an account back at `home` is lent nothing and sends the verify on; a shard that
 * does not hold a key's slot says which one does), never exactness.
 */
const routing = new Map<string, { placement: VerifyPlacement; shards: number; until: number }>();
const ROUTING_TTL_MS = 60_000;
const ROUTING_MAX = 10_000;

function routingOf(accountId: string, now: number): { placement: VerifyPlacement; shards: number } {
	const known = routing.get(accountId);
	return known && known.until > now ? known : { placement: "home", shards: 1 };
}

function learnRouting(accountId: string, said: object, now: number): void {
	const answer = said as { placement?: unknown; shards?: unknown };
	const known = routingOf(accountId, now);
	const placement = answer.placement === "home" || answer.placement === "regional" ? answer.placement : known.placement;
	const shards = typeof answer.shards === "number" && answer.shards >= 1 ? answer.shards : known.shards;
	routing.delete(accountId);
	if (routing.size >= ROUTING_MAX) {
		const oldest = routing.keys().next().value;
		if (oldest !== undefined) routing.delete(oldest);
	}
	routing.set(accountId, { placement, shards, until: now + ROUTING_TTL_MS });
}

/**
 * Verify at the shard that owns the key's slot (API.md §5 semantics; the management API's key
 * authentication uses it too): the first guess from the account's shard count as last learned, then
 * wherever a shard redirects.
 */
export async function verifyAtOwner(
	env: Pick<Env, "ACCOUNT_GUARD">,
	accountId: string,
	hash: string,
	rest: [requiredScopes: string[], ip: string | null, now: number, draft?: VerifyEventDraft, use?: UseCost],
) {
	const first = shardOfSlot(slotOf(hash), routingOf(accountId, rest[2]).shards);
	const { answer } = await atOwner<ObjectVerdict>(first, (i) =>
		accountShard(env, accountId, i).verifyKey(accountId, hash, ...rest),
	);
	learnRouting(accountId, answer, rest[2]);
	return answer;
}

const useOf = (input: VerifyInput): UseCost => ({
	cost: input.cost ?? 1,
	limits: input.ratelimits?.map((l) =>
		typeof l === "string" ? { name: l, cost: 1 } : { name: l.name, cost: l.cost ?? 1 },
	),
});

/**
 * With `draft`, the account's object completes and stores the verify's audit event in the same call
 * (`recorded` says it did: only for a key it holds), so the caller sends none for it.
 */
export async function verifyApiKey(
	env: Env,
	input: VerifyInput,
	now: Date,
	draft?: VerifyEventDraft,
	region?: GuardRegion | null,
): Promise<VerifyAnswer> {
	const parsed = parseApiKey(input.key);
	if (!parsed) return { body: { valid: false, code: "NOT_FOUND" as const }, headers: {}, key: null, recorded: false };
	const hash = await hashApiKey(env.KEY_PEPPER ?? "", input.key);
	const rest = [input.requiredScopes, input.ip ?? null, now.getTime(), draft, useOf(input)] as const;
	// A guard near the caller answers when the account's placement is `regional` (learned from the
	// home's last answer) and the caller's region is known; otherwise the key's shard does (docs/GLOBAL.md).
	const known = routingOf(parsed.accountId, now.getTime());
	const guardRegion = region && known.placement === "regional" ? region : null;
	const outcome = guardRegion
		? await regionalGuard(env, parsed.accountId, guardRegion).verifyKey(parsed.accountId, guardRegion, hash, ...rest)
		: await verifyAtOwner(env, parsed.accountId, hash, [...rest]);
	if (guardRegion) learnRouting(parsed.accountId, outcome, now.getTime());
	const { key, window, recorded } = outcome;
	if (!key || key.accountId !== parsed.accountId) {
		return { body: { valid: false, code: "NOT_FOUND" as const }, headers: {}, key: null, recorded };
	}
	// Who the verdict was about, for the request's audit event; only for a key that exists, so a
	// fabricated key cannot write into an account's trail.
	const about = { accountId: key.accountId, keyId: key.id, code: outcome.code, decidedAt: now.getTime() };
	const resetAt = (resetMs: number) => new Date(now.getTime() + resetMs).toISOString();
	const ratelimit = window
		? { limit: window.limit, remaining: window.remaining, resetAt: resetAt(window.resetMs) }
		: undefined;
	const ratelimits = (outcome.limits ?? []).map((l) => ({
		name: l.name,
		limit: l.limit,
		windowSeconds: l.windowSeconds,
		remaining: l.remaining,
		resetAt: resetAt(l.resetMs),
	}));
	const credits = outcome.creditsRemaining === undefined ? undefined : { remaining: outcome.creditsRemaining };
	// The key's limits, live usage and credits are the key holder's business: told only to a VALID,
	// RATE_LIMITED or USAGE_EXCEEDED caller, never to one refused for address, scope, expiry,
	// revocation or a disabled key. The headers report the tightest limit.
	const spendable = outcome.code === "VALID" || outcome.code === "RATE_LIMITED" || outcome.code === "USAGE_EXCEEDED";
	const headers =
		spendable && window
			? rateLimitHeaders({
					// The limit named default keeps the policy name it had before limits were named.
					name: window.name === "default" ? "key" : window.name,
					limit: window.limit,
					windowSeconds: window.windowSeconds,
					remaining: window.remaining,
					resetSeconds: window.resetMs / 1000,
					now,
				})
			: {};
	if (outcome.code === "VALID") {
		return {
			body: {
				valid: true,
				code: "VALID" as const,
				keyId: key.id,
				accountId: key.accountId,
				environment: key.environment as "production" | "staging" | "development" | "ci",
				scopes: key.scopes,
				expiresAt: new Date(key.expiresAt).toISOString(),
				externalId: key.externalId ?? null,
				meta: key.metaJson ? (JSON.parse(key.metaJson) as Record<string, MetaValue>) : null,
				serviceAccountId: key.serviceAccountId ?? null,
				ratelimit,
				ratelimits,
				...(credits ? { credits } : {}),
			},
			headers,
			key: about,
			recorded,
		};
	}
	// When not valid, nothing about the key is disclosed but the code (and, when rate limited or out
	// of credits, the limits and the balance).
	const body: VerifyVerdict =
		outcome.code === "RATE_LIMITED"
			? { valid: false, code: outcome.code, ratelimit, ratelimits }
			: outcome.code === "USAGE_EXCEEDED"
				? { valid: false, code: outcome.code, ratelimit, ratelimits, credits }
				: { valid: false, code: outcome.code };
	return { body, headers, key: about, recorded };
}
