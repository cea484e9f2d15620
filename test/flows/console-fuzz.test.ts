/**
 * Fuzzing of every console route, enumerated from the app's router (a console
 * page added later is fuzzed without touching this file). Path parameters get
 * traversal payloads aimed at another account (`..%2F..%2F<acc>`), query
 * parameters and form fields get hostile values, and the visitor is a signed-in
 * owner of the first account and an admin of a second. Each answer must hold:
 *   - never a 5xx, never a stack trace, SQL or internal name;
 *   - the second account is never touched (its rows are as they were): no
 *     page of the first account reaches into it, however its ids are dressed.
 */
import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { createDatabase } from "../../src/db";
import { accounts, apiKeys, invitations, memberships, webhooks } from "../../src/db/schema";
import { SESSION_COOKIE } from "../../src/identity/sessions";
import { ManualClock } from "../../src/platform/clock";
import { BASE, testApp } from "../support/app";
import { hostileValue } from "../support/arbitraries";
import { seedAccount } from "../support/seed";

const RUNS = Number(env.FUZZ_RUNS || 10);
const SEED = Number(env.FUZZ_SEED || 20261201);
const clock = new ManualClock("2026-10-01T00:00:00Z");
const t = testApp({ clock, log: () => {} });
const db = createDatabase(env.DB);
const LEAK =
	/\bat [\w.<>]+ \(|\.ts:\d+|\bstack\b|SQLITE|D1_|drizzle|workerd|TypeError|ReferenceError|RangeError|undefined is not/i;
const QUERY_NAMES = ["since", "until", "action", "actorId", "keyId", "cursor", "done", "token", "email"];
const FORM_NAMES = ["name", "email", "role", "reason", "scopes", "environment", "token", "code", "password", "since"];

const routes = [
	...new Set(
		t.app.routes
			.filter((r) => r.path.startsWith("/console") && (r.method === "GET" || r.method === "POST"))
			.map((r) => `${r.method} ${r.path}`),
	),
].map((key) => {
	const [method = "GET", path = ""] = key.split(" ");
	return { method, path, key };
});
const tried = new Map<string, number>();

const asText = (value: unknown): string => {
	if (typeof value === "string") return value;
	try {
		return JSON.stringify(value) ?? "undefined";
	} catch {
		return "[unprintable]";
	}
};

/** Everything of the other account: a console request of the first account's owner must not change it. */
async function otherAccountRows(accountId: string) {
	const rows = await Promise.all([
		db.select().from(accounts).where(eq(accounts.id, accountId)),
		db.select().from(memberships).where(eq(memberships.accountId, accountId)),
		db.select().from(apiKeys).where(eq(apiKeys.accountId, accountId)),
		db.select().from(invitations).where(eq(invitations.accountId, accountId)),
		db.select().from(webhooks).where(eq(webhooks.accountId, accountId)),
	]);
	return JSON.stringify(rows, (k, v) => (k === "lastActiveAt" || k === "lastUsedAt" ? undefined : v));
}

describe("console fuzzing (every console route)", () => {
	afterAll(() => {
		const total = [...tried.values()].reduce((a, b) => a + b, 0);
		console.log(`console fuzz: ${total} requests over ${tried.size} routes (seed ${SEED}, ${RUNS} runs each)`);
	});

	it("finds the console's routes", () => {
		expect(routes.length).toBeGreaterThan(25);
	});

	for (const route of routes) {
		it(route.key, async () => {
			const s = await seedAccount(clock);
			const other = await seedAccount(clock);
			// The visitor is an admin of the other account too: a path that escaped into it would act there.
			await db
				.insert(memberships)
				.values({ accountId: other.accountId, userId: s.users.owner.id, role: "admin", joinedAt: clock.now() });
			const ids = [
				s.accountId,
				s.keyIds.owner,
				s.users.member.id,
				s.invitationId,
				`..%2F..%2F${other.accountId}`,
				`..%2F..%2F..%2Faccounts%2F${other.accountId}`,
				"..",
				"%2e%2e",
				other.keyIds.owner,
				other.users.member.id,
			];
			// The traversal payloads go into the URL as written; hostile values as one encoded segment.
			const param = fc.oneof(
				{ weight: 3, arbitrary: fc.constantFrom(...ids) },
				{ weight: 1, arbitrary: hostileValue.map((v) => encodeURIComponent(asText(v).toWellFormed())) },
			);
			const names = [...route.path.matchAll(/:(\w+)/g)].map((m) => m[1] ?? "");
			const values = fc.record(
				Object.fromEntries(names.map((n) => [n, n === "accountId" ? fc.constant(s.accountId) : param])),
			);
			const fields = (list: string[]) =>
				fc.dictionary(
					fc.constantFrom(...list),
					fc.oneof(
						fc.string(),
						hostileValue.map((v) => asText(v).toWellFormed()),
						fc.constantFrom(...ids),
					),
					{ maxKeys: 5 },
				);
			const before = await otherAccountRows(other.accountId);
			await fc.assert(
				fc.asyncProperty(values, fields(QUERY_NAMES), fields(FORM_NAMES), async (params, query, form) => {
					const path = names.reduce(
						(p, n) => p.replace(`:${n}`, n === "accountId" ? s.accountId : String(params[n])),
						route.path,
					);
					const qs = new URLSearchParams(query).toString();
					const headers: Record<string, string> = {
						Cookie: `${SESSION_COOKIE}=${s.users.owner.token}`,
						Origin: new URL(BASE).origin,
						"CF-Connecting-IP": "192.0.2.10",
					};
					const init: RequestInit =
						route.method === "POST"
							? {
									method: "POST",
									headers: { ...headers, "Content-Type": "application/x-www-form-urlencoded" },
									body: new URLSearchParams(form).toString(),
								}
							: { headers };
					const url = `${path}${qs ? `?${qs}` : ""}`;
					const res = await t.request(url, init);
					const text = await res.text();
					tried.set(route.key, (tried.get(route.key) ?? 0) + 1);
					const where = `${route.key} ${url} → ${res.status}: ${text.slice(0, 200)}`;
					expect(res.status, where).toBeLessThan(500);
					expect(LEAK.test(text), `leak; ${where}`).toBe(false);
				}),
				{ numRuns: RUNS, seed: SEED, endOnFailure: true },
			);
			expect(await otherAccountRows(other.accountId), `${route.key} touched another account`).toBe(before);
		}, 300_000);
	}
});
