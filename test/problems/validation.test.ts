import { createRoute, z } from "@hono/zod-openapi";
import { describe, expect, it } from "vitest";
import { testApp } from "../support/app";
import { expectProblem, jsonRequest } from "../support/request";

const t = testApp();
// A representative strict body: the same machinery validates every real route.
t.app.openapi(
	createRoute({
		method: "post",
		path: "/__test/widgets",
		request: {
			body: {
				required: true,
				content: {
					"application/json": {
						schema: z.strictObject({
							name: z.string().min(1).max(20),
							count: z.number().int().min(1).max(10),
							tags: z.array(z.string().max(5)).max(3).optional(),
						}),
					},
				},
			},
		},
		responses: { 201: { description: "created" } },
	}),
	(c) => c.json(c.req.valid("json"), 201),
);

const post = (body: unknown, headers?: Record<string, string>) =>
	t.request("/__test/widgets", jsonRequest("POST", body, headers));

describe("request validation", () => {
	it("accepts a valid body", async () => {
		const res = await post({ name: "a", count: 2 });
		expect(res.status).toBe(201);
	});

	it("refuses unknown fields and names each one", async () => {
		const body = await expectProblem(await post({ name: "a", count: 2, admin: true, role: "x" }), 400, "validation");
		expect(body.errors?.map((e) => e.path).sort()).toEqual(["admin", "role"]);
	});

	it("names every bad field at once: wrong type, over-long string, missing field, nested", async () => {
		const body = await expectProblem(await post({ name: "x".repeat(21), tags: ["ok", "toolong"] }), 400, "validation");
		const paths = body.errors?.map((e) => e.path).sort();
		expect(paths).toEqual(["count", "name", "tags.1"]);
		const typed = await expectProblem(await post({ name: 5, count: "2" }), 400, "validation");
		expect(typed.errors?.map((e) => e.path).sort()).toEqual(["count", "name"]);
	});

	it("refuses out-of-range numbers", async () => {
		const body = await expectProblem(await post({ name: "a", count: 11 }), 400, "validation");
		expect(body.errors).toEqual([{ path: "count", message: expect.any(String) }]);
	});

	it("answers 400 for a body that is not JSON, without echoing it", async () => {
		const res = await post('{"name": "a", "count": 2, password: "hunter2"');
		const body = await expectProblem(res, 400, "validation");
		expect(body.detail).toBe("The body is not valid JSON");
		expect(JSON.stringify(body)).not.toContain("hunter2");
	});

	it("answers 400 for a JSON body that is not an object", async () => {
		await expectProblem(await post([1, 2]), 400, "validation");
		await expectProblem(await post("null"), 400, "validation");
	});

	it("answers 415 for another content type, and for a body without one", async () => {
		const form = await t.request("/__test/widgets", {
			method: "POST",
			headers: { "Content-Type": "application/x-www-form-urlencoded" },
			body: "name=a&count=2",
		});
		await expectProblem(form, 415, "unsupported-media-type");
		const bare = await t.request("/__test/widgets", { method: "POST", body: new TextEncoder().encode('{"name":"a"}') });
		await expectProblem(bare, 415, "unsupported-media-type");
	});

	it("answers 400 for a missing body, and names the fields of an empty object", async () => {
		const res = await t.request("/__test/widgets", { method: "POST", headers: { "Content-Type": "application/json" } });
		const body = await expectProblem(res, 400, "validation");
		expect(body.errors).toEqual([{ path: "", message: "A JSON body is required" }]);
		const empty = await expectProblem(await post({}), 400, "validation");
		expect(empty.errors?.map((e) => e.path).sort()).toEqual(["count", "name"]);
	});

	it("answers 413 for a body over 64 KiB, with or without Content-Length", async () => {
		const big = JSON.stringify({ name: "a", count: 1, pad: "x".repeat(64 * 1024) });
		await expectProblem(await post(big), 413, "payload-too-large");
		const stream = new ReadableStream({
			start(controller) {
				controller.enqueue(new TextEncoder().encode(big));
				controller.close();
			},
		});
		const chunked = await t.request("/__test/widgets", {
			method: "POST",
			headers: { "Content-Type": "application/json", "Transfer-Encoding": "chunked" },
			body: stream,
			// @ts-expect-error workerd needs duplex for a streamed body
			duplex: "half",
		});
		await expectProblem(chunked, 413, "payload-too-large");
	});

	it("validates query strings too, naming the parameter", async () => {
		const body = await expectProblem(await t.request("/v1/dev/outbox?to=not-an-email&limit=500"), 400, "validation");
		expect(body.errors?.map((e) => e.path).sort()).toEqual(["limit", "to"]);
	});

	it("refuses plain HTTP outside development, and allows it in development", async () => {
		const prodVars = {
			ENVIRONMENT: "production" as const,
			MAIL_TRANSPORT: "http" as const,
			MAIL_API_URL: "https://mail.example",
			MAIL_API_TOKEN: "t",
			CONSOLE_URL: "https://keyward.test/console",
			WEBAUTHN_RP_ID: "keyward.test",
			WEBAUTHN_ORIGINS: "https://keyward.test",
		};
		const res = await t.app.fetch(new Request("http://keyward.test/health"), {
			...(await import("cloudflare:test")).env,
			...prodVars,
		});
		expect(res.status).toBe(403);
		expect((await res.json<{ type: string }>()).type).toBe("https://keyward.dev/problems/https-required");
		const dev = await t.app.fetch(new Request("http://localhost:8787/health"), (await import("cloudflare:test")).env);
		expect(dev.status).toBe(200);
	});
});

describe("bodies that are not there", () => {
	it("a DELETE with Content-Length: 0 and no type has no body, not a wrong one (found by the load run)", async () => {
		const t = testApp();
		const res = await t.request("/v1/accounts/acc_x", {
			method: "DELETE",
			body: "",
			headers: { "Content-Length": "0" },
		});
		expect(res.status).toBe(401);
	});
});

describe("field messages are plain sentences (issue #21)", () => {
	it("says what a number's range, a list's size, an enum's values and a missing field are", async () => {
		const { plainMessage } = await import("../../src/problems/plain-messages");
		const { z } = await import("@hono/zod-openapi");
		const schema = z.strictObject({
			name: z.string().min(1).max(10),
			window: z.number().int().min(5).max(86_400),
			environment: z.enum(["production", "staging"]),
			scopes: z.array(z.string()).min(1).max(2),
			email: z.email(),
			pattern: z.string().regex(/^[a-z]+$/, "Lowercase letters only"),
		});
		const result = schema.safeParse({
			name: "",
			window: 100_000,
			environment: "prod",
			scopes: ["a", "b", "c"],
			email: "nope",
			pattern: "ABC",
		});
		const messages = Object.fromEntries((result.error?.issues ?? []).map((i) => [i.path.join("."), i.message]));
		expect(messages).toEqual({
			name: "Required",
			window: "Must be 86,400 or less",
			environment: 'Must be one of "production", "staging"',
			scopes: "Takes at most 2 items",
			email: "Must be an email address, like ada@example.com",
			pattern: "Lowercase letters only", // a schema's own message wins
		});
		const missing = schema.safeParse({});
		expect(missing.error?.issues.every((i) => i.message === "Required")).toBe(true);
		expect(plainMessage({ code: "too_small", origin: "number", minimum: 5, inclusive: true, input: 1 } as never)).toBe(
			"Must be 5 or more",
		);
	});
});
