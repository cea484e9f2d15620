import { env } from "cloudflare:test";
import { eq, like } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDatabase } from "../../src/db";
import {
	accountDomains,
	accounts,
	apiKeys,
	emailTokens,
	invitations,
	logStreams,
	memberships,
	scimGroupMembers,
	scimGroups,
	scimUsers,
	serviceAccounts,
	ssoConnections,
	users,
	webhooks,
} from "../../src/db/schema";
import { startSession } from "../../src/identity/sessions";
import { hashApiKey } from "../../src/keys/format";
import { ManualClock } from "../../src/platform/clock";
import { newId } from "../../src/platform/ids";
import {
	GRANTS_EXTENSION,
	REAUTHENTICATION_EXTENSION,
	REAUTHENTICATION_WHEN_EXTENSION,
} from "../../src/routes/account-route";
import { sha256Hex } from "../../src/security/digest";
import { RESERVED_SCOPES } from "../../src/security/scopes";
import { BASE, testApp } from "../support/app";
import { seedConnection } from "../support/fake-idp";
import { IDP_ENTITY_ID, IDP_SSO_URL, idpCertificate, samlResponse, seedSamlConnection } from "../support/fake-saml-idp";
import { jsonRequest } from "../support/request";
import { parkKeySecret, type SeededAccount, seedAccount, seedKey } from "../support/seed";

/**
 * What the weakest caller of each route can *produce*, generated from the route
 * table: every operation of /v1/openapi.json that changes state must be listed
 * below, either with the escalation attempts made through it (each must be
 * refused and leave the account exactly as it was) or with the reason it hands
 * out nothing. A route added later fails the first test until it is listed, and
 * a route that declares `x-keyward-grants` must come with attempts.
 */
const clock = new ManualClock("2026-08-01T00:00:00Z");
const t = testApp({ clock });
const db = createDatabase(env.DB);

interface Attempt {
	what: string;
	expect: 400 | 401 | 403 | 404 | 409 | 423;
	/** What the attempt needs in place first (before the account is snapshotted). */
	setup?: (s: SeededAccount) => Promise<unknown>;
	run: (s: SeededAccount) => Promise<Response>;
	/** Beyond the account snapshot: another thing that must not have changed (null when it held). */
	check?: (s: SeededAccount) => Promise<string | null>;
}
type Entry = Attempt[] | { nothing: string };

const send = (credential: string, method: string, path: string, body?: unknown, ip = "192.0.2.10") => {
	const headers = { Authorization: `Bearer ${credential}`, "CF-Connecting-IP": ip };
	return t.request(path, body === undefined ? { method, headers } : jsonRequest(method, body, headers));
};
const tokenOf = (s: SeededAccount, who: keyof SeededAccount["users"]) => s.users[who].token;
/** A management key made by `creator` (its current role caps it at use). */
const keyOf = async (
	s: SeededAccount,
	creator: keyof SeededAccount["users"],
	scopes: string[],
	environment: "production" | "staging" | "ci" = "staging",
	options: Parameters<typeof seedKey>[5] = {},
) => (await seedKey(s.accountId, s.users[creator].id, scopes, clock.now(), environment, options)).secret;
const keysPath = (s: SeededAccount) => `/v1/accounts/${s.accountId}/keys`;
const serviceAccountsPath = (s: SeededAccount) => `/v1/accounts/${s.accountId}/service-accounts`;
const OTHER_SVC = `svc_${"b".repeat(16)}`;
const CALLER_SVC = `svc_${"c".repeat(16)}`;
const newKey = (over: Record<string, unknown> = {}) => ({
	name: "escalation",
	environment: "staging",
	scopes: ["keys:read"],
	...over,
});
/** The id of the key whose secret this is (keys of one account share their first 12 characters). */
const ownKeyId = async (_s: SeededAccount, secret: string) =>
	(await db.query.apiKeys.findFirst({ where: eq(apiKeys.keyHash, await hashApiKey(env.KEY_PEPPER ?? "", secret)) }))
		?.id ?? "";

/** The account's own domain in these attempts, and ids derived from the account (the attempts' setup and run agree on them). */
const domainOf = (s: SeededAccount) => `${s.accountId.slice(4)}.example.com`;
const domainsPath = (s: SeededAccount) => `/v1/accounts/${s.accountId}/domains`;
const domainIdOf = (s: SeededAccount) => `dom_${s.accountId.slice(4)}`;
const personOf = (s: SeededAccount) => `usr_${s.accountId.slice(4)}`;
const groupOf = (s: SeededAccount) => `grp_${s.accountId.slice(4)}`;
const ssoPath = (s: SeededAccount) => `/v1/accounts/${s.accountId}/sso-connections`;
const ssoIdOf = (s: SeededAccount) => `sso_${s.accountId.slice(4)}`;
const ssoInput = {
	issuer: "https://acme.okta.com",
	clientId: "keyward-client",
	clientSecret: "provider-issued-secret-1",
};
const samlPath = (s: SeededAccount) => `/v1/accounts/${s.accountId}/saml-connections`;
const samlInput = { idpEntityId: IDP_ENTITY_ID, ssoUrl: IDP_SSO_URL, certificate: idpCertificate };
const connectSaml = (s: SeededAccount, accountId = s.accountId) =>
	seedSamlConnection(db, { accountId, ownerId: s.users.owner.id }, clock.now(), { id: ssoIdOf(s) });
const connectSso = (s: SeededAccount, accountId = s.accountId) =>
	seedConnection(db, { accountId, ownerId: s.users.owner.id }, clock.now(), { id: ssoIdOf(s) });
const claimDomain = (s: SeededAccount, verified: boolean, accountId = s.accountId, id = domainIdOf(s)) =>
	db.insert(accountDomains).values({
		id,
		accountId,
		domain: domainOf(s),
		challenge: "seeded",
		createdBy: s.users.owner.id,
		createdAt: clock.now(),
		verifiedAt: verified ? clock.now() : null,
	});
/** A person the provider provisioned (`p@` the account's domain), active and a member, or deactivated. */
async function scimPerson(s: SeededAccount, active = true) {
	await claimDomain(s, true);
	const userName = `p@${domainOf(s)}`;
	const now = clock.now();
	await db.insert(users).values({
		id: personOf(s),
		email: userName,
		name: "P",
		passwordHash: "x",
		emailVerifiedAt: now,
		createdAt: now,
	});
	await db.insert(scimUsers).values({
		accountId: s.accountId,
		userId: personOf(s),
		userName,
		active,
		role: "member",
		createdAt: now,
		updatedAt: now,
	});
	if (active)
		await db.insert(memberships).values({ accountId: s.accountId, userId: personOf(s), role: "member", joinedAt: now });
}
/** The owner, linked to the provider under the account's domain. */
async function scimOwner(s: SeededAccount) {
	await claimDomain(s, true);
	const userName = `owner@${domainOf(s)}`;
	await db.update(users).set({ email: userName }).where(eq(users.id, s.users.owner.id));
	await db.insert(scimUsers).values({
		accountId: s.accountId,
		userId: s.users.owner.id,
		userName,
		active: true,
		role: "member",
		createdAt: clock.now(),
		updatedAt: clock.now(),
	});
}
const scimGroup = (s: SeededAccount) =>
	db.insert(scimGroups).values({
		id: groupOf(s),
		accountId: s.accountId,
		displayName: "Everyone",
		createdAt: clock.now(),
		updatedAt: clock.now(),
	});
const lockDown = (s: SeededAccount) =>
	db
		.update(accounts)
		.set({ lockedDownAt: clock.now(), lockedDownReason: "incident" })
		.where(eq(accounts.id, s.accountId));
const scimKeyOf = (s: SeededAccount, creator: "owner" | "admin") => keyOf(s, creator, ["scim:write"]);
const scimSend = (credential: string, method: string, path: string, body?: unknown) =>
	send(credential, method, `/scim/v2${path}`, body);

