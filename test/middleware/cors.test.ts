import { describe, expect, it } from "vitest";
import { testApp } from "../support/app";
import { expectProblem } from "../support/request";

const t = testApp();
const ALLOWED = "https://console.example.com";
const vars = { CORS_ORIGINS: `${ALLOWED},https://other.example.com` };

describe("CORS allowlist", () => {
	it("answers an allowed origin with its own origin, never *", async () => {
		const res = await t.request("/health", { headers: { Origin: ALLOWED } }, vars);
		expect(res.headers.get("access-control-allow-origin")).toBe(ALLOWED);
		expect(res.headers.get("access-control-allow-credentials")).toBe("true");
		expect(res.headers.get("access-control-expose-headers")).toContain("X-Request-Id");
		expect(res.headers.get("vary")).toContain("Origin");
	});

	it("gives a disallowed origin no CORS headers", async () => {
		const res = await t.request("/health", { headers: { Origin: "https://evil.example.com" } }, vars);
		expect(res.status).toBe(200);
		expect(res.headers.get("access-control-allow-origin")).toBeNull();
		expect(res.headers.get("access-control-allow-credentials")).toBeNull();
	});

	it("answers a preflight from an allowed origin", async () => {
		const res = await t.request(
			"/v1/anything",
			{
				method: "OPTIONS",
				headers: {
					Origin: ALLOWED,
					"Access-Control-Request-Method": "POST",
					"Access-Control-Request-Headers": "content-type",
				},
			},
			vars,
		);
		expect(res.status).toBe(204);
		expect(res.headers.get("access-control-allow-origin")).toBe(ALLOWED);
		expect(res.headers.get("access-control-allow-methods")).toContain("POST");
		expect(res.headers.get("access-control-allow-headers")).toContain("Content-Type");
		expect(res.headers.get("x-content-type-options")).toBe("nosniff");
	});

	it("refuses a preflight from a disallowed origin without CORS headers", async () => {
		const res = await t.request(
			"/health",
			{ method: "OPTIONS", headers: { Origin: "https://evil.example.com", "Access-Control-Request-Method": "GET" } },
			vars,
		);
		await expectProblem(res, 403, "forbidden");
		expect(res.headers.get("access-control-allow-origin")).toBeNull();
	});

	it("never treats a literal * origin as allowed, even if configured", async () => {
		const res = await t.request("/health", { headers: { Origin: "*" } }, { CORS_ORIGINS: "*" });
		expect(res.headers.get("access-control-allow-origin")).toBeNull();
		const other = await t.request("/health", { headers: { Origin: ALLOWED } }, { CORS_ORIGINS: "*" });
		expect(other.headers.get("access-control-allow-origin")).toBeNull();
	});

	it("refuses to serve at all in production configured with *, and says why in the log", async () => {
		const logs = testApp();
		const res = await logs.request(
			"/health",
			{ headers: { Origin: ALLOWED } },
			{
				ENVIRONMENT: "production",
				CORS_ORIGINS: "*",
				MAIL_TRANSPORT: "http",
				MAIL_API_URL: "https://mail.example",
				MAIL_API_TOKEN: "t",
				CONSOLE_URL: "https://keyward.test/console",
				WEBAUTHN_RP_ID: "keyward.test",
				WEBAUTHN_ORIGINS: "https://keyward.test",
			},
		);
		const body = await expectProblem(res, 503, "service-unavailable");
		expect(body.detail).not.toContain("CORS");
		expect(res.headers.get("access-control-allow-origin")).toBeNull();
		expect(logs.logs.some((l) => l.includes("CORS_ORIGINS contains '*'"))).toBe(true);
	});
});

describe("configuration guard", () => {
	it("refuses to serve outside development without a WebAuthn rpId and https origins inside it", async () => {
		const deployed = {
			ENVIRONMENT: "production" as const,
			MAIL_TRANSPORT: "http" as const,
			MAIL_API_URL: "https://mail.example",
			MAIL_API_TOKEN: "t",
			CONSOLE_URL: "https://keyward.test/console",
		};
		for (const [WEBAUTHN_RP_ID, WEBAUTHN_ORIGINS] of [
			[undefined, "https://keyward.test"],
			["keyward.test", undefined],
			["keyward.test", "http://keyward.test"],
			["keyward.test", "https://keyward.test,https://evil.example"],
		]) {
			const t = testApp();
			const res = await t.request("/health", undefined, { ...deployed, WEBAUTHN_RP_ID, WEBAUTHN_ORIGINS });
			await expectProblem(res, 503, "service-unavailable");
			expect(
				t.logs.some((l) => l.includes("WEBAUTHN_")),
				`${WEBAUTHN_RP_ID} ${WEBAUTHN_ORIGINS}`,
			).toBe(true);
		}
		const ok = await testApp().request("/health", undefined, {
			...deployed,
			WEBAUTHN_RP_ID: "keyward.test",
			WEBAUTHN_ORIGINS: "https://keyward.test,https://console.keyward.test",
		});
		expect(ok.status).toBe(200);
	});

	it("refuses to serve with a secret of the wrong size", async () => {
		const t = testApp();
		const res = await t.request("/health", undefined, { TOTP_ENCRYPTION_KEY: btoa("too short") });
		await expectProblem(res, 503, "service-unavailable");
		expect(t.logs.some((l) => l.includes("TOTP_ENCRYPTION_KEY must be 32 bytes"))).toBe(true);
	});

	it("refuses to serve outside development without an https CONSOLE_URL: emailed links never take a request's host", async () => {
		const deployed = {
			ENVIRONMENT: "production" as const,
			MAIL_TRANSPORT: "http" as const,
			MAIL_API_URL: "https://mail.example",
			MAIL_API_TOKEN: "t",
			WEBAUTHN_RP_ID: "keyward.test",
			WEBAUTHN_ORIGINS: "https://keyward.test",
		};
		for (const CONSOLE_URL of [undefined, "", "http://keyward.test/console", "not a url"]) {
			const t = testApp();
			const res = await t.request("/health", undefined, { ...deployed, CONSOLE_URL });
			await expectProblem(res, 503, "service-unavailable");
			expect(
				t.logs.some((l) => l.includes("CONSOLE_URL must be set")),
				String(CONSOLE_URL),
			).toBe(true);
		}
		const ok = await testApp().request("/health", undefined, {
			...deployed,
			CONSOLE_URL: "https://keyward.test/console",
			WEBAUTHN_RP_ID: "keyward.test",
			WEBAUTHN_ORIGINS: "https://keyward.test",
		});
		expect(ok.status).toBe(200);

		// Set, it is the link's base whatever Host the request claims; only development falls back to the request.
		const { consoleUrl } = await import("../../src/platform/console-url");
		expect(consoleUrl({ CONSOLE_URL: "https://api.keyward.dev/console/" }, "https://evil.example/v1/auth/signup")).toBe(
			"https://api.keyward.dev/console",
		);
		expect(consoleUrl({}, "http://localhost:8787/v1/auth/signup")).toBe("http://localhost:8787/console");
	});
});
