/**
 * The reference documents every field. Each property of every schema of
 * /v1/openapi.json (components, inline request and response bodies, nested
 * objects, array items, unions, additionalProperties) and each parameter has
 * a description; each value a reader types or reads (every property that is
 * not itself an object of properties) has an example. And the examples are
 * values the API takes and makes: each operation's example body and
 * parameters pass the route's own zod schema, scopes follow the scope grammar,
 * ids and times have the API's shapes, example passwords pass the password
 * policy, cursors are cursors the API reads, and no example API key passes
 * the checksum (a secret in the reference must be plainly made up).
 */

import { env } from "cloudflare:test";
import type { RouteConfig } from "@hono/zod-openapi";
import { describe, expect, it } from "vitest";
import type { ZodType } from "zod";
import { parseApiKey } from "../../src/keys/format";
import { ManualClock } from "../../src/platform/clock";
import { type IdPrefix, idPattern } from "../../src/platform/ids";
import { decodeKeysetCursor, KEYSET_CURSOR_EXAMPLE, OFFSET_CURSOR_EXAMPLE, pageOf } from "../../src/routes/pagination";
import { checkPassword, passwordPolicyFrom } from "../../src/security/password-policy";
import { isValidRequiredScope, isValidScope } from "../../src/security/scopes";
import { testApp } from "../support/app";
import { fakeIdp } from "../support/fake-idp";
import {
	type Document,
	exampleBody,
	exampleOf,
	examplePath,
	loadDocument,
	operationsOf,
	parameterExample,
	resolved,
	type Schema,
} from "../support/openapi";
import { seedAccount } from "../support/seed";

const clock = new ManualClock("2026-03-02T09:30:00Z");
// The example connection's issuer answers as a provider would (the outside world, faked).
const provider = await fakeIdp({ issuer: "https://acme.okta.com", now: () => clock.now() });
const t = testApp({ clock, fetch: provider.fetch });
const doc = await loadDocument(t);
const operations = operationsOf(doc);

interface Field {
	/** Where: `#User.email`, `POST /v1/auth/login body.password`, `GET /v1/me 200.memberships[].role`. */
	path: string;
	schema: Schema;
	description: boolean;
	example: boolean;
	/** An object of properties (or a list or union of them): its example is made of its members'. */
	composite: boolean;
}

const hasExample = (s: Schema) => "example" in s || Array.isArray(s.examples);

/** A description on the schema, on the component its `$ref` names, or on a member of its `allOf`. */
function described(d: Document, s: Schema): boolean {
	if (s.description?.trim()) return true;
	if (s.$ref) return Boolean(resolved(d, s).description?.trim());
	return (s.allOf ?? []).some((m) => described(d, m));
}

function composite(d: Document, schema: Schema): boolean {
	const s = resolved(d, schema);
	if (s.properties) return true;
	if (s.allOf) return s.allOf.some((m) => composite(d, m));
	const union = s.anyOf ?? s.oneOf;
	if (union) return union.every((m) => composite(d, m) || resolved(d, m).type === "null");
	return s.items !== undefined && composite(d, s.items);
}

/** Every property in the document: request and response bodies, then components, each walked once (at `#Name`). */
function propertiesOf(d: Document): Field[] {
	const out: Field[] = [];
	const walked = new Set<string>();
	const walk = (schema: Schema | boolean | undefined, at: string): void => {
		if (!schema || typeof schema === "boolean") return;
		if (schema.$ref) {
			const name = schema.$ref.replace("#/components/schemas/", "");
			if (walked.has(name)) return;
			walked.add(name);
			walk(d.components.schemas[name], `#${name}`);
			return;
		}
		for (const [key, property] of Object.entries(schema.properties ?? {})) {
			const path = `${at}.${key}`;
			out.push({
				path,
				schema: property,
				description: described(d, property),
				example: hasExample(property) || (property.allOf ?? []).some(hasExample),
				composite: composite(d, property),
			});
			walk(property, path);
		}
		for (const member of [...(schema.allOf ?? []), ...(schema.anyOf ?? []), ...(schema.oneOf ?? [])]) walk(member, at);
		walk(schema.items, `${at}[]`);
		walk(schema.additionalProperties, `${at}{}`);
	};
	for (const { method, path, op } of operations) {
		const where = `${method} ${path}`;
		for (const [type, { schema }] of Object.entries(op.requestBody?.content ?? {}))
			walk(schema, `${where} body(${type})`);
		for (const [status, response] of Object.entries(op.responses))
			for (const { schema } of Object.values(response.content ?? {})) walk(schema, `${where} ${status}`);
	}
	for (const [name, schema] of Object.entries(d.components.schemas))
		if (!walked.has(name)) {
			walked.add(name);
			walk(schema, `#${name}`);
		}
	return out;
}

