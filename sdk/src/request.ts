/**
 * Protecting a fetch-style handler (any framework, or none): read the key the
 * client presented, ask Keyward, and either hand back the verified key or a
 * ready `401`/`403`/`429`/`503` problem response.
 *
 *   const verdict = await verifyRequest(request, { service: env.KEYWARD, requiredScopes: ["invoices:read"] });
 *   if (!verdict.ok) return verdict.response;
 */
import type { VerifyBody, VerifyResult } from "./client.js";
import { KeywardError, KeywardTimeoutError, redactSecrets } from "./problem.js";
import { type KeywardService, type VerifyKeyOptions, verifyKey } from "./verify.js";

export interface VerifyRequestOptions extends VerifyKeyOptions {
	/** Keyward's base URL, or a service binding to its `KeywardVerifier` entrypoint. */
	service: KeywardService;
	/** Every one must be granted to the key (`invoices:read` is granted by `invoices:read`, `invoices:*` or `*`). */
	requiredScopes?: string[];
	/** Where the key is; by default `Authorization: Bearer <key>`, else `X-API-Key`. */
	getKey?: (request: Request) => string | null | undefined;
	/**
	 * Credits this request spends, for keys with credits (default 1; 0 checks without spending), or a
	 * function of the request (an expensive endpoint costs more).
	 */
	cost?: number | ((request: Request) => number);
	/** The key's named limits to check, each by name or with its cost (default: all of them, 1 each). */
	ratelimits?: VerifyBody["ratelimits"];
	/**
	 * The client's address, for keys with an IP allowlist; by default `CF-Connecting-IP`, which
	 * Cloudflare sets. Elsewhere, read it from the header your own proxy guarantees.
	 */
	getIp?: (request: Request) => string | null | undefined;
	/**
	 * Told why Keyward could not answer (the request is refused with `UNAVAILABLE`, 503). By default
	 * the explanation goes to `console.error`, at most once every 10 seconds per isolate, so a missing
	 * or unconnected binding shows in your Worker's log instead of a silent 503.
	 */
	onUnavailable?: (error: KeywardUnavailableError) => void;
}

/** Why verify could not be asked: the message says what to check; `cause` is what was thrown. */
export class KeywardUnavailableError extends Error {
	override readonly name = "KeywardUnavailableError";
}

const BINDING_HELP =
	'Declare it in wrangler.toml as [[services]] binding = "KEYWARD", service = "<the Keyward Worker\'s name>", ' +
	'entrypoint = "KeywardVerifier". Under `wrangler dev` the service must be a Keyward running on this machine: ' +
	'"keyward" when it was started with `npm start` in its repository ("keyward-production" exists only once deployed), ' +
	"and wrangler's binding table must say [connected].";

/** What to check, in words, for a verify that could not be made. */
export function explainUnavailable(service: KeywardService | null | undefined, err: unknown): KeywardUnavailableError {
	// Keyward's answer by status and title only: a body may be a proxy's page echoing the request.
	const said =
		err instanceof KeywardError
			? `${err.status} ${err.problem.title}`
			: (err instanceof Error ? err.message : String(err)).replace(/\.+$/, "");
	let message: string;
	if (typeof service === "string") {
		message =
			err instanceof KeywardError
				? `Keyward at ${service} answered ${said} to verify`
				: err instanceof KeywardTimeoutError
					? `Keyward at ${service} did not answer verify in time: ${said}`
					: `Keyward at ${service} could not be reached: ${said}. Check the base URL and that Keyward is running.`;
	} else if (!service || typeof (service as { verify?: unknown }).verify !== "function") {
		message = `Keyward's service binding is missing: \`service\` gave ${service === null ? "null" : typeof service}. ${BINDING_HELP}`;
	} else if (err instanceof KeywardTimeoutError) {
		message = `Keyward's service binding did not answer in time (${said}). ${BINDING_HELP}`;
	} else {
		message = `Keyward's service binding is not connected or failed: ${said}. ${BINDING_HELP}`;
	}
	return new KeywardUnavailableError(redactSecrets(message), { cause: err });
}

const LOG_EVERY_MS = 10_000;
let lastLoggedAt = Number.NEGATIVE_INFINITY;
function logUnavailable(error: KeywardUnavailableError): void {
	const now = Date.now();
	if (now - lastLoggedAt < LOG_EVERY_MS) return;
	lastLoggedAt = now;
	console.error(`[keyward] refused with 503 UNAVAILABLE: ${error.message}`);
}

