/**
 * Errors the client throws. Every answer outside 2xx becomes a `KeywardError`
 * carrying the RFC 9457 problem the API sent (API.md §1), typed from the
 * OpenAPI document, so callers branch on `problem.type` or `status` rather
 * than on message text.
 */
import type { components } from "./schema.js";

export type Problem = components["schemas"]["Problem"];

/** Why a 401 refused the credential (`KeywardError.code`): sign in again on `session_expired`, and so on. */
export type CredentialProblem = NonNullable<Problem["code"]>;

export const PROBLEM_BASE = "https://keyward.dev/problems/";

/** The problem types the API sends, by their last path segment. */
export type ProblemKind =
	| "validation"
	| "unauthorized"
	| "forbidden"
	| "not-found"
	| "method-not-allowed"
	| "conflict"
	| "locked"
	| "email-unverified"
	| "reauthentication-required"
	| "payload-too-large"
	| "unsupported-media-type"
	| "quota-exceeded"
	| "https-required"
	| "sso-required"
	| "internal"
	| "service-unavailable";

export class KeywardError extends Error {
	readonly status: number;
	readonly problem: Problem;
	/** Seconds the server asked the caller to wait (`Retry-After`), when it said. */
	readonly retryAfterSeconds: number | null;

	constructor(problem: Problem, retryAfterSeconds: number | null = null) {
		super(`${problem.status} ${problem.title}: ${problem.detail}`);
		this.name = "KeywardError";
		this.status = problem.status;
		this.problem = problem;
		this.retryAfterSeconds = retryAfterSeconds;
	}

	/**
	 * On a 401 about the credential, why it was refused: `missing_credentials`,
	 * `malformed_authorization`, `invalid_token`, `session_expired`, `session_revoked`,
	 * `key_revoked`, `key_expired` or `key_disabled`. Null on every other problem.
	 */
	get code(): CredentialProblem | null {
		return this.problem.code ?? null;
	}

	/** True when the problem is of the given kind (`err.is("not-found")`). */
	is(kind: ProblemKind): boolean {
		return this.problem.type === PROBLEM_BASE + kind;
	}
}

/**
 * The action needs a proof of identity from the last ten minutes: call
 * `client.me.reauthenticate({ body: { password } })` (or a second-factor code), switch to the
 * session token it answers with, and repeat the call.
 */
export class ReauthenticationRequiredError extends KeywardError {
	constructor(problem: Problem) {
		super(problem);
		this.name = "ReauthenticationRequiredError";
	}
}

/** The error for a problem: `ReauthenticationRequiredError` for that kind, else `KeywardError`. */
export const errorForProblem = (problem: Problem, retryAfterSeconds: number | null = null): KeywardError =>
	problem.type === `${PROBLEM_BASE}reauthentication-required`
		? new ReauthenticationRequiredError(problem)
		: new KeywardError(problem, retryAfterSeconds);

/** The call did not finish within `timeoutMs`; nothing can be said about whether the server acted. */
export class KeywardTimeoutError extends Error {
	constructor(readonly timeoutMs: number) {
		super(`Keyward did not answer within ${timeoutMs} ms`);
		this.name = "KeywardTimeoutError";
	}
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null;

/** Structural check: a body is used as a problem only when it has the members RFC 9457 and API.md promise. */
export function isProblem(value: unknown): value is Problem {
	return (
		isObject(value) &&
		typeof value.type === "string" &&
		typeof value.title === "string" &&
		typeof value.status === "number" &&
		typeof value.detail === "string"
	);
}

/**
 * The problem for a non-2xx response. A proxy or load balancer in between may
 * answer with HTML or nothing; that still becomes a problem (`about:blank`, as
 * RFC 9457 §4.2.1 says), never a JSON parse error.
 */
/**
 * Takes out anything that looks like a credential: API keys (`kw_live_…`, `kw_test_…`), session
 * tokens (`…ses_….<secret>`) and credentials in URLs (`https://user:pass@`). For text that did not
 * come from Keyward, such as a proxy's error page that echoes the request (and so the key that
 * was being verified), before it goes into an error message or a log.
 */
export function redactSecrets(text: string): string {
	return text
		.replace(/\b(kw_(?:live|test)_)[A-Za-z0-9_-]+/g, "$1[redacted]")
		.replace(/\b(ses_[a-z2-7]+)\.[A-Za-z0-9_-]{8,}/g, "$1.[redacted]")
		.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@:]+:[^\s/@]+@/gi, "$1[redacted]@");
}

const SCIM_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error";
/** The problem kind of a SCIM error's status (the SCIM routes answer in RFC 7644's schema, not RFC 9457's). */
const SCIM_KINDS: Record<number, [ProblemKind, string]> = {
	400: ["validation", "Invalid request"],
	401: ["unauthorized", "Authentication required"],
	403: ["forbidden", "Forbidden"],
	404: ["not-found", "Not found"],
	405: ["method-not-allowed", "Method not allowed"],
	409: ["conflict", "Conflict"],
	413: ["payload-too-large", "Payload too large"],
	415: ["unsupported-media-type", "Unsupported media type"],
	423: ["locked", "Account locked down"],
	429: ["quota-exceeded", "Too many requests"],
	503: ["service-unavailable", "Service unavailable"],
};

/** A SCIM error (`/scim/v2/*`) as the problem it stands for; its `scimType`, when sent, leads the detail. */
function fromScimError(value: unknown, response: Response): Problem | null {
	if (!isObject(value) || !Array.isArray(value.schemas) || !value.schemas.includes(SCIM_ERROR)) return null;
	const status = Number(value.status) || response.status;
	const [kind, title] = SCIM_KINDS[status] ?? ["internal", "Internal server error"];
	const detail = typeof value.detail === "string" ? value.detail : title;
	return {
		type: PROBLEM_BASE + kind,
		title,
		status,
		detail: typeof value.scimType === "string" ? `${value.scimType}: ${detail}` : detail,
		requestId: response.headers.get("x-request-id") ?? "",
	};
}

export async function problemFrom(response: Response): Promise<Problem> {
	const text = await response.text();
	try {
		const body: unknown = JSON.parse(text);
		if (isProblem(body)) return { ...body, requestId: body.requestId ?? response.headers.get("x-request-id") ?? "" };
		const scim = fromScimError(body, response);
		if (scim) return scim;
	} catch {}
	return {
		type: "about:blank",
		title: response.statusText || `HTTP ${response.status}`,
		status: response.status,
		// Not Keyward's answer (a proxy's page, say): it may echo the request, so no credential goes on.
		detail: redactSecrets(text).slice(0, 200) || `HTTP ${response.status}`,
		requestId: response.headers.get("x-request-id") ?? "",
	};
}
