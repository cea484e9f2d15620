/**
 * Property-based fuzzing of every route in /v1/openapi.json (so a route added
 * later is fuzzed without touching this file). For each operation, requests
 * are generated from its schemas, mutated and mixed with hostile values, raw
 * bodies and every credential shape, and each answer must hold:
 *   - never a 5xx;
 *   - never a stack trace, file name, SQL or internal name in the body;
 *   - a status the operation documents;
 *   - a rejected request (4xx) changes nothing in D1.
 * `npm test` runs a fixed-seed slice (FUZZ_RUNS per route, default 10);
 * `npm run fuzz` runs many more with a fresh seed (see package.json).
 */
import { env } from "cloudflare:test";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { createDatabase } from "../../src/db";
import {
	accountDomains,
	memberships,
	scimGroupMembers,
	scimGroups,
	scimUsers,
	users,
	webhookDeliveries,
} from "../../src/db/schema";
import { userSessions } from "../../src/durable/address";
import { startSession } from "../../src/identity/sessions";
import { ManualClock } from "../../src/platform/clock";
import { newId } from "../../src/platform/ids";
import { testApp } from "../support/app";
import { fromSchema, hostileValue, type JsonSchema, mutated, type RawBody, rawBody } from "../support/arbitraries";
import { fakeIdp, seedConnection } from "../support/fake-idp";
import { seedAccount } from "../support/seed";

const RUNS = Number(env.FUZZ_RUNS || 10);
const SEED = Number(env.FUZZ_SEED || 20261123);
const clock = new ManualClock("2026-10-01T00:00:00Z");
// Identity providers are the outside world: a fake answers the example issuer, nothing reaches the network.
const provider = await fakeIdp({ issuer: "https://acme.okta.com", now: () => clock.now() });
const t = testApp({ clock, log: () => {}, fetch: provider.fetch });
const db = createDatabase(env.DB);
/** zod's own wording, which never reaches a person: every field message is a plain sentence (src/problems/plain-messages.ts). */
const RAW_VALIDATION =
	/^(Too (small|big)|Invalid (input|option|string|format|key|element|value)|Expected |Unrecognized key)|expected (number|string|boolean|array|object|nonoptional)|[<>]=?\s*\d/;

