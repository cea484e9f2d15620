import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type { Permission, Role } from "../../src/auth/permissions";
import { reservedScopeFor, roleAllows } from "../../src/auth/permissions";
import { createDatabase } from "../../src/db";
import { accountDomains, accounts, users, webhookDeliveries } from "../../src/db/schema";
import { startSession } from "../../src/identity/sessions";
import { ManualClock } from "../../src/platform/clock";
import { newId } from "../../src/platform/ids";
import { GRANTS_EXTENSION, PERMISSION_EXTENSION } from "../../src/routes/account-route";
import { testApp } from "../support/app";
import { fakeIdp, seedConnection } from "../support/fake-idp";
import { IDP_ENTITY_ID, IDP_SSO_URL, idpCertificate, seedSamlConnection } from "../support/fake-saml-idp";
import { jsonRequest } from "../support/request";
import { parkKeySecret, type SeededAccount, seedAccount } from "../support/seed";
import { archiveAndDispatch } from "../support/webhooks";

/**
 * The authorization matrix of API.md §4, generated from the route table: every
 * operation under /v1/accounts/{accountId} that /v1/openapi.json lists is
 * called as each kind of caller. A route added later without a fixture here
 * fails the first test, so no route can skip the matrix.
 */
const clock = new ManualClock("2026-07-01T00:00:00Z");
// The connection's provider answers discovery and JWKS (the outside world, faked).
const provider = await fakeIdp({ issuer: "https://acme.okta.com", now: () => clock.now() });
const t = testApp({ clock, fetch: provider.fetch });
const db = createDatabase(env.DB);

type Caller =
	| Role
	| "stranger"
	| "anonymous"
	| "key-with-scope"
	| "key-without-scope"
	| "key-of-demoted-creator"
	| "unverified-owner";
type Fixture = (
	s: SeededAccount,
	caller: Caller,
) => { path?: Record<string, string>; body?: unknown; prepare?: () => Promise<unknown> };
/**
 * The key a caller manages: their own where they have one (members manage only their own); for
 * management keys, one that fits inside them (a key can hand on nothing it does not hold).
 */
const ownKey = (s: SeededAccount, caller: Caller) =>
	caller === "owner" || caller === "admin" || caller === "member"
		? s.keyIds[caller]
		: caller.startsWith("key")
			? s.keyIds.reserved
			: s.keyIds.owner;
const matrixDomain = (s: SeededAccount, verified: boolean) =>
	db.insert(accountDomains).values({
		id: `dom_${s.accountId.slice(4)}`,
		accountId: s.accountId,
		domain: `${s.accountId.slice(4)}.example.com`,
		challenge: "matrix",
		createdBy: s.users.owner.id,
		createdAt: clock.now(),
		verifiedAt: verified ? clock.now() : null,
	});
const matrixConnection = (s: SeededAccount) =>
	seedConnection(db, { accountId: s.accountId, ownerId: s.users.owner.id }, clock.now(), {
		id: `sso_${s.accountId.slice(4)}`,
	});
const matrixSamlConnection = (s: SeededAccount) =>
	seedSamlConnection(db, { accountId: s.accountId, ownerId: s.users.owner.id }, clock.now(), {
		id: `sso_${s.accountId.slice(4)}`,
	});
