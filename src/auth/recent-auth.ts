/**
 * Recent authentication (ASVS 7.5.1, 7.5.3): the actions that hand over an
 * account or its defences need the user to have proved their password or a
 * second factor within the last ten minutes, so a stolen session, or a laptop
 * left open, cannot take them. A session's proof is its start: signing in and
 * re-authenticating (`POST /v1/me/reauthenticate`) both issue a new session,
 * so the session's proof is always the last one, and the token that proved
 * nothing since is never the one that carries the fresh proof (7.2.4). The
 * proof is the session's start, except for a single sign-on: there it is when
 * the provider last authenticated the person (`auth_time`), since a provider
 * with a live session signs a left-open laptop in again without asking.
 *
 * API keys carry no session and are not asked; what they can do is bounded by
 * their own record (src/keys/policy.ts), and none of these actions but key
 * creation is open to them at all.
 */
import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "../platform/app-env";
import { ApiError } from "../problems";

export const RECENT_AUTH_MS = 10 * 60_000;

/** Ten minutes, or `REAUTH_WINDOW_SECONDS` (1 to 3600; the browser journey shortens it to see the prompt). */
export function recentAuthWindowMs(env: { REAUTH_WINDOW_SECONDS?: string }): number {
	const seconds = Number(env.REAUTH_WINDOW_SECONDS);
	return Number.isInteger(seconds) && seconds >= 1 && seconds <= 3600 ? seconds * 1000 : RECENT_AUTH_MS;
}

/** Whether the caller has nothing to prove: a session that proved itself within the window, or not a session at all. */
export function provedRecently(c: Context<AppEnv>): boolean {
	const principal = c.get("principal");
	if (principal?.type !== "user") return true;
	const proved = principal.sessionProvedAt ?? principal.sessionCreatedAt ?? 0;
	return c.get("services").clock.now().getTime() - proved <= recentAuthWindowMs(c.env);
}

export const reauthenticationRequired = (action: string): ApiError =>
	new ApiError("reauthentication-required", {
		detail: `To ${action}, confirm it is you: POST /v1/me/reauthenticate with your password (and your second factor, when you have one), then try again`,
	});

export function assertRecentAuthentication(c: Context<AppEnv>, action: string): void {
	if (!provedRecently(c)) throw reauthenticationRequired(action);
}

/** The route-level form, for routes whose every call needs it. */
export const requireRecentAuthentication =
	(action: string): MiddlewareHandler<AppEnv> =>
	async (c, next) => {
		assertRecentAuthentication(c, action);
		await next();
	};
