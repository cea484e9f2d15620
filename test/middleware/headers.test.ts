import { createRoute, z } from "@hono/zod-openapi";
import { describe, expect, it } from "vitest";
import { ApiError } from "../../src/problems";
import { testApp } from "../support/app";
import { jsonRequest } from "../support/request";

const t = testApp();
// Test-only routes that fail on purpose, to prove every error path carries the headers.
t.app.get("/__test/unauthorized", () => {
	throw new ApiError("unauthorized");
});
// A route that declares itself cacheable.
t.app.get("/__test/cacheable", (c) => c.json({ ok: true }, 200, { "Cache-Control": "public, max-age=60" }));
t.app.get("/__test/boom", () => {
	throw new Error("Failed query: select 1\nparams: hunter2,ada@example.com");
});
t.app.openapi(
	createRoute({
		method: "post",
		path: "/__test/echo",
		request: {
			body: { required: true, content: { "application/json": { schema: z.strictObject({ name: z.string() }) } } },
		},
		responses: { 200: { description: "ok" } },
	}),
	(c) => c.json(c.req.valid("json"), 200),
);

const REQUIRED = {
	"strict-transport-security": "max-age=31536000; includeSubDomains",
	"x-content-type-options": "nosniff",
	"x-frame-options": "DENY",
	"referrer-policy": "no-referrer",
	"content-security-policy": "default-src 'none'; frame-ancestors 'none'",
};

const cases: [string, () => Promise<Response>, number][] = [
	["200", () => t.request("/health"), 200],
	["400", () => t.request("/__test/echo", jsonRequest("POST", { name: 1 })), 400],
	["401", () => t.request("/__test/unauthorized"), 401],
	["404", () => t.request("/nope"), 404],
	["405", () => t.request("/health", { method: "DELETE" }), 405],
	["413", () => t.request("/__test/echo", jsonRequest("POST", { name: "x".repeat(70_000) })), 413],
	[
		"415",
		() => t.request("/__test/echo", { method: "POST", body: "name=x", headers: { "Content-Type": "text/plain" } }),
		415,
	],
	["500", () => t.request("/__test/boom"), 500],
];

describe("security headers", () => {
	it.each(cases)("are on a %s response", async (_label, send, status) => {
		const res = await send();
		expect(res.status).toBe(status);
		for (const [name, value] of Object.entries(REQUIRED)) expect(res.headers.get(name), name).toBe(value);
		expect(res.headers.get("x-request-id")).toMatch(/^req_[0-9a-f]{32}$/);
	});

	it("gives each request its own id and ignores one sent by the client", async () => {
		const a = await t.request("/health", { headers: { "X-Request-Id": "forged" } });
		const b = await t.request("/health");
		expect(a.headers.get("x-request-id")).not.toBe("forged");
		expect(a.headers.get("x-request-id")).not.toBe(b.headers.get("x-request-id"));
	});

	it("marks every response no-store unless the route chose otherwise, and credentialed ones always", async () => {
		const withBearer = await t.request("/__test/cacheable", { headers: { Authorization: "Bearer x" } });
		const withCookie = await t.request("/__test/cacheable", { headers: { Cookie: "__Host-keyward_session=abc" } });
		const anonymous = await t.request("/health");
		expect(withBearer.headers.get("cache-control")).toBe("no-store");
		expect(withCookie.headers.get("cache-control")).toBe("no-store");
		expect(anonymous.headers.get("cache-control")).toBe("no-store");
		expect((await t.request("/__test/cacheable")).headers.get("cache-control")).toBe("public, max-age=60");
	});

	it("turns an unexpected error into a bare 500 problem and logs no message", async () => {
		const res = await t.request("/__test/boom");
		const body = await res.json<Record<string, unknown>>();
		expect(body).toMatchObject({ type: "https://keyward.dev/problems/internal", status: 500 });
		expect(JSON.stringify(body)).not.toContain("hunter2");
		expect(t.logs.join("\n")).not.toContain("hunter2");
		expect(t.logs.join("\n")).not.toContain("ada@example.com");
		expect(t.logs.some((l) => l.includes('"unhandled error"'))).toBe(true);
	});

	it("answers 405 with an Allow header for a known path and another method", async () => {
		const res = await t.request("/health", { method: "POST" });
		expect(res.status).toBe(405);
		expect(res.headers.get("allow")).toContain("GET");
		expect((await res.json<{ type: string }>()).type).toBe("https://keyward.dev/problems/method-not-allowed");
	});
});