const FIXTURES: Record<string, Fixture> = {
	"GET /v1/accounts/{accountId}": () => ({}),
	"PATCH /v1/accounts/{accountId}": () => ({ body: { name: "Renamed" } }),
	"DELETE /v1/accounts/{accountId}": () => ({}),
	"POST /v1/accounts/{accountId}/transfer-ownership": (s) => ({ body: { userId: s.users.member.id } }),
	"GET /v1/accounts/{accountId}/members": () => ({}),
	"POST /v1/accounts/{accountId}/service-accounts": () => ({ body: { name: "svc", role: "readonly" } }),
	"GET /v1/accounts/{accountId}/service-accounts": () => ({}),
	"GET /v1/accounts/{accountId}/service-accounts/{serviceAccountId}": (s) => ({
		path: { serviceAccountId: s.serviceAccountId },
	}),
	"PATCH /v1/accounts/{accountId}/service-accounts/{serviceAccountId}": (s) => ({
		path: { serviceAccountId: s.serviceAccountId },
		body: { name: "renamed" },
	}),
	"DELETE /v1/accounts/{accountId}/service-accounts/{serviceAccountId}": (s) => ({
		path: { serviceAccountId: s.serviceAccountId },
	}),
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
	"POST /v1/accounts/{accountId}/keys": (_s, caller) => ({
		body: { name: "k", environment: "staging", scopes: [caller.startsWith("key") ? "keys:read" : "data:read"] },
	}),
	"GET /v1/accounts/{accountId}/keys": () => ({}),
	"GET /v1/accounts/{accountId}/keys/{keyId}": (s, caller) => ({ path: { keyId: ownKey(s, caller) } }),
	"PATCH /v1/accounts/{accountId}/keys/{keyId}": (s, caller) => ({
		path: { keyId: ownKey(s, caller) },
		body: { name: "renamed" },
	}),
	"POST /v1/accounts/{accountId}/keys/{keyId}/rotate": (s, caller) => ({
		path: { keyId: ownKey(s, caller) },
		body: {},
	}),
	"POST /v1/accounts/{accountId}/keys/{keyId}/reveal-secret": (s, caller) => {
		const keyId = ownKey(s, caller);
		return {
			path: { keyId },
			prepare: () => parkKeySecret(keyId, new Date(clock.now().getTime() + 86_400_000)),
		};
	},
	"POST /v1/accounts/{accountId}/keys/{keyId}/revoke": (s, caller) => ({
		path: { keyId: ownKey(s, caller) },
		body: { reason: "test" },
	}),
	"GET /v1/accounts/{accountId}/audit-events": () => ({}),
	"GET /v1/accounts/{accountId}/audit-events/export": () => ({}),
	"POST /v1/accounts/{accountId}/webhooks": () => ({
		body: { url: "https://hooks.example.com/matrix", events: ["alert.key_created"] },
	}),
	"GET /v1/accounts/{accountId}/webhooks": () => ({}),
	"POST /v1/accounts/{accountId}/log-streams": () => ({
		body: { type: "http", url: "https://logs.example.com/matrix", auth: "hmac" },
	}),
	"GET /v1/accounts/{accountId}/log-streams": () => ({}),
	"GET /v1/accounts/{accountId}/log-streams/{streamId}": (s) => ({ path: { streamId: s.logStreamId } }),
	"PATCH /v1/accounts/{accountId}/log-streams/{streamId}": (s) => ({
		path: { streamId: s.logStreamId },
		body: { enabled: false },
	}),
	"DELETE /v1/accounts/{accountId}/log-streams/{streamId}": (s) => ({ path: { streamId: s.logStreamId } }),
	"DELETE /v1/accounts/{accountId}/webhooks/{webhookId}": (s) => ({ path: { webhookId: s.webhookId } }),
	"GET /v1/accounts/{accountId}/webhooks/{webhookId}/deliveries": (s) => ({ path: { webhookId: s.webhookId } }),
	"GET /v1/accounts/{accountId}/webhooks/{webhookId}": (s) => ({ path: { webhookId: s.webhookId } }),
	"PATCH /v1/accounts/{accountId}/webhooks/{webhookId}": (s) => ({
		path: { webhookId: s.webhookId },
		body: { events: ["key.*"] },
	}),
	"POST /v1/accounts/{accountId}/webhooks/{webhookId}/rotate-secret": (s) => ({
		path: { webhookId: s.webhookId },
		body: { overlapSeconds: 60 },
	}),
	"POST /v1/accounts/{accountId}/webhooks/{webhookId}/test": (s) => ({ path: { webhookId: s.webhookId } }),
	"POST /v1/accounts/{accountId}/webhooks/{webhookId}/deliveries/{deliveryId}/redeliver": (s) => {
		const deliveryId = newId("dlv");
		return {
			path: { webhookId: s.webhookId, deliveryId },
			prepare: () =>
				db.insert(webhookDeliveries).values({
					id: deliveryId,
					webhookId: s.webhookId,
					accountId: s.accountId,
					event: "key.created",
					eventId: newId("evt"),
					body: "{}",
					status: "delivered",
					createdAt: clock.now(),
					updatedAt: clock.now(),
				}),
		};
	},
	"GET /v1/accounts/{accountId}/security-report": () => ({}),
	"POST /v1/accounts/{accountId}/lockdown": () => ({
		body: { reason: "matrix", revokeSessions: false, revokeKeys: "none" },
	}),
	"GET /v1/accounts/{accountId}/domains": () => ({}),
	"POST /v1/accounts/{accountId}/domains": (s) => ({ body: { domain: `${s.accountId.slice(4)}.example.com` } }),
	// Already verified, so the call answers without looking the record up (no DNS from the matrix).
	"POST /v1/accounts/{accountId}/domains/{domainId}/verify": (s) => ({
		path: { domainId: `dom_${s.accountId.slice(4)}` },
		prepare: () => matrixDomain(s, true),
	}),
	"DELETE /v1/accounts/{accountId}/domains/{domainId}": (s) => ({
		path: { domainId: `dom_${s.accountId.slice(4)}` },
		prepare: () => matrixDomain(s, true),
	}),
	"GET /v1/accounts/{accountId}/sso-connections": () => ({}),
	"POST /v1/accounts/{accountId}/sso-connections": () => ({
		body: { issuer: provider.issuer, clientId: provider.clientId, clientSecret: provider.clientSecret },
	}),
	"PATCH /v1/accounts/{accountId}/sso-connections/{connectionId}": (s) => ({
		path: { connectionId: `sso_${s.accountId.slice(4)}` },
		body: { scopes: ["openid", "email"] },
		prepare: () => matrixConnection(s),
	}),
	"DELETE /v1/accounts/{accountId}/sso-connections/{connectionId}": (s) => ({
		path: { connectionId: `sso_${s.accountId.slice(4)}` },
		prepare: () => matrixConnection(s),
	}),
	"GET /v1/accounts/{accountId}/saml-connections": () => ({}),
	"POST /v1/accounts/{accountId}/saml-connections": () => ({
		body: { idpEntityId: IDP_ENTITY_ID, ssoUrl: IDP_SSO_URL, certificate: idpCertificate },
	}),
	"PATCH /v1/accounts/{accountId}/saml-connections/{connectionId}": (s) => ({
		path: { connectionId: `sso_${s.accountId.slice(4)}` },
		body: { idpEntityId: "https://saml.acme-sso.com/renamed" },
		prepare: () => matrixSamlConnection(s),
	}),
	"DELETE /v1/accounts/{accountId}/saml-connections/{connectionId}": (s) => ({
		path: { connectionId: `sso_${s.accountId.slice(4)}` },
		prepare: () => matrixSamlConnection(s),
	}),
	"POST /v1/accounts/{accountId}/lockdown/lift": (s) => ({
		body: { reason: "matrix" },
		prepare: () =>
			db
				.update(accounts)
				.set({ lockedDownAt: clock.now(), lockedDownReason: "matrix" })
				.where(eq(accounts.id, s.accountId)),
	}),
};

