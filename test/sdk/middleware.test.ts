/**
 * The Hono middleware in a small customer app, verifying through the real
 * service binding and over HTTP against the real app: a valid key reaches the
 * handler with the key on the context and the rate-limit headers on the
 * response; each refusal is the right status and problem.
 */
import { env } from "cloudflare:test";
import { Hono } from "hono";
import { describe, expect, it, vi } from "vitest";
import { keyward } from "../../sdk/src/hono.js";
import {
	type FetchLike,
	type KeywardBinding,
	KeywardError,
	type KeywardService,
	type KeywardUnavailableError,
	keyFromHeaders,
	verifyRequest,
} from "../../sdk/src/index.js";
import { systemClock } from "../../src/platform/clock";
import { testApp } from "../support/app";
import { jsonRequest } from "../support/request";
import { seedAccount, seedKey } from "../support/seed";
import { appFetch } from "./helpers";

const keywardApp = testApp({ log: () => {} });

type CustomerEnv = { Bindings: { KEYWARD: KeywardBinding } };

/** The customer's API: everything under /api needs `invoices:read`. */
function customerApi(
	service: KeywardService | "binding",
	options: { fetch?: FetchLike; timeoutMs?: number; rootKey?: string } = {},
) {
	const app = new Hono<CustomerEnv>();
	app.use(
		"/api/*",
		keyward<CustomerEnv>({
			service: service === "binding" ? (c) => c.env.KEYWARD : service,
			requiredScopes: ["invoices:read"],
			...options,
		}),
	);
	app.get("/api/invoices", (c) => c.json({ key: c.get("keyward") }));
	return (path: string, headers: Record<string, string> = {}) =>
		app.request(path, { headers }, { KEYWARD: env.KEYWARD });
}

async function keys() {
	const s = await seedAccount(systemClock);
	const create = async (body: Record<string, unknown> = {}) => {
		const res = await keywardApp.request(
			`/v1/accounts/${s.accountId}/keys`,
			jsonRequest(
				"POST",
				{ name: "mw", environment: "staging", scopes: ["invoices:read"], ...body },
				{ Authorization: `Bearer ${s.users.owner.token}` },
			),
		);
		return res.json<{ key: { id: string }; secret: string }>();
	};
	const valid = await create({ rateLimit: { limit: 100, windowSeconds: 60 } });
	const revoked = await create();
	await keywardApp.request(
		`/v1/accounts/${s.accountId}/keys/${revoked.key.id}/revoke`,
		jsonRequest("POST", { reason: "test" }, { Authorization: `Bearer ${s.users.owner.token}` }),
	);
	const expired = await seedKey(
		s.accountId,
		s.users.owner.id,
		["invoices:read"],
		new Date(Date.now() - 31 * 86_400_000),
	);
	return {
		accountId: s.accountId,
		valid,
		revoked: revoked.secret,
		expired: expired.secret,
		fenced: (await create({ ipAllowlist: ["203.0.113.0/24"] })).secret,
		unscoped: (await create({ scopes: ["reports:read"] })).secret,
		limited: (await create({ rateLimit: { limit: 1, windowSeconds: 60 } })).secret,
		// The customer's own service, over HTTP: the key with which Keyward honours the client address it sends.
		root: (await create({ scopes: ["keys:verify"] })).secret,
		customer: (
			await create({
				externalId: "cus_42",
				meta: { plan: "pro" },
				credits: { remaining: 5 },
				rateLimits: [
					{ name: "default", limit: 100, windowSeconds: 60 },
					{ name: "burst", limit: 10, windowSeconds: 1 },
				],
			})
		).secret,
	};
}

const transports = [
	["a service binding", (_rootKey?: string) => customerApi("binding")],
	["HTTP", (rootKey?: string) => customerApi("https://keyward.test", { fetch: appFetch(keywardApp.app), rootKey })],
] as const;

