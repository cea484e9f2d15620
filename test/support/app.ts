import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { type App, type AppOptions, createApp } from "../../src/app";
import type { Env } from "../../src/platform/env";

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
