/**
 * Where the breached-password check (src/security/breached-passwords.ts) meets
 * the identity flows: a new password found in breaches is refused at sign-up,
 * password change and reset; a sign-in with one marks the user, who is then
 * asked to change it (`passwordBreached` on the user) and counted by their
 * accounts' security report.
 */
import { eq } from "drizzle-orm";
import type { Context } from "hono";
import { users } from "../db/schema";
import type { AppEnv, Services } from "../platform/app-env";
import type { Env } from "../platform/env";
import { ApiError, validationError } from "../problems";
import { breachCheckConfig, checkBreached } from "../security/breached-passwords";

export async function assertPasswordNotBreached(c: Context<AppEnv>, path: string, password: string): Promise<void> {
	const config = breachCheckConfig(c.env);
	if (!config) return;
	const verdict = await checkBreached(password, config, c.get("services").fetch);
	if (verdict.status === "breached")
		throw validationError(
			[{ path, message: `This password has appeared in ${verdict.count} known data breaches; choose another` }],
			"The password breaks a rule: breached",
		);
	if (verdict.status === "clean") return;
	if (!config.failOpen)
		throw new ApiError("service-unavailable", {
			detail: "New passwords cannot be checked against known breaches right now; try again shortly",
			headers: { "Retry-After": "5" },
		});
	// Accepted unchecked, as configured: said in the log and the trail, so the gap is visible.
	console.log(JSON.stringify({ level: "warn", msg: "breached-password check skipped", reason: verdict.reason }));
	c.get("audit").record({
		action: "auth.breach_check_skipped",
		outcome: "failure",
		metadata: { reason: verdict.reason, field: path },
	});
}

/** After a sign-in, off the request path: marks the user when the password they used is breached. */
export async function markIfBreached(env: Env, services: Services, userId: string, password: string): Promise<void> {
	const config = breachCheckConfig(env);
	if (!config) return;
	const verdict = await checkBreached(password, config, services.fetch);
	if (verdict.status !== "breached") return;
	await services.db.update(users).set({ passwordBreachedAt: services.clock.now() }).where(eq(users.id, userId));
}