describe.each(transports)("keyward() middleware through %s", (_, makeApi) => {
	it("lets a valid key through with the key on the context and the rate-limit headers on the response", async () => {
		const k = await keys();
		const api = makeApi(k.root);
		const presented: Record<string, string>[] = [
			{ Authorization: `Bearer ${k.valid.secret}` },
			{ "X-API-Key": k.valid.secret },
		];
		for (const headers of presented) {
			const res = await api("/api/invoices", headers);
			expect(res.status).toBe(200);
			const { key } = await res.json<{ key: Record<string, unknown> }>();
			expect(key).toMatchObject({
				keyId: k.valid.key.id,
				accountId: k.accountId,
				environment: "staging",
				scopes: ["invoices:read"],
				ratelimit: { limit: 100 },
			});
			expect(res.headers.get("RateLimit-Policy")).toBe('"key";q=100;w=60');
			expect(res.headers.get("X-RateLimit-Remaining")).toMatch(/^9\d$/);
			expect(res.headers.get("RateLimit")).toMatch(/^"key";r=9\d;t=\d+$/);
		}
	});

	it("maps each refusal to its status and problem", async () => {
		const k = await keys();
		const api = makeApi(k.root);
		await api("/api/invoices", { Authorization: `Bearer ${k.limited}` }); // the only slot
		const cases: [Record<string, string>, number, string, string][] = [
			[{}, 401, "unauthorized", "MISSING_KEY"],
			[{ Authorization: "Basic abc" }, 401, "unauthorized", "MISSING_KEY"],
			[{ Authorization: "Bearer kw_test_made_up" }, 401, "unauthorized", "NOT_FOUND"],
			[{ Authorization: `Bearer ${"x".repeat(300)}` }, 401, "unauthorized", "NOT_FOUND"],
			[{ Authorization: `Bearer ${k.expired}` }, 401, "unauthorized", "EXPIRED"],
			[{ Authorization: `Bearer ${k.revoked}` }, 401, "unauthorized", "REVOKED"],
			[{ Authorization: `Bearer ${k.fenced}`, "CF-Connecting-IP": "198.51.100.1" }, 403, "forbidden", "IP_NOT_ALLOWED"],
			[{ Authorization: `Bearer ${k.unscoped}` }, 403, "forbidden", "INSUFFICIENT_SCOPE"],
			[{ Authorization: `Bearer ${k.limited}` }, 429, "quota-exceeded", "RATE_LIMITED"],
		];
		for (const [headers, status, kind, code] of cases) {
			const res = await api("/api/invoices", headers);
			expect(res.status, code).toBe(status);
			expect(res.headers.get("Content-Type")).toBe("application/problem+json; charset=utf-8");
			expect(await res.json()).toMatchObject({ type: `https://keyward.dev/problems/${kind}`, status, code });
			if (status === 401) expect(res.headers.get("WWW-Authenticate")).toMatch(/^Bearer/);
		}
		const fencedOk = await api("/api/invoices", {
			Authorization: `Bearer ${k.fenced}`,
			"CF-Connecting-IP": "203.0.113.9",
		});
		expect(fencedOk.status).toBe(200);

		const limited = await api("/api/invoices", { Authorization: `Bearer ${k.limited}` });
		expect(Number(limited.headers.get("Retry-After"))).toBeGreaterThanOrEqual(1);
		expect(limited.headers.get("RateLimit-Policy")).toBe('"key";q=1;w=60');
		expect(limited.headers.get("X-RateLimit-Remaining")).toBe("0");
	});
});

describe("keyward() middleware options and failures", () => {
	it("over HTTP without a root key, an allowlisted key is judged by the address the service calls from", async () => {
		const k = await keys();
		const api = customerApi("https://keyward.test", { fetch: appFetch(keywardApp.app) });
		const res = await api("/api/invoices", { Authorization: `Bearer ${k.fenced}`, "CF-Connecting-IP": "203.0.113.9" });
		expect(res.status).toBe(403);
		expect(await res.json()).toMatchObject({ code: "IP_NOT_ALLOWED" });
		expect(res.headers.get("RateLimit")).toBeNull();
	});

	it("getKey and onDenied replace the defaults", async () => {
		const k = await keys();
		const app = new Hono<CustomerEnv>();
		app.use(
			"*",
			keyward<CustomerEnv>({
				service: (c) => c.env.KEYWARD,
				getKey: (c) => c.req.header("X-Customer-Key"),
				onDenied: (c, denial) => c.text(`no: ${denial.code}`, denial.status),
			}),
		);
		app.get("/", (c) => c.text(c.get("keyward").keyId));
		const ok = await app.request("/", { headers: { "X-Customer-Key": k.valid.secret } }, { KEYWARD: env.KEYWARD });
		expect(await ok.text()).toBe(k.valid.key.id);
		const denied = await app.request("/", { headers: { Authorization: `Bearer ${k.valid.secret}` } }, env);
		expect(denied.status).toBe(401);
		expect(await denied.text()).toBe("no: MISSING_KEY");
	});

	it("fails closed with 503 when Keyward cannot answer, and lets nothing through", async () => {
		const k = await keys();
		const down: KeywardBinding = {
			verify: async () => ({
				ok: false,
				problem: {
					type: "https://keyward.dev/problems/service-unavailable",
					title: "x",
					status: 503,
					detail: "x",
					requestId: "r",
				},
			}),
		};
		const hung: KeywardBinding = { verify: () => new Promise(() => {}) };
		const unreachable: FetchLike = async () => {
			throw new TypeError("Network connection lost");
		};
		const apis = [
			customerApi(down),
			customerApi(hung, { timeoutMs: 50 }),
			customerApi("https://keyward.test", { fetch: unreachable }),
			customerApi("https://keyward.test", { fetch: appFetch(keywardApp.app, { KEY_PEPPER: undefined }) }),
		];
		for (const api of apis) {
			const res = await api("/api/invoices", { Authorization: `Bearer ${k.valid.secret}` });
			expect(res.status).toBe(503);
			expect(await res.json()).toMatchObject({
				code: "UNAVAILABLE",
				type: "https://keyward.dev/problems/service-unavailable",
			});
		}
	});
});

