/**
 * The console is a thin layer over the public API: each page and form calls
 * the same operations a client would, through the SDK's typed client (method
 * names, path parameters, bodies and results all generated from the OpenAPI
 * document), sent to the app itself in-process (no network hop) with the
 * visitor's session token as the bearer. Validation, permissions, auditing and
 * problems are therefore exactly the API's; the console only renders them.
 */
import type { Context } from "hono";
import { getCookie } from "hono/cookie";
import { createKeywardClient, type KeywardClient } from "../../../sdk/src/client.js";
import { KeywardError, type Problem } from "../../../sdk/src/problem.js";
import { KeywardPathError } from "../../../sdk/src/transport.js";
import { DEVICE_COOKIE } from "../../identity/devices";
import { SESSION_COOKIE } from "../../identity/sessions";
import type { App, AppEnv } from "../../platform/app-env";
import { ApiError } from "../../problems";
import { SSO_BROWSER_COOKIE } from "../../sso/sign-in";

export type { KeywardClient, Problem };
export { KeywardError };

export type ApiResult<T> = { ok: true; data: T } | { ok: false; status: number; problem: Problem };

export interface ConsoleApi {
	token: string | null;
	/** One typed call as the visitor; a problem comes back as a value (the page renders it), never thrown. */
	call<T>(operation: (client: KeywardClient) => Promise<T>): Promise<ApiResult<T>>;
	/** A GET of the API as the visitor, answered as is: for a body to stream through (the audit export). */
	raw(path: string): Promise<Response>;
}

const BROWSER_COOKIES = [DEVICE_COOKIE, SSO_BROWSER_COOKIE];

/** Headers of the browser's request that the API needs to see as its own (throttles, new-device notices). */
const FORWARDED = ["CF-Connecting-IP", "User-Agent", "CF-IPCountry"];

export function consoleApi(c: Context<AppEnv>, app: App, token = getCookie(c, SESSION_COOKIE) ?? null): ConsoleApi {
	const origin = new URL(c.req.url).origin;
	const send = async (request: Request) => {
		const headers = new Headers(request.headers);
		for (const name of FORWARDED) {
			const value = c.req.header(name);
			if (value) headers.set(name, value);
		}
		// The browser's device cookie, so its sign-ins count in the known-device budget.
		const device = getCookie(c, DEVICE_COOKIE);
		if (device) headers.set("X-Keyward-Device", device);
		const res = await app.fetch(new Request(request, { headers }), c.env, c.executionCtx);
		// The cookies the API sets for the browser itself: its device, and the one that ties a single sign-on to it.
		for (const cookie of res.headers.getSetCookie())
			if (BROWSER_COOKIES.some((name) => cookie.startsWith(`${name}=`)))
				c.header("Set-Cookie", cookie, { append: true });
		return res;
	};
	const client = createKeywardClient({
		baseUrl: origin,
		token: token ?? undefined,
		// The console answers a person: never wait and try again on their behalf.
		retry: { retries: 0 },
		fetch: send,
	});
	return {
		token,
		raw: (path) =>
			send(new Request(`${origin}${path}`, { headers: token ? { Authorization: `Bearer ${token}` } : {} })),
		async call(operation) {
			try {
				return { ok: true, data: await operation(client) };
			} catch (err) {
				if (err instanceof KeywardError) return { ok: false, status: err.status, problem: err.problem };
				// An id from the console's own URL that is empty or a dot segment names nothing.
				if (err instanceof KeywardPathError) throw new ApiError("not-found", { detail: "No such item" });
				throw err;
			}
		},
	};
}

/** Field name → message, from a problem's `errors` (the API names every bad field). */
export function fieldErrors(problem: Pick<Problem, "errors"> | null | undefined): Record<string, string> {
	const out: Record<string, string> = {};
	for (const e of problem?.errors ?? []) {
		const field = e.path.split(".")[0] || "_form";
		out[field] ??= e.message;
	}
	return out;
}

/** A problem of the given kind (`reauthentication-required`, say). */
export const isProblem = (problem: Problem | null | undefined, kind: string): boolean =>
	problem?.type === `https://keyward.dev/problems/${kind}`;

type Group = Exclude<keyof KeywardClient, "verify">;
/** What an operation answers, as the SDK types it (`Result<"keys", "list">`). */
export type Result<G extends Group, N extends keyof KeywardClient[G]> = KeywardClient[G][N] extends (
	...args: never[]
) => Promise<infer T>
	? T
	: never;
/** The body an operation takes, as the SDK types it. */
export type Body<G extends Group, N extends keyof KeywardClient[G]> = KeywardClient[G][N] extends (
	input: infer I,
	...rest: never[]
) => unknown
	? I extends { body?: infer B }
		? B
		: never
	: never;