const ESCALATIONS: Record<string, Entry> = {
	"POST /v1/accounts/{accountId}/keys": [
		{
			what: "a keys:write key grants members:write, which it does not hold",
			expect: 403,
			run: async (s) =>
				send(await keyOf(s, "admin", ["keys:write"]), "POST", keysPath(s), newKey({ scopes: ["members:write"] })),
		},
		{
			what: "a keys:write key grants *, which it does not hold",
			expect: 403,
			run: async (s) => send(await keyOf(s, "admin", ["keys:write"]), "POST", keysPath(s), newKey({ scopes: ["*"] })),
		},
		{
			what: "a ci key with * and keys:write grants members:write (* covers product scopes only)",
			expect: 403,
			run: async (s) =>
				send(
					await keyOf(s, "owner", ["*", "keys:write"], "ci"),
					"POST",
					keysPath(s),
					newKey({ environment: "ci", scopes: ["members:write"] }),
				),
		},
		{
			what: "an allowlisted key mints a key without an allowlist",
			expect: 403,
			run: async (s) =>
				send(
					await keyOf(s, "admin", ["keys:write", "keys:read"], "staging", { ipAllowlist: ["192.0.2.0/24"] }),
					"POST",
					keysPath(s),
					newKey(),
				),
		},
		{
			what: "a key mints a key with a higher rate limit",
			expect: 403,
			run: async (s) =>
				send(
					await keyOf(s, "admin", ["keys:write", "keys:read"], "staging", { rateLimit: 10, windowSeconds: 60 }),
					"POST",
					keysPath(s),
					newKey({ rateLimit: { limit: 11, windowSeconds: 60 } }),
				),
		},
		{
			what: "a staging key mints a production key",
			expect: 403,
			run: async (s) =>
				send(
					await keyOf(s, "admin", ["keys:write", "keys:read"]),
					"POST",
					keysPath(s),
					newKey({ environment: "production" }),
				),
		},
		{
			what: "a key mints a key that outlives it",
			expect: 403,
			run: async (s) =>
				send(
					await keyOf(s, "admin", ["keys:write", "keys:read"], "staging", { lifetimeDays: 2 }),
					"POST",
					keysPath(s),
					newKey({ expiresInDays: 30 }),
				),
		},
		{
			what: "a member grants members:write",
			expect: 403,
			run: (s) => send(tokenOf(s, "member"), "POST", keysPath(s), newKey({ scopes: ["members:write"] })),
		},
		{
			what: "a member grants audit:read",
			expect: 403,
			run: (s) => send(tokenOf(s, "member"), "POST", keysPath(s), newKey({ scopes: ["audit:read"] })),
		},
		{
			what: "an admin makes a readonly service account a key with keys:write (beyond the service account's role)",
			expect: 403,
			run: (s) =>
				send(
					tokenOf(s, "admin"),
					"POST",
					keysPath(s),
					newKey({ scopes: ["keys:write"], owner: { serviceAccountId: s.serviceAccountId } }),
				),
		},
		{
			what: "a member makes a key for a service account (it would outlive them)",
			expect: 403,
			run: (s) =>
				send(
					tokenOf(s, "member"),
					"POST",
					keysPath(s),
					newKey({ scopes: ["data:read"], owner: { serviceAccountId: s.serviceAccountId } }),
				),
		},
		{
			what: "an admin's keys:write key makes a key for a service account (one that outlives the admin's removal)",
			expect: 403,
			run: async (s) =>
				send(
					await keyOf(s, "admin", ["keys:write", "keys:read"]),
					"POST",
					keysPath(s),
					newKey({ scopes: ["keys:read"], owner: { serviceAccountId: s.serviceAccountId } }),
				),
		},
		{
			what: "a service account's key makes a key for another service account",
			expect: 403,
			setup: (s) =>
				db.insert(serviceAccounts).values([
					{
						id: OTHER_SVC,
						accountId: s.accountId,
						name: "other",
						role: "admin",
						createdBy: s.users.owner.id,
						createdAt: clock.now(),
					},
					{
						id: CALLER_SVC,
						accountId: s.accountId,
						name: "caller",
						role: "member",
						createdBy: s.users.owner.id,
						createdAt: clock.now(),
					},
				]),
			run: async (s) => {
				const own = await keyOf(s, "owner", ["keys:write", "keys:read"], "staging", { serviceAccountId: CALLER_SVC });
				return send(own, "POST", keysPath(s), newKey({ owner: { serviceAccountId: OTHER_SVC } }));
			},
		},
		{
			what: "a key with credits mints a key with a balance of its own (as small as you like: it adds uses)",
			expect: 403,
			run: async (s) =>
				send(
					await keyOf(s, "admin", ["keys:write", "keys:read"], "staging", { credits: { remaining: 10 } }),
					"POST",
					keysPath(s),
					newKey({ credits: { remaining: 1 } }),
				),
		},
		{
			what: "a key with credits mints a key with more",
			expect: 403,
			run: async (s) =>
				send(
					await keyOf(s, "admin", ["keys:write", "keys:read"], "staging", { credits: { remaining: 10 } }),
					"POST",
					keysPath(s),
					newKey({ credits: { remaining: 5, refill: { amount: 11, interval: "monthly" } } }),
				),
		},
		{
			what: "a key with a burst limit mints a key whose copy of it is renamed (verify checks limits by name)",
			expect: 403,
			run: async (s) =>
				send(
					await keyOf(s, "admin", ["keys:write", "keys:read"], "staging", {
						rateLimits: [
							{ name: "default", limit: 1000, windowSeconds: 3600 },
							{ name: "burst", limit: 5, windowSeconds: 1 },
						],
					}),
					"POST",
					keysPath(s),
					newKey({
						rateLimits: [
							{ name: "default", limit: 1000, windowSeconds: 3600 },
							{ name: "zzz", limit: 5, windowSeconds: 1 },
						],
					}),
				),
		},
		{
			what: "a key with a burst limit mints a key without it",
			expect: 403,
			run: async (s) =>
				send(
					await keyOf(s, "admin", ["keys:write", "keys:read"], "staging", {
						rateLimits: [
							{ name: "default", limit: 1000, windowSeconds: 3600 },
							{ name: "burst", limit: 5, windowSeconds: 1 },
						],
					}),
					"POST",
					keysPath(s),
					newKey({ rateLimits: [{ name: "default", limit: 1000, windowSeconds: 3600 }] }),
				),
		},
	],
	"PATCH /v1/accounts/{accountId}/keys/{keyId}": [
		{
			what: "a keys:write key adds members:write to itself",
			expect: 403,
			run: async (s) => {
				const secret = await keyOf(s, "admin", ["keys:write"]);
				return send(secret, "PATCH", `${keysPath(s)}/${await ownKeyId(s, secret)}`, {
					scopes: ["keys:write", "members:write"],
				});
			},
		},
		{
			what: "a key drops its own IP allowlist",
			expect: 403,
			run: async (s) => {
				const secret = await keyOf(s, "admin", ["keys:write"], "staging", { ipAllowlist: ["192.0.2.0/24"] });
				return send(secret, "PATCH", `${keysPath(s)}/${await ownKeyId(s, secret)}`, { ipAllowlist: [] });
			},
		},
		{
			what: "a key widens its own allowlist to another range",
			expect: 403,
			run: async (s) => {
				const secret = await keyOf(s, "admin", ["keys:write"], "staging", { ipAllowlist: ["192.0.2.0/24"] });
				return send(secret, "PATCH", `${keysPath(s)}/${await ownKeyId(s, secret)}`, {
					ipAllowlist: ["192.0.2.0/24", "198.51.100.0/24"],
				});
			},
		},
		{
			what: "a key raises its own rate limit",
			expect: 403,
			run: async (s) => {
				const secret = await keyOf(s, "admin", ["keys:write"], "staging", { rateLimit: 10, windowSeconds: 60 });
				return send(secret, "PATCH", `${keysPath(s)}/${await ownKeyId(s, secret)}`, {
					rateLimit: { limit: 10, windowSeconds: 1 },
				});
			},
		},
		{
			what: "a member enables their own key that an admin disabled",
			expect: 403,
			run: async (s) => {
				const key = await seedKey(s.accountId, s.users.member.id, ["data:read"], clock.now(), "staging", {
					disabledBy: s.users.admin.id,
				});
				return send(tokenOf(s, "member"), "PATCH", `${keysPath(s)}/${key.id}`, { enabled: true });
			},
		},
		{
			what: "a key with credits raises its own",
			expect: 403,
			run: async (s) => {
				const secret = await keyOf(s, "admin", ["keys:write"], "staging", { credits: { remaining: 10 } });
				return send(secret, "PATCH", `${keysPath(s)}/${await ownKeyId(s, secret)}`, { credits: { remaining: 1000 } });
			},
		},
		{
			what: "a key with credits sets them again to the same value (a refill of what it spent)",
			expect: 403,
			run: async (s) => {
				const secret = await keyOf(s, "admin", ["keys:write"], "staging", { credits: { remaining: 10 } });
				return send(secret, "PATCH", `${keysPath(s)}/${await ownKeyId(s, secret)}`, { credits: { remaining: 10 } });
			},
		},
		{
			what: "a key sets credits on itself (a key's credits are set by who manages it, never by the key)",
			expect: 403,
			run: async (s) => {
				const secret = await keyOf(s, "admin", ["keys:write"]);
				return send(secret, "PATCH", `${keysPath(s)}/${await ownKeyId(s, secret)}`, { credits: { remaining: 10 } });
			},
		},
		{
			what: "a key renames its own burst limit (so a verify naming it skips it)",
			expect: 403,
			run: async (s) => {
				const secret = await keyOf(s, "admin", ["keys:write"], "staging", {
					rateLimits: [
						{ name: "default", limit: 1000, windowSeconds: 3600 },
						{ name: "burst", limit: 5, windowSeconds: 1 },
					],
				});
				return send(secret, "PATCH", `${keysPath(s)}/${await ownKeyId(s, secret)}`, {
					rateLimits: [
						{ name: "default", limit: 1000, windowSeconds: 3600 },
						{ name: "zzz", limit: 5, windowSeconds: 1 },
					],
				});
			},
		},
		{
			what: "an admin's key refills a service account's key with its unchanged credits",
			expect: 403,
			run: async (s) => {
				const svcKey = await seedKey(s.accountId, s.users.owner.id, ["data:read"], clock.now(), "staging", {
					serviceAccountId: s.serviceAccountId,
					credits: { remaining: 5 },
				});
				return send(await keyOf(s, "admin", ["keys:write", "data:*"]), "PATCH", `${keysPath(s)}/${svcKey.id}`, {
					credits: { remaining: 5 },
				});
			},
		},
		{
			what: "a key with credits removes them (unlimited)",
			expect: 403,
			run: async (s) => {
				const secret = await keyOf(s, "admin", ["keys:write"], "staging", { credits: { remaining: 10 } });
				return send(secret, "PATCH", `${keysPath(s)}/${await ownKeyId(s, secret)}`, { credits: null });
			},
		},
		{
			what: "a key drops its own burst limit",
			expect: 403,
			run: async (s) => {
				const secret = await keyOf(s, "admin", ["keys:write"], "staging", {
					rateLimits: [
						{ name: "default", limit: 1000, windowSeconds: 3600 },
						{ name: "burst", limit: 5, windowSeconds: 1 },
					],
				});
				return send(secret, "PATCH", `${keysPath(s)}/${await ownKeyId(s, secret)}`, {
					rateLimits: [{ name: "default", limit: 1000, windowSeconds: 3600 }],
				});
			},
		},
		{
			what: "an admin's key widens a service account's key (past the admin's membership)",
			expect: 403,
			run: async (s) => {
				const svcKey = await seedKey(s.accountId, s.users.owner.id, ["data:read"], clock.now(), "staging", {
					serviceAccountId: s.serviceAccountId,
				});
				return send(await keyOf(s, "admin", ["keys:write", "data:*"]), "PATCH", `${keysPath(s)}/${svcKey.id}`, {
					scopes: ["data:read", "data:write"],
				});
			},
		},
		{
			what: "an admin widens a readonly service account's key to keys:write (beyond the service account's role)",
			expect: 403,
			run: async (s) => {
				const svcKey = await seedKey(s.accountId, s.users.owner.id, ["data:read"], clock.now(), "staging", {
					serviceAccountId: s.serviceAccountId,
				});
				return send(tokenOf(s, "admin"), "PATCH", `${keysPath(s)}/${svcKey.id}`, {
					scopes: ["data:read", "keys:write"],
				});
			},
		},
		{
			what: "a key adds to another key a scope it does not hold",
			expect: 403,
			run: async (s) =>
				send(await keyOf(s, "admin", ["keys:write"]), "PATCH", `${keysPath(s)}/${s.keyIds.reserved}`, {
					scopes: ["keys:read", "audit:read"],
				}),
		},
		{
			what: "a ci key adds a scope it holds to a production key with no allowlist (carrying it past its own limits)",
			expect: 403,
			run: async (s) => {
				const wide = await seedKey(s.accountId, s.users.owner.id, ["orders:read"], clock.now(), "production");
				return send(
					await keyOf(s, "owner", ["*", "keys:write"], "ci", { ipAllowlist: ["192.0.2.0/24"], rateLimit: 10 }),
					"PATCH",
					`${keysPath(s)}/${wide.id}`,
					{ scopes: ["orders:read", "billing:read"] },
				);
			},
		},
		{
			what: "a member adds members:write to their own key",
			expect: 403,
			run: (s) =>
				send(tokenOf(s, "member"), "PATCH", `${keysPath(s)}/${s.keyIds.member}`, {
					scopes: ["data:read", "members:write"],
				}),
		},
	],
	"POST /v1/accounts/{accountId}/keys/{keyId}/reveal-secret": [
		{
			what: "a member reveals the parked secret of the owner's key",
			expect: 403,
			setup: (s) => parkSecret(s.keyIds.owner),
			run: (s) => send(tokenOf(s, "member"), "POST", `${keysPath(s)}/${s.keyIds.owner}/reveal-secret`),
		},
		{
			what: "a key with every reserved scope reveals its creator's parked secret",
			expect: 403,
			setup: (s) => parkSecret(s.keyIds.admin),
			run: (s) => send(s.apiKeys.withScope, "POST", `${keysPath(s)}/${s.keyIds.admin}/reveal-secret`),
		},
		{
			what: "a readonly member reveals a parked secret",
			expect: 403,
			setup: (s) => parkSecret(s.keyIds.owner),
			run: (s) => send(tokenOf(s, "readonly"), "POST", `${keysPath(s)}/${s.keyIds.owner}/reveal-secret`),
		},
	],
	"POST /v1/accounts/{accountId}/keys/{keyId}/rotate": [
		{
			what: "an admin's key rotates a service account's key (a fresh secret that outlives the admin)",
			expect: 403,
			run: async (s) => {
				const svcKey = await seedKey(s.accountId, s.users.owner.id, ["keys:read"], clock.now(), "staging", {
					serviceAccountId: s.serviceAccountId,
				});
				return send(
					await keyOf(s, "admin", ["keys:write", "keys:read"]),
					"POST",
					`${keysPath(s)}/${svcKey.id}/rotate`,
					{},
				);
			},
		},
		{
			what: "a keys:write key rotates a wider key to obtain its powers",
			expect: 403,
			run: async (s) => {
				const wide = await seedKey(s.accountId, s.users.owner.id, [...RESERVED_SCOPES], clock.now());
				return send(await keyOf(s, "admin", ["keys:write"]), "POST", `${keysPath(s)}/${wide.id}/rotate`, {});
			},
		},
		{
			what: "a member rotates their own key that carries a scope beyond their role",
			expect: 403,
			run: async (s) => {
				const legacy = await seedKey(s.accountId, s.users.member.id, ["members:write"], clock.now());
				return send(tokenOf(s, "member"), "POST", `${keysPath(s)}/${legacy.id}/rotate`, {});
			},
		},
	],
	"POST /v1/accounts/{accountId}/invitations": [
		{
			what: "an admin invites an owner",
			expect: 400,
			run: (s) =>
				send(tokenOf(s, "admin"), "POST", `/v1/accounts/${s.accountId}/invitations`, {
					email: `x-${newId("usr")}@example.com`,
					role: "owner",
				}),
		},
		{
			what: "a ci key with * invites an admin",
			expect: 403,
			run: async (s) =>
				send(await keyOf(s, "owner", ["*"], "ci"), "POST", `/v1/accounts/${s.accountId}/invitations`, {
					email: `x-${newId("usr")}@example.com`,
					role: "admin",
				}),
		},
		{
			what: "a members:* key invites an admin",
			expect: 403,
			run: async (s) =>
				send(await keyOf(s, "owner", ["members:*"]), "POST", `/v1/accounts/${s.accountId}/invitations`, {
					email: `x-${newId("usr")}@example.com`,
					role: "admin",
				}),
		},
		{
			what: "a members:write key whose creator is now readonly invites",
			expect: 403,
			run: async (s) =>
				send(await keyOf(s, "demoted", ["members:write"]), "POST", `/v1/accounts/${s.accountId}/invitations`, {
					email: `x-${newId("usr")}@example.com`,
					role: "member",
				}),
		},
	],
	"PATCH /v1/accounts/{accountId}/members/{userId}": [
		{
			what: "an admin demotes the owner",
			expect: 403,
			run: (s) =>
				send(tokenOf(s, "admin"), "PATCH", `/v1/accounts/${s.accountId}/members/${s.users.owner.id}`, {
					role: "readonly",
				}),
		},
		{
			what: "an admin makes someone owner",
			expect: 400,
			run: (s) =>
				send(tokenOf(s, "admin"), "PATCH", `/v1/accounts/${s.accountId}/members/${s.users.member.id}`, {
					role: "owner",
				}),
		},
		{
			what: "a ci key with * promotes a member to admin",
			expect: 403,
			run: async (s) =>
				send(
					await keyOf(s, "owner", ["*"], "ci"),
					"PATCH",
					`/v1/accounts/${s.accountId}/members/${s.users.member.id}`,
					{
						role: "admin",
					},
				),
		},
		{
			what: "a member promotes themself",
			expect: 403,
			run: (s) =>
				send(tokenOf(s, "member"), "PATCH", `/v1/accounts/${s.accountId}/members/${s.users.member.id}`, {
					role: "admin",
				}),
		},
	],
	"DELETE /v1/accounts/{accountId}/members/{userId}": [
		{
			what: "an admin removes the owner",
			expect: 403,
			run: (s) => send(tokenOf(s, "admin"), "DELETE", `/v1/accounts/${s.accountId}/members/${s.users.owner.id}`),
		},
	],
	"POST /v1/accounts/{accountId}/domains": [
		{
			what: "an admin claims a domain (a verified domain decides whom SCIM may make a member)",
			expect: 403,
			run: (s) => send(tokenOf(s, "admin"), "POST", domainsPath(s), { domain: domainOf(s) }),
		},
		{
			what: "the owner's key with every reserved scope claims a domain",
			expect: 403,
			run: async (s) =>
				send(await keyOf(s, "owner", [...RESERVED_SCOPES]), "POST", domainsPath(s), { domain: domainOf(s) }),
		},
	],
	"POST /v1/accounts/{accountId}/domains/{domainId}/verify": [
		{
			what: "an admin verifies the owner's pending domain",
			expect: 403,
			setup: (s) => claimDomain(s, false),
			run: (s) => send(tokenOf(s, "admin"), "POST", `${domainsPath(s)}/${domainIdOf(s)}/verify`),
		},
		{
			what: "the owner verifies another account's claim by its id",
			expect: 404,
			setup: async (s) => claimDomain(s, false, (await seedAccount(clock)).accountId),
			run: (s) => send(tokenOf(s, "owner"), "POST", `${domainsPath(s)}/${domainIdOf(s)}/verify`),
		},
	],
	"DELETE /v1/accounts/{accountId}/domains/{domainId}": [
		{
			what: "an admin gives the owner's verified domain up",
			expect: 403,
			setup: (s) => claimDomain(s, true),
			run: (s) => send(tokenOf(s, "admin"), "DELETE", `${domainsPath(s)}/${domainIdOf(s)}`),
		},
	],
	"POST /v1/accounts/{accountId}/sso-connections": [
		{
			what: "an admin connects their own identity provider (it would sign the organisation's people in)",
			expect: 403,
			run: (s) => send(tokenOf(s, "admin"), "POST", ssoPath(s), ssoInput),
		},
		{
			what: "the owner's key with every reserved scope connects an identity provider",
			expect: 403,
			run: async (s) => send(await keyOf(s, "owner", [...RESERVED_SCOPES]), "POST", ssoPath(s), ssoInput),
		},
		{
			what: "the owner maps a group to owner for first sign-ins",
			expect: 400,
			run: (s) =>
				send(tokenOf(s, "owner"), "POST", ssoPath(s), {
					...ssoInput,
					roleMapping: { claim: "groups", values: { Everyone: "owner" } },
				}),
		},
	],
	"PATCH /v1/accounts/{accountId}/sso-connections/{connectionId}": [
		{
			what: "an admin points the connection at their own issuer",
			expect: 403,
			setup: (s) => connectSso(s),
			run: (s) =>
				send(tokenOf(s, "admin"), "PATCH", `${ssoPath(s)}/${ssoIdOf(s)}`, { issuer: "https://evil.example.org" }),
		},
		{
			what: "an admin maps everyone's first sign-in to admin",
			expect: 403,
			setup: (s) => connectSso(s),
			run: (s) =>
				send(tokenOf(s, "admin"), "PATCH", `${ssoPath(s)}/${ssoIdOf(s)}`, {
					roleMapping: { claim: "email", values: {}, default: "admin" },
				}),
		},
		{
			what: "the owner's key with every reserved scope changes the client secret",
			expect: 403,
			setup: (s) => connectSso(s),
			run: async (s) =>
				send(await keyOf(s, "owner", [...RESERVED_SCOPES]), "PATCH", `${ssoPath(s)}/${ssoIdOf(s)}`, {
					clientSecret: "mine-now",
				}),
		},
		{
			what: "the owner changes another account's connection by its id",
			expect: 404,
			setup: async (s) => connectSso(s, (await seedAccount(clock)).accountId),
			run: (s) => send(tokenOf(s, "owner"), "PATCH", `${ssoPath(s)}/${ssoIdOf(s)}`, { clientId: "x" }),
		},
	],
	"DELETE /v1/accounts/{accountId}/sso-connections/{connectionId}": [
		{
			what: "an admin removes single sign-on",
			expect: 403,
			setup: (s) => connectSso(s),
			run: (s) => send(tokenOf(s, "admin"), "DELETE", `${ssoPath(s)}/${ssoIdOf(s)}`),
		},
	],
	"POST /v1/accounts/{accountId}/saml-connections": [
		{
			what: "an admin pins their own SAML provider's certificate (it would sign the organisation's people in)",
			expect: 403,
			run: (s) => send(tokenOf(s, "admin"), "POST", samlPath(s), samlInput),
		},
		{
			what: "the owner's key with every reserved scope connects a SAML provider",
			expect: 403,
			run: async (s) => send(await keyOf(s, "owner", [...RESERVED_SCOPES]), "POST", samlPath(s), samlInput),
		},
		{
			what: "the owner maps a SAML group to owner for first sign-ins",
			expect: 400,
			run: (s) =>
				send(tokenOf(s, "owner"), "POST", samlPath(s), {
					...samlInput,
					roleMapping: { claim: "groups", values: { Everyone: "owner" } },
				}),
		},
		{
			what: "the owner adds a SAML connection beside the OIDC one (a second way in)",
			expect: 409,
			setup: (s) => connectSso(s),
			run: (s) => send(tokenOf(s, "owner"), "POST", samlPath(s), samlInput),
		},
	],
	"PATCH /v1/accounts/{accountId}/saml-connections/{connectionId}": [
		{
			what: "an admin swaps in a certificate whose key they hold",
			expect: 403,
			setup: (s) => connectSaml(s),
			run: (s) => send(tokenOf(s, "admin"), "PATCH", `${samlPath(s)}/${ssoIdOf(s)}`, { certificate: idpCertificate }),
		},
		{
			what: "the owner's key with every reserved scope changes the provider's entity id",
			expect: 403,
			setup: (s) => connectSaml(s),
			run: async (s) =>
				send(await keyOf(s, "owner", [...RESERVED_SCOPES]), "PATCH", `${samlPath(s)}/${ssoIdOf(s)}`, {
					idpEntityId: "https://evil.example.org",
				}),
		},
		{
			what: "the owner changes another account's SAML connection by its id",
			expect: 404,
			setup: async (s) => connectSaml(s, (await seedAccount(clock)).accountId),
			run: (s) => send(tokenOf(s, "owner"), "PATCH", `${samlPath(s)}/${ssoIdOf(s)}`, { idpEntityId: "x" }),
		},
		{
			what: "the owner reaches the OIDC connection through the SAML route",
			expect: 404,
			setup: (s) => connectSso(s),
			run: (s) => send(tokenOf(s, "owner"), "PATCH", `${samlPath(s)}/${ssoIdOf(s)}`, { certificate: idpCertificate }),
		},
	],
	"DELETE /v1/accounts/{accountId}/saml-connections/{connectionId}": [
		{
			what: "an admin removes SAML single sign-on",
			expect: 403,
			setup: (s) => connectSaml(s),
			run: (s) => send(tokenOf(s, "admin"), "DELETE", `${samlPath(s)}/${ssoIdOf(s)}`),
		},
	],
	"POST /scim/v2/Users": [
		{
			what: "an admin's SCIM key provisions someone as owner",
			expect: 403,
			setup: (s) => claimDomain(s, true),
			run: async (s) =>
				scimSend(await scimKeyOf(s, "admin"), "POST", "/Users", {
					userName: `x@${domainOf(s)}`,
					roles: [{ value: "owner", primary: true }],
				}),
		},
		{
			what: "a SCIM key provisions an address outside the account's verified domains",
			expect: 403,
			setup: (s) => claimDomain(s, true),
			run: async (s) => scimSend(await scimKeyOf(s, "owner"), "POST", "/Users", { userName: "x@gmail.com" }),
		},
		{
			what: "a SCIM key provisions an address of a domain only claimed, never proven",
			expect: 403,
			setup: (s) => claimDomain(s, false),
			run: async (s) => scimSend(await scimKeyOf(s, "owner"), "POST", "/Users", { userName: `x@${domainOf(s)}` }),
		},
		{
			what: "a SCIM key hands the membership to a user who never proved the address (a squatter)",
			expect: 409,
			setup: async (s) => {
				await claimDomain(s, true);
				await db.insert(users).values({
					id: personOf(s),
					email: `ceo@${domainOf(s)}`,
					name: "Squatter",
					passwordHash: "x",
					createdAt: clock.now(),
				});
			},
			run: async (s) => scimSend(await scimKeyOf(s, "owner"), "POST", "/Users", { userName: `ceo@${domainOf(s)}` }),
		},
		{
			what: "a key with members:write but not scim:write provisions someone",
			expect: 403,
			setup: (s) => claimDomain(s, true),
			run: async (s) =>
				scimSend(await keyOf(s, "owner", ["members:write", "*"]), "POST", "/Users", { userName: `x@${domainOf(s)}` }),
		},
		{
			what: "a key whose creator was demoted to readonly provisions someone",
			expect: 403,
			setup: (s) => claimDomain(s, true),
			run: (s) => scimSend(s.apiKeys.demoted, "POST", "/Users", { userName: `x@${domainOf(s)}` }),
		},
		{
			what: "the owner's session provisions someone (SCIM takes keys only)",
			expect: 401,
			setup: (s) => claimDomain(s, true),
			run: (s) => scimSend(tokenOf(s, "owner"), "POST", "/Users", { userName: `x@${domainOf(s)}` }),
		},
		{
			what: "a SCIM key provisions someone while the account is locked down",
			expect: 423,
			setup: async (s) => {
				await claimDomain(s, true);
				await lockDown(s);
			},
			run: async (s) => scimSend(await scimKeyOf(s, "owner"), "POST", "/Users", { userName: `x@${domainOf(s)}` }),
		},
	],
	"PUT /scim/v2/Users/{id}": [
		{
			what: "an admin's SCIM key deactivates the owner",
			expect: 403,
			setup: scimOwner,
			run: async (s) =>
				scimSend(await scimKeyOf(s, "admin"), "PUT", `/Users/${s.users.owner.id}`, {
					userName: `owner@${domainOf(s)}`,
					active: false,
				}),
		},
		{
			what: "a SCIM key moves a person to another address (a reset from it would then take them over)",
			expect: 400,
			setup: (s) => scimPerson(s),
			run: async (s) =>
				scimSend(await scimKeyOf(s, "owner"), "PUT", `/Users/${personOf(s)}`, { userName: `other@${domainOf(s)}` }),
		},
	],
	"PATCH /scim/v2/Users/{id}": [
		{
			what: "a SCIM key raises a person to owner",
			expect: 403,
			setup: (s) => scimPerson(s),
			run: async (s) =>
				scimSend(await scimKeyOf(s, "owner"), "PATCH", `/Users/${personOf(s)}`, {
					Operations: [{ op: "replace", path: "roles", value: [{ value: "owner", primary: true }] }],
				}),
		},
		{
			what: "an admin's SCIM key deactivates the owner",
			expect: 403,
			setup: scimOwner,
			run: async (s) =>
				scimSend(await scimKeyOf(s, "admin"), "PATCH", `/Users/${s.users.owner.id}`, {
					Operations: [{ op: "replace", path: "active", value: false }],
				}),
		},
		{
			what: "a SCIM key reactivates a person while the account is locked down",
			expect: 423,
			setup: async (s) => {
				await scimPerson(s, false);
				await lockDown(s);
			},
			run: async (s) =>
				scimSend(await scimKeyOf(s, "owner"), "PATCH", `/Users/${personOf(s)}`, {
					Operations: [{ op: "replace", path: "active", value: true }],
				}),
		},
	],
	"DELETE /scim/v2/Users/{id}": [
		{
			what: "an admin's SCIM key deprovisions the owner",
			expect: 403,
			setup: scimOwner,
			run: async (s) => scimSend(await scimKeyOf(s, "admin"), "DELETE", `/Users/${s.users.owner.id}`),
		},
		{
			what: "a SCIM key removes a member the provider never provisioned",
			expect: 404,
			setup: (s) => claimDomain(s, true),
			run: async (s) => scimSend(await scimKeyOf(s, "owner"), "DELETE", `/Users/${s.users.member.id}`),
		},
	],
	"POST /scim/v2/Groups": [
		{
			what: "a SCIM key puts a member it never provisioned into a group mapped to admin",
			expect: 400,
			setup: (s) =>
				db
					.update(accounts)
					.set({ settings: JSON.stringify({ scimGroupRoles: { Everyone: "admin" } }) })
					.where(eq(accounts.id, s.accountId)),
			run: async (s) =>
				scimSend(await scimKeyOf(s, "owner"), "POST", "/Groups", {
					displayName: "Everyone",
					members: [{ value: s.users.member.id }],
				}),
		},
		{
			what: "a SCIM key pushes a group while the account is locked down",
			expect: 423,
			setup: lockDown,
			run: async (s) => scimSend(await scimKeyOf(s, "owner"), "POST", "/Groups", { displayName: "Everyone" }),
		},
	],
	"PUT /scim/v2/Groups/{id}": [
		{
			what: "a SCIM key puts the readonly member (never provisioned) into a group",
			expect: 400,
			setup: scimGroup,
			run: async (s) =>
				scimSend(await scimKeyOf(s, "owner"), "PUT", `/Groups/${groupOf(s)}`, {
					displayName: "Everyone",
					members: [{ value: s.users.readonly.id }],
				}),
		},
	],
	"PATCH /scim/v2/Groups/{id}": [
		{
			what: "a SCIM key adds the readonly member (never provisioned) to a group",
			expect: 400,
			setup: scimGroup,
			run: async (s) =>
				scimSend(await scimKeyOf(s, "owner"), "PATCH", `/Groups/${groupOf(s)}`, {
					Operations: [{ op: "add", path: "members", value: [{ value: s.users.readonly.id }] }],
				}),
		},
		{
			what: "a SCIM key changes a group while the account is locked down",
			expect: 423,
			setup: async (s) => {
				await scimGroup(s);
				await lockDown(s);
			},
			run: async (s) =>
				scimSend(await scimKeyOf(s, "owner"), "PATCH", `/Groups/${groupOf(s)}`, {
					Operations: [{ op: "replace", path: "displayName", value: "Admins" }],
				}),
		},
	],
	"DELETE /scim/v2/Groups/{id}": {
		nothing:
			"takes a group away: its members fall back to their own SCIM role, set under the same rules (never owner, never above the key's creator)",
	},
	"POST /v1/accounts/{accountId}/transfer-ownership": [
		{
			what: "an admin takes ownership",
			expect: 403,
			run: (s) =>
				send(tokenOf(s, "admin"), "POST", `/v1/accounts/${s.accountId}/transfer-ownership`, {
					userId: s.users.admin.id,
				}),
		},
		{
			what: "the owner's key with every reserved scope transfers ownership",
			expect: 403,
			run: async (s) =>
				send(await keyOf(s, "owner", [...RESERVED_SCOPES]), "POST", `/v1/accounts/${s.accountId}/transfer-ownership`, {
					userId: s.users.admin.id,
				}),
		},
	],
	"PATCH /v1/accounts/{accountId}": [
		{
			what: "an admin shortens how long the audit index keeps events (hiding their own tracks from search)",
			expect: 403,
			run: (s) =>
				send(tokenOf(s, "admin"), "PATCH", `/v1/accounts/${s.accountId}`, { settings: { auditIndexDays: 90 } }),
		},
		{
			what: "an admin shortens how long the archive keeps events (the bucket rules would delete their own tracks)",
			expect: 403,
			run: (s) =>
				send(tokenOf(s, "admin"), "PATCH", `/v1/accounts/${s.accountId}`, {
					settings: { archiveRetentionYears: 1 },
				}),
		},
		{
			what: "an admin sets an IP allowlist the owner is outside of",
			expect: 403,
			run: (s) =>
				send(tokenOf(s, "admin"), "PATCH", `/v1/accounts/${s.accountId}`, {
					settings: { ipAllowlist: ["192.0.2.0/24"] },
				}),
		},
		{
			what: "an admin turns on requireMfa",
			expect: 403,
			run: (s) => send(tokenOf(s, "admin"), "PATCH", `/v1/accounts/${s.accountId}`, { settings: { requireMfa: true } }),
		},
		{
			what: "an admin maps a SCIM group to owner",
			expect: 400,
			run: (s) =>
				send(tokenOf(s, "admin"), "PATCH", `/v1/accounts/${s.accountId}`, {
					settings: { scimGroupRoles: { Everyone: "owner" } },
				}),
		},
		{
			what: "an admin shortens everyone's sessions",
			expect: 403,
			run: (s) =>
				send(tokenOf(s, "admin"), "PATCH", `/v1/accounts/${s.accountId}`, { settings: { sessionMaxAgeHours: 1 } }),
		},
		{
			what: "the owner sets an allowlist that excludes their own address",
			expect: 400,
			run: (s) =>
				send(tokenOf(s, "owner"), "PATCH", `/v1/accounts/${s.accountId}`, {
					settings: { ipAllowlist: ["198.51.100.0/24"] },
				}),
		},
		{
			what: "the owner without two-factor turns on requireMfa",
			expect: 400,
			run: (s) => send(tokenOf(s, "owner"), "PATCH", `/v1/accounts/${s.accountId}`, { settings: { requireMfa: true } }),
		},
	],
	"POST /v1/accounts/{accountId}/webhooks": [
		{
			what: "a webhook to the cloud metadata address",
			expect: 400,
			run: (s) =>
				send(tokenOf(s, "admin"), "POST", `/v1/accounts/${s.accountId}/webhooks`, {
					url: "https://169.254.169.254/latest/meta-data",
					events: ["alert.key_created"],
				}),
		},
		{
			what: "a key with every reserved scope adds a webhook",
			expect: 403,
			run: async (s) =>
				send(await keyOf(s, "owner", [...RESERVED_SCOPES]), "POST", `/v1/accounts/${s.accountId}/webhooks`, {
					url: "https://hooks.example.com/x",
					events: ["alert.key_created"],
				}),
		},
	],
	"PATCH /v1/accounts/{accountId}/webhooks/{webhookId}": [
		{
			what: "a key with every reserved scope turns a disabled webhook back on",
			expect: 403,
			setup: (s) => disableWebhook(s.webhookId),
			run: async (s) =>
				send(await keyOf(s, "owner", [...RESERVED_SCOPES]), "PATCH", `${webhooksPath(s)}/${s.webhookId}`, {
					enabled: true,
				}),
		},
		{
			what: "an admin turns a disabled webhook back on during the owner's lockdown",
			expect: 423,
			setup: async (s) => {
				await disableWebhook(s.webhookId);
				await db
					.update(accounts)
					.set({ lockedDownAt: clock.now(), lockedDownReason: "incident" })
					.where(eq(accounts.id, s.accountId));
			},
			run: (s) => send(tokenOf(s, "admin"), "PATCH", `${webhooksPath(s)}/${s.webhookId}`, { enabled: true }),
		},
		{
			what: "a member changes what a webhook receives",
			expect: 403,
			run: (s) => send(tokenOf(s, "member"), "PATCH", `${webhooksPath(s)}/${s.webhookId}`, { events: ["*"] }),
		},
		{
			what: "a webhook subscribed to a group that does not exist",
			expect: 400,
			run: (s) => send(tokenOf(s, "admin"), "PATCH", `${webhooksPath(s)}/${s.webhookId}`, { events: ["secret.*"] }),
		},
	],
	"POST /v1/accounts/{accountId}/webhooks/{webhookId}/rotate-secret": [
		{
			what: "a key with every reserved scope rotates a webhook's secret",
			expect: 403,
			run: async (s) =>
				send(
					await keyOf(s, "owner", [...RESERVED_SCOPES]),
					"POST",
					`${webhooksPath(s)}/${s.webhookId}/rotate-secret`,
					{},
				),
		},
		{
			what: "a member rotates a webhook's secret",
			expect: 403,
			run: (s) => send(tokenOf(s, "member"), "POST", `${webhooksPath(s)}/${s.webhookId}/rotate-secret`, {}),
		},
		{
			what: "an overlap longer than a day keeps the old secret signing",
			expect: 400,
			run: (s) =>
				send(tokenOf(s, "admin"), "POST", `${webhooksPath(s)}/${s.webhookId}/rotate-secret`, {
					overlapSeconds: 86_401,
				}),
		},
	],
	"POST /v1/accounts/{accountId}/webhooks/{webhookId}/test": {
		nothing: "a test event to an endpoint the account already has; no credential, role or setting",
	},
	"POST /v1/accounts/{accountId}/webhooks/{webhookId}/deliveries/{deliveryId}/redeliver": {
		nothing: "a payload the endpoint was already sent, sent again; refused while it is disabled",
	},
	"POST /v1/accounts/{accountId}/lockdown/lift": [
		{
			what: "an admin lifts the owner's lockdown",
			expect: 403,
			setup: (s) =>
				send(tokenOf(s, "owner"), "POST", `/v1/accounts/${s.accountId}/lockdown`, {
					reason: "incident",
					revokeSessions: false,
					revokeKeys: "none",
				}),
			run: (s) =>
				send(tokenOf(s, "admin"), "POST", `/v1/accounts/${s.accountId}/lockdown/lift`, { reason: "mine now" }),
			check: async (s) =>
				(await db.query.accounts.findFirst({ where: eq(accounts.id, s.accountId) }))?.lockedDownAt
					? null
					: "the lockdown was lifted",
		},
	],
	"POST /v1/invitations/accept": [
		{
			what: "a signed-in user accepts an invitation made out to another address",
			expect: 403,
			run: (s) => send(tokenOf(s, "stranger"), "POST", "/v1/invitations/accept", { token: s.invitationId }),
			check: async (s) =>
				(await db.query.memberships.findFirst({ where: eq(memberships.userId, s.users.stranger.id) }))
					? "the stranger joined"
					: null,
		},
		{
			what: "someone who signed up with the invited address but never verified it accepts",
			expect: 403,
			run: async (s) => {
				const invited = await db.query.invitations.findFirst({ where: eq(invitations.id, s.invitationId) });
				const id = newId("usr");
				await db.insert(users).values({
					id,
					email: invited?.email ?? "",
					name: "Squatter",
					passwordHash: "$scrypt$unused",
					createdAt: clock.now(),
				});
				const session = await startSession(env, db, id, { ip: null, userAgent: "t", country: null }, clock.now());
				return send(session.token, "POST", "/v1/invitations/accept", { token: s.invitationId });
			},
		},
	],
	"DELETE /v1/me/sessions/{sessionId}": [
		{
			what: "a user ends another user's session",
			expect: 404,
			run: (s) => {
				const victim = s.users.admin.token.split(".")[1] ?? "";
				return send(tokenOf(s, "member"), "DELETE", `/v1/me/sessions/${victim}`);
			},
			check: async (s) =>
				(await send(tokenOf(s, "admin"), "GET", "/v1/me")).status === 200 ? null : "the admin's session ended",
		},
	],
	// Routes that take power away, or hand out only the caller's own session after proof.
	"POST /v1/invitations/preview": { nothing: "reads what a held code opens; changes nothing" },
	"POST /v1/accounts": { nothing: "an account owned by the caller; it grants nothing until their email is verified" },
	"DELETE /v1/accounts/{accountId}": { nothing: "takes away (owner only)" },
	"POST /v1/accounts/{accountId}/keys/{keyId}/revoke": [
		{
			what: "a leaked ci key revokes a production key",
			expect: 403,
			run: async (s) => {
				const production = await seedKey(s.accountId, s.users.owner.id, ["orders:read"], clock.now(), "production");
				return send(await keyOf(s, "owner", ["keys:write"], "ci"), "POST", `${keysPath(s)}/${production.id}/revoke`, {
					reason: "sabotage",
				});
			},
		},
	],
	"POST /v1/accounts/{accountId}/lockdown": { nothing: "takes away: ends sessions and revokes keys" },
	"DELETE /v1/accounts/{accountId}/service-accounts/{serviceAccountId}": {
		nothing: "takes away: revokes the service account's keys (owner and admins, with a fresh proof)",
	},
	"POST /v1/accounts/{accountId}/service-accounts": [
		{
			what: "the owner makes an owner service account",
			expect: 400,
			run: (s) => send(tokenOf(s, "owner"), "POST", serviceAccountsPath(s), { name: "root", role: "owner" }),
		},
		{
			what: "a member makes a service account",
			expect: 403,
			run: (s) => send(tokenOf(s, "member"), "POST", serviceAccountsPath(s), { name: "svc", role: "readonly" }),
		},
		{
			what: "an admin's key with every reserved scope makes an admin service account",
			expect: 403,
			run: (s) => send(s.apiKeys.withScope, "POST", serviceAccountsPath(s), { name: "svc", role: "admin" }),
		},
		{
			what: "a service account's own key makes another service account",
			expect: 403,
			run: async (s) =>
				send(
					await keyOf(s, "owner", ["members:write", "members:read"], "staging", {
						serviceAccountId: s.serviceAccountId,
					}),
					"POST",
					serviceAccountsPath(s),
					{ name: "svc", role: "readonly" },
				),
		},
	],
	"PATCH /v1/accounts/{accountId}/service-accounts/{serviceAccountId}": [
		{
			what: "an admin raises a service account to owner",
			expect: 400,
			run: (s) =>
				send(tokenOf(s, "admin"), "PATCH", `${serviceAccountsPath(s)}/${s.serviceAccountId}`, { role: "owner" }),
		},
		{
			what: "a member raises a service account to admin",
			expect: 403,
			run: (s) =>
				send(tokenOf(s, "member"), "PATCH", `${serviceAccountsPath(s)}/${s.serviceAccountId}`, { role: "admin" }),
		},
		{
			what: "an admin's key with members:write raises a service account to admin",
			expect: 403,
			run: (s) =>
				send(s.apiKeys.withScope, "PATCH", `${serviceAccountsPath(s)}/${s.serviceAccountId}`, { role: "admin" }),
		},
		{
			what: "a demoted former admin (now readonly) raises a service account",
			expect: 403,
			run: (s) =>
				send(tokenOf(s, "demoted"), "PATCH", `${serviceAccountsPath(s)}/${s.serviceAccountId}`, { role: "admin" }),
		},
	],
	"DELETE /v1/accounts/{accountId}/invitations/{invitationId}": { nothing: "takes away" },
	"DELETE /v1/accounts/{accountId}/webhooks/{webhookId}": { nothing: "takes away" },
	"POST /v1/accounts/{accountId}/log-streams": [
		{
			what: "a log stream to the cloud metadata address (S3 endpoint)",
			expect: 400,
			run: (s) =>
				send(tokenOf(s, "admin"), "POST", logStreamsPath(s), {
					type: "s3",
					endpoint: "https://169.254.169.254",
					bucket: "exfil",
					accessKeyId: "AKIAEXAMPLEKEY01",
					secretAccessKey: "s3-secret-access-key-abcdefghijklmnop",
				}),
		},
		{
			what: "a key with every reserved scope copies the audit trail out",
			expect: 403,
			run: async (s) =>
				send(await keyOf(s, "owner", [...RESERVED_SCOPES]), "POST", logStreamsPath(s), {
					type: "http",
					url: "https://logs.example.com/x",
					auth: "hmac",
				}),
		},
		{
			what: "a readonly member, who may read the audit log, streams it to themselves",
			expect: 403,
			run: (s) =>
				send(tokenOf(s, "readonly"), "POST", logStreamsPath(s), {
					type: "http",
					url: "https://logs.example.com/x",
					auth: "hmac",
				}),
		},
		{
			what: "an admin adds a stream during the owner's lockdown",
			expect: 423,
			setup: (s) =>
				db
					.update(accounts)
					.set({ lockedDownAt: clock.now(), lockedDownReason: "incident" })
					.where(eq(accounts.id, s.accountId)),
			run: (s) =>
				send(tokenOf(s, "admin"), "POST", logStreamsPath(s), {
					type: "http",
					url: "https://logs.example.com/x",
					auth: "hmac",
				}),
		},
	],
	"PATCH /v1/accounts/{accountId}/log-streams/{streamId}": [
		{
			what: "a key with every reserved scope resumes a paused stream",
			expect: 403,
			run: async (s) =>
				send(await keyOf(s, "owner", [...RESERVED_SCOPES]), "PATCH", `${logStreamsPath(s)}/${s.logStreamId}`, {
					enabled: true,
				}),
		},
		{
			what: "a member resumes a paused stream",
			expect: 403,
			run: (s) => send(tokenOf(s, "member"), "PATCH", `${logStreamsPath(s)}/${s.logStreamId}`, { enabled: true }),
		},
		{
			what: "the owner resumes a paused stream during a lockdown",
			expect: 423,
			setup: (s) =>
				db
					.update(accounts)
					.set({ lockedDownAt: clock.now(), lockedDownReason: "incident" })
					.where(eq(accounts.id, s.accountId)),
			run: (s) => send(tokenOf(s, "owner"), "PATCH", `${logStreamsPath(s)}/${s.logStreamId}`, { enabled: true }),
		},
	],
	"DELETE /v1/accounts/{accountId}/log-streams/{streamId}": { nothing: "takes away, after a fresh proof" },
	"POST /v1/secret-scanning/github": {
		nothing: "takes away: revokes a key found in public, and only with GitHub's signature",
	},
	"POST /v1/auth/signup": { nothing: "the caller's own new user, account and session" },
	"POST /v1/auth/verify-email": [
		{
			what: "a squatter's account is verified by the address's real owner typing the emailed code, without the squatter's session",
			expect: 401,
			run: async (s) => {
				const token = "a".repeat(52);
				await db.insert(emailTokens).values({
					tokenHash: await sha256Hex(token),
					userId: s.users.owner.id,
					purpose: "verify_email",
					expiresAt: new Date(clock.now().getTime() + 3_600_000),
				});
				return t.request("/v1/auth/verify-email", jsonRequest("POST", { token }));
			},
			check: async () =>
				(await db.query.emailTokens.findFirst({ where: eq(emailTokens.tokenHash, await sha256Hex("a".repeat(52))) }))
					? null
					: "the token was spent",
		},
	],
	"POST /v1/auth/login": { nothing: "the caller's own session, after the password (and second factor)" },
	"POST /v1/auth/mfa/email-code": { nothing: "emails a code to the challenge's own user" },
	"POST /v1/auth/mfa/verify": { nothing: "the challenge's own session, after the second factor" },
	"POST /v1/auth/mfa/passkey-options": { nothing: "a challenge bound to the sign-in's own user and challenge" },
	"POST /v1/auth/passkey/options": { nothing: "a challenge any passkey may sign, 600 an hour per address" },
	"POST /v1/auth/passkey/verify": { nothing: "the passkey's own user's session, after its signature (passkeys tests)" },
	"POST /v1/me/passkeys/options": { nothing: "a challenge bound to the caller, only after a fresh proof" },
	"POST /v1/me/passkeys": {
		nothing:
			"the caller's own passkey, with a challenge only a fresh proof gets (passkeys tests: another user's is refused)",
	},
	"PATCH /v1/me/passkeys/{passkeyId}": { nothing: "renames the caller's own passkey" },
	"DELETE /v1/me/passkeys/{passkeyId}": { nothing: "takes away, after a fresh proof" },
	"POST /v1/auth/logout": { nothing: "takes away" },
	"POST /v1/auth/password-reset": { nothing: "emails a token to the address's owner" },
	"POST /v1/auth/password-reset/confirm": {
		nothing: "a password for the emailed token's holder; a claim undoes what was set up before (claim tests)",
	},
	"POST /v1/me/password": { nothing: "the caller's own password, after the current one" },
	"POST /v1/me/mfa/totp": { nothing: "the caller's own enrolment, after the password" },
	"POST /v1/me/mfa/totp/confirm": { nothing: "the caller's own second factor" },
	"DELETE /v1/me/mfa/totp": { nothing: "takes away, after password and code" },
	"POST /v1/me/mfa/recovery-codes": { nothing: "the caller's own codes, after the password and an authenticator code" },
	"POST /v1/me/sessions/revoke-others": { nothing: "takes away" },
	"DELETE /v1/me": {
		nothing:
			"takes away: the caller's own access and data, after a fresh proof; refused while they own an account with others alone (erasure tests)",
	},
	"POST /v1/keys/verify": { nothing: "reads a verdict" },
	"POST /v1/me/reauthenticate": { nothing: "a fresh session for the caller, after their password and second factor" },
	"POST /v1/me/reauthenticate/sso": {
		nothing:
			"a fresh session for the caller alone, once their own provider names them with an auth_time after the start (oidc tests)",
	},
	"POST /v1/auth/sso/saml/{connectionId}/acs": [
		{
			what: "an assertion the provider signed, posted with no sign-in started here (IdP-initiated, or lifted from another browser), makes a member",
			expect: 401,
			setup: async (s) => {
				await connectSaml(s);
				await claimDomain(s, true);
			},
			run: (s) => {
				const acsUrl = `${BASE}/v1/auth/sso/saml/${ssoIdOf(s)}/acs`;
				const { encoded } = samlResponse({
					email: `newcomer@${domainOf(s)}`,
					requestId: "_never-requested",
					acsUrl,
					audience: `${BASE}/v1/auth/sso/saml/${ssoIdOf(s)}/metadata`,
					now: clock.now(),
				});
				return t.request(`/v1/auth/sso/saml/${ssoIdOf(s)}/acs`, {
					method: "POST",
					headers: { "Content-Type": "application/x-www-form-urlencoded" },
					body: new URLSearchParams({ SAMLResponse: encoded, RelayState: "x".repeat(43) }).toString(),
				});
			},
		},
	],
	"POST /v1/me/mfa/totp/replace": {
		nothing: "the caller's own authenticator, after their password and a recovery code (second-factors tests)",
	},
	"POST /v1/auth/verify-email/resend": { nothing: "a new code to the caller's own address, three an hour" },
	"POST /v1/me/email": { nothing: "the caller's own address, after a fresh proof, once the new address confirms" },
	"POST /v1/auth/email-change/confirm": {
		nothing: "applies a change the account's user started, from the new mailbox",
	},
	"POST /v1/auth/email-change/cancel": { nothing: "takes away: the old mailbox undoes a change and locks the account" },
	"POST /v1/auth/not-me": { nothing: "takes away: ends the mailbox owner's sessions and password, starts a reset" },
};

