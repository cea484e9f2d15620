/**
 * The verify operation (API.md §5), shared by the HTTP route and the
 * service-binding entrypoint (src/entrypoint.ts). A key whose shape or
 * checksum is wrong is answered NOT_FOUND here, before any storage; every
 * other decision is made by the owning account's Durable Object in one call.
 */
import type { VerifyEventDraft } from "../audit/verify-event";
import { roleAllows } from "../auth/permissions";
import type { Principal } from "../auth/principal";
import { accountGuard } from "../durable/address";
import type { Env } from "../platform/env";
import { rateLimitHeaders } from "../security/rate-limit-headers";
import { hashApiKey, parseApiKey } from "./format";

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
}

/** The verdict body: what `POST /v1/keys/verify` answers and the entrypoint's `verify()` returns. */
export type VerifyVerdict = Awaited<ReturnType<typeof verifyApiKey>>["body"];

/**
 * With `draft`, the account's object completes and stores the verify's audit event in the same call
 * (`recorded` says it did: only for a key it holds), so the caller sends none for it.
 */
export async function verifyApiKey(env: Env, input: VerifyInput, now: Date, draft?: VerifyEventDraft) {
	const parsed = parseApiKey(input.key);
	if (!parsed) return { body: { valid: false, code: "NOT_FOUND" as const }, headers: {}, key: null, recorded: false };
	const hash = await hashApiKey(env.KEY_PEPPER ?? "", input.key);
	const outcome = await accountGuard(env, parsed.accountId).verifyKey(
		parsed.accountId,
		hash,
		input.requiredScopes,
		input.ip ?? null,
		now.getTime(),
		draft,
	);
	const { key, window, recorded } = outcome;
	if (!key || !window || key.accountId !== parsed.accountId) {
		return { body: { valid: false, code: "NOT_FOUND" as const }, headers: {}, key: null, recorded };
	}
	// Who the verdict was about, for the request's audit event; only for a key that exists, so a
	// fabricated key cannot write into an account's trail.
	const about = { accountId: key.accountId, keyId: key.id, code: outcome.code, decidedAt: now.getTime() };
	const ratelimit = {
		limit: key.limit,
		remaining: window.remaining,
		resetAt: new Date(now.getTime() + window.resetMs).toISOString(),
	};
	// The key's limit and live usage are the key holder's business: told only to a VALID or
	// RATE_LIMITED caller, never to one refused for address, scope, expiry or revocation.
	const headers =
		outcome.code === "VALID" || outcome.code === "RATE_LIMITED"
			? rateLimitHeaders({
					name: "key",
					limit: key.limit,
					windowSeconds: key.windowSeconds,
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
				ratelimit,
			},
			headers,
			key: about,
			recorded,
		};
	}
	// When not valid, nothing about the key is disclosed but the code (and, when rate limited, the limit).
	return {
		body:
			outcome.code === "RATE_LIMITED"
				? { valid: false, code: outcome.code, ratelimit }
				: { valid: false, code: outcome.code },
		headers,
		key: about,
		recorded,
	};
}
