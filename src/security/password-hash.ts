/**
 * Password hashing with scrypt, workerd's native node:crypto implementation
 * (nodejs_compat): memory-hard at OWASP's recommended cost (N=2^15, r=8, p=3,
 * 32 MiB per hash, inside the isolate's 128 MB). Not WebCrypto PBKDF2, which
 * Workers cap at 100,000 iterations, six times below OWASP's bar for SHA-256.
 *
 * Stored form, self-describing so parameters can change and old hashes be
 * upgraded at the next login: `$scrypt$ln=15,r=8,p=3$<salt b64>$<key b64>`.
 */
import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import { normalizePassword } from "./password-policy";

export interface ScryptParams {
	/** log2 of the CPU/memory cost N. */
	ln: number;
	r: number;
	p: number;
}

export const CURRENT_PARAMS: ScryptParams = { ln: 15, r: 8, p: 3 };
const KEY_LENGTH = 32;
const SALT_LENGTH = 16;

function derive(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
	const N = 2 ** params.ln;
	return new Promise((resolve, reject) =>
		scrypt(
			normalizePassword(password),
			salt,
			KEY_LENGTH,
			{ N, r: params.r, p: params.p, maxmem: 256 * N * params.r },
			(err, key) => (err ? reject(err) : resolve(key)),
		),
	);
}

export async function hashPassword(password: string, params: ScryptParams = CURRENT_PARAMS): Promise<string> {
	const salt = randomBytes(SALT_LENGTH);
	const key = await derive(password, salt, params);
	return `$scrypt$ln=${params.ln},r=${params.r},p=${params.p}$${salt.toString("base64")}$${key.toString("base64")}`;
}

function parse(stored: string): { params: ScryptParams; salt: Buffer; key: Buffer } | null {
	const match = /^\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(stored);
	if (!match) return null;
	const [, ln, r, p, salt, key] = match;
	return {
		params: { ln: Number(ln), r: Number(r), p: Number(p) },
		salt: Buffer.from(salt ?? "", "base64"),
		key: Buffer.from(key ?? "", "base64"),
	};
}

const sameParams = (a: ScryptParams, b: ScryptParams) => a.ln === b.ln && a.r === b.r && a.p === b.p;

/**
 * Checks a password against a stored hash in constant time. `needsRehash`
 * says the hash was made with other parameters and should be replaced now
 * that the plaintext is at hand.
 */
export async function verifyPassword(
	password: string,
	stored: string,
): Promise<{ valid: boolean; needsRehash: boolean }> {
	const parsed = parse(stored);
	if (!parsed) return { valid: false, needsRehash: false };
	const key = await derive(password, parsed.salt, parsed.params);
	const valid = key.length === parsed.key.length && timingSafeEqual(key, parsed.key);
	return { valid, needsRehash: valid && !sameParams(parsed.params, CURRENT_PARAMS) };
}

/**
 * A hash of a random password at the current cost. Verifying against it when
 * the email is unknown makes that login take as long as a wrong password.
 */
let dummy: Promise<string> | undefined;
export const dummyPasswordHash = (): Promise<string> => {
	dummy ??= hashPassword(randomBytes(24).toString("base64")).catch((err) => {
		dummy = undefined; // a failure must not stick for the isolate's life
		throw err;
	});
	return dummy;
};
