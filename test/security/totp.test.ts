import { generateHOTP } from "@oslojs/otp";
import { generate } from "otplib";
import { describe, expect, it } from "vitest";
import { matchTotp, totpStep, totpUri } from "../../src/security/totp";

// RFC 6238 Appendix B, SHA-1 rows: the seed is ASCII "12345678901234567890", 8 digits.
const SEED = new TextEncoder().encode("12345678901234567890");
const VECTORS: [number, string][] = [
	[59, "94287082"],
	[1111111109, "07081804"],
	[1111111111, "14050471"],
	[1234567890, "89005924"],
	[2000000000, "69279037"],
	[20000000000, "65353130"],
];

describe("TOTP (RFC 6238)", () => {
	it.each(VECTORS)("T=%i gives %s through our verification path", (seconds, code) => {
		const at = new Date(seconds * 1000);
		expect(generateHOTP(SEED, BigInt(totpStep(at)), 8)).toBe(code);
		expect(matchTotp(SEED, code, at, null, 8)).toBe(totpStep(at));
	});

	it("accepts codes an independent implementation (otplib) makes from our otpauth URI", async () => {
		const key = crypto.getRandomValues(new Uint8Array(20));
		const uri = new URL(totpUri("ada@example.com", key));
		expect(uri.protocol).toBe("otpauth:");
		expect(uri.searchParams.get("issuer")).toBe("Keyward");
		const secret = uri.searchParams.get("secret") ?? "";
		const now = new Date("2026-06-01T12:00:10Z");
		const code = await generate({ secret, epoch: Math.floor(now.getTime() / 1000) });
		expect(matchTotp(key, code, now, null)).toBe(totpStep(now));
	});

	it("accepts one step of drift either way and refuses two", async () => {
		const key = crypto.getRandomValues(new Uint8Array(20));
		const now = new Date("2026-06-01T12:00:10Z");
		const at = (steps: number) => generateHOTP(key, BigInt(totpStep(now) + steps), 6);
		expect(matchTotp(key, at(-1), now, null)).not.toBeNull();
		expect(matchTotp(key, at(1), now, null)).not.toBeNull();
		expect(matchTotp(key, at(-2), now, null)).toBeNull();
		expect(matchTotp(key, at(2), now, null)).toBeNull();
	});

	it("refuses a step at or before the last one accepted (replay)", () => {
		const key = crypto.getRandomValues(new Uint8Array(20));
		const now = new Date("2026-06-01T12:00:10Z");
		const code = generateHOTP(key, BigInt(totpStep(now)), 6);
		const step = matchTotp(key, code, now, null);
		expect(step).toBe(totpStep(now));
		expect(matchTotp(key, code, now, step)).toBeNull();
	});
});
