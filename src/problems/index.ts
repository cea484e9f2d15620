/**
 * The one error type of the API and the one place that turns errors into
 * RFC 9457 problem documents. Nothing else builds error bodies, so no error can
 * carry a stack trace, SQL or a secret: unknown errors become a bare 500.
 */
import type { z } from "zod";
// Field messages in plain words: installs zod's global error map before any schema parses.
import "./plain-messages";

export const PROBLEM_BASE = "https://keyward.dev/problems/";

export interface FieldError {
	path: string;
	message: string;
}

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

const KINDS: Record<ProblemKind, { status: number; title: string }> = {
	validation: { status: 400, title: "Invalid request" },
	unauthorized: { status: 401, title: "Authentication required" },
	forbidden: { status: 403, title: "Forbidden" },
	"not-found": { status: 404, title: "Not found" },
	"method-not-allowed": { status: 405, title: "Method not allowed" },
	conflict: { status: 409, title: "Conflict" },
	locked: { status: 423, title: "Account locked down" },
	"email-unverified": { status: 403, title: "Verify your email address first" },
	"reauthentication-required": { status: 403, title: "Confirm it is you" },
	"payload-too-large": { status: 413, title: "Payload too large" },
	"unsupported-media-type": { status: 415, title: "Unsupported media type" },
	"quota-exceeded": { status: 429, title: "Too many requests" },
	"https-required": { status: 403, title: "HTTPS required" },
	"sso-required": { status: 403, title: "Sign in with single sign-on" },
	internal: { status: 500, title: "Internal server error" },
	"service-unavailable": { status: 503, title: "Service unavailable" },
};

/**
 * Why a 401 refused the credential, so a client can react (sign in again, fix its header, stop
 * using a key) without reading `detail`.
 */
export type CredentialProblem =
	| "missing_credentials"
	| "malformed_authorization"
	| "invalid_token"
	| "session_expired"
	| "session_revoked"
	| "key_revoked"
	| "key_expired"
	| "key_disabled";

export const CREDENTIAL_PROBLEMS: readonly CredentialProblem[] = [
	"missing_credentials",
	"malformed_authorization",
	"invalid_token",
	"session_expired",
	"session_revoked",
	"key_revoked",
	"key_expired",
	"key_disabled",
];

export interface ApiErrorOptions {
	detail?: string;
	/** A 401's reason (`CredentialProblem`), sent as the problem's `code`. */
	code?: CredentialProblem;
	errors?: FieldError[];
	headers?: Record<string, string>;
}

/** Thrown anywhere in a request; rendered by `problemResponse`. */
export class ApiError extends Error {
	readonly kind: ProblemKind;
	readonly status: number;
	readonly detail: string | undefined;
	readonly errors: FieldError[] | undefined;
	readonly headers: Record<string, string>;
	readonly code: CredentialProblem | undefined;

	constructor(kind: ProblemKind, options: ApiErrorOptions = {}) {
		super(options.detail ?? KINDS[kind].title);
		this.name = "ApiError";
		this.kind = kind;
		this.status = KINDS[kind].status;
		this.detail = options.detail;
		this.errors = options.errors;
		this.headers = options.headers ?? {};
		this.code = options.code;
	}
}

export const validationError = (errors: FieldError[], detail?: string): ApiError =>
	new ApiError("validation", {
		detail: detail ?? `${errors.length} field${errors.length === 1 ? " is" : "s are"} invalid`,
		errors,
	});

/** Maps zod issues to `{path, message}`, one per bad field, dotted paths. */
export function fieldErrorsFromZod(issues: readonly z.core.$ZodIssue[], prefix = ""): FieldError[] {
	const out: FieldError[] = [];
	for (const issue of issues) {
		const base = [prefix, ...issue.path.map(String)].filter(Boolean).join(".");
		if (issue.code === "unrecognized_keys") {
			// Name each unknown field, so the client sees exactly what to remove.
			for (const key of issue.keys) {
				out.push({ path: base ? `${base}.${key}` : key, message: "Unknown field" });
			}
			continue;
		}
		out.push({ path: base, message: issue.message });
	}
	return out;
}

