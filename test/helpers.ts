import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { type App, type AppOptions, createApp } from "../src/app";
import type { Env } from "../src/env";

export const BASE = "https://keyward.test";

export interface TestApp {
	app: App;
	logs: string[];
	/** Sends a request through the app with the real local bindings, optionally overriding vars. */
	request(path: string, init?: RequestInit, envOverrides?: Partial<Env>): Promise<Response>;
}

export function testApp(options: AppOptions = {}): TestApp {
	const logs: string[] = [];
	const app = createApp({ log: (line) => logs.push(line), ...options });
	return {
		app,
		logs,
		async request(path, init, envOverrides) {
			const ctx = createExecutionContext();
			const res = await app.fetch(new Request(BASE + path, init), { ...env, ...envOverrides }, ctx);
			await waitOnExecutionContext(ctx);
			return res;
		},
	};
}

export const jsonRequest = (method: string, body: unknown, headers: Record<string, string> = {}): RequestInit => ({
	method,
	headers: { "Content-Type": "application/json", ...headers },
	body: typeof body === "string" ? body : JSON.stringify(body),
});

/** Asserts the shape every error must have and returns the parsed problem. */
export async function expectProblem(res: Response, status: number, type?: string) {
	const { expect } = await import("vitest");
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
		errors?: { path: string; message: string }[];
	};
	expect(body.status).toBe(status);
	expect(body.requestId).toBe(res.headers.get("X-Request-Id"));
	if (type) expect(body.type).toBe(`https://keyward.dev/problems/${type}`);
	return body;
}
