/** Starting and resolving sessions; the state itself lives in the user's Durable Object. */
import type { Context } from "hono";
import { strictestSessionLimits } from "../accounts/settings";
import type { Database } from "../db";
import { userSessions } from "../durable/address";
import type { SessionFactor, SessionRecord } from "../durable/session-store";
import type { Env } from "../platform/env";
import { generateSessionToken, hashSessionSecret, parseSessionToken } from "../security/session-token";
import { membershipsOf } from "./users";

export interface RequestMeta {
	ip: string | null;
	userAgent: string | null;
	country: string | null;
}

export function requestMeta(c: Context): RequestMeta {
	const cf = (c.req.raw as { cf?: { country?: unknown } }).cf;
	return {
		ip: c.req.header("CF-Connecting-IP")?.slice(0, 64) ?? null,
		userAgent: c.req.header("User-Agent")?.slice(0, 256) ?? null,
		country: typeof cf?.country === "string" ? cf.country : null,
	};
}

export interface IssuedSession {
	id: string;
	token: string;
	expiresAt: string;
	maxAgeSeconds: number;
}

/**
 * Idle timeout and lifetime are the strictest among the user's accounts' settings. `factors` are
 * what proved the sign-in; `mfaPolicy: "phishing-resistant"` asks for `passkey` among them.
 */
export async function startSession(
	env: Env,
	db: Database,
	userId: string,
	meta: RequestMeta,
	now: Date,
	factors: readonly SessionFactor[] = [],
	/** When the person proved themselves, when not now (a single sign-on: the provider's `auth_time`). */
	provedAt: number = now.getTime(),
): Promise<IssuedSession> {
	const limits = strictestSessionLimits((await membershipsOf(db, userId)).map((m) => m.settings));
	const parts = generateSessionToken(userId);
	const createdAt = now.getTime();
	const expiresAt = createdAt + limits.maxAgeMs;
	await userSessions(env, userId).createSession({
		id: parts.sessionId,
		secretHash: await hashSessionSecret(parts.secret),
		createdAt,
		lastSeenAt: createdAt,
		expiresAt,
		idleTimeoutMs: limits.idleMs,
		...meta,
		factors: [...factors],
		provedAt,
	});
	return {
		id: parts.sessionId,
		token: parts.token,
		expiresAt: new Date(expiresAt).toISOString(),
		maxAgeSeconds: Math.floor(limits.maxAgeMs / 1000),
	};
}

/** The session a token names, if it is live right now (asked of the Durable Object every time). */
export async function resolveSessionToken(env: Env, token: string, now: Date) {
	const parts = parseSessionToken(token);
	if (!parts) return null;
	const check = await userSessions(env, parts.userId).validateSession(
		parts.sessionId,
		await hashSessionSecret(parts.secret),
		now.getTime(),
	);
	if (check === null) return null;
	return "session" in check ? { userId: parts.userId, session: check.session } : { ended: check.ended };
}

export const SESSION_COOKIE = "__Host-keyward_session";

/** `__Host-` pins the cookie to this host over HTTPS with Path=/; SameSite=Strict keeps it off cross-site requests. */
export const sessionCookie = (token: string, maxAgeSeconds: number): string =>
	`${SESSION_COOKIE}=${token}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=${maxAgeSeconds}`;

export const clearedSessionCookie = (): string =>
	`${SESSION_COOKIE}=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0`;

/** A live session as the API shows it (`GET /v1/me/sessions`, the export): never its token or hash. */
export function publicSession(s: SessionRecord, currentSessionId: string | null | undefined) {
	const iso = (ms: number) => new Date(ms).toISOString();
	return {
		id: s.id,
		current: s.id === currentSessionId,
		createdAt: iso(s.createdAt),
		lastSeenAt: iso(s.lastSeenAt),
		expiresAt: iso(Math.min(s.expiresAt, s.lastSeenAt + s.idleTimeoutMs)),
		ip: s.ip,
		userAgent: s.userAgent,
		country: s.country,
	};
}
