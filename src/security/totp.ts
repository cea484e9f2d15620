/**
 * TOTP per RFC 6238: SHA-1, 6 digits, 30-second steps, one step of drift
 * either way. Verification returns the matched step so the caller can refuse
 * any step at or before the last one accepted (a code works once).
 */
import { createTOTPKeyURI, generateHOTP } from "@oslojs/otp";
import { renderSVG } from "uqr";
import { constantTimeEqual } from "./digest";

export const TOTP_PERIOD_SECONDS = 30;
export const TOTP_DIGITS = 6;
const DRIFT_STEPS = 1;

export function newTotpKey(): Uint8Array {
	return crypto.getRandomValues(new Uint8Array(20));
}

export const totpStep = (now: Date): number => Math.floor(now.getTime() / 1000 / TOTP_PERIOD_SECONDS);

/** The time step whose code matches, newer than `lastStep`, or null. Every candidate is compared. */
export function matchTotp(
	key: Uint8Array,
	code: string,
	now: Date,
	lastStep: number | null,
	digits = TOTP_DIGITS,
): number | null {
	const current = totpStep(now);
	let matched: number | null = null;
	for (let step = current - DRIFT_STEPS; step <= current + DRIFT_STEPS; step++) {
		const expected = generateHOTP(key, BigInt(step), digits);
		if (constantTimeEqual(expected, code) && (lastStep === null || step > lastStep)) matched = step;
	}
	return matched;
}

export const totpUri = (accountName: string, key: Uint8Array): string =>
	createTOTPKeyURI("Keyward", accountName, key, TOTP_PERIOD_SECONDS, TOTP_DIGITS);

export const qrSvg = (text: string): string => renderSVG(text);
