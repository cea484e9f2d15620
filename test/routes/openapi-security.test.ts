/**
 * The credentials /v1/openapi.json declares for each operation are the ones
 * the route takes. Every operation of the document is called: without a
 * credential (a declared requirement must answer the credential 401, a public
 * operation must not), with the session cookie alone where the cookie is
 * declared, and with an API key where only sessions are declared. The
 * operations come from the document, so a route added later is checked too.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { type Permission, reservedScopeFor } from "../../src/auth/permissions";
import { createDatabase } from "../../src/db";
import { SESSION_COOKIE, startSession } from "../../src/identity/sessions";
import { ManualClock } from "../../src/platform/clock";
import { CREDENTIAL_PROBLEMS } from "../../src/problems";
import { PERMISSION_EXTENSION } from "../../src/routes/account-route";
import { BASE, testApp } from "../support/app";
import { exampleBody, examplePath, loadDocument, type Operation, operationsOf } from "../support/openapi";
import { seedAccount } from "../support/seed";

const clock = new ManualClock("2026-03-02T09:30:00Z");
const t = testApp({ clock });
const doc = await loadDocument(t);
const operations = operationsOf(doc);

const anonymousAllowed = (op: Operation) =>
	op.security !== undefined && (op.security.length === 0 || op.security.some((r) => Object.keys(r).length === 0));
const declares = (op: Operation, scheme: string) => op.security?.some((r) => scheme in r) === true;

/** The operation as the reference shows it: example path, example body, and the given headers. */
function call(method: string, path: string, op: Operation, headers: Record<string, string> = {}) {
	const body = exampleBody(doc, op);
	return t.request(examplePath(path, op), {
		method,
		headers: { ...(body === undefined ? {} : { "Content-Type": "application/json" }), ...headers },
		body: body === undefined ? undefined : JSON.stringify(body),
	});
}

/**
 * The `code` of a 401 problem (a credential refusal carries one; a wrong password does not). SCIM
 * routes answer in SCIM's error schema, which has no such member: there the bearer challenge
 * (RFC 6750 §3) says it, `error="invalid_token"` or none for a missing credential.
 */
const problemCode = async (res: Response) => {
	const type = res.headers.get("Content-Type") ?? "";
	if (type.startsWith("application/problem+json")) return (await res.json<{ code?: string }>()).code ?? null;
	if (type.startsWith("application/scim+json") && res.status === 401) {
		const challenge = res.headers.get("WWW-Authenticate") ?? "";
		return challenge.includes('error="invalid_token"') ? "invalid_token" : "missing_credentials";
	}
	return null;
};

describe("security schemes", () => {
	it("declares bearerAuth (session token or API key) and sessionCookie (the cookie the API reads)", () => {
		const schemes = doc.components.securitySchemes ?? {};
		expect(schemes.bearerAuth).toMatchObject({ type: "http", scheme: "bearer" });
		expect(schemes.bearerAuth?.description).toMatch(/session token/);
		expect(schemes.bearerAuth?.description).toMatch(/API key/);
		expect(schemes.sessionCookie).toMatchObject({ type: "apiKey", in: "cookie", name: SESSION_COOKIE });
	});

	it("every operation declares its security, naming only declared schemes", () => {
		const schemes = Object.keys(doc.components.securitySchemes ?? {});
		for (const { method, path, op } of operations) {
			expect(op.security, `${method} ${path}`).toBeDefined();
			for (const requirement of op.security ?? [])
				for (const name of Object.keys(requirement)) expect(schemes, `${method} ${path}`).toContain(name);
		}
	});

	it("an account route says in its description which API key may call it: the reserved scope of its permission", () => {
		for (const { method, path, op } of operations) {
			const permission = (op as Record<string, unknown>)[PERMISSION_EXTENSION] as Permission | undefined;
			if (!permission) continue;
			const scope = reservedScopeFor(permission);
			expect(op.description, `${method} ${path}`).toContain(
				scope ? `API key holding the reserved \`${scope}\` scope` : "No API key can call this route",
			);
		}
	});
});

describe("each operation takes the credentials it declares", () => {
	for (const { method, path, op } of operations) {
		const route = `${method} ${path}`;
		if (anonymousAllowed(op)) {
			it(`${route}: public; without a credential it is not refused for want of one`, async () => {
				const res = await call(method, path, op, { "CF-Connecting-IP": "203.0.113.7" });
				expect(res.headers.get("WWW-Authenticate"), route).toBeNull();
				if (res.status === 401) expect(CREDENTIAL_PROBLEMS, route).not.toContain(await problemCode(res));
			});
			continue;
		}
		it(`${route}: without a credential, 401 missing_credentials`, async () => {
			const res = await call(method, path, op);
			expect(res.status, route).toBe(401);
			expect(await problemCode(res), route).toBe("missing_credentials");
			expect(res.headers.get("WWW-Authenticate"), route).toBe('Bearer realm="keyward"');
		});
	}
});

describe("the session cookie and API keys, where declared", () => {
	const db = createDatabase(env.DB);
	const gated = operations.filter(({ op }) => !anonymousAllowed(op));

	it("every gated operation that declares the cookie takes a session in the cookie alone", async () => {
		const s = await seedAccount(clock);
		for (const { method, path, op } of gated.filter(({ op }) => declares(op, "sessionCookie"))) {
			// A fresh session for each call, a moment later: logging out, reauthenticating or ending the
			// other sessions ends the ones before it.
			clock.advance(1000);
			const { token } = await startSession(
				env,
				db,
				s.users.owner.id,
				{ ip: null, userAgent: "t", country: null },
				clock.now(),
			);
			const res = await call(method, path, op, { Cookie: `${SESSION_COOKIE}=${token}`, Origin: BASE });
			expect(res.status, `${method} ${path}: ${await res.clone().text()}`).not.toBe(401);
		}
	});

	it("an operation that declares no API key refuses one: 401 on the user's own routes, 403 on account routes", async () => {
		const s = await seedAccount(clock);
		for (const { method, path, op } of gated) {
			const permission = (op as Record<string, unknown>)[PERMISSION_EXTENSION] as Permission | undefined;
			if (permission && reservedScopeFor(permission)) continue; // the authorization matrix calls these with keys
			const res = await call(method, path.replace("{accountId}", s.accountId), op, {
				Authorization: `Bearer ${s.apiKeys.withScope}`,
			});
			const where = `${method} ${path}: ${await res.clone().text()}`;
			if (permission) expect(res.status, where).toBe(403);
			else {
				expect(res.status, where).toBe(401);
				expect(await problemCode(res), where).toBe("invalid_token");
			}
		}
	});
});
