/**
 * Session tokens after Lucia's design: an id and a secret, and only the
 * SHA-256 of the secret is stored. The token also names its user, because the
 * user's Durable Object holds their sessions: validation routes straight to
 * it, with no database lookup and no cache that could outlive a revocation.
 *
 *   usr_<16 base32>.ses_<16 base32>.<32 base32 = 160-bit secret>
 */
import { newId } from "../platform/ids";
import { sha256Hex } from "./digest";
import { randomToken } from "./random";

const FORMAT = /^(usr_[a-z2-7]{16})\.(ses_[a-z2-7]{16})\.([a-z2-7]{32})$/;
/** Recognises a token anywhere in text (the scrubber's net). */
export const SESSION_TOKEN_PATTERN = /usr_[a-z2-7]{16}\.ses_[a-z2-7]{16}\.[a-z2-7]{32}/i;

export interface SessionTokenParts {
	userId: string;
	sessionId: string;
	secret: string;
}

export function generateSessionToken(userId: string): SessionTokenParts & { token: string } {
	const sessionId = newId("ses");
	const secret = randomToken(20);
	return { userId, sessionId, secret, token: `${userId}.${sessionId}.${secret}` };
}

export function parseSessionToken(token: string): SessionTokenParts | null {
	const match = FORMAT.exec(token);
	if (!match) return null;
	const [, userId, sessionId, secret] = match;
	return userId && sessionId && secret ? { userId, sessionId, secret } : null;
}

export const hashSessionSecret = (secret: string): Promise<string> => sha256Hex(secret);
