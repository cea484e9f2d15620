/**
 * The new-device notice (ASVS 6.3.5's spirit, and issue #18): a sign-in from a
 * device or a country the user has not signed in from before is mailed to
 * them, naming the device, place and time, with a single-use "this wasn't me"
 * code that ends that session and starts a password reset. A device is known
 * by the browser's device cookie or by its user agent (so an API client that
 * signs in every day is not new every day); a common user agent from a new
 * country is still new, by its country.
 */
import type { Context } from "hono";
import { userSessions } from "../durable/address";
import { logMailFailure } from "../mail";
import type { AppEnv } from "../platform/app-env";
import { sha256Hex } from "../security/digest";
import { issueEmailToken } from "./email-tokens";
import { personalTrail } from "./login";
import { requestMeta } from "./sessions";
import type { UserRow } from "./users";

export async function noticeSignIn(
	c: Context<AppEnv>,
	user: UserRow,
	sessionId: string,
	presentedDevice: string | null,
): Promise<void> {
	const { db, clock, mailer } = c.get("services");
	const meta = requestMeta(c);
	const now = clock.now();
	const agent = `ua:${(await sha256Hex(meta.userAgent ?? "")).slice(0, 32)}`;
	const devices = presentedDevice ? [presentedDevice, agent] : [agent];
	const seen = await userSessions(c.env, user.id).noteSignIn(devices, meta.country, now.getTime());
	if (seen.first || (!seen.newDevice && !seen.newCountry)) return;
	const token = await issueEmailToken(db, user.id, "not_me", now, { subject: sessionId, replace: false });
	c.get("audit").record({
		action: "auth.new_device",
		accountId: await personalTrail(c.get("services"), user.id),
		actor: { type: "user", id: user.id },
		target: { type: "session", id: sessionId },
		metadata: { newDevice: seen.newDevice, newCountry: seen.newCountry, country: meta.country },
	});
	c.executionCtx.waitUntil(
		mailer
			.send({
				to: user.email,
				subject: "Keyward: new sign-in to your account",
				text:
					`Your Keyward account was signed in to at ${now.toISOString()} from ` +
					`${describeAgent(meta.userAgent)}${meta.country ? ` in ${meta.country}` : ""}.\n` +
					"If this was you, there is nothing to do. If it was not, use this code once (POST /v1/auth/not-me) " +
					`to end that session and start a password reset:\n\n${token}\n`,
			})
			.catch(logMailFailure("new-device")),
	);
}

/**
 * The device as the notice names it: the User-Agent is the signer's own text, so only its first
 * 60 printable characters are quoted, and marked as what the device said it was (a longer one
 * could write instructions into a security email).
 */
export function describeAgent(userAgent: string | null): string {
	const printable = (userAgent ?? "").replace(/[^\x20-\x7e]/g, "").trim();
	if (!printable) return "an unknown device";
	return `a device that calls itself "${printable.length > 60 ? `${printable.slice(0, 60)}…` : printable}"`;
}