type VerifiedFields =
	| "keyId"
	| "accountId"
	| "environment"
	| "scopes"
	| "expiresAt"
	| "ratelimit"
	| "ratelimits"
	| "externalId"
	| "meta"
	| "serviceAccountId";
/**
 * The key that was presented, as Keyward vouches for it: who it belongs to (`externalId`, your
 * customer; `serviceAccountId`), your `meta`, its limits, and its `credits` when it has some.
 */
export type VerifiedKey = Required<Pick<VerifyResult, VerifiedFields>> & Pick<VerifyResult, "credits">;

/** Why a request was refused: Keyward's code, or `MISSING_KEY`, or `UNAVAILABLE` when Keyward could not answer. */
export type DenialCode = Exclude<VerifyResult["code"], "VALID"> | "MISSING_KEY" | "UNAVAILABLE";

/** The problem the protected API answers with (RFC 9457, plus the `code`). */
export interface DenialProblem {
	type: string;
	title: string;
	status: number;
	detail: string;
	code: DenialCode;
}

export interface Denial {
	code: DenialCode;
	status: 401 | 403 | 429 | 503;
	problem: DenialProblem;
	/** Rate-limit headers (and `Retry-After`, `WWW-Authenticate` where they apply) for the response. */
	headers: Record<string, string>;
	/** For `UNAVAILABLE`: a `KeywardUnavailableError` saying what to check; its `cause` is what was thrown. */
	cause?: unknown;
}

export type RequestVerdict =
	| { ok: true; key: VerifiedKey; headers: Record<string, string> }
	| ({ ok: false; response: Response } & Denial);

const PROBLEMS = "https://keyward.dev/problems/";
/** RFC 6750 §3: how a bearer-protected resource says what was wrong with the token. */
const bearer = (error?: string) => ({ "WWW-Authenticate": error ? `Bearer error="${error}"` : "Bearer" });

const DENIALS: Record<DenialCode, { status: Denial["status"]; kind: string; title: string; detail: string }> = {
	MISSING_KEY: {
		status: 401,
		kind: "unauthorized",
		title: "Authentication required",
		detail: "Send an API key: Authorization: Bearer <key>",
	},
	NOT_FOUND: {
		status: 401,
		kind: "unauthorized",
		title: "Authentication required",
		detail: "The API key is not valid",
	},
	EXPIRED: { status: 401, kind: "unauthorized", title: "Authentication required", detail: "The API key has expired" },
	REVOKED: { status: 401, kind: "unauthorized", title: "Authentication required", detail: "The API key was revoked" },
	DISABLED: {
		status: 401,
		kind: "unauthorized",
		title: "Authentication required",
		detail: "The API key is disabled",
	},
	IP_NOT_ALLOWED: {
		status: 403,
		kind: "forbidden",
		title: "Forbidden",
		detail: "The API key may not be used from this address",
	},
	INSUFFICIENT_SCOPE: {
		status: 403,
		kind: "forbidden",
		title: "Forbidden",
		detail: "The API key lacks a scope this request needs",
	},
	RATE_LIMITED: {
		status: 429,
		kind: "quota-exceeded",
		title: "Too many requests",
		detail: "The API key's rate limit is used up",
	},
	USAGE_EXCEEDED: {
		status: 429,
		kind: "quota-exceeded",
		title: "Too many requests",
		detail: "The API key's credits are used up",
	},
	UNAVAILABLE: {
		status: 503,
		kind: "service-unavailable",
		title: "Service unavailable",
		detail: "API keys cannot be checked right now",
	},
};

/** `Authorization: Bearer <key>` (scheme case-insensitive, RFC 9110 §11.1), else `X-API-Key`. Never the URL. */
export function keyFromHeaders(headers: Headers): string | null {
	const match = /^Bearer\s+(\S+)\s*$/i.exec(headers.get("Authorization") ?? "");
	return match?.[1] ?? headers.get("X-API-Key")?.trim() ?? null;
}

