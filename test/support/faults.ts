/** Real bindings with one injected fault each: a failing batch, a lost object connection, a held write. */
import { env } from "cloudflare:test";
import type { Env } from "../../src/platform/env";

/**
 * The real D1 binding with a fault in its `failOn`-th batch (every batch when 0): the batch's own
 * statements run, then one that violates a constraint, so real D1 rolls the whole batch back — a
 * failure in the middle of a multi-row write, with D1's own error.
 */
export function d1FailingInBatch(failOn = 0): D1Database {
	let batches = 0;
	return new Proxy(env.DB, {
		get(target, prop) {
			if (prop === "batch") {
				return (statements: D1PreparedStatement[]) => {
					batches++;
					if (failOn !== 0 && batches !== failOn) return target.batch(statements);
					const fault = target.prepare(
						"INSERT INTO accounts (id, name, settings, created_at) VALUES (NULL, NULL, NULL, NULL)",
					);
					return target.batch([...statements, fault]);
				};
			}
			const value = Reflect.get(target, prop);
			return typeof value === "function" ? value.bind(target) : value;
		},
	});
}

/**
 * The real Durable Object namespace, except that the named methods of every object fail the way a
 * lost connection to the object does (retryable), the first `times` calls (every call when
 * omitted); everything else reaches the real objects.
 */
export function accountObjectsFailing(methods: string[], times = Number.POSITIVE_INFINITY): Env["ACCOUNT_GUARD"] {
	let failures = 0;
	return new Proxy(env.ACCOUNT_GUARD, {
		get(target, prop) {
			if (prop === "get")
				return (id: DurableObjectId) => {
					const real = target.get(id);
					return new Proxy(real, {
						get(stub, method) {
							if (typeof method === "string" && methods.includes(method) && failures < times)
								return async () => {
									failures++;
									throw Object.assign(new Error("Network connection lost."), { retryable: true });
								};
							// An RPC stub answers every property with a remote method, so forward calls by name.
							return (...args: unknown[]) =>
								(stub as unknown as Record<string | symbol, (...a: unknown[]) => unknown>)[method]?.(...args);
						},
					});
				};
			const value = Reflect.get(target, prop);
			return typeof value === "function" ? value.bind(target) : value;
		},
	});
}

/** Every object's `verifyKey` fails as a lost connection does. */
export const accountObjectsFailingVerify = (): Env["ACCOUNT_GUARD"] => accountObjectsFailing(["verifyKey"]);

/**
 * The real D1, except that every batch (a lifecycle's one conditional write, a removal's first
 * step) waits until `release()`: a test holds one request at its write while another commits, and
 * so forces a race window open.
 */
export function d1HeldUntilReleased(): { db: D1Database; release: () => void } {
	let release = () => {};
	const open = new Promise<void>((resolve) => {
		release = resolve;
	});
	const db = new Proxy(env.DB, {
		get(target, prop) {
			if (prop === "batch")
				return async (statements: D1PreparedStatement[]) => {
					await open;
					return target.batch(statements);
				};
			const value = Reflect.get(target, prop);
			return typeof value === "function" ? value.bind(target) : value;
		},
	});
	return { db, release: () => release() };
}
