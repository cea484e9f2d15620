/**
 * Keyward middleware for Hono, in the shape of Hono's own (`bearerAuth`,
 * `jwt`): a factory of typed options returning a `MiddlewareHandler`.
 *
 *   app.use("/api/*", keyward({ service: (c) => c.env.KEYWARD, requiredScopes: ["invoices:read"] }));
 *   app.get("/api/invoices", (c) => c.json({ account: c.get("keyward").accountId }));
 *
 * A valid key continues with the verified key on the context (`c.get("keyward")`)
 * and the key's rate-limit headers on the response; anything else is answered
 * with a `401`/`403`/`429`/`503` problem, unless `onDenied` answers instead.
 * Imports only Hono's types, so Hono is a peer dependency and nothing more.
 */
import type { Context, Env, MiddlewareHandler } from "hono";
import {
	type Denial,
	type KeywardUnavailableError,
	type VerifiedKey,
	type VerifyRequestOptions,
	verifyRequest,
} from "./request.js";
import type { KeywardService, VerifyKeyOptions } from "./verify.js";

export interface KeywardOptions<E extends Env = Env> extends VerifyKeyOptions {
	/**
	 * Keyward's base URL, a service binding to its `KeywardVerifier` entrypoint, or a function of
	 * the context giving either (bindings live on `c.env`, which exists only per request).
	 */
	service: KeywardService | ((c: Context<E>) => KeywardService);
	/** Every one must be granted to the key. */
	requiredScopes?: string[];
	/** Where the key is; by default `Authorization: Bearer <key>`, else `X-API-Key`. */
	getKey?: (c: Context<E>) => string | null | undefined;
	/** Credits the request spends (default 1; 0 checks without spending), or a function of the context. */
	cost?: number | ((c: Context<E>) => number);
	/** The key's named limits to check (default: all, 1 each). */
	ratelimits?: VerifyRequestOptions["ratelimits"];
	/** The client's address for IP allowlists; by default `CF-Connecting-IP`. */
	getIp?: (c: Context<E>) => string | null | undefined;
	/** Answers a refused request instead of the default problem response. */
	onDenied?: (c: Context<E>, denial: Denial) => Response | Promise<Response>;
	/** Told why Keyward could not answer; by default `console.error`, at most once every 10 s. */
	onUnavailable?: (error: KeywardUnavailableError) => void;
}

/** What the middleware puts on the context. */
export interface KeywardVariables {
	keyward: VerifiedKey;
}

// As Hono's own middleware does (`jwtPayload`, `requestId`): `c.get("keyward")` is typed in every
// handler once this module is imported, without threading the variables through each app's generics.
declare module "hono" {
	interface ContextVariableMap extends KeywardVariables {}
}

export function keyward<E extends Env = Env>(
	options: KeywardOptions<E>,
): MiddlewareHandler<E & { Variables: KeywardVariables }> {
	return async (c, next) => {
		const context = c as unknown as Context<E>;
		const { service, getKey, getIp } = options;
		const verdict = await verifyRequest(c.req.raw, {
			service: typeof service === "function" ? service(context) : service,
			requiredScopes: options.requiredScopes,
			fetch: options.fetch,
			timeoutMs: options.timeoutMs,
			...(options.rootKey ? { rootKey: options.rootKey } : {}),
			...(getKey ? { getKey: () => getKey(context) } : {}),
			...(options.cost === undefined ? {} : { cost: () => resolveCost(options.cost, context) }),
			...(options.ratelimits ? { ratelimits: options.ratelimits } : {}),
			...(getIp ? { getIp: () => getIp(context) } : {}),
			...(options.onUnavailable ? { onUnavailable: options.onUnavailable } : {}),
		});
		if (!verdict.ok) return options.onDenied ? options.onDenied(context, verdict) : verdict.response;
		c.set("keyward", verdict.key);
		await next();
		for (const [name, value] of Object.entries(verdict.headers)) c.header(name, value);
	};
}

function resolveCost<E extends Env>(cost: KeywardOptions<E>["cost"], c: Context<E>): number {
	return typeof cost === "function" ? cost(c) : (cost ?? 1);
}
