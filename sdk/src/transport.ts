/**
 * One HTTP call to the API: URL from the operation's path template, bearer
 * credential, JSON body, a timeout per attempt, retries for idempotent calls
 * on 429/503, and every failure as a typed error. Web-standard APIs only
 * (fetch, Request, Headers, URL, AbortSignal), so it runs in Workers,
 * browsers, Node 20+, Deno and Bun alike.
 */
import type { HttpMethod } from "./operations.js";
import { errorForProblem, KeywardTimeoutError, problemFrom } from "./problem.js";
import { DEFAULT_RETRY, isRetryableStatus, parseRetryAfter, type RetryOptions, retryDelayMs, sleep } from "./retry.js";

export type FetchLike = (request: Request) => Promise<Response>;

export interface TransportOptions {
	/** Where the API is, such as `https://api.keyward.dev`. */
	baseUrl: string;
	/** A session token or an API key, sent as `Authorization: Bearer`; a function is asked on every call. */
	token?: string | (() => string | null | undefined);
	/** Defaults to the global `fetch`; pass your own for tests, proxies or a service binding's `fetch`. */
	fetch?: FetchLike;
	/** Per attempt. Default 10 s. */
	timeoutMs?: number;
	retry?: RetryOptions;
	/** Sent with every call (a `User-Agent`, say). */
	headers?: Record<string, string>;
}

export interface CallOptions {
	signal?: AbortSignal;
	timeoutMs?: number;
	/** Overrides the client's credential for this call. */
	token?: string;
	retry?: RetryOptions;
}

export interface CallSpec {
	method: HttpMethod;
	path: string;
	idempotent: boolean;
}

export interface CallResult<T> {
	data: T;
	response: Response;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/** A path parameter that is missing, empty or a dot segment: the call is never sent. */
export class KeywardPathError extends TypeError {
	constructor(message: string) {
		super(message);
		this.name = "KeywardPathError";
	}
}

/**
 * `/v1/accounts/{accountId}` with `{accountId: "acc_1"}` → `/v1/accounts/acc_1`, each value escaped
 * as one segment. A bare `.` or `..` survives escaping and the URL parser would resolve it into
 * another route (`{accountId: ".."}` on a key route reaching another account's), so those are refused.
 */
export function expandPath(template: string, input: Record<string, unknown>): string {
	return template.replace(/\{(\w+)\}/g, (_, name: string) => {
		const value = input[name];
		if (typeof value !== "string" || value === "")
			throw new KeywardPathError(`Keyward: missing path parameter "${name}"`);
		if (value === "." || value === "..")
			throw new KeywardPathError(`Keyward: path parameter "${name}" may not be a dot segment`);
		return encodeURIComponent(value);
	});
}

export function buildUrl(baseUrl: string, spec: CallSpec, input: Record<string, unknown>): URL {
	const url = new URL(baseUrl.replace(/\/+$/, "") + expandPath(spec.path, input));
	const query = (input.query ?? {}) as Record<string, unknown>;
	for (const [name, value] of Object.entries(query)) {
		if (value === undefined || value === null) continue;
		for (const item of Array.isArray(value) ? value : [value]) url.searchParams.append(name, String(item));
	}
	return url;
}

function buildRequest(options: TransportOptions, spec: CallSpec, input: Record<string, unknown>, call: CallOptions) {
	const headers = new Headers(options.headers);
	headers.set("Accept", "application/json, application/problem+json");
	const token = call.token ?? (typeof options.token === "function" ? options.token() : options.token);
	if (token) headers.set("Authorization", `Bearer ${token}`);
	let body: string | undefined;
	if (input.body !== undefined) {
		headers.set("Content-Type", "application/json");
		body = JSON.stringify(input.body);
	}
	const url = buildUrl(options.baseUrl, spec, input);
	// A fresh Request per attempt: a body can be read only once.
	return (signal: AbortSignal) => new Request(url, { method: spec.method.toUpperCase(), headers, body, signal });
}

/** JSON parsed; NDJSON (the audit export) and other text as a string; no body at all (202, 204) as undefined. */
async function readBody(response: Response): Promise<unknown> {
	// Decoded by hand: some runtimes warn when .text() meets a content type they do not know as text.
	const text = new TextDecoder().decode(await response.arrayBuffer());
	const type = response.headers.get("content-type") ?? "";
	if (type.includes("json") && !type.includes("ndjson")) return text === "" ? undefined : JSON.parse(text);
	return text === "" && type === "" ? undefined : text;
}

/** Sends one call, retrying as the policy allows; resolves with the parsed success body or throws. */
export async function send<T>(
	options: TransportOptions,
	spec: CallSpec,
	input: Record<string, unknown>,
	call: CallOptions = {},
): Promise<CallResult<T>> {
	const doFetch: FetchLike = options.fetch ?? ((request) => fetch(request));
	const retry = { ...DEFAULT_RETRY, ...options.retry, ...call.retry };
	const timeoutMs = call.timeoutMs ?? options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
	const makeRequest = buildRequest(options, spec, input, call);
	for (let attempt = 0; ; attempt++) {
		const timeout = AbortSignal.timeout(timeoutMs);
		const signal = call.signal ? AbortSignal.any([call.signal, timeout]) : timeout;
		let response: Response;
		try {
			response = await doFetch(makeRequest(signal));
			// The body is read under the same deadline as the headers.
			if (response.ok) return { data: (await readBody(response)) as T, response };
		} catch (err) {
			if (timeout.aborted && !call.signal?.aborted) throw new KeywardTimeoutError(timeoutMs);
			throw err;
		}
		const retryAfterMs = parseRetryAfter(response.headers.get("retry-after"));
		if (spec.idempotent && isRetryableStatus(response.status)) {
			const delay = retryDelayMs(attempt, retryAfterMs, retry);
			if (delay !== null) {
				await response.body?.cancel();
				await sleep(delay, call.signal);
				continue;
			}
		}
		throw errorForProblem(await problemFrom(response), retryAfterMs === null ? null : retryAfterMs / 1000);
	}
}
