/**
 * Taking access back from whoever holds a stolen credential ("this wasn't
 * me", a password reset): one function, so both end the same things.
 */
import type { Database } from "../db";
import { userSessions } from "../durable/address";
import type { Env } from "../platform/env";
import { forgetDevices } from "./devices";
import { endPendingSignIns } from "./mfa";

/** Pending sign-ins, every session, and the devices known to the address end; answers the sessions ended. */
export async function endEveryAccess(env: Env, db: Database, user: { id: string; email: string }): Promise<number> {
	await endPendingSignIns(db, user.id);
	const sessionsEnded = await userSessions(env, user.id).revokeSessionsExcept(null);
	await forgetDevices(env, user.email);
	return sessionsEnded;
}

export const RESET_MAIL = {
	requested: (code: string) => ({
		subject: "Keyward: reset your password",
		text: `Use this code to set a new Keyward password (valid 30 minutes, once):\n\n${code}\n\nIf you did not ask for this, ignore this email.`,
	}),
	afterNotMe: (code: string) => ({
		subject: "Keyward: reset your password",
		text: `Every session of your account was ended and your password no longer works. Set a new one with this code (valid 30 minutes, once):\n\n${code}\n`,
	}),
};