/**
 * The same routes from a stale session: the owner's session, signed in eleven minutes ago (a
 * stolen cookie, a laptop left open). Every route that grants must ask it for a fresh proof
 * (403 reauthentication-required) for the call that would hand power out, and leave the account
 * as it was. A granting route added later fails until it is listed here.
 */
const parkSecret = (keyId: string) => parkKeySecret(keyId, new Date(clock.now().getTime() + 86_400_000));

const webhooksPath = (s: SeededAccount) => `/v1/accounts/${s.accountId}/webhooks`;
const logStreamsPath = (s: SeededAccount) => `/v1/accounts/${s.accountId}/log-streams`;
const disableWebhook = (id: string) =>
	db.update(webhooks).set({ disabledAt: clock.now(), disabledReason: "test" }).where(eq(webhooks.id, id));

/** What a stale-session attempt needs in place before the account is snapshotted. */
const STALE_SETUP: Record<string, (s: SeededAccount) => Promise<unknown>> = {
	"PATCH /v1/accounts/{accountId}/sso-connections/{connectionId}": (s) => connectSso(s),
	"PATCH /v1/accounts/{accountId}/saml-connections/{connectionId}": (s) => connectSaml(s),
	"POST /v1/accounts/{accountId}/domains/{domainId}/verify": (s) => claimDomain(s, false),
	"POST /v1/accounts/{accountId}/keys/{keyId}/reveal-secret": (s) => parkSecret(s.keyIds.owner),
};

