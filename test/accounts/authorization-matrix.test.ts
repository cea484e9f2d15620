import { describe, expect, it } from "vitest";
import type { Permission, Role } from "../../src/auth/permissions";
import { roleAllows } from "../../src/auth/permissions";
import { ManualClock } from "../../src/clock";
import { PERMISSION_EXTENSION } from "../../src/routes/account-route";
import { jsonRequest, testApp } from "../helpers";
import { type SeededAccount, seedAccount } from "./seed";

/**
 * The authorization matrix of API.md §4, generated from the route table: every
 * operation under /v1/accounts/{accountId} that /v1/openapi.json lists is
 * called as each kind of caller. A route added later without a fixture here
 * fails the first test, so no route can skip the matrix.
 */
const clock = new ManualClock("2026-07-01T00:00:00Z");
const t = testApp({ clock });

type Fixture = (s: SeededAccount) => { path?: Record<string, string>; body?: unknown };
const FIXTURES: Record<string, Fixture> = {
	"GET /v1/accounts/{accountId}": () => ({}),
	"PATCH /v1/accounts/{accountId}": () => ({ body: { name: "Renamed" } }),
	"DELETE /v1/accounts/{accountId}": () => ({}),
	"POST /v1/accounts/{accountId}/transfer-ownership": (s) => ({ body: { userId: s.users.member.id } }),
	"GET /v1/accounts/{accountId}/members": () => ({}),
	"PATCH /v1/accounts/{accountId}/members/{userId}": (s) => ({
		path: { userId: s.users.readonly.id },
		body: { role: "member" },
	}),
	"DELETE /v1/accounts/{accountId}/members/{userId}": (s) => ({ path: { userId: s.users.readonly.id } }),
	"POST /v1/accounts/{accountId}/invitations": () => ({
		body: { email: `new-${crypto.randomUUID()}@example.com`, role: "member" },
	}),
	"GET /v1/accounts/{accountId}/invitations": () => ({}),
	"DELETE /v1/accounts/{accountId}/invitations/{invitationId}": (s) => ({ path: { invitationId: s.invitationId } }),
	"GET /v1/accounts/{accountId}/audit-events": () => ({}),
	"GET /v1/accounts/{accountId}/audit-events/export": () => ({}),
};

type Caller = Role | "stranger" | "anonymous";
const CALLERS: Caller[] = ["owner", "admin", "member", "readonly", "stranger", "anonymous"];

async function accountOperations() {
	const doc = await (await t.request("/v1/openapi.json")).json<{
		paths: Record<string, Record<string, Record<string, unknown>>>;
	}>();
	return Object.entries(doc.paths)
		.filter(([path]) => path.startsWith("/v1/accounts/{accountId}"))
		.flatMap(([path, ops]) =>
			Object.entries(ops).map(([method, op]) => ({
				key: `${method.toUpperCase()} ${path}`,
				method: method.toUpperCase(),
				path,
				permission: op[PERMISSION_EXTENSION] as Permission | undefined,
			})),
		);
}

const expectedStatus = (caller: Caller, permission: Permission): "2xx" | 401 | 403 | 404 => {
	if (caller === "anonymous") return 401;
	if (caller === "stranger") return 404;
	return roleAllows(caller, permission) ? "2xx" : 403;
};

describe("authorization matrix (API.md §4)", () => {
	it("every account route declares a permission and has a fixture", async () => {
		const ops = await accountOperations();
		expect(ops.length).toBeGreaterThanOrEqual(12);
		for (const op of ops) {
			expect(op.permission, `${op.key} declares no permission`).toBeTruthy();
			expect(FIXTURES[op.key], `${op.key} has no fixture in the matrix`).toBeDefined();
		}
	});

	it("answers each (route, caller) pair exactly as the capability table says", async () => {
		const ops = await accountOperations();
		let pairs = 0;
		const mismatches: string[] = [];
		for (const op of ops) {
			const fixture = FIXTURES[op.key];
			if (!fixture || !op.permission) continue;
			for (const caller of CALLERS) {
				const seed = await seedAccount(clock); // fresh per pair: some calls delete or transfer
				const { path: params = {}, body } = fixture(seed);
				const url = Object.entries({ accountId: seed.accountId, ...params }).reduce(
					(p, [k, v]) => p.replace(`{${k}}`, v),
					op.path,
				);
				const headers: Record<string, string> =
					caller === "anonymous" ? {} : { Authorization: `Bearer ${seed.users[caller].token}` };
				const init = body === undefined ? { method: op.method, headers } : jsonRequest(op.method, body, headers);
				const res = await t.request(url, init);
				await res.arrayBuffer();
				const want = expectedStatus(caller, op.permission);
				const ok = want === "2xx" ? res.status >= 200 && res.status < 300 : res.status === want;
				if (!ok) mismatches.push(`${op.key} as ${caller}: expected ${want}, got ${res.status}`);
				pairs++;
			}
		}
		console.log(`authorization matrix: ${pairs} (route, caller) pairs checked`);
		expect(mismatches).toEqual([]);
		expect(pairs).toBe(ops.length * CALLERS.length);
	}, 120_000);
});