/** An RFC 9457 problem as Keyward sends it (API.md §1). */
export interface ProblemDocument {
	type: string;
	title: string;
	status: number;
	detail: string;
	requestId: string;
	code?: CredentialProblem;
	errors?: FieldError[];
}

export function problemBody(error: ApiError, requestId: string): ProblemDocument {
	return {
		type: PROBLEM_BASE + error.kind,
		title: KINDS[error.kind].title,
		status: error.status,
		detail: error.detail ?? KINDS[error.kind].title,
		requestId,
		...(error.code ? { code: error.code } : {}),
		...(error.errors ? { errors: error.errors } : {}),
	};
}

export function problemResponse(error: ApiError, requestId: string): Response {
	const headers = new Headers(error.headers);
	headers.set("Content-Type", "application/problem+json; charset=utf-8");
	return new Response(JSON.stringify(problemBody(error, requestId)), {
		status: error.status,
		headers,
	});
}

const KIND_BY_STATUS = new Map<number, ProblemKind>(
	(Object.entries(KINDS) as [ProblemKind, { status: number }][])
		.filter(([kind]) => kind !== "https-required")
		.map(([kind, { status }]) => [status, kind]),
);

/**
 * Anything that is not an ApiError becomes a problem without its message: a
 * framework HTTP error keeps only its status, everything else is a bare 500.
 */
export function asApiError(err: unknown): ApiError {
	if (err instanceof ApiError) return err;
	const status = (err as { status?: unknown; getResponse?: unknown } | null)?.status;
	if (typeof status === "number" && typeof (err as { getResponse?: unknown }).getResponse === "function") {
		// Hono's validator throws a bare 400 when a route needs a body and none came.
		if (status === 400)
			return validationError([{ path: "", message: "A JSON body is required" }], "The body is missing");
		const kind = KIND_BY_STATUS.get(status);
		if (kind && kind !== "internal") return new ApiError(kind);
	}
	if (isStorageUnavailable(err))
		return new ApiError("service-unavailable", {
			detail: "A storage service did not answer; nothing was half-done, so the request can be repeated",
			headers: { "Retry-After": "1" },
		});
	return new ApiError("internal", { detail: "An unexpected error occurred" });
}

/** A write refused by a UNIQUE index (drizzle wraps D1's error as the `cause`): a conflict, not an outage. */
export function isUniqueViolation(err: unknown): boolean {
	for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++)
		if (/UNIQUE constraint failed/.test(e.message)) return true;
	return false;
}

/**
 * D1 and Durable Object failures that are the platform's, not the request's:
 * D1's `D1_ERROR`/`D1_EXEC_ERROR` (drizzle wraps them as the `cause`), a
 * Durable Object reset or overloaded, a lost connection. Each is answered
 * 503 with Retry-After, so clients retry instead of reporting a bug.
 */
export function isStorageUnavailable(err: unknown): boolean {
	for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
		const flags = e as { retryable?: unknown; overloaded?: unknown };
		if (flags.retryable === true || flags.overloaded === true) return true;
		if (/^D1_(ERROR|EXEC_ERROR)\b/.test(e.message)) return true;
		if (/Network connection lost|Durable Object reset|Durable Object is overloaded/.test(e.message)) return true;
	}
	return false;
}

/**
 * What the logs may keep of an unexpected error: its name and call frames.
 * Never the message: a message (even its later lines, as in a failed query's
 * parameters) can quote input, and input can hold a secret.
 */
export function errorFrames(err: unknown): { name: string; frames: string[] } | string {
	if (!(err instanceof Error)) return typeof err;
	const frames = (err.stack ?? "")
		.split("\n")
		.filter((l) => /^\s+at /.test(l))
		.slice(0, 8);
	return { name: err.name, frames };
}
