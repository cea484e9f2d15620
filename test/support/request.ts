/** Requests and answers as the tests write them: JSON bodies, bearer credentials, problems checked for shape. */
import { expect } from "vitest";
import type { TestApp } from "./app";

export const jsonRequest = (method: string, body: unknown, headers: Record<string, string> = {}): RequestInit => ({
	method,
	headers: { "Content-Type": "application/json", ...headers },
	body: typeof body === "string" ? body : JSON.stringify(body),
});

/** Asserts the shape every error must have and returns the parsed problem. */
export async function expectProblem(res: Response, status: number, type?: string) {
	expect(res.status).toBe(status);
	expect(res.headers.get("Content-Type")).toBe("application/problem+json; charset=utf-8");
	const text = await res.text();
	expect(text).not.toMatch(/\bat [\w.<>]+ \(|\.ts:\d+|stack|SQLITE|D1_ERROR/i);
	const body = JSON.parse(text) as {
		type: string;
		title: string;
		status: number;
		detail: string;
		requestId: string;
		code?: string;
		errors?: { path: string; message: string }[];
	};
	expect(body.status).toBe(status);
	expect(body.requestId).toBe(res.headers.get("X-Request-Id"));
	if (type) expect(body.type).toBe(`https://keyward.dev/problems/${type}`);
	return body;
}

/** The `Authorization` header of a session token or an API key. */
export const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

/** A request made as the holder of `token`: with a JSON body when one is given. */
export const as = (token: string, method = "GET", body?: unknown, extra: Record<string, string> = {}): RequestInit =>
	body === undefined
		? { method, headers: { ...bearer(token), ...extra } }
		: jsonRequest(method, body, { ...bearer(token), ...extra });

/** Creates a key through the API (a staging key with one plain scope unless `body` says otherwise); expects 201. */
export async function createKey(t: TestApp, token: string, accountId: string, body: Record<string, unknown> = {}) {
	const res = await t.request(
		`/v1/accounts/${accountId}/keys`,
		as(token, "POST", { name: "k", environment: "staging", scopes: ["data:read"], ...body }),
	);
	expect(res.status).toBe(201);
	return res.json<{ key: { id: string; start: string; last4: string | null; expiresAt: string }; secret: string }>();
}

/** The verdict code verify gives for a presented key. */
export const verifyCode = async (t: TestApp, secret: string) =>
	(await (await t.request("/v1/keys/verify", jsonRequest("POST", { key: secret }))).json<{ code: string }>()).code;