describe("when Keyward cannot answer, the log says what to check", () => {
	const request = new Request("https://api.example.com/x", { headers: { Authorization: "Bearer kw_live_x" } });
	async function explain(service: unknown, options: { fetch?: FetchLike; timeoutMs?: number } = {}) {
		const told: KeywardUnavailableError[] = [];
		const verdict = await verifyRequest(request, {
			service: service as KeywardService,
			...options,
			onUnavailable: (e) => told.push(e),
		});
		if (verdict.ok) throw new Error("expected a refusal");
		expect(verdict).toMatchObject({ code: "UNAVAILABLE", status: 503 });
		expect(told).toHaveLength(1);
		expect(verdict.cause).toBe(told[0]);
		return told[0] as KeywardUnavailableError;
	}

	it("names a missing binding, an unconnected one, a hung one and an unreachable URL", async () => {
		const missing = await explain(undefined);
		expect(missing.message).toContain("service binding is missing");
		expect(missing.message).toContain('entrypoint = "KeywardVerifier"');

		// What workerd throws under `wrangler dev` when the bound Worker is not running.
		const notRunning = new Error('Worker "keyward-production" not found. Make sure it is running locally.');
		const unconnected = await explain({ verify: () => Promise.reject(notRunning) });
		expect(unconnected.message).toContain('not connected or failed: Worker "keyward-production" not found');
		expect(unconnected.message).toContain('"keyward" when it was started with `npm start`');
		expect(unconnected.cause).toBe(notRunning);

		const hung = await explain({ verify: () => new Promise(() => {}) }, { timeoutMs: 20 });
		expect(hung.message).toContain("did not answer in time");

		const unreachable = await explain("https://keyward.test", {
			fetch: async () => {
				throw new TypeError("Network connection lost");
			},
		});
		expect(unreachable.message).toBe(
			"Keyward at https://keyward.test could not be reached: Network connection lost. Check the base URL and that Keyward is running.",
		);
	});

	it("never puts the key being verified into the explanation, even when a proxy echoes the request", async () => {
		const key = "kw_live_OTHERSECRETabcdefghijklmnopqrstuvwxyz0123456789";
		const echoing: FetchLike = async (request) => {
			const body = await request.text();
			return new Response(`<h1>Bad gateway</h1><pre>${String(body)}</pre>`, { status: 502, statusText: "Bad Gateway" });
		};
		const told: KeywardUnavailableError[] = [];
		const verdict = await verifyRequest(
			new Request("https://api.example.com/x", { headers: { Authorization: `Bearer ${key}` } }),
			{ service: "https://ops:hunter2@keyward.test", fetch: echoing, onUnavailable: (e) => told.push(e) },
		);
		expect(verdict.ok).toBe(false);
		const message = told[0]?.message ?? "";
		expect(message).toContain("answered 502 Bad Gateway to verify");
		expect(message).not.toContain("OTHERSECRET");
		expect(message).not.toContain("hunter2");
		expect(message).toContain("https://[redacted]@keyward.test");

		// The client's own errors: a non-problem body is cut and stripped of anything credential-like.
		const { problemFrom } = await import("../../sdk/src/problem.js");
		const problem = await problemFrom(
			new Response(`echo: {"key":"${key}"} and usr_a.ses_b.abcdefghijklmnop`, { status: 400 }),
		);
		expect(problem.detail).toBe('echo: {"key":"kw_live_[redacted]"} and usr_a.ses_b.[redacted]');
	});

	it("by default logs the explanation, at most once every 10 seconds", async () => {
		const spy = vi.spyOn(console, "error").mockImplementation(() => {});
		try {
			vi.useFakeTimers({ now: Date.now() + 3_600_000 });
			const api = customerApi({ verify: () => Promise.reject(new Error("boom")) });
			await api("/api/invoices", { Authorization: "Bearer kw_live_x" });
			await api("/api/invoices", { Authorization: "Bearer kw_live_x" });
			expect(spy).toHaveBeenCalledTimes(1);
			expect(String(spy.mock.calls[0]?.[0])).toContain(
				"[keyward] refused with 503 UNAVAILABLE: Keyward's service binding",
			);
			vi.setSystemTime(Date.now() + 10_001);
			await api("/api/invoices", { Authorization: "Bearer kw_live_x" });
			expect(spy).toHaveBeenCalledTimes(2);
		} finally {
			vi.useRealTimers();
			spy.mockRestore();
		}
	});
});

