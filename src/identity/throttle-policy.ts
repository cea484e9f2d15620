/**
 * How many attempts sign-in and the checks after it allow, and for how long
 * they lock. The objects that count attempts (src/durable/login-throttle.ts,
 * src/durable/user-sessions.ts) are told these with every attempt.
 */
import type { StreakPolicy, WindowPolicy } from "../durable/throttle-store";

const LOCK_MS = 15 * 60_000;

/** Per email, from devices that have not signed in to it before: backoff after 5, a 15-minute lock every 10th. */
export const LOGIN_PER_EMAIL: StreakPolicy = { backoffAfter: 5, lockAfter: 10, lockMs: LOCK_MS };

/** Per email and device that has signed in to it before: its own, smaller budget (ASVS 6.1.1). */
export const LOGIN_PER_KNOWN_DEVICE: StreakPolicy = { backoffAfter: 3, lockAfter: 5, lockMs: LOCK_MS };

/** Per client address (IPv6 by /64): 20 failures in any 10 minutes. */
export const LOGIN_PER_IP: WindowPolicy = { windowMs: 10 * 60_000, max: 20 };

/** The second factor, and the password again on /v1/me: five failures in a row lock for 15 minutes. */
export const USER_CHECKS: StreakPolicy = { backoffAfter: Number.POSITIVE_INFINITY, lockAfter: 5, lockMs: LOCK_MS };