const STALE: Record<string, (s: SeededAccount, stale: string) => Promise<Response>> = {
	"POST /v1/accounts/{accountId}/keys": (s, stale) =>
		send(stale, "POST", keysPath(s), newKey({ scopes: ["members:write"] })),
	"POST /v1/accounts/{accountId}/domains": (s, stale) => send(stale, "POST", domainsPath(s), { domain: domainOf(s) }),
	"POST /v1/accounts/{accountId}/sso-connections": (s, stale) => send(stale, "POST", ssoPath(s), ssoInput),
	"PATCH /v1/accounts/{accountId}/sso-connections/{connectionId}": (s, stale) =>
		send(stale, "PATCH", `${ssoPath(s)}/${ssoIdOf(s)}`, { clientSecret: "mine-now" }),
	"POST /v1/accounts/{accountId}/saml-connections": (s, stale) => send(stale, "POST", samlPath(s), samlInput),
	"PATCH /v1/accounts/{accountId}/saml-connections/{connectionId}": (s, stale) =>
		send(stale, "PATCH", `${samlPath(s)}/${ssoIdOf(s)}`, { certificate: idpCertificate }),
	"POST /v1/accounts/{accountId}/domains/{domainId}/verify": (s, stale) =>
		send(stale, "POST", `${domainsPath(s)}/${domainIdOf(s)}/verify`),
	"PATCH /v1/accounts/{accountId}/keys/{keyId}": (s, stale) =>
		send(stale, "PATCH", `${keysPath(s)}/${s.keyIds.owner}`, { scopes: ["data:read", "members:write"] }),
	"POST /v1/accounts/{accountId}/keys/{keyId}/reveal-secret": (s, stale) =>
		send(stale, "POST", `${keysPath(s)}/${s.keyIds.owner}/reveal-secret`),
	"POST /v1/accounts/{accountId}/keys/{keyId}/rotate": (s, stale) =>
		send(stale, "POST", `${keysPath(s)}/${s.keyIds.reserved}/rotate`, {}),
	"PATCH /v1/accounts/{accountId}": (s, stale) =>
		send(stale, "PATCH", `/v1/accounts/${s.accountId}`, { settings: { emailCodeSecondFactor: false } }),
	"POST /v1/accounts/{accountId}/transfer-ownership": (s, stale) =>
		send(stale, "POST", `/v1/accounts/${s.accountId}/transfer-ownership`, { userId: s.users.admin.id }),
	"POST /v1/accounts/{accountId}/service-accounts": (s, stale) =>
		send(stale, "POST", serviceAccountsPath(s), { name: "svc", role: "admin" }),
	"PATCH /v1/accounts/{accountId}/service-accounts/{serviceAccountId}": (s, stale) =>
		send(stale, "PATCH", `${serviceAccountsPath(s)}/${s.serviceAccountId}`, { role: "admin" }),
	"POST /v1/accounts/{accountId}/invitations": (s, stale) =>
		send(stale, "POST", `/v1/accounts/${s.accountId}/invitations`, { email: "new@example.com", role: "member" }),
	"PATCH /v1/accounts/{accountId}/members/{userId}": (s, stale) =>
		send(stale, "PATCH", `/v1/accounts/${s.accountId}/members/${s.users.member.id}`, { role: "admin" }),
	"POST /v1/accounts/{accountId}/webhooks": (s, stale) =>
		send(stale, "POST", `/v1/accounts/${s.accountId}/webhooks`, {
			url: "https://hooks.example.com/watch",
			events: ["alert.key_created"],
		}),
	"POST /v1/accounts/{accountId}/log-streams": (s, stale) =>
		send(stale, "POST", logStreamsPath(s), { type: "http", url: "https://logs.example.com/watch", auth: "hmac" }),
	"PATCH /v1/accounts/{accountId}/log-streams/{streamId}": (s, stale) =>
		send(stale, "PATCH", `${logStreamsPath(s)}/${s.logStreamId}`, { enabled: true }),
	"PATCH /v1/accounts/{accountId}/webhooks/{webhookId}": (s, stale) =>
		send(stale, "PATCH", `${webhooksPath(s)}/${s.webhookId}`, { events: ["*"] }),
	"POST /v1/accounts/{accountId}/webhooks/{webhookId}/rotate-secret": (s, stale) =>
		send(stale, "POST", `${webhooksPath(s)}/${s.webhookId}/rotate-secret`, {}),
	"POST /v1/accounts/{accountId}/lockdown/lift": async (s, stale) => {
		await db
			.update(accounts)
			.set({ lockedDownAt: clock.now(), lockedDownReason: "incident" })
			.where(eq(accounts.id, s.accountId));
		return send(stale, "POST", `/v1/accounts/${s.accountId}/lockdown/lift`, { reason: "over" });
	},
};