/** Seconds until `resetAt`, at least 1: the value of `Retry-After` for a rate-limited key. */
export function secondsUntil(resetAt: string | undefined, now: number = Date.now()): number {
	const at = resetAt ? Date.parse(resetAt) : Number.NaN;
	return Number.isNaN(at) ? 1 : Math.max(1, Math.ceil((at - now) / 1000));
}

/** What a refusal says besides its body: how to authenticate (RFC 6750), or when to come back. */
function refusalHeaders(code: DenialCode, result?: VerifyResult): Record<string, string> {
	if (code === "RATE_LIMITED") return { "Retry-After": String(secondsUntil(result?.ratelimit?.resetAt)) };
	if (code === "MISSING_KEY") return bearer();
	if (code === "INSUFFICIENT_SCOPE") return bearer("insufficient_scope");
	return DENIALS[code].status === 401 ? bearer("invalid_token") : {};
}

/**
 * The denial for a code. The key's rate-limit `headers` go along only when the code is
 * `RATE_LIMITED`: a client refused for its address, scope, expiry or revocation learns nothing of
 * the key's limit or live usage (Keyward sends none then either; this holds against an older one).
 */
export function denialFor(code: DenialCode, headers: Record<string, string> = {}, result?: VerifyResult): Denial {
	const { status, kind, title, detail } = DENIALS[code];
	return {
		code,
		status,
		problem: { type: PROBLEMS + kind, title, status, detail, code },
		headers: { ...(code === "RATE_LIMITED" ? headers : {}), ...refusalHeaders(code, result) },
	};
}

/** The problem response for a denial, as the middleware sends it. */
export function denialResponse(denial: Denial): Response {
	const headers = new Headers(denial.headers);
	headers.set("Content-Type", "application/problem+json; charset=utf-8");
	headers.set("Cache-Control", "no-store");
	return new Response(JSON.stringify(denial.problem), { status: denial.status, headers });
}

const refused = (denial: Denial): RequestVerdict => ({ ok: false, ...denial, response: denialResponse(denial) });

/**
 * The verdict on one incoming request. Never throws for a verdict or an outage (Keyward down, slow
 * or misconfigured is `UNAVAILABLE`, 503: fail closed); a `400` from Keyward means the options are
 * wrong (a malformed required scope), which no retry fixes, so that is thrown.
 */
export async function verifyRequest(request: Request, options: VerifyRequestOptions): Promise<RequestVerdict> {
	const key = (options.getKey ?? ((r) => keyFromHeaders(r.headers)))(request);
	if (!key) return refused(denialFor("MISSING_KEY"));
	// Longer than any key: answered as the API would (NOT_FOUND), without asking it.
	if (key.length > 256) return refused(denialFor("NOT_FOUND"));
	// No address is longer than 64 characters; a cut one still fails an allowlist, as it should.
	const ip = (options.getIp ?? ((r) => r.headers.get("CF-Connecting-IP")))(request)?.slice(0, 64);
	let outcome: Awaited<ReturnType<typeof verifyKey>>;
	try {
		outcome = await verifyKey(
			options.service,
			{
				key,
				requiredScopes: options.requiredScopes ?? [],
				...(ip ? { ip } : {}),
				...(options.cost === undefined
					? {}
					: { cost: typeof options.cost === "function" ? options.cost(request) : options.cost }),
				...(options.ratelimits ? { ratelimits: options.ratelimits } : {}),
			},
			options,
		);
	} catch (err) {
		if (err instanceof KeywardError && err.status === 400) throw err;
		const cause = explainUnavailable(options.service, err);
		(options.onUnavailable ?? logUnavailable)(cause);
		return refused({ ...denialFor("UNAVAILABLE"), cause });
	}
	const { result, headers } = outcome;
	if (result.code !== "VALID") return refused(denialFor(result.code, headers, result));
	const verified = result as VerifiedKey;
	const { keyId, accountId, environment, scopes, expiresAt, ratelimit, credits } = verified;
	const vouched: VerifiedKey = {
		keyId,
		accountId,
		environment,
		scopes,
		expiresAt,
		ratelimit,
		// Older Keyward versions send none of these: null and [] rather than undefined.
		ratelimits: verified.ratelimits ?? [],
		externalId: verified.externalId ?? null,
		meta: verified.meta ?? null,
		serviceAccountId: verified.serviceAccountId ?? null,
		...(credits ? { credits } : {}),
	};
	return { ok: true, key: vouched, headers };
}
