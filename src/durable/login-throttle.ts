/**
 * One object per thing a sign-in or an unauthenticated request is counted
 * against: an email (consecutive failures, per known device), a client
 * address (a sliding window), or a named quota (sign-ups per address, resets
 * per email, …). Each attempt is checked and counted in one call, so
 * concurrent guesses cannot all pass the check before the first failure is
 * recorded; a success forgives it. The numbers are the caller's policy
 * (src/identity/throttle-policy.ts).
 */
import { DurableObject } from "cloudflare:workers";
import {
	AttemptWindow,
	FailureStreaks,
	KnownDevices,
	type StreakPolicy,
	type ThrottleVerdict,
	type WindowPolicy,
} from "./throttle-store";

export class LoginThrottle extends DurableObject<object> {
	readonly #streaks: FailureStreaks;
	readonly #window: AttemptWindow;
	readonly #devices: KnownDevices;

	constructor(ctx: DurableObjectState, env: object) {
		super(ctx, env);
		this.#streaks = new FailureStreaks(ctx.storage.sql);
		this.#window = new AttemptWindow(ctx.storage.sql);
		this.#devices = new KnownDevices(ctx.storage.sql);
	}

	// ---- per email

	/** Counted in the streak of the device when it has signed in here before (its own, smaller budget), else in every unknown device's. */
	beginLoginAttempt(now: number, deviceId: string | null, policy: { unknown: StreakPolicy; known: StreakPolicy }) {
		const streak = this.#devices.streakOf(deviceId);
		const attempt = this.#streaks.begin(streak, now, streak === "login" ? policy.unknown : policy.known);
		return { ...attempt, streak };
	}

	/** The right password: the streak it was counted in is forgiven. */
	loginSucceeded(streak: string): void {
		this.#streaks.reset(streak);
	}

	/** A finished sign-in (second factor included): the device is known to this email from now on. */
	rememberDevice(deviceId: string, now: number): void {
		this.#devices.remember(deviceId, now);
	}

	/** Whether the device has finished a sign-in to this email (its attempts then skip the address's window). */
	knowsDevice(deviceId: string): boolean {
		return this.#devices.has(deviceId);
	}

	/** No device is known any more, and their own streaks go with them. */
	forgetDevices(): void {
		this.#devices.forgetAll();
		this.#streaks.resetWhere("login-device:");
	}

	// ---- per client address, and named quotas

	beginWindowAttempt(now: number, policy: WindowPolicy): ThrottleVerdict & { remaining: number } {
		return this.#window.begin(now, policy);
	}

	forgiveWindowAttempt(at: number): void {
		this.#window.forgive(at);
	}
}
