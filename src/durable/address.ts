import type { Env } from "../env";
import { throttleKeyOf } from "../security/cidr";

/**
 * Names of the Durable Object instances, one per thing that owns state. The
 * prefixes keep the spaces apart (an account id can never collide with an email).
 */
export const accountObject = (env: Env, accountId: string) => env.ACCOUNT_DO.get(env.ACCOUNT_DO.idFromName(accountId));
export const userObject = (env: Env, userId: string) => env.ACCOUNT_DO.get(env.ACCOUNT_DO.idFromName(`user:${userId}`));
export const emailThrottleObject = (env: Env, email: string) =>
	env.ACCOUNT_DO.get(env.ACCOUNT_DO.idFromName(`login-email:${email.toLowerCase()}`));
/** Per client address: IPv4 addresses alone, IPv6 by their /64 (`throttleKeyOf`). */
export const ipThrottleObject = (env: Env, ip: string) =>
	env.ACCOUNT_DO.get(env.ACCOUNT_DO.idFromName(`login-ip:${throttleKeyOf(ip)}`));
/** A named quota on an unauthenticated entry point (sign-up per address, reset per email, …). */
export const quotaObject = (env: Env, quota: string, key: string) =>
	env.ACCOUNT_DO.get(env.ACCOUNT_DO.idFromName(`quota:${quota}:${key}`));
/** The audit archive's chain for one stream (an account or `system`), apart from the account's verify object. */
export const archiveObject = (env: Env, stream: string) =>
	env.ACCOUNT_DO.get(env.ACCOUNT_DO.idFromName(`audit:${stream}`));
