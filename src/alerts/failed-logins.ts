/**
 * Turns a failed password login of a known user into the failed-login count
 * of every account they belong to, and raises `alert.failed_logins_spike`
 * for an account whose count reaches its threshold in the window. Runs after
 * the response (the login answers the same for known and unknown emails), so
 * its events go to a trail of their own, recorded as the system.
 */

import { AuditLog } from "../audit/emitter";
import { accountGuard } from "../durable/address";
import { membershipsOf } from "../identity/users";
import type { Services } from "../platform/app-env";
import type { Env } from "../platform/env";
import { raiseAlert } from ".";

export async function countFailedLogin(
	env: Env,
	services: Services,
	userId: string,
	requestId: string | null,
): Promise<void> {
	const { db, clock } = services;
	const now = clock.now();
	const audit = new AuditLog(
		{ queue: env.AUDIT_QUEUE, db, clock },
		{ actor: { type: "system", id: null, ip: null, userAgent: null }, requestId },
	);
	for (const membership of await membershipsOf(db, userId)) {
		const { failedLoginAlertThreshold: threshold, failedLoginAlertWindowMinutes: minutes } = membership.settings;
		const verdict = await accountGuard(env, membership.accountId).noteFailedLogin(
			now.getTime(),
			threshold,
			minutes * 60_000,
		);
		if (!verdict.alert) continue;
		await raiseAlert(
			{ ...services, record: (input) => audit.record(input) },
			{
				accountId: membership.accountId,
				type: "alert.failed_logins_spike",
				subject: "Keyward: many failed sign-ins to your account's members",
				text:
					`${verdict.failures} failed sign-ins to members of account ${membership.accountId} ` +
					`within ${minutes} minutes (threshold ${threshold}). Check the audit log for auth.login.failed events.`,
				data: {
					failures: verdict.failures,
					threshold,
					windowMinutes: minutes,
					windowStart: new Date(verdict.windowStart).toISOString(),
				},
			},
		);
	}
	await audit.flush();
}