async function stateChangingOperations() {
	const doc = await (await t.request("/v1/openapi.json")).json<{
		paths: Record<string, Record<string, Record<string, unknown>>>;
	}>();
	return Object.entries(doc.paths).flatMap(([path, ops]) =>
		Object.entries(ops)
			.filter(([method]) => method !== "get" && method !== "head")
			.map(([method, op]) => ({
				key: `${method.toUpperCase()} ${path}`,
				grants: op[GRANTS_EXTENSION],
				proof: op[REAUTHENTICATION_EXTENSION] ?? op[REAUTHENTICATION_WHEN_EXTENSION],
			})),
	);
}

/** Everything in the account a refused attempt must leave as it was. */
async function snapshot(accountId: string) {
	const [account, keys, members, invites, hooks, services, streams, domains, people, groups, places, sso, named] =
		await Promise.all([
			db.query.accounts.findFirst({ where: eq(accounts.id, accountId) }),
			db.select().from(apiKeys).where(eq(apiKeys.accountId, accountId)),
			db.select().from(memberships).where(eq(memberships.accountId, accountId)),
			db.select().from(invitations).where(eq(invitations.accountId, accountId)),
			db.select().from(webhooks).where(eq(webhooks.accountId, accountId)),
			db.select().from(serviceAccounts).where(eq(serviceAccounts.accountId, accountId)),
			db.select().from(logStreams).where(eq(logStreams.accountId, accountId)),
			db.select().from(accountDomains).where(eq(accountDomains.accountId, accountId)),
			db.select().from(scimUsers).where(eq(scimUsers.accountId, accountId)),
			db.select().from(scimGroups).where(eq(scimGroups.accountId, accountId)),
			db.select().from(scimGroupMembers).where(eq(scimGroupMembers.accountId, accountId)),
			db.select().from(ssoConnections).where(eq(ssoConnections.accountId, accountId)),
			// People a refused provisioning might have made, under the account's own domain.
			db
				.select({ id: users.id, email: users.email })
				.from(users)
				.where(like(users.email, `%@${accountId.slice(4)}.example.com`)),
		]);
	const sorted = <T>(rows: T[], by: (row: T) => string) => [...rows].sort((a, b) => by(a).localeCompare(by(b)));
	return JSON.stringify({
		account: account && { name: account.name, settings: account.settings },
		keys: sorted(keys, (k) => k.id).map(({ lastUsedAt, ...k }) => k),
		members: sorted(members, (m) => m.userId).map((m) => [m.userId, m.role]),
		invites: sorted(invites, (i) => i.id).map((i) => [i.id, i.email, i.role]),
		hooks: sorted(hooks, (h) => h.id).map((h) => [h.id, h.url, h.events, h.disabledAt, h.secretSealed, h.version]),
		services: sorted(services, (x) => x.id).map((x) => [x.id, x.role, x.name, x.version]),
		streams: sorted(streams, (x) => x.id).map((x) => [x.id, x.url, x.disabledAt, x.createdBy, x.version]),
		domains: sorted(domains, (x) => x.id).map((x) => [x.id, x.domain, x.verifiedAt]),
		people: sorted(people, (x) => x.userId).map((x) => [x.userId, x.active, x.role, x.version]),
		groups: sorted(groups, (x) => x.id).map((x) => [x.id, x.displayName, x.version]),
		places: sorted(places, (x) => `${x.groupId}${x.userId}`).map((x) => [x.groupId, x.userId]),
		sso: sso.map((x) => [x.id, x.issuer, x.clientId, x.clientSecretSealed, x.roleMapping, x.version]),
		named: sorted(named, (x) => x.id).map((x) => [x.id, x.email]),
	});
}