const fields = propertiesOf(doc);
const parameters = operations.flatMap(({ method, path, op }) =>
	(op.parameters ?? []).map((p) => ({ where: `${method} ${path} ${p.in}:${p.name}`, parameter: p })),
);

/** The route definitions the document was generated from, with their zod schemas. */
const routes = t.app.openAPIRegistry.definitions.flatMap((d) => (d.type === "route" ? [d.route as RouteConfig] : []));
const routeOf = (method: string, path: string) =>
	routes.find((r) => r.method.toUpperCase() === method && r.path === path);

/** Every example value in the document, with where it is. */
function examples(): { at: string; value: unknown }[] {
	const out: { at: string; value: unknown }[] = [];
	const visit = (node: unknown, at: string) => {
		if (Array.isArray(node)) for (const [i, n] of node.entries()) visit(n, `${at}[${i}]`);
		else if (node && typeof node === "object")
			for (const [k, v] of Object.entries(node)) {
				if (k === "example") out.push({ at, value: v });
				else if (k === "examples" && Array.isArray(v)) for (const e of v) out.push({ at, value: e });
				else visit(v, `${at}/${k}`);
			}
	};
	visit(doc, "");
	return out;
}
const strings = (value: unknown): string[] =>
	typeof value === "string"
		? [value]
		: Array.isArray(value)
			? value.flatMap(strings)
			: value && typeof value === "object"
				? Object.values(value).flatMap(strings)
				: [];

describe("every field of the reference is documented", () => {
	it("walks the whole document", () => {
		expect(fields.length).toBeGreaterThan(250);
		expect(parameters.length).toBeGreaterThan(50);
	});

	it("every property of every schema has a description", () => {
		expect(fields.filter((f) => !f.description).map((f) => f.path)).toEqual([]);
	});

	it("every property that holds a value (not an object of properties) has an example", () => {
		expect(fields.filter((f) => !f.composite && !f.example).map((f) => f.path)).toEqual([]);
	});

	it("every path and query parameter has a description and an example", () => {
		const lacking = parameters.flatMap(({ where, parameter: p }) => [
			...((p.description ?? p.schema?.description)?.trim() ? [] : [`${where}: description`]),
			...(parameterExample(p) === undefined ? [`${where}: example`] : []),
		]);
		expect(lacking).toEqual([]);
	});
});

