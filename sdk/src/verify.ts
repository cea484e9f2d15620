/**
 * Verify from the customer's side: over HTTP (`POST /v1/keys/verify`) or,
 * from a Worker on the same Cloudflare account, through a service binding to
 * Keyward's `KeywardVerifier` entrypoint, with no public hop. Both give the
 * same verdict and the same rate-limit headers; a problem on either becomes a
 * `KeywardError`.
 */
import type { VerifyBody, VerifyResult } from "./client.js";
import { OPERATIONS } from "./operations.js";
import { KeywardError, KeywardTimeoutError, type Problem } from "./problem.js";
import { type FetchLike, send } from "./transport.js";

/** What Keyward's `verify()` RPC answers: the HTTP route's body and headers, or its problem. */
export type VerifyRpcResult =
	| { ok: true; result: VerifyResult; headers: Record<string, string> }
	| { ok: false; problem: Problem };

/** A service binding to Keyward's `KeywardVerifier` entrypoint (`[[services]] entrypoint = "KeywardVerifier"`). */
export interface KeywardBinding {
	verify(input: VerifyBody): Promise<VerifyRpcResult>;
}

/** Where verify runs: Keyward's base URL (`https://api.keyward.dev`) or a service binding to it. */
export type KeywardService = string | KeywardBinding;

export interface VerifyKeyOptions {
	/** For a base URL: the fetch to use (defaults to the global one). */
	fetch?: FetchLike;
	/** Per call, over either transport. Default 5 s: verify sits on the caller's request path. */
	timeoutMs?: number;
	/**
	 * For a base URL: a key of your account with the `keys:verify` scope (made by an admin or the
	 * owner), sent as `Authorization: Bearer`. Keyward honours the client `ip` you pass only with
	 * it; without it, keys with an IP allowlist are checked against the address your server calls
	 * from. A service binding needs none: the binding itself proves who is calling.
	 */
	rootKey?: string;
}

export interface VerifyOutcome {
	result: VerifyResult;
	/** `RateLimit-Policy`, `RateLimit` and `X-RateLimit-*` for the key, to forward to the client. */
	headers: Record<string, string>;
}

const DEFAULT_VERIFY_TIMEOUT_MS = 5_000;
/** Spelled as Keyward's RPC spells them, so both transports hand over the same record. */
const RATE_LIMIT_HEADERS = [
	"RateLimit-Policy",
	"RateLimit",
	"X-RateLimit-Limit",
	"X-RateLimit-Remaining",
	"X-RateLimit-Reset",
];

function rateLimitHeadersOf(response: Response): Record<string, string> {
	const headers: Record<string, string> = {};
	for (const name of RATE_LIMIT_HEADERS) {
		const value = response.headers.get(name);
		if (value !== null) headers[name] = value;
	}
	return headers;
}

/** An RPC has no deadline of its own; a hung one would hold the caller's request forever. */
async function withDeadline<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
	let timer: ReturnType<typeof setTimeout> | undefined;
	const deadline = new Promise<never>((_, reject) => {
		timer = setTimeout(() => reject(new KeywardTimeoutError(timeoutMs)), timeoutMs);
	});
	try {
		return await Promise.race([promise, deadline]);
	} finally {
		if (timer !== undefined) clearTimeout(timer);
	}
}

/** Asks Keyward for the verdict on `input.key`. Throws `KeywardError` or `KeywardTimeoutError` when it cannot say. */
export async function verifyKey(
	service: KeywardService,
	input: VerifyBody,
	options: VerifyKeyOptions = {},
): Promise<VerifyOutcome> {
	const timeoutMs = options.timeoutMs ?? DEFAULT_VERIFY_TIMEOUT_MS;
	if (typeof service === "string") {
		const { data, response } = await send<VerifyResult>(
			{ baseUrl: service, fetch: options.fetch, timeoutMs, ...(options.rootKey ? { token: options.rootKey } : {}) },
			OPERATIONS.keys.verify,
			{ body: input },
		);
		return { result: data, headers: rateLimitHeadersOf(response) };
	}
	const answer = await withDeadline(service.verify(input), timeoutMs);
	if (!answer.ok) throw new KeywardError(answer.problem);
	return { result: answer.result, headers: answer.headers };
}
