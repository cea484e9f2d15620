/**
 * The `KeywardVerifier` entrypoint through a real service binding
 * (vitest.config.ts binds KEYWARD to this Worker's named export), held to the
 * HTTP route: for every verdict code, every malformed input and every outage,
 * the RPC answers what `POST /v1/keys/verify` answers.
 */
import { createExecutionContext, env, SELF, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { KeywardBinding } from "../../sdk/src/index.js";
import { KeywardVerifier, type VerifyRpcResult } from "../../src/entrypoint";
import { systemClock } from "../../src/platform/clock";
import type { Env } from "../../src/platform/env";
import { testApp } from "../support/app";
import { observedQueue, storedInAccountObject } from "../support/audit";
import { accountObjectsFailingVerify } from "../support/faults";
import { createKey as createKeyAs, jsonRequest } from "../support/request";
import { seedAccount, seedKey } from "../support/seed";

const t = testApp({ log: () => {} });
// The SDK's view of the binding is a structural type; this assignment fails the typecheck if they drift.
const binding: KeywardBinding = env.KEYWARD;

async function overHttp(body: unknown) {
	// Stringified here: jsonRequest sends a string body as it is, and this must be JSON even when a string.
	const res = await SELF.fetch("https://keyward.test/v1/keys/verify", jsonRequest("POST", JSON.stringify(body)));
	const headers: Record<string, string> = {};
	for (const [name, value] of res.headers) if (/ratelimit/i.test(name)) headers[name] = value;
	return { status: res.status, body: await res.json<Record<string, unknown>>(), headers };
}

/** Names lowercased, and the seconds-to-reset (which moves with the clock between two calls) masked. */
function comparable(headers: Record<string, string>) {
	return Object.fromEntries(
		Object.entries(headers)
			.filter(([name]) => name.toLowerCase() !== "x-ratelimit-reset")
			.map(([name, value]) => [name.toLowerCase(), value.replace(/;t=\d+/, ";t=*")])
			.sort(),
	);
}

/** The body with every `resetAt` masked (with `remaining` too when `remaining` is given). */
const withoutResetAt = (body: Record<string, unknown>, remaining?: number) => {
	const mask = (l: object) => ({ ...l, resetAt: "*", ...(remaining === undefined ? {} : { remaining }) });
	return {
		...body,
		...(body.ratelimit ? { ratelimit: mask(body.ratelimit as object) } : {}),
		...(body.ratelimits ? { ratelimits: (body.ratelimits as object[]).map(mask) } : {}),
	};
};

const createKey = async (token: string, accountId: string, body: Record<string, unknown> = {}) =>
	(await createKeyAs(t, token, accountId, { name: "rpc", scopes: ["invoices:read"], ...body })).secret;

describe("KeywardVerifier over a service binding", () => {
	it("answers every code exactly as the HTTP route does", async () => {
		const s = await seedAccount(systemClock);
		const owner = s.users.owner.token;
		const valid = await createKey(owner, s.accountId);
		const revoked = await createKey(owner, s.accountId);
		const revokedId = ((await await binding.verify({ key: revoked })) as { result: { keyId: string } }).result.keyId;
		await t.request(
			`/v1/accounts/${s.accountId}/keys/${revokedId}/revoke`,
			jsonRequest("POST", { reason: "leaked" }, { Authorization: `Bearer ${owner}` }),
		);
		const expired = await seedKey(
			s.accountId,
			s.users.owner.id,
			["invoices:read"],
			new Date(Date.now() - 31 * 86_400_000),
		);
		const fenced = await createKey(owner, s.accountId, { ipAllowlist: ["203.0.113.0/24"] });
		const limited = await createKey(owner, s.accountId, { rateLimit: { limit: 1, windowSeconds: 60 } });
		await overHttp({ key: limited }); // takes the only slot

		const cases: [string, Record<string, unknown>][] = [
			["NOT_FOUND", { key: `${valid.slice(0, -1)}${valid.endsWith("A") ? "B" : "A"}` }],
			["NOT_FOUND", { key: "kw_test_nope" }],
			["EXPIRED", { key: expired.secret }],
			["REVOKED", { key: revoked }],
			["IP_NOT_ALLOWED", { key: fenced, ip: "198.51.100.7" }],
			["INSUFFICIENT_SCOPE", { key: valid, requiredScopes: ["invoices:write"] }],
			["RATE_LIMITED", { key: limited }],
		];
		for (const [code, input] of cases) {
			const http = await overHttp(input);
			const rpc = await binding.verify(input as { key: string });
			if (!rpc.ok) throw new Error(`expected a verdict for ${code}, got ${JSON.stringify(rpc.problem)}`);
			expect(http.status).toBe(200);
			expect(rpc.result.code).toBe(code);
			expect(withoutResetAt(rpc.result)).toEqual(withoutResetAt(http.body));
			expect(comparable(rpc.headers)).toEqual(comparable(http.headers));
		}

		// VALID takes a slot each time, so the second answer has one fewer remaining; all else is equal.
		const http = await overHttp({ key: valid, requiredScopes: ["invoices:read"] });
		const rpc = (await binding.verify({ key: valid, requiredScopes: ["invoices:read"] })) as Extract<
			VerifyRpcResult,
			{ ok: true }
		>;
		expect(rpc.result.code).toBe("VALID");
		const httpLimit = http.body.ratelimit as { remaining: number };
		expect(rpc.result.ratelimit?.remaining).toBe(httpLimit.remaining - 1);
		expect(withoutResetAt(rpc.result, 0)).toEqual(withoutResetAt(http.body, 0));
	});

	it("a malformed input comes back as the HTTP route's 400 problem, not a thrown error", async () => {
		const inputs: unknown[] = [
			{ key: "" },
			{ key: 5 },
			{ key: "kw_test_x", extra: true },
			{ key: "kw_test_x", requiredScopes: ["NOT A SCOPE"] },
			{ key: "x".repeat(300) },
			{},
			"kw_test_x",
			null,
			[],
		];
		for (const input of inputs) {
			const http = await overHttp(input);
			const rpc = await env.KEYWARD.verify(input);
			if (rpc.ok) throw new Error(`expected a problem for ${JSON.stringify(input)}`);
			expect(http.status).toBe(400);
			const { requestId, ...problem } = rpc.problem;
			expect(requestId).toMatch(/^req_/);
			const { requestId: _, ...httpProblem } = http.body;
			expect(problem).toEqual(httpProblem);
		}
	});

	it("an outage or a misconfiguration is the HTTP route's 503 problem", async () => {
		const s = await seedAccount(systemClock);
		const secret = await createKey(s.users.owner.token, s.accountId);
		const broken = accountObjectsFailingVerify();
		for (const overrides of [{ ACCOUNT_GUARD: broken }, { KEY_PEPPER: undefined }] as Partial<Env>[]) {
			const ctx = createExecutionContext();
			// The entrypoint constructed directly, to give it broken bindings; the same class the binding serves.
			const rpc = await new KeywardVerifier(ctx, { ...env, ...overrides }).verify({ key: secret });
			await waitOnExecutionContext(ctx);
			const res = await t.request("/v1/keys/verify", jsonRequest("POST", { key: secret }), overrides);
			const httpProblem = await res.json<Record<string, unknown>>();
			if (rpc.ok) throw new Error("expected a problem");
			expect(res.status).toBe(503);
			expect({ ...rpc.problem, requestId: "*" }).toEqual({ ...httpProblem, requestId: "*" });
			expect(JSON.stringify(rpc.problem)).not.toContain(secret);
		}
	});

	it("records the verdict in the key's account trail, as the HTTP route does; a made-up key records nothing", async () => {
		const s = await seedAccount(systemClock);
		const secret = await createKey(s.users.owner.token, s.accountId);
		const audit = observedQueue();
		const verifier = (ctx: ExecutionContext) => new KeywardVerifier(ctx, { ...env, AUDIT_QUEUE: audit.queue });
		const ctx = createExecutionContext();
		const rpc = await verifier(ctx).verify({ key: secret, requiredScopes: ["invoices:write"] });
		await verifier(ctx).verify({ key: "kw_test_nope" });
		await waitOnExecutionContext(ctx);
		if (!rpc.ok) throw new Error("expected a verdict");
		// Stored by the key's account object in the verify call; the entrypoint itself sends nothing.
		expect(audit.sent).toEqual([]);
		const stored = await storedInAccountObject(s.accountId);
		expect(stored).toEqual([
			expect.objectContaining({
				action: "key.verified",
				accountId: s.accountId,
				outcome: "failure",
				target: { type: "key", id: expect.stringMatching(/^key_/) },
				metadata: expect.objectContaining({ verdict: "INSUFFICIENT_SCOPE", transport: "service-binding" }),
			}),
		]);
		expect(JSON.stringify(stored)).not.toContain(secret);
	});
});