describe("the customer behind a key, in both transports", () => {
	it("hands the handler externalId, meta, credits and every limit; spends `cost`; refuses USAGE_EXCEEDED with 429", async () => {
		const k = await keys();
		for (const service of [env.KEYWARD, "https://keyward.test"] as const) {
			const options = {
				service,
				requiredScopes: ["invoices:read"],
				fetch: appFetch(keywardApp.app),
				cost: (r: Request) => (r.url.endsWith("/export") ? 2 : 1),
				ratelimits: ["default" as const, { name: "burst", cost: 1 }],
			};
			const ok = await verifyRequest(
				new Request("https://api.example.com/export", { headers: { "X-API-Key": k.customer } }),
				options,
			);
			if (!ok.ok) throw new Error(`expected a verified key, got ${ok.code}`);
			expect(ok.key).toMatchObject({ externalId: "cus_42", meta: { plan: "pro" }, serviceAccountId: null });
			expect(ok.key.ratelimits.map((l) => l.name)).toEqual(["default", "burst"]);
			expect(ok.key.credits?.remaining).toBeLessThanOrEqual(3);
		}
		// 5 credits, 2 spent per export call in each transport: 1 left, and the next export is refused.
		const refused = await verifyRequest(
			new Request("https://api.example.com/export", { headers: { "X-API-Key": k.customer } }),
			{ service: env.KEYWARD, cost: 2 },
		);
		expect(refused).toMatchObject({ ok: false, code: "USAGE_EXCEEDED", status: 429 });
		if (refused.ok) throw new Error("expected a denial");
		expect(refused.problem.type).toBe("https://keyward.dev/problems/quota-exceeded");
	});
});

describe("verifyRequest, for any fetch-style handler", () => {
	const request = (headers: Record<string, string> = {}) => new Request("https://api.example.com/x", { headers });

	it("hands back the verified key and its headers, or a ready problem response", async () => {
		const k = await keys();
		for (const service of [env.KEYWARD, "https://keyward.test"] as const) {
			const options = { service, requiredScopes: ["invoices:read"], fetch: appFetch(keywardApp.app) };
			const ok = await verifyRequest(request({ Authorization: `Bearer ${k.valid.secret}` }), options);
			if (!ok.ok) throw new Error(`expected a verified key, got ${ok.code}`);
			expect(ok.key).toMatchObject({ keyId: k.valid.key.id, accountId: k.accountId, scopes: ["invoices:read"] });
			expect(ok.headers["RateLimit-Policy"]).toBe('"key";q=100;w=60');

			const denied = await verifyRequest(request({ "X-API-Key": k.unscoped }), options);
			if (denied.ok) throw new Error("expected a denial");
			expect(denied).toMatchObject({ code: "INSUFFICIENT_SCOPE", status: 403 });
			expect(denied.response.status).toBe(403);
			expect(await denied.response.json()).toEqual(denied.problem);
		}
	});

	it("a malformed required scope is the caller's bug: thrown, not answered as a denial", async () => {
		const k = await keys();
		const err = await verifyRequest(request({ Authorization: `Bearer ${k.valid.secret}` }), {
			service: env.KEYWARD,
			requiredScopes: ["Not A Scope"],
		}).catch((e: unknown) => e);
		expect(err).toBeInstanceOf(KeywardError);
		expect((err as KeywardError).status).toBe(400);
	});

	it("reads the key from a bearer credential (any case) or X-API-Key, never from elsewhere", () => {
		const h = (init: Record<string, string>) => new Headers(init);
		expect(keyFromHeaders(h({ Authorization: "Bearer kw_test_a" }))).toBe("kw_test_a");
		expect(keyFromHeaders(h({ Authorization: "bearer   kw_test_a " }))).toBe("kw_test_a");
		expect(keyFromHeaders(h({ "X-API-Key": " kw_test_b " }))).toBe("kw_test_b");
		expect(keyFromHeaders(h({ Authorization: "Basic a2V5Og==" }))).toBeNull();
		expect(keyFromHeaders(h({ Authorization: "Bearer a b" }))).toBeNull();
		expect(keyFromHeaders(h({ Cookie: "key=kw_test_c" }))).toBeNull();
	});
});
