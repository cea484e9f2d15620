import type { Env } from "../platform/env";
import { throttleKeyOf } from "../security/cidr";
import { regionalGuardName } from "./guard-protocol";
import { shardName } from "./shard-map";

/**
 * The only place that names Durable Object instances. Each role has its own
 * class and namespace, and each helper returns a stub typed to that class, so
 * calling another role's method does not compile. Names carry a prefix where
 * one namespace holds several kinds of thing (an email can never collide with
 * a client address or a quota).
 */

/** An account's keys, windows, usage and failed-login spikes. */
export const accountGuard = (env: Pick<Env, "ACCOUNT_GUARD">, accountId: string) =>
	env.ACCOUNT_GUARD.get(env.ACCOUNT_GUARD.idFromName(accountId));

/** Shard `index` of an account's keys (docs/GLOBAL.md §7); shard 0 is `accountGuard`. */
export const accountShard = (env: Pick<Env, "ACCOUNT_GUARD">, accountId: string, index: number) =>
	env.ACCOUNT_GUARD.get(env.ACCOUNT_GUARD.idFromName(shardName(accountId, index)));

/**
 * An account's guard in a region (docs/GLOBAL.md), created near it: `region` is a Durable Objects
 * location hint. The home reaches the same object by the same name to recall its shares.
 */
export const regionalGuard = (env: Pick<Env, "REGIONAL_GUARD">, accountId: string, region: GuardRegion) =>
	env.REGIONAL_GUARD.get(env.REGIONAL_GUARD.idFromName(regionalGuardName(accountId, region)), {
		locationHint: region,
	});

export type GuardRegion = DurableObjectLocationHint;

/** A user's sessions and repeated-check streaks. */
export const userSessions = (env: Pick<Env, "USER_SESSIONS">, userId: string) =>
	env.USER_SESSIONS.get(env.USER_SESSIONS.idFromName(userId));

/** Sign-in attempts against one email. */
export const emailThrottle = (env: Pick<Env, "LOGIN_THROTTLE">, email: string) =>
	env.LOGIN_THROTTLE.get(env.LOGIN_THROTTLE.idFromName(`email:${email.toLowerCase()}`));

/** Sign-in attempts from one client: IPv4 addresses alone, IPv6 by their /64 (`throttleKeyOf`). */
export const ipThrottle = (env: Pick<Env, "LOGIN_THROTTLE">, ip: string) =>
	env.LOGIN_THROTTLE.get(env.LOGIN_THROTTLE.idFromName(`ip:${throttleKeyOf(ip)}`));

/** A named quota on an unauthenticated entry point (sign-up per address, reset per email, …). */
export const quotaCounter = (env: Pick<Env, "LOGIN_THROTTLE">, name: string, key: string) =>
	env.LOGIN_THROTTLE.get(env.LOGIN_THROTTLE.idFromName(`quota:${name}:${key}`));

/** The archive chain of one audit stream (an account or `system`). */
export const auditChain = (env: Pick<Env, "AUDIT_CHAIN">, stream: string) =>
	env.AUDIT_CHAIN.get(env.AUDIT_CHAIN.idFromName(stream));
