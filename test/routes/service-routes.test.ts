import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createDatabase } from "../../src/db";
import { HttpMailer, OutboxMailer } from "../../src/mail";
import { ManualClock } from "../../src/platform/clock";
import { SCALAR_SRC, SCALAR_SRI, UNDOCUMENTED_PATHS } from "../../src/routes/docs";
import { testApp } from "../support/app";
import { expectProblem } from "../support/request";

const t = testApp();
const production = {
	ENVIRONMENT: "production" as const,
	MAIL_TRANSPORT: "http" as const,
	MAIL_API_URL: "https://mail.example",
	MAIL_API_TOKEN: "t",
	CONSOLE_URL: "https://keyward.test/console",
	WEBAUTHN_RP_ID: "keyward.test",
	WEBAUTHN_ORIGINS: "https://keyward.test",
};

describe("service routes", () => {
	it("GET /health", async () => {
		const res = await t.request("/health");
		expect(res.status).toBe(200);
		expect(await res.json()).toEqual({ status: "ok" });
		expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
	});

	it("GET /docs serves the reference with a nonce-based CSP and a pinned, integrity-checked script", async () => {
		const res = await t.request("/docs");
		expect(res.status).toBe(200);
		const html = await res.text();
		const csp = res.headers.get("content-security-policy") ?? "";
		const nonce = /'nonce-([0-9a-f]+)'/.exec(csp)?.[1];
		expect(nonce).toBeTruthy();
		expect(csp).toContain("frame-ancestors 'none'");
		expect(csp).not.toContain("'unsafe-eval'");
		expect(csp).not.toMatch(/script-src[^;]*'unsafe-inline'/);
		const scripts = html.match(/<script[^>]*>/g) ?? [];
		expect(scripts.length).toBeGreaterThan(0);
		for (const tag of scripts) expect(tag).toContain(`nonce="${nonce}"`);
		expect(html).toMatch(/integrity="sha384-[A-Za-z0-9+/=]+"/);
		expect(html).toContain("/v1/openapi.json");
		// The viewer comes from this origin (served by the Worker), never a CDN: /docs works offline.
		const src = /<script[^>]*src="([^"]+)"/.exec(html)?.[1];
		expect(src).toBe(SCALAR_SRC);
		expect(html).toContain(`integrity="${SCALAR_SRI}"`);
		expect(csp).not.toMatch(/jsdelivr|unpkg|cdn\./);
		expect(csp).toMatch(/script-src 'nonce-[0-9a-f]+';/);
	});

	it("the viewer's script is served by the Worker: the pinned bytes, cacheable for a year even by a signed-in browser", async () => {
		const sri = async (bytes: ArrayBuffer) =>
			`sha384-${btoa(String.fromCharCode(...new Uint8Array(await crypto.subtle.digest("SHA-384", bytes))))}`;
		const credentials: Record<string, string>[] = [
			{},
			{ Cookie: "__Host-keyward_session=anything" },
			{ Authorization: "Bearer x" },
		];
		for (const headers of credentials) {
			const res = await t.request(SCALAR_SRC, { headers });
			expect(res.status).toBe(200);
			expect(res.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
			expect(res.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
			expect(res.headers.get("x-content-type-options")).toBe("nosniff");
			expect(await sri(await res.arrayBuffer())).toBe(SCALAR_SRI);
		}
		// Only that route: any other answer to a request with a credential stays no-store.
		const other = await t.request("/v1/webhook-events", { headers: { Authorization: "Bearer x" } });
		expect(other.headers.get("cache-control")).toBe("no-store");
		const anonymous = await t.request("/v1/webhook-events");
		expect(anonymous.headers.get("cache-control")).toBe("public, max-age=3600");
	});

	it("GET /v1/openapi.json is a valid OpenAPI 3.1 document listing every route", async () => {
		const res = await t.request("/v1/openapi.json");
		expect(res.status).toBe(200);
		const doc = await res.json<{ openapi: string; paths: Record<string, Record<string, unknown>> }>();
		expect(doc.openapi).toBe("3.1.0");

		const { validate } = await import("@readme/openapi-parser");
		const result = await validate(structuredClone(doc) as never);
		expect(result.valid, JSON.stringify(result)).toBe(true);

		const documented = new Set(
			Object.entries(doc.paths).flatMap(([path, ops]) =>
				Object.keys(ops).map((m) => `${m.toUpperCase()} ${path.replaceAll(/\{(\w+)\}/g, ":$1")}`),
			),
		);
		const app = testApp().app; // a fresh app: only production routes
		const served = app.routes
			// The console's HTML pages are not API routes; they call the documented ones. `/` is the
			// console's front door (a redirect to /console).
			.filter(
				(r) =>
					r.method !== "ALL" && !UNDOCUMENTED_PATHS.has(r.path) && !r.path.startsWith("/console") && r.path !== "/",
			)
			.map((r) => `${r.method} ${r.path}`);
		expect(served.length).toBeGreaterThan(0);
		for (const route of served) expect(documented, route).toContain(route);
		expect(documented.size).toBe(new Set(served).size);
	});

	it("the outbox returns development emails newest first, only for the address asked", async () => {
		const clock = new ManualClock("2026-03-01T10:00:00Z");
		const mailer = new OutboxMailer(createDatabase(env.DB), clock);
		await mailer.send({ to: "Ada@Example.com", subject: "first", text: "one" });
		clock.advance(1000);
		await mailer.send({ to: "ada@example.com", subject: "second", text: "two" });
		await mailer.send({ to: "bob@example.com", subject: "other", text: "x" });

		const res = await t.request("/v1/dev/outbox?to=ada@example.com");
		expect(res.status).toBe(200);
		const { data } = await res.json<{ data: { to: string; subject: string; sentAt: string }[] }>();
		expect(data.map((m) => m.subject)).toEqual(["second", "first"]);
		expect(data[0]).toMatchObject({ to: "ada@example.com", text: "two", sentAt: "2026-03-01T10:00:01.000Z" });
	});

	it("the outbox does not exist in production, whatever the query", async () => {
		await expectProblem(await t.request("/v1/dev/outbox?to=ada@example.com", undefined, production), 404, "not-found");
		await expectProblem(await t.request("/v1/dev/outbox", undefined, production), 404, "not-found");
		await expectProblem(await t.request("/v1/dev/outbox", { method: "POST" }, production), 404, "not-found");
		await expectProblem(await t.request("/v1/dev/audit-stats", { method: "DELETE" }, production), 404, "not-found");
	});

	it("the HTTP mailer posts to the provider with the token and refuses to follow redirects", async () => {
		const sent: Request[] = [];
		const mailer = new HttpMailer({
			url: "https://mail.example/emails",
			token: "tok",
			from: "Keyward <no-reply@keyward.dev>",
			fetch: async (input, init) => {
				sent.push(new Request(input, init));
				return new Response("{}", { status: 200 });
			},
		});
		await mailer.send({ to: "ada@example.com", subject: "Hi", text: "Body" });
		expect(sent).toHaveLength(1);
		expect(sent[0]?.headers.get("authorization")).toBe("Bearer tok");
		expect(sent[0]?.redirect).toBe("manual");
		expect(await sent[0]?.json()).toEqual({
			from: "Keyward <no-reply@keyward.dev>",
			to: ["ada@example.com"],
			subject: "Hi",
			text: "Body",
		});
		const failing = new HttpMailer({
			url: "https://mail.example/emails",
			token: "tok",
			from: "x",
			fetch: async () => new Response("no", { status: 502 }),
		});
		await expect(failing.send({ to: "a@b.co", subject: "s", text: "t" })).rejects.toThrow("mail provider answered 502");
	});

	it("logs every refusal and error, and successes only at the sampling rate, without header values or query strings", async () => {
		const logged = testApp();
		const secrets = { Authorization: "Bearer kw_live_supersecret", Cookie: "__Host-keyward_session=sessionsecret" };
		// A success at the default rate (0): Workers Logs has it; Keyward writes nothing.
		expect((await logged.request("/v1/dev/outbox?to=ada@example.com", { headers: secrets })).status).toBe(200);
		expect(logged.logs).toHaveLength(0);
		// Sampled in: REQUEST_LOG_SAMPLE=1 logs every success.
		await logged.request("/v1/dev/outbox?to=ada@example.com", { headers: secrets }, { REQUEST_LOG_SAMPLE: "1" });
		// A refusal is always logged.
		expect((await logged.request("/v1/me?token=x", { headers: secrets })).status).toBe(401);
		expect(logged.logs).toHaveLength(2);
		const [success, refusal] = logged.logs.map((l) => JSON.parse(l));
		expect(success).toMatchObject({
			msg: "request",
			method: "GET",
			path: "/v1/dev/outbox",
			route: "/v1/dev/outbox",
			status: 200,
		});
		expect(refusal).toMatchObject({ msg: "request", level: "info", path: "/v1/me", status: 401 });
		expect(success.requestId).toMatch(/^req_/);
		expect(typeof success.durationMs).toBe("number");
		expect(logged.logs.join("\n")).not.toMatch(/supersecret|sessionsecret|ada@example|token=/);
	});
});

describe("outbox ordering", () => {
	it("keeps emails sent in the same millisecond newest first", async () => {
		const clock = new ManualClock("2026-03-02T10:00:00Z");
		const mailer = new OutboxMailer(createDatabase(env.DB), clock);
		for (const subject of ["one", "two", "three", "four", "five"])
			await mailer.send({ to: "same@example.com", subject, text: "" });
		const { data } = await (await testApp().request("/v1/dev/outbox?to=same@example.com")).json<{
			data: { subject: string }[];
		}>();
		expect(data.map((m) => m.subject)).toEqual(["five", "four", "three", "two", "one"]);
	});
});
