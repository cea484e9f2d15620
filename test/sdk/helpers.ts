import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { createKeywardClient, type FetchLike, type KeywardClientOptions } from "../../sdk/src/index.js";
import type { App } from "../../src/app";
import type { Env } from "../../src/platform/env";
import { BASE } from "../support/app";

/**
 * A fetch that hands every request to the real app with the real local bindings: the SDK under
 * test talks to Keyward itself, not to a mock. `calls` counts what went through.
 */
export function appFetch(app: App, envOverrides: Partial<Env> = {}): FetchLike & { calls: Request[] } {
	const calls: Request[] = [];
	const fetch = async (request: Request) => {
		calls.push(request);
		const ctx = createExecutionContext();
		const res = await app.fetch(request, { ...env, ...envOverrides }, ctx);
		await waitOnExecutionContext(ctx);
		return res;
	};
	return Object.assign(fetch, { calls });
}

/** The SDK's client pointed at the real app. */
export const sdkClient = (app: App, options: Partial<KeywardClientOptions> = {}) =>
	createKeywardClient({ baseUrl: BASE, fetch: appFetch(app), ...options });

/** The token in a development-outbox email (verification, reset, invitation). */
export const tokenInMail = (text: string | undefined): string => /\n\n([a-z2-7]+)\n/.exec(text ?? "")?.[1] ?? "";