const LEAK =
	/\bat [\w.<>]+ \(|\.ts:\d+|\bstack\b|SQLITE|D1_|drizzle|workerd|TypeError|ReferenceError|undefined is not/i;

interface Operation {
	method: string;
	path: string;
	statuses: Set<number>;
	params: { name: string; in: string; schema: JsonSchema }[];
	body: JsonSchema | null;
}

const doc = await (await t.request("/v1/openapi.json")).json<{
	paths: Record<
		string,
		Record<
			string,
			{
				responses: Record<string, unknown>;
				parameters?: Operation["params"];
				requestBody?: { content: Record<string, { schema: JsonSchema }> };
			}
		>
	>;
	components?: { schemas?: Record<string, JsonSchema> };
}>();
const components = doc.components?.schemas ?? {};
const operations: Operation[] = Object.entries(doc.paths).flatMap(([path, item]) =>
	Object.entries(item).map(([method, op]) => ({
		method: method.toUpperCase(),
		path,
		statuses: new Set(Object.keys(op.responses).map(Number)),
		params: op.parameters ?? [],
		body:
			(op.requestBody?.content["application/json"] ?? op.requestBody?.content["application/scim+json"])?.schema ?? null,
	})),
);
const tried = new Map<string, number>();

/** What a rejected request must leave alone: the business tables (not throttles, sessions or the audit trail). */
async function snapshot(): Promise<string> {
	const tables = await db.batch([
		db.query.accounts.findMany(),
		db.query.memberships.findMany(),
		db.query.apiKeys.findMany(),
		db.query.invitations.findMany(),
		db.query.webhooks.findMany(),
		db.query.serviceAccounts.findMany(),
		db.query.users.findMany(),
		db.query.recoveryCodes.findMany(),
		db.query.emailTokens.findMany(),
		db.query.accountDomains.findMany(),
		db.query.scimUsers.findMany(),
		db.query.scimGroups.findMany(),
		db.query.scimGroupMembers.findMany(),
	]);
	// Refreshed by any authorised request, or flushed by the key's Durable Object: not a write of the request.
	return JSON.stringify(tables, (k, v) => (k === "lastActiveAt" || k === "lastUsedAt" ? undefined : v));
}

async function fixture() {
	const s = await seedAccount(clock);
	const other = await seedAccount(clock);
	const now = clock.now();
	const expired = await startSession(
		env,
		db,
		s.users.owner.id,
		{ ip: null, userAgent: "fuzz", country: null },
		new Date(now.getTime() - 3 * 86_400_000),
	);
	const revoked = await startSession(env, db, s.users.admin.id, { ip: null, userAgent: "fuzz", country: null }, now);
	await userSessions(env, s.users.admin.id).revokeSession(revoked.id);
	const credentials: (string | null)[] = [
		null,
		"Bearer not-a-token",
		"Bearer ",
		"Basic dXNlcjpwYXNz",
		`Bearer ${"x".repeat(5000)}`,
		`Bearer ${expired.token}`,
		`Bearer ${revoked.token}`,
		`Bearer ${other.users.owner.token}`,
		`Bearer ${s.users.stranger.token}`,
		`Bearer ${s.users.readonly.token}`,
		`Bearer ${s.users.member.token}`,
		`Bearer ${s.users.owner.token}`,
		`Bearer ${s.apiKeys.withScope}`,
		`Bearer ${s.apiKeys.demoted}`,
	];
	const scim = await seedScim(s);
	const ids: Record<string, string[]> = {
		accountId: [s.accountId, other.accountId],
		userId: [s.users.member.id, s.users.readonly.id, other.users.owner.id, s.users.owner.id],
		keyId: [s.keyIds.member, s.keyIds.owner, other.keyIds.owner],
		invitationId: [s.invitationId, other.invitationId],
		webhookId: [s.webhookId, other.webhookId],
		streamId: [s.logStreamId, other.logStreamId],
		serviceAccountId: [s.serviceAccountId, other.serviceAccountId],
		domainId: [scim.domainId, newId("dom")],
		connectionId: [
			await seedConnection(db, { accountId: s.accountId, ownerId: s.users.owner.id }, clock.now()),
			newId("sso"),
		],
		// SCIM's `{id}`: a provisioned person, a group, a member SCIM never provisioned.
		id: [scim.userId, scim.groupId, s.users.member.id, other.users.owner.id],
		sessionId: [revoked.id, expired.id],
		deliveryId: [await seedDelivery(s), await seedDelivery(other)],
	};
	return { credentials, ids };
}

/** A verified domain, a person the provider provisioned under it, and a group with them in it, so SCIM is fuzzed past its lookups. */
async function seedScim(s: { accountId: string; users: { owner: { id: string } } }) {
	const now = clock.now();
	const domain = `${s.accountId.slice(4)}.example.com`;
	const domainId = newId("dom");
	const userId = newId("usr");
	const groupId = newId("grp");
	await db.insert(accountDomains).values({
		...{ id: domainId, accountId: s.accountId, domain, challenge: "fuzz", createdBy: s.users.owner.id },
		...{ createdAt: now, verifiedAt: now },
	});
	await db.insert(users).values({
		...{ id: userId, email: `p@${domain}`, name: "P", passwordHash: "x" },
		...{ emailVerifiedAt: now, createdAt: now },
	});
	await db.insert(scimUsers).values({
		...{ accountId: s.accountId, userId, userName: `p@${domain}`, active: true, role: "member" as const },
		...{ createdAt: now, updatedAt: now },
	});
	await db.insert(memberships).values({ accountId: s.accountId, userId, role: "member", joinedAt: now });
	await db.insert(scimGroups).values({
		...{ id: groupId, accountId: s.accountId, displayName: "Everyone" },
		...{ createdAt: now, updatedAt: now },
	});
	await db.insert(scimGroupMembers).values({ groupId, accountId: s.accountId, userId });
	return { domainId, userId, groupId };
}

/** A delivery of the seeded webhook, so the redelivery route is fuzzed past its lookup. */
async function seedDelivery(s: { accountId: string; webhookId: string }): Promise<string> {
	const id = newId("dlv");
	const now = clock.now();
	await db.insert(webhookDeliveries).values({
		...{ id, webhookId: s.webhookId, accountId: s.accountId, event: "key.created", eventId: newId("evt") },
		...{ body: "{}", status: "delivered" as const, createdAt: now, updatedAt: now },
	});
	return id;
}

/** Any value as text; objects without a prototype have no toString. */
function asText(value: unknown): string {
	if (typeof value === "string") return value;
	try {
		return JSON.stringify(value) ?? "undefined";
	} catch {
		return "[unprintable]";
	}
}

/** A lone surrogate cannot be percent-encoded; it goes out as the bytes of one (invalid UTF-8 in the URL). */
function encodeSegment(value: string): string {
	try {
		return encodeURIComponent(value);
	} catch {
		return encodeURIComponent(value.toWellFormed()).replaceAll("%EF%BF%BD", "%ED%A0%80");
	}
}

function requestFor(op: Operation, f: Awaited<ReturnType<typeof fixture>>) {
	const pathParams = op.params.filter((p) => p.in === "path");
	const queryParams = op.params.filter((p) => p.in === "query");
	const param = (name: string) =>
		fc.oneof(
			{ weight: 4, arbitrary: fc.constantFrom(...(f.ids[name] ?? ["x"])) },
			{ weight: 1, arbitrary: hostileValue.map(asText) },
		);
	const query = fc.record(
		Object.fromEntries(
			queryParams.map((p) => [
				p.name,
				fc.oneof(fromSchema(p.schema, components).map(String), hostileValue.map(asText)),
			]),
		),
		{ requiredKeys: [] },
	);
	const body: fc.Arbitrary<{ json: unknown } | { raw: RawBody } | null> =
		op.method === "GET" || op.method === "HEAD"
			? fc.constant(null)
			: op.body
				? fc.oneof(
						{ weight: 3, arbitrary: fromSchema(op.body, components).map((json) => ({ json })) },
						{ weight: 3, arbitrary: mutated(op.body, components).map((json) => ({ json })) },
						{ weight: 1, arbitrary: hostileValue.map((json) => ({ json })) },
						{ weight: 1, arbitrary: rawBody.map((raw) => ({ raw })) },
					)
				: fc.oneof(
						{ weight: 4, arbitrary: fc.constant(null) },
						{ weight: 1, arbitrary: rawBody.map((raw) => ({ raw })) },
					);
	return fc.record({
		path: fc
			.tuple(...pathParams.map((p) => param(p.name)))
			.map((values) =>
				pathParams.reduce((p, spec, i) => p.replace(`{${spec.name}}`, encodeSegment(values[i] ?? "")), op.path),
			),
		query,
		body,
		credential: fc.constantFrom(...f.credentials),
		ip: fc.oneof(fc.ipV4(), fc.ipV6(), fc.constant("not-an-ip")),
	});
}

describe("OpenAPI-driven fuzzing (every documented route)", () => {
	afterAll(() => {
		const rows = [...tried].map(([route, n]) => `${n.toString().padStart(6)}  ${route}`);
		const total = [...tried.values()].reduce((a, b) => a + b, 0);
		console.log(
			`fuzz: ${total} requests over ${tried.size} routes (seed ${SEED}, ${RUNS} runs each)\n${rows.join("\n")}`,
		);
	});

	it("covers every operation of the document", () => {
		expect(operations.length).toBeGreaterThan(40);
	});

	for (const op of operations) {
		const route = `${op.method} ${op.path}`;
		it(route, async () => {
			const f = await fixture();
			await fc.assert(
				fc.asyncProperty(requestFor(op, f), async (r) => {
					const qs = new URLSearchParams(r.query as Record<string, string>).toString();
					const headers: Record<string, string> = { "CF-Connecting-IP": r.ip };
					if (r.credential) headers.Authorization = r.credential;
					let body: BodyInit | undefined;
					if (r.body && "json" in r.body) {
						body = JSON.stringify(r.body.json) ?? "null";
						headers["Content-Type"] = "application/json";
					} else if (r.body && "raw" in r.body) {
						body = r.body.raw.body ?? undefined;
						if (r.body.raw.contentType) headers["Content-Type"] = r.body.raw.contentType;
					}
					const before = await snapshot();
					const res = await t.request(`${r.path}${qs ? `?${qs}` : ""}`, { method: op.method, headers, body });
					const text = await res.text();
					tried.set(route, (tried.get(route) ?? 0) + 1);
					const where = `${route} → ${res.status}: ${text.slice(0, 300)}`;
					expect(res.status, where).toBeLessThan(500);
					expect(op.statuses.has(res.status), `undocumented status; ${where}`).toBe(true);
					expect(LEAK.test(text), `leak; ${where}`).toBe(false);
					if (res.status === 400) {
						const errors = (JSON.parse(text) as { errors?: { message: string }[] }).errors ?? [];
						for (const e of errors) expect(RAW_VALIDATION.test(e.message), `raw message; ${where}`).toBe(false);
					}
					if (res.status >= 400) expect(await snapshot(), `state changed on a rejected request; ${where}`).toBe(before);
				}),
				{ numRuns: RUNS, seed: SEED, endOnFailure: true },
			);
		}, 300_000);
	}
});