const CALLERS: Caller[] = [
	"owner",
	"admin",
	"member",
	"readonly",
	"stranger",
	"anonymous",
	"key-with-scope",
	"key-without-scope",
	"key-of-demoted-creator",
	"unverified-owner",
];

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
				grants: op[GRANTS_EXTENSION] as string | undefined,
			})),
		);
}

const expectedStatus = (caller: Caller, permission: Permission, grants: boolean): "2xx" | 401 | 403 | 404 => {
	if (caller === "anonymous") return 401;
	// An account whose owner never proved their address grants nothing, to anyone; reading works.
	if (caller === "unverified-owner") return grants ? 403 : "2xx";
	if (caller === "stranger") return 404;
	if (caller === "key-without-scope") return 403;
	if (caller === "key-with-scope" || caller === "key-of-demoted-creator") {
		// A key needs its reserved scope, and is capped by its creator's current role (admin; demoted to readonly).
		const creator: Role = caller === "key-with-scope" ? "admin" : "readonly";
		return reservedScopeFor(permission) && roleAllows(creator, permission) ? "2xx" : 403;
	}
	return roleAllows(caller, permission) ? "2xx" : 403;
};

const credentialOf = (s: SeededAccount, caller: Caller): string | null => {
	if (caller === "anonymous") return null;
	if (caller === "key-with-scope") return s.apiKeys.withScope;
	if (caller === "key-without-scope") return s.apiKeys.withoutScope;
	if (caller === "key-of-demoted-creator") return s.apiKeys.demoted;
	return s.users[caller === "unverified-owner" ? "owner" : caller].token;
};

