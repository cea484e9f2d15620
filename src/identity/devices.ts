/**
 * Known devices (ASVS 6.1.1): a browser that has finished a sign-in gets a
 * signed, HttpOnly `__Host-keyward_device` cookie, and the email's throttle
 * remembers it. Its later attempts count in their own small budget, so someone
 * who knows only the email can lock out unknown devices but never the owner's.
 * The signature (HMAC under the pepper) keeps forged ids out of the table.
 */

import type { Context } from "hono";
import { getCookie } from "hono/cookie";
import { emailThrottle } from "../durable/address";
import type { Env } from "../platform/env";
import { constantTimeEqual, hmacSha256Hex } from "../security/digest";
import { mintDeviceId } from "../security/secret-formats";

export const DEVICE_COOKIE = "__Host-keyward_device";
const YEAR_SECONDS = 365 * 86_400;

const macOf = async (pepper: string, id: string) => (await hmacSha256Hex(pepper, `device:${id}`)).slice(0, 32);

/** The device id of the request's cookie when its signature holds, else null. */
export async function deviceIdOf(c: Context, pepper: string): Promise<string | null> {
	const value = getCookie(c, DEVICE_COOKIE) ?? c.req.header("X-Keyward-Device") ?? "";
	const [id, mac] = value.split(".");
	if (!id || !mac || !/^dev_[a-z2-7]{26}$/.test(id)) return null;
	return constantTimeEqual(mac, await macOf(pepper, id)) ? id : null;
}

/** A new device id and the Set-Cookie header that gives it to the browser. */
export async function newDevice(pepper: string): Promise<{ id: string; cookie: string }> {
	const id = mintDeviceId();
	const value = `${id}.${await macOf(pepper, id)}`;
	return {
		id,
		cookie: `${DEVICE_COOKIE}=${value}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=${YEAR_SECONDS}`,
	};
}

/**
 * No device is known to this address any more: after a password reset, a takeover report or a
 * claim, a device someone else signed in from must not keep its own budget past the email's lock.
 */
export async function forgetDevices(env: Pick<Env, "LOGIN_THROTTLE">, email: string): Promise<void> {
	await emailThrottle(env, email).forgetDevices();
}