describe("escalation: no route produces more than its caller holds", () => {
	it("every state-changing route is listed, and every route that grants comes with attempts", async () => {
		const ops = await stateChangingOperations();
		expect(ops.length).toBeGreaterThanOrEqual(30);
		for (const op of ops) {
			const entry = ESCALATIONS[op.key];
			expect(entry, `${op.key} is not in the escalation table`).toBeDefined();
			if (op.grants) expect(Array.isArray(entry), `${op.key} grants ${op.grants} but has no attempts`).toBe(true);
		}
	});

	it("refuses every attempt and leaves the account as it was", async () => {
		const failures: string[] = [];
		let attempts = 0;
		for (const [route, entry] of Object.entries(ESCALATIONS)) {
			if (!Array.isArray(entry)) continue;
			for (const attempt of entry) {
				const s = await seedAccount(clock);
				await keyOf(s, "owner", ["data:read"]); // settle the seed's own writes before the snapshot
				await attempt.setup?.(s);
				const before = await snapshot(s.accountId);
				const res = await attempt.run(s);
				const body = await res.text();
				attempts++;
				const after = await snapshot(s.accountId);
				const created = (await db.select().from(apiKeys).where(eq(apiKeys.accountId, s.accountId))).filter(
					(k) => k.createdAt.getTime() === clock.now().getTime() && k.rotatedFrom !== null,
				);
				if (res.status !== attempt.expect)
					failures.push(
						`${route}: ${attempt.what}: expected ${attempt.expect}, got ${res.status} ${body.slice(0, 200)}`,
					);
				if (created.length > 0) failures.push(`${route}: ${attempt.what}: a successor was made`);
				const extra = await attempt.check?.(s);
				if (extra) failures.push(`${route}: ${attempt.what}: ${extra}`);
				if (!sameExceptSeeds(before, after)) failures.push(`${route}: ${attempt.what}: the account changed`);
			}
		}
		console.log(`escalation: ${attempts} attempts across ${Object.keys(ESCALATIONS).length} routes`);
		expect(failures).toEqual([]);
		expect(attempts).toBeGreaterThanOrEqual(35);
	}, 300_000);

	it("a stale session hands nothing out through any granting route: each asks for a fresh proof", async () => {
		const ops = await stateChangingOperations();
		const granting = ops.filter((op) => op.grants);
		expect(granting.length).toBeGreaterThanOrEqual(9);
		const failures: string[] = [];
		for (const op of granting) {
			if (!op.proof) failures.push(`${op.key} grants ${op.grants} but declares no proof of identity`);
			const attempt = STALE[op.key];
			if (!attempt) {
				failures.push(`${op.key} grants ${op.grants} but has no stale-session attempt`);
				continue;
			}
			// Two ways a session is stale: it started eleven minutes ago, or it is a single sign-on that
			// started now from a provider session whose sign-in (`auth_time`) was an hour ago.
			for (const [how, started, proved] of [
				["started 11 minutes ago", 11 * 60_000, 11 * 60_000],
				["a single sign-on now, proved at the provider an hour ago", 0, 3_600_000],
			] as const) {
				const s = await seedAccount(clock);
				const now = clock.now().getTime();
				const stale = (
					await startSession(
						env,
						db,
						s.users.owner.id,
						{ ip: null, userAgent: "left open", country: null },
						new Date(now - started),
						started === 0 ? ["sso"] : [],
						now - proved,
					)
				).token;
				await STALE_SETUP[op.key]?.(s);
				const before = await snapshot(s.accountId);
				const res = await attempt(s, stale);
				const body = await res.text();
				if (res.status !== 403 || !body.includes("reauthentication-required"))
					failures.push(
						`${op.key} (${how}): expected 403 reauthentication-required, got ${res.status} ${body.slice(0, 160)}`,
					);
				const after = await snapshot(s.accountId);
				const lifted = op.key.endsWith("/lockdown/lift");
				if (!lifted && !sameExceptSeeds(before, after)) failures.push(`${op.key} (${how}): the account changed`);
				if (lifted && !(await db.query.accounts.findFirst({ where: eq(accounts.id, s.accountId) }))?.lockedDownAt)
					failures.push(`${op.key} (${how}): the lockdown was lifted`);
			}
		}
		expect(failures).toEqual([]);
	}, 240_000);
});

/**
 * Keys an attempt seeds for itself (its caller, its target) appear after the first snapshot. They
 * must still be exactly as seeded: every lifecycle write bumps a key's version, so version 0,
 * not revoked and not rotated means the attempt changed nothing about them.
 */
function sameExceptSeeds(before: string, after: string): boolean {
	type Row = {
		id: string;
		name: string;
		version: number;
		revokedAt: unknown;
		rotatedTo: unknown;
		rotatedFrom: unknown;
	};
	const a = JSON.parse(before) as { keys: Row[] };
	const b = JSON.parse(after) as { keys: Row[] };
	const known = new Set(a.keys.map((k) => k.id));
	const seededSince = b.keys.filter((k) => !known.has(k.id) && k.name.startsWith("seed "));
	const untouched = seededSince.every(
		(k) => k.version === 0 && k.revokedAt === null && k.rotatedTo === null && k.rotatedFrom === null,
	);
	const rest = { ...b, keys: b.keys.filter((k) => !seededSince.includes(k)) };
	return untouched && JSON.stringify(a) === JSON.stringify(rest);
}