describe("authorization matrix (API.md §4)", () => {
	it("every account route declares a permission and has a fixture", async () => {
		const ops = await accountOperations();
		expect(ops.length).toBeGreaterThanOrEqual(18);
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
				// Fresh per pair: some calls delete or transfer.
				const seed = await seedAccount(clock, {}, { ownerVerified: caller !== "unverified-owner" });
				const { path: params = {}, body, prepare } = fixture(seed, caller);
				await prepare?.();
				const url = Object.entries({ accountId: seed.accountId, ...params }).reduce(
					(p, [k, v]) => p.replace(`{${k}}`, v),
					op.path,
				);
				const credential = credentialOf(seed, caller);
				const headers: Record<string, string> = credential ? { Authorization: `Bearer ${credential}` } : {};
				const init = body === undefined ? { method: op.method, headers } : jsonRequest(op.method, body, headers);
				const res = await t.request(url, init);
				await res.arrayBuffer();
				const want = expectedStatus(caller, op.permission, op.grants !== undefined);
				const ok = want === "2xx" ? res.status >= 200 && res.status < 300 : res.status === want;
				if (!ok) mismatches.push(`${op.key} as ${caller}: expected ${want}, got ${res.status}`);
				pairs++;
			}
		}
		console.log(`authorization matrix: ${pairs} (route, caller) pairs checked`);
		expect(mismatches).toEqual([]);
		expect(pairs).toBe(ops.length * CALLERS.length);
	}, 300_000);

	it('under mfaPolicy "phishing-resistant", every route refuses a session not made with a passkey and a key whose creator has none, and the owner\'s passkey session is answered as before', async () => {
		const ops = await accountOperations();
		const mismatches: string[] = [];
		for (const op of ops) {
			const fixture = FIXTURES[op.key];
			if (!fixture || !op.permission) continue;
			for (const caller of ["owner", "admin", "key-with-scope"] as const) {
				const seed = await seedAccount(clock, { mfaPolicy: "phishing-resistant" });
				await db.update(users).set({ passkeyCount: 1 }).where(eq(users.id, seed.users.owner.id));
				const { path: params = {}, body, prepare } = fixture(seed, caller);
				await prepare?.();
				const url = Object.entries({ accountId: seed.accountId, ...params }).reduce(
					(p, [k, v]) => p.replace(`{${k}}`, v),
					op.path,
				);
				// The owner signed in with a passkey; the admin's session and the key's creator have none.
				const credential =
					caller === "owner"
						? (
								await startSession(
									env,
									db,
									seed.users.owner.id,
									{ ip: null, userAgent: "matrix", country: null },
									clock.now(),
									["passkey"],
								)
							).token
						: credentialOf(seed, caller);
				const headers: Record<string, string> = credential ? { Authorization: `Bearer ${credential}` } : {};
				const init = body === undefined ? { method: op.method, headers } : jsonRequest(op.method, body, headers);
				const res = await t.request(url, init);
				const text = await res.text();
				const want = caller === "owner" ? expectedStatus(caller, op.permission, op.grants !== undefined) : 403;
				const ok = want === "2xx" ? res.status >= 200 && res.status < 300 : res.status === want;
				if (!ok) mismatches.push(`${op.key} as ${caller}: expected ${want}, got ${res.status}`);
				if (caller !== "owner" && !/passkey/.test(text))
					mismatches.push(`${op.key} as ${caller}: not the policy's 403`);
			}
		}
		expect(mismatches).toEqual([]);
	}, 300_000);
});

