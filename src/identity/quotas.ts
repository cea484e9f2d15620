/**
 * Anti-automation on the entry points anyone can call (ASVS 6.1.1, 6.3.1):
 * each is a sliding window in its own Durable Object, checked and counted in
 * one call, answered with `429`, `Retry-After` and the rate-limit fields.
 * Addresses count by `throttleKeyOf` (IPv6 by its /64). A request without a
 * client address (none in production, where Cloudflare always sets
 * `CF-Connecting-IP`) is not counted per address.
 */
import type { Context } from "hono";
import { quotaCounter } from "../durable/address";
import type { AppEnv } from "../platform/app-env";
import { ApiError } from "../problems";
import { throttleKeyOf } from "../security/cidr";
import { throttledHeaders } from "../security/rate-limit-headers";

const HOUR_MS = 3_600_000;

export const QUOTAS = {
	"signup-per-address": { limit: 10, windowMs: HOUR_MS, refused: "Too many sign-ups from your address" },
	"reset-per-address": { limit: 10, windowMs: HOUR_MS, refused: "Too many password resets from your address" },
	"reset-per-email": { limit: 3, windowMs: HOUR_MS, refused: "Too many password resets for this email" },
	"invitations-per-account": { limit: 30, windowMs: HOUR_MS, refused: "Too many invitations from this account" },
	"verification-per-user": { limit: 3, windowMs: HOUR_MS, refused: "Too many verification emails" },
	/** Accounts are free to make, so invitations are counted per person too, across their accounts. */
	"invitations-per-user": { limit: 30, windowMs: HOUR_MS, refused: "Too many invitations from you" },
	"email-change-per-user": { limit: 5, windowMs: HOUR_MS, refused: "Too many email changes" },
	/**
	 * Each passkey ceremony starts with options, and the console's sign-in page asks once per view
	 * (for autofill): generous, so an office behind one address is not left without passkeys.
	 */
	"passkey-options-per-address": {
		limit: 600,
		windowMs: HOUR_MS,
		refused: "Too many passkey sign-ins from your address",
	},
	/** Each single sign-on start writes a ten-minute row: an office signs in many times, a flood does not. */
	"sso-start-per-address": { limit: 300, windowMs: HOUR_MS, refused: "Too many single sign-ons from your address" },
} as const;

export type QuotaName = keyof typeof QUOTAS;

/** Takes one use of the quota for `key`, or throws the 429. */
export async function takeQuota(c: Context<AppEnv>, name: QuotaName, key: string): Promise<void> {
	const quota = QUOTAS[name];
	const now = c.get("services").clock.now();
	const verdict = await quotaCounter(c.env, name, key).beginWindowAttempt(now.getTime(), {
		windowMs: quota.windowMs,
		max: quota.limit,
	});
	if (verdict.allowed) return;
	throw new ApiError("quota-exceeded", {
		detail: `${quota.refused}; try again later`,
		headers: throttledHeaders(
			{ name, limit: quota.limit, windowSeconds: quota.windowMs / 1000, now },
			verdict.retryAfterSeconds,
		),
	});
}

/** The per-address form: counted under the address's throttle key, skipped when there is none. */
export async function takeAddressQuota(c: Context<AppEnv>, name: QuotaName): Promise<void> {
	const ip = c.req.header("CF-Connecting-IP");
	if (ip) await takeQuota(c, name, throttleKeyOf(ip));
}
