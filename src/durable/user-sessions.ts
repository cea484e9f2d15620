/**
 * One object per user: the user's sessions, where they have signed in from,
 * and the streaks of failed second-factor and password re-entry checks. Every
 * session validation reads here, so an ended session is refused on the very
 * next request in every location.
 */
import { DurableObject } from "cloudflare:workers";
import { HandoffStore } from "./handoff-store";
import { type NewSession, type SessionCheck, type SessionRecord, SessionStore } from "./session-store";
import { FailureStreaks, type StreakPolicy, type ThrottleVerdict } from "./throttle-store";

/**
 * Streaks of repeated checks: the second factor and the password again, per user (a sign-in's
 * second step) or per session (`mfa:<sessionId>`: checks a signed-in session makes).
 */
export type UserCheck = "mfa" | "password" | `${"mfa" | "password"}:${string}`;

const SESSION_CLOCK_OFFSET = "session-clock-offset";

export class UserSessions extends DurableObject<object> {
	readonly #sessions: SessionStore;
	readonly #streaks: FailureStreaks;
	readonly #handoffs: HandoffStore;

	constructor(ctx: DurableObjectState, env: object) {
		super(ctx, env);
		this.#sessions = new SessionStore(ctx.storage.sql);
		this.#streaks = new FailureStreaks(ctx.storage.sql);
		this.#handoffs = new HandoffStore(ctx.storage.sql);
	}

	// ---- secrets the console shows once, between its POST and the GET that shows them

	parkHandoff(id: string, sealed: string, now: number): void {
		this.#handoffs.park(id, sealed, now);
	}

	takeHandoff(id: string, now: number): string | null {
		return this.#handoffs.take(id, now);
	}

	// ---- sessions

	async createSession(session: NewSession): Promise<void> {
		this.#sessions.insert(session);
		// Sessions are stamped with the caller's clock; the alarm runs on the runtime's. The offset
		// (zero in production, months in tests with a fixed clock) lets the purge judge by the former.
		this.ctx.storage.kv.put(SESSION_CLOCK_OFFSET, session.createdAt - Date.now());
		const endsAt =
			Math.min(session.expiresAt, session.lastSeenAt + session.idleTimeoutMs) - session.createdAt + Date.now();
		const current = await this.ctx.storage.getAlarm();
		if (current === null || current > endsAt) await this.ctx.storage.setAlarm(endsAt);
	}

	validateSession(id: string, secretHash: string, now: number): SessionCheck {
		return this.#sessions.validate(id, secretHash, now);
	}

	listSessions(now: number): SessionRecord[] {
		return this.#sessions.list(now);
	}

	noteSignIn(devices: string[], country: string | null, now: number) {
		return this.#sessions.noteSignIn(devices, country, now);
	}

	revokeSession(id: string): boolean {
		return this.#sessions.delete(id);
	}

	revokeSessionsExcept(keep: string | null): number {
		return this.#sessions.deleteExcept(keep);
	}

	// ---- repeated checks: each attempt is checked and counted in one call, a success forgives the streak

	beginCheck(kind: UserCheck, now: number, policy: StreakPolicy) {
		return this.#streaks.begin(kind, now, policy);
	}

	checkBlocked(kind: UserCheck, now: number): ThrottleVerdict {
		return this.#streaks.verdict(kind, now);
	}

	checkSucceeded(kind: UserCheck): void {
		this.#streaks.reset(kind);
	}

	/** Purges ended sessions and wakes again when the next one could end. */
	override async alarm(): Promise<void> {
		const offset = this.ctx.storage.kv.get<number>(SESSION_CLOCK_OFFSET) ?? 0;
		const next = this.#sessions.purgeEnded(Date.now() + offset);
		this.#streaks.dropScopedExcept(this.#sessions.ids());
		if (next !== null) await this.ctx.storage.setAlarm(next - offset);
	}
}