describe("masking by role (issue #26)", () => {
	it("every route that returns other people's emails and addresses shows them whole to owner and admin (and their keys), masked to everyone else", async () => {
		const s = await seedAccount(clock);
		const planted = {
			id: newId("evt"),
			time: clock.now().toISOString(),
			accountId: s.accountId,
			action: "member.invited" as const,
			outcome: "success" as const,
			actor: { type: "user" as const, id: s.users.owner.id, ip: "203.0.113.77", userAgent: "matrix" },
			target: null,
			requestId: null,
			metadata: { email: "carol.planted@example.com", note: "cc dave.planted@example.org" },
		};
		await archiveAndDispatch([planted], clock);
		const ROUTES = {
			"GET /v1/accounts/{accountId}/audit-events": `/v1/accounts/${s.accountId}/audit-events?action=member.invited`,
			"GET /v1/accounts/{accountId}/audit-events/export": `/v1/accounts/${s.accountId}/audit-events/export`,
			"GET /v1/accounts/{accountId}/members": `/v1/accounts/${s.accountId}/members`,
		};
		const whole: Record<string, string[]> = {
			"GET /v1/accounts/{accountId}/audit-events": [
				"carol.planted@example.com",
				"dave.planted@example.org",
				"203.0.113.77",
			],
			"GET /v1/accounts/{accountId}/audit-events/export": [
				"carol.planted@example.com",
				"dave.planted@example.org",
				"203.0.113.77",
			],
			"GET /v1/accounts/{accountId}/members": [s.users.admin.email, s.users.member.email],
		};
		const masked: Record<string, string[]> = {
			"GET /v1/accounts/{accountId}/audit-events": ["c…d@example.com", "d…d@example.org", "203.0.113.x"],
			"GET /v1/accounts/{accountId}/audit-events/export": ["c…d@example.com", "d…d@example.org", "203.0.113.x"],
			"GET /v1/accounts/{accountId}/members": [],
		};
		const seesWhole: Partial<Record<Caller, boolean>> = {
			owner: true,
			admin: true,
			"key-with-scope": true, // its creator is an admin
			member: false,
			readonly: false,
			"key-of-demoted-creator": false, // its creator is readonly now
		};
		const mismatches: string[] = [];
		for (const [route, url] of Object.entries(ROUTES))
			for (const [caller, whole_] of Object.entries(seesWhole) as [Caller, boolean][]) {
				const res = await t.request(url, { headers: { Authorization: `Bearer ${credentialOf(s, caller)}` } });
				if (res.status === 403) continue; // a member may not read the audit log at all
				const text = await res.text();
				if (res.status !== 200) mismatches.push(`${route} as ${caller}: ${res.status}`);
				// Their own address is theirs to see.
				const own = caller in s.users ? s.users[caller as keyof SeededAccount["users"]].email : null;
				for (const value of (whole[route] ?? []).filter((v) => v !== own))
					if (text.includes(value) !== whole_)
						mismatches.push(`${route} as ${caller}: ${value} ${whole_ ? "masked" : "whole"}`);
				if (!whole_)
					for (const value of masked[route] ?? [])
						if (!text.includes(value)) mismatches.push(`${route} as ${caller}: no ${value}`);
			}
		expect(mismatches).toEqual([]);
		// A readonly member still sees their own address whole in the member list.
		const own = await t.request(ROUTES["GET /v1/accounts/{accountId}/members"], {
			headers: { Authorization: `Bearer ${s.users.readonly.token}` },
		});
		expect(await own.text()).toContain(s.users.readonly.email);
	});
});
