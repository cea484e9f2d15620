/**
 * The console is a thin layer over the public API: each page and form calls
 * the same routes a client would, through the app itself (no network hop),
 * with the visitor's session token as the bearer. Validation, permissions,
 * auditing and problems are therefore exactly the API's; the console only
 * renders them.
 */
import type { Context } from "hono";
import { getCookie } from "hono/cookie";
import { DEVICE_COOKIE } from "../../identity/devices";
import { SESSION_COOKIE } from "../../identity/sessions";
import type { App, AppEnv } from "../../platform/app-env";
import { ApiError } from "../../problems";

/**
 * An API path with every interpolated value encoded as one path segment. Values come from the
 * console's own URL (decoded by the router), so `..%2F..%2Facc_B` arrives as `../../acc_B`: put
 * into a path unencoded, the URL parser would resolve it into another account's route. A bare
 * dot segment survives encoding (and `%2e%2e` counts as one), so those are refused outright.
 */
export function apiPath(strings: TemplateStringsArray, ...values: string[]): string {
	return strings.reduce((path, literal, i) => {
		if (i >= values.length) return path + literal;
		const value = values[i] ?? "";
		if (value === "" || value === "." || value === "..") throw new ApiError("not-found", { detail: "No such item" });
		return path + literal + encodeURIComponent(value);
	}, "");
}

export interface Problem {
	status: number;
	title: string;
	detail?: string;
	errors?: { path: string; message: string }[];
}

export type ApiResult<T> =
	| { ok: true; status: number; data: T; headers: Headers }
	| { ok: false; status: number; problem: Problem; headers: Headers };

export interface ConsoleApi {
	token: string | null;
	call<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<ApiResult<T>>;
}

export function consoleApi(c: Context<AppEnv>, app: App, token = getCookie(c, SESSION_COOKIE) ?? null): ConsoleApi {
	return {
		token,
		async call<T>(method: string, path: string, body?: unknown): Promise<ApiResult<T>> {
			const headers = new Headers();
			if (token) headers.set("Authorization", `Bearer ${token}`);
			for (const name of ["CF-Connecting-IP", "User-Agent", "CF-IPCountry"]) {
				const value = c.req.header(name);
				if (value) headers.set(name, value);
			}
			// The browser's device cookie, so its sign-ins count in the known-device budget.
			const device = getCookie(c, DEVICE_COOKIE);
			if (device) headers.set("X-Keyward-Device", device);
			if (body !== undefined) headers.set("Content-Type", "application/json");
			const request = new Request(new URL(path, c.req.url), {
				method,
				headers,
				body: body === undefined ? undefined : JSON.stringify(body),
			});
			const res = await app.fetch(request, c.env, c.executionCtx);
			for (const cookie of res.headers.getSetCookie())
				if (cookie.startsWith(`${DEVICE_COOKIE}=`)) c.header("Set-Cookie", cookie, { append: true });
			const text = await res.text();
			const parsed = text ? (JSON.parse(text) as unknown) : {};
			if (res.ok) return { ok: true, status: res.status, data: parsed as T, headers: res.headers };
			return { ok: false, status: res.status, problem: parsed as Problem, headers: res.headers };
		},
	};
}

/** Field name → message, from a problem's `errors` (the API names every bad field). */
export function fieldErrors(problem: Problem | null | undefined): Record<string, string> {
	const out: Record<string, string> = {};
	for (const e of problem?.errors ?? []) {
		const field = e.path.split(".")[0] || "_form";
		out[field] ??= e.message;
	}
	return out;
}