describe("the examples are values the API takes and makes", () => {
	it("each operation's example body and parameters pass the route's own schema", () => {
		const refused: string[] = [];
		for (const { method, path, op } of operations) {
			const route = routeOf(method, path);
			expect(route, `${method} ${path} has no route definition`).toBeDefined();
			const request = route?.request;
			const check = (part: string, schema: unknown, value: unknown) => {
				const result = (schema as ZodType).safeParse(value);
				if (!result.success)
					refused.push(`${method} ${path} ${part}: ${JSON.stringify(value)} → ${JSON.stringify(result.error.issues)}`);
			};
			const body = (request?.body?.content?.["application/json"] as { schema?: ZodType } | undefined)?.schema;
			if (body) check("body", body, exampleBody(doc, op));
			for (const place of ["params", "query"] as const) {
				const schema = request?.[place];
				const values = Object.fromEntries(
					(op.parameters ?? [])
						.filter((p) => p.in === (place === "params" ? "path" : "query"))
						.map((p) => [p.name, String(parameterExample(p))]),
				);
				if (schema) check(place, schema, values);
			}
		}
		expect(refused).toEqual([]);
	});

	it("scope examples follow the scope grammar (and required scopes its wildcard-free form)", () => {
		// An OIDC connection's scopes (`openid`, `email`) are the identity provider's, not key scopes.
		const scopeFields = fields.filter(
			(f) =>
				/(^|\.)(requiredScopes|scopes)$/.test(f.path.split(" ").at(-1) ?? "") &&
				!/SsoConnection|sso-connections/.test(f.path),
		);
		expect(scopeFields.length).toBeGreaterThanOrEqual(5);
		for (const f of scopeFields) {
			const items = exampleOf(doc, f.schema) as string[];
			expect(items.length, f.path).toBeGreaterThan(0);
			const valid = f.path.endsWith("requiredScopes") ? isValidRequiredScope : isValidScope;
			for (const scope of items) expect(valid(scope), `${f.path}: ${scope}`).toBe(true);
		}
	});

	it("id examples have the exact shape of their type's ids", () => {
		for (const { at, value } of examples())
			for (const s of strings(value)) {
				const prefix = /^(acc|usr|key|ses|inv|evt|whk|msg|dlv)_/.exec(s)?.[1] as IdPrefix | undefined;
				if (prefix && !s.includes(".")) expect(idPattern(prefix).test(s), `${at}: ${s}`).toBe(true);
			}
	});

	it("time examples are ISO 8601 in UTC", () => {
		const times = fields.filter((f) => resolved(doc, f.schema).format === "date-time" && f.schema.example !== null);
		expect(times.length).toBeGreaterThan(20);
		for (const f of times) {
			const value = String(f.schema.example);
			expect(new Date(value).toISOString(), f.path).toBe(value);
		}
	});

	it("no example API key passes the checksum: every secret in the reference is plainly made up", () => {
		const keys = examples().flatMap(({ at, value }) =>
			strings(value)
				.filter((s) => /^kw_(live|test)_/.test(s) && s.length > 12)
				.map((s) => ({ at, s })),
		);
		expect(keys.length).toBeGreaterThan(0);
		for (const { at, s } of keys) {
			expect(s, at).toHaveLength(73);
			expect(parseApiKey(s), at).toBeNull();
		}
	});

	it("example passwords pass the password policy", () => {
		const passwords = fields.filter((f) => /\.(password|newPassword)$/.test(f.path) && f.path.includes(" body"));
		expect(passwords.length).toBeGreaterThan(3);
		// The policy refuses a password that is mostly the email address: checked against the example user's.
		const email = String(doc.components.schemas.User?.properties?.email?.example);
		expect(email).toMatch(/@/);
		for (const f of passwords)
			expect(
				checkPassword(String(f.schema.example), passwordPolicyFrom(env.PASSWORD_MIN_LENGTH), email),
				f.path,
			).toEqual([]);
	});

	it("cursor examples are cursors the API reads", () => {
		expect(() => decodeKeysetCursor(KEYSET_CURSOR_EXAMPLE)).not.toThrow();
		expect(pageOf([...Array(60).keys()], { limit: 5, cursor: OFFSET_CURSOR_EXAMPLE }).data).toEqual([
			50, 51, 52, 53, 54,
		]);
		const cursors = parameters.filter(({ parameter }) => parameter.name === "cursor");
		expect(cursors.length).toBeGreaterThan(3);
		for (const { where, parameter } of cursors) {
			const value = String(parameterExample(parameter));
			const keyset = (() => {
				try {
					decodeKeysetCursor(value);
					return true;
				} catch {
					return false;
				}
			})();
			expect(keyset || value === OFFSET_CURSOR_EXAMPLE, where).toBe(true);
		}
	});

	it("as the owner, each account operation's example request is accepted: never a 400", async () => {
		const refused: string[] = [];
		for (const { method, path, op } of operations.filter(({ path }) => path.startsWith("/v1/accounts/{accountId}"))) {
			// A fresh account each time (one deletes it, one locks it down), its own objects in the path.
			const s = await seedAccount(clock);
			const ids: Record<string, string> = {
				accountId: s.accountId,
				keyId: s.keyIds.owner,
				userId: s.users.readonly.id,
				invitationId: s.invitationId,
				webhookId: s.webhookId,
			};
			const at = examplePath(
				path.replaceAll(/\{(\w+)\}/g, (whole, name: string) => ids[name] ?? whole),
				op,
			);
			const query = new URLSearchParams(
				(op.parameters ?? []).filter((p) => p.in === "query").map((p) => [p.name, String(parameterExample(p))]),
			);
			const body = exampleBody(doc, op);
			const res = await t.request(`${at}${query.size ? `?${query}` : ""}`, {
				method,
				headers: {
					Authorization: `Bearer ${s.users.owner.token}`,
					// Inside the example allowlists, so the example settings do not lock the caller out.
					"CF-Connecting-IP": "203.0.113.7",
					...(body === undefined ? {} : { "Content-Type": "application/json" }),
				},
				body: body === undefined ? undefined : JSON.stringify(body),
			});
			if (res.status === 400) refused.push(`${method} ${path}: ${await res.text()}`);
		}
		expect(refused).toEqual([]);
	});
});
