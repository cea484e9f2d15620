import { env } from "cloudflare:test";
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { chunk, createDatabase } from "../../src/db";
import {
	accountDomains,
	accounts,
	memberships,
	scimGroupMembers,
	scimGroups,
	scimUsers,
	users,
} from "../../src/db/schema";
import { startSession } from "../../src/identity/sessions";
import type { Email, Mailer } from "../../src/mail";
import { ManualClock } from "../../src/platform/clock";
import { newId } from "../../src/platform/ids";
import { MAX_ROLE_CHANGES_PER_CALL } from "../../src/sso/scim-groups";
import { testApp } from "../support/app";
import { observedQueue } from "../support/audit";
import { seedVerifiedDomain } from "../support/domains";
import { as, createKey, verifyCode } from "../support/request";
import { seedAccount, seedKey } from "../support/seed";

/**
 * SCIM 2.0 (issue #27), as Okta and Entra ID drive it, against real local D1 and Durable
 * Objects: provisioning into verified domains only, deactivation that ends the person's access
 * and revokes their keys before it answers, reactivation, groups mapped to roles, and errors in
 * SCIM's own schema.
 */
const clock = new ManualClock("2026-12-01T09:00:00Z");
const t = testApp({ clock });
const db = createDatabase(env.DB);
const SCIM = "application/scim+json";

interface ScimUser {
	id: string;
	userName: string;
	active: boolean;
	roles: { value: string }[];
	groups: { value: string; display: string }[];
	meta: { version: string; location: string };
}
interface ScimError {
	schemas: string[];
	status: string;
	scimType?: string;
	detail: string;
}

/** An account with a verified domain and SCIM keys made by its owner and its admin. */
async function scimAccount(settings: Record<string, unknown> = {}) {
	const s = await seedAccount(clock, settings);
	const domain = await seedVerifiedDomain(db, s.accountId, s.users.owner.id, clock.now());
	const ownerKey = (await seedKey(s.accountId, s.users.owner.id, ["scim:write"], clock.now())).secret;
	const adminKey = (await seedKey(s.accountId, s.users.admin.id, ["scim:write"], clock.now())).secret;
	return { s, domain, ownerKey, adminKey };
}

const scim = (key: string, method: string, path: string, body?: unknown) =>
	t.request(`/scim/v2${path}`, {
		method,
		headers: { Authorization: `Bearer ${key}`, ...(body === undefined ? {} : { "Content-Type": SCIM }) },
		body: body === undefined ? undefined : JSON.stringify(body),
	});

async function expectScimError(res: Response, status: number, scimType?: string): Promise<ScimError> {
	expect(res.status, await res.clone().text()).toBe(status);
	expect(res.headers.get("Content-Type")).toBe(`${SCIM}; charset=utf-8`);
	const body = await res.json<ScimError>();
	expect(body.schemas).toEqual(["urn:ietf:params:scim:api:messages:2.0:Error"]);
	expect(body.status).toBe(String(status));
	if (scimType) expect(body.scimType).toBe(scimType);
	expect(JSON.stringify(body)).not.toMatch(/requestId|problems\/|SQLITE|D1_/);
	return body;
}

async function provision(key: string, userName: string, extra: Record<string, unknown> = {}): Promise<ScimUser> {
	const res = await scim(key, "POST", "/Users", {
		schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"],
		userName,
		name: { givenName: "Ada", familyName: "Lovelace" },
		emails: [{ primary: true, value: userName, type: "work" }],
		active: true,
		locale: "en-GB",
		...extra,
	});
	expect(res.status, await res.clone().text()).toBe(201);
	expect(res.headers.get("Content-Type")).toBe(`${SCIM}; charset=utf-8`);
	return res.json<ScimUser>();
}

const membershipOf = (accountId: string, userId: string) =>
	db.query.memberships.findFirst({ where: and(eq(memberships.accountId, accountId), eq(memberships.userId, userId)) });

/** `n` people provisioned straight into D1 (active, role member), as members of the account or not. */
async function seedProvisioned(accountId: string, domain: string, n: number, member = true): Promise<string[]> {
	const now = clock.now();
	const ids = Array.from({ length: n }, () => newId("usr"));
	for (const part of chunk(ids, 10)) {
		await db.insert(users).values(
			part.map((id) => ({
				id,
				email: `${id}@${domain}`,
				name: "P",
				passwordHash: "x",
				emailVerifiedAt: now,
				createdAt: now,
			})),
		);
		await db.insert(scimUsers).values(
			part.map((userId) => ({
				accountId,
				userId,
				userName: `${userId}@${domain}`,
				active: true,
				role: "member" as const,
				createdAt: now,
				updatedAt: now,
			})),
		);
		if (member)
			await db
				.insert(memberships)
				.values(part.map((userId) => ({ accountId, userId, role: "member" as const, joinedAt: now })));
	}
	return ids;
}

const deactivate = (key: string, id: string, value: unknown = false) =>
	scim(key, "PATCH", `/Users/${id}`, {
		schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
		Operations: [{ op: "replace", value: { active: value } }],
	});

describe("SCIM provisioning, Okta-style", () => {
	it("creates, finds, deactivates (access and keys end before the answer), reactivates", async () => {
		const { s, domain, ownerKey } = await scimAccount();
		const userName = `ada@${domain}`;
		const none = await (
			await scim(ownerKey, "GET", `/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`)
		).json<{
			totalResults: number;
			Resources: unknown[];
		}>();
		expect(none).toMatchObject({ totalResults: 0, Resources: [] });

		const ada = await provision(ownerKey, userName, { externalId: "00u1" });
		expect(ada).toMatchObject({ userName, active: true, roles: [{ value: "member", primary: true }] });
		expect((await membershipOf(s.accountId, ada.id))?.role).toBe("member");
		const found = await (
			await scim(ownerKey, "GET", `/Users?filter=${encodeURIComponent(`userName eq "${userName.toUpperCase()}"`)}`)
		).json<{ totalResults: number; Resources: ScimUser[] }>();
		expect(found.totalResults).toBe(1);
		expect(found.Resources[0]?.id).toBe(ada.id);

		// Ada signs in (a password reset gave her one), makes a key; a service account's key stays whatever happens to her.
		const session = await startSession(env, db, ada.id, { ip: null, userAgent: "test", country: null }, clock.now());
		const adaKey = (await createKey(t, session.token, s.accountId)).secret;
		const svcKey = (
			await createKey(t, s.users.owner.token, s.accountId, { owner: { serviceAccountId: s.serviceAccountId } })
		).secret;
		expect((await t.request(`/v1/accounts/${s.accountId}`, as(session.token))).status).toBe(200);
		expect(await verifyCode(t, adaKey), "ada key").toBe("VALID");
		expect(await verifyCode(t, svcKey), "service key").toBe("VALID");

		const off = await deactivate(ownerKey, ada.id);
		expect(off.status).toBe(200);
		expect((await off.json<ScimUser>()).active).toBe(false);
		// The very next request: her session is over, her key refused, the service account's key works.
		expect((await t.request(`/v1/accounts/${s.accountId}`, as(session.token))).status).toBe(401);
		expect(await verifyCode(t, adaKey)).toBe("REVOKED");
		expect(await verifyCode(t, svcKey), "service key").toBe("VALID");
		expect(await membershipOf(s.accountId, ada.id)).toBeUndefined();

		const on = await deactivate(ownerKey, ada.id, true);
		expect(on.status).toBe(200);
		expect((await membershipOf(s.accountId, ada.id))?.role).toBe("member");
		expect(await verifyCode(t, adaKey)).toBe("REVOKED");
	});

	it("takes Entra ID's PatchOp: capitalised ops, paths, and the strings True and False", async () => {
		const { s, domain, ownerKey } = await scimAccount();
		const ada = await provision(ownerKey, `ada@${domain}`);
		const res = await scim(ownerKey, "PATCH", `/Users/${ada.id}`, {
			schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			Operations: [
				{ op: "Replace", path: "displayName", value: "Ada L." },
				{ op: "Add", path: "name.givenName", value: "Augusta Ada" },
				{ op: "Replace", path: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", value: "R&D" },
				{ op: "Replace", path: 'roles[primary eq "True"].value', value: "readonly" },
				{ op: "Replace", path: "active", value: "False" },
			],
		});
		expect(res.status, await res.clone().text()).toBe(200);
		const body = await res.json<ScimUser & { displayName: string; name: { givenName: string } }>();
		expect(body).toMatchObject({ active: false, displayName: "Ada L.", name: { givenName: "Augusta Ada" } });
		expect(body.roles[0]?.value).toBe("readonly");
		expect(await membershipOf(s.accountId, ada.id)).toBeUndefined();
		const back = await scim(ownerKey, "PATCH", `/Users/${ada.id}`, {
			Operations: [{ op: "Replace", path: "active", value: "True" }],
		});
		expect(back.status).toBe(200);
		expect((await membershipOf(s.accountId, ada.id))?.role).toBe("readonly");
	});

	it("maps groups to roles: joining a mapped group raises, leaving it lowers", async () => {
		const { s, domain, ownerKey } = await scimAccount({
			scimGroupRoles: { "Keyward Admins": "admin", Auditors: "readonly" },
		});
		const ada = await provision(ownerKey, `ada@${domain}`);
		const bob = await provision(ownerKey, `bob@${domain}`);
		const created = await scim(ownerKey, "POST", "/Groups", {
			schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"],
			displayName: "Keyward Admins",
			members: [{ value: ada.id }],
		});
		expect(created.status, await created.clone().text()).toBe(201);
		const group = await created.json<{ id: string; members: { value: string }[] }>();
		expect(group.members.map((m) => m.value)).toEqual([ada.id]);
		expect((await membershipOf(s.accountId, ada.id))?.role).toBe("admin");

		// Okta's group push: add Bob, remove Ada.
		const patched = await scim(ownerKey, "PATCH", `/Groups/${group.id}`, {
			schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			Operations: [
				{ op: "add", path: "members", value: [{ value: bob.id }] },
				{ op: "remove", path: `members[value eq "${ada.id}"]` },
			],
		});
		expect(patched.status, await patched.clone().text()).toBe(200);
		expect((await membershipOf(s.accountId, ada.id))?.role).toBe("member");
		expect((await membershipOf(s.accountId, bob.id))?.role).toBe("admin");
		const bobNow = await (await scim(ownerKey, "GET", `/Users/${bob.id}`)).json<ScimUser>();
		expect(bobNow.groups).toEqual([{ value: group.id, display: "Keyward Admins" }]);
		expect(bobNow.roles[0]?.value).toBe("admin");

		expect((await scim(ownerKey, "DELETE", `/Groups/${group.id}`)).status).toBe(204);
		expect((await membershipOf(s.accountId, bob.id))?.role).toBe("member");
		const list = await (await scim(ownerKey, "GET", "/Groups?excludedAttributes=members")).json<{
			totalResults: number;
		}>();
		expect(list.totalResults).toBe(0);
	});

	it("links a Keyward user who proved the address, keeping their role", async () => {
		const { s, domain, ownerKey } = await scimAccount();
		const existing = newId("usr");
		const userName = `carol@${domain}`;
		await db.insert(users).values({
			id: existing,
			email: userName,
			name: "Carol",
			passwordHash: "x",
			emailVerifiedAt: clock.now(),
			createdAt: clock.now(),
		});
		await db
			.insert(memberships)
			.values({ accountId: s.accountId, userId: existing, role: "admin", joinedAt: clock.now() });
		const carol = await provision(ownerKey, userName);
		expect(carol.id).toBe(existing);
		expect((await membershipOf(s.accountId, existing))?.role).toBe("admin");
	});

	it("deletes a person: access ends first, then the record; a second delete is 404", async () => {
		const { s, domain, ownerKey } = await scimAccount();
		const ada = await provision(ownerKey, `ada@${domain}`);
		const session = await startSession(env, db, ada.id, { ip: null, userAgent: "test", country: null }, clock.now());
		const adaKey = (await createKey(t, session.token, s.accountId)).secret;
		expect((await scim(ownerKey, "DELETE", `/Users/${ada.id}`)).status).toBe(204);
		expect(await verifyCode(t, adaKey)).toBe("REVOKED");
		expect(await membershipOf(s.accountId, ada.id)).toBeUndefined();
		await expectScimError(await scim(ownerKey, "DELETE", `/Users/${ada.id}`), 404);
	});
});

describe("SCIM and the account's and person's lifecycles", () => {
	it("erasing a provisioned person forgets their SCIM record and group places, and ends their membership", async () => {
		const { s, domain, ownerKey } = await scimAccount({ scimGroupRoles: { Admins: "admin" } });
		const ada = await provision(ownerKey, `ada@${domain}`);
		expect(
			(await scim(ownerKey, "POST", "/Groups", { displayName: "Admins", members: [{ value: ada.id }] })).status,
		).toBe(201);
		const session = await startSession(env, db, ada.id, { ip: null, userAgent: "test", country: null }, clock.now());
		expect((await t.request("/v1/me", as(session.token, "DELETE"))).status).toBe(204);
		expect(await db.query.scimUsers.findMany({ where: eq(scimUsers.userId, ada.id) })).toEqual([]);
		expect(await db.query.scimGroupMembers.findMany({ where: eq(scimGroupMembers.userId, ada.id) })).toEqual([]);
		expect(await membershipOf(s.accountId, ada.id)).toBeUndefined();
		await expectScimError(await scim(ownerKey, "GET", `/Users/${ada.id}`), 404);
		// The address is free again: the provider can provision the person anew.
		const again = await provision(ownerKey, `ada@${domain}`);
		expect(again.id).not.toBe(ada.id);
	});

	it("deleting the account forgets its domains and SCIM records: another account may then verify the domain", async () => {
		const { s, domain, ownerKey } = await scimAccount();
		await provision(ownerKey, `ada@${domain}`);
		expect((await t.request(`/v1/accounts/${s.accountId}`, as(s.users.owner.token, "DELETE"))).status).toBe(204);
		expect(await db.query.accountDomains.findMany({ where: eq(accountDomains.accountId, s.accountId) })).toEqual([]);
		expect(await db.query.scimUsers.findMany({ where: eq(scimUsers.accountId, s.accountId) })).toEqual([]);
		const other = await seedAccount(clock);
		await db.insert(accountDomains).values({
			id: newId("dom"),
			accountId: other.accountId,
			domain,
			challenge: "x",
			createdBy: other.users.owner.id,
			createdAt: clock.now(),
			verifiedAt: clock.now(),
		});
	});
});

describe("SCIM refusals, in SCIM's error schema", () => {
	it("provisions only addresses of a verified domain", async () => {
		const { s, ownerKey } = await scimAccount();
		const pendingDomain = `${newId("dom").slice(4)}.example.com`;
		await db.insert(accountDomains).values({
			id: newId("dom"),
			accountId: s.accountId,
			domain: pendingDomain,
			challenge: "x",
			createdBy: s.users.owner.id,
			createdAt: clock.now(),
		});
		for (const userName of [`eve@${pendingDomain}`, "eve@gmail.com", `eve@sub.${pendingDomain}`]) {
			const err = await expectScimError(await scim(ownerKey, "POST", "/Users", { userName }), 403);
			expect(err.detail).toContain("not verified");
		}
		expect(await db.query.scimUsers.findMany({ where: eq(scimUsers.accountId, s.accountId) })).toEqual([]);
	});

	it("never grants owner, and an admin's key never deactivates the owner", async () => {
		const { s, domain, adminKey, ownerKey } = await scimAccount();
		await expectScimError(
			await scim(adminKey, "POST", "/Users", { userName: `eve@${domain}`, roles: [{ value: "owner", primary: true }] }),
			403,
		);
		// The owner, linked through SCIM, cannot be deactivated or deleted through it.
		await db
			.update(users)
			.set({ email: `owner@${domain}` })
			.where(eq(users.id, s.users.owner.id));
		const owner = await provision(ownerKey, `owner@${domain}`);
		expect(owner.id).toBe(s.users.owner.id);
		await expectScimError(await deactivate(adminKey, owner.id), 403);
		await expectScimError(await deactivate(ownerKey, owner.id), 409);
		await expectScimError(await scim(adminKey, "DELETE", `/Users/${owner.id}`), 403);
		expect((await membershipOf(s.accountId, owner.id))?.role).toBe("owner");
		// A push that would demote the owner is refused, not silently ignored (attacker run, finding 6).
		const demote = { Operations: [{ op: "replace", path: "roles", value: [{ value: "readonly" }] }] };
		await expectScimError(await scim(adminKey, "PATCH", `/Users/${owner.id}`, demote), 403);
		await expectScimError(await scim(ownerKey, "PATCH", `/Users/${owner.id}`, demote), 409);
		expect((await membershipOf(s.accountId, owner.id))?.role).toBe("owner");
	});

	it("refuses to hand an unproven address's existing user the membership", async () => {
		const { s, domain, ownerKey } = await scimAccount();
		const squatter = newId("usr");
		await db.insert(users).values({
			id: squatter,
			email: `ceo@${domain}`,
			name: "Squatter",
			passwordHash: "x",
			createdAt: clock.now(),
		});
		const err = await expectScimError(
			await scim(ownerKey, "POST", "/Users", { userName: `ceo@${domain}` }),
			409,
			"uniqueness",
		);
		expect(err.detail).toContain("without having proven it");
		expect(await membershipOf(s.accountId, squatter)).toBeUndefined();
	});

	it("takes only an API key with scim:write whose creator may still manage members", async () => {
		const { s, domain } = await scimAccount();
		const body = { userName: `eve@${domain}` };
		await expectScimError(await scim(s.users.owner.token, "POST", "/Users", body), 401);
		await expectScimError(await scim(s.apiKeys.withoutScope, "POST", "/Users", body), 403);
		const memberKey = (await seedKey(s.accountId, s.users.member.id, ["scim:write"], clock.now())).secret;
		// A member's key with a scope beyond their role is refused outright, as on every route.
		const memberAnswer = await scim(memberKey, "POST", "/Users", body);
		await expectScimError(memberAnswer, memberAnswer.status === 401 ? 401 : 403);
		await expectScimError(await scim(s.apiKeys.demoted, "POST", "/Users", body), 403);
		await expectScimError(await t.request("/scim/v2/Users", { method: "GET" }), 401);
		expect(await db.query.scimUsers.findMany({ where: eq(scimUsers.accountId, s.accountId) })).toEqual([]);
	});

	it("names every bad field, refuses a changed userName and unsupported filters", async () => {
		const { domain, ownerKey } = await scimAccount();
		const bad = await expectScimError(
			await scim(ownerKey, "POST", "/Users", { userName: "not-an-address", active: "maybe", displayName: "a\u202eb" }),
			400,
			"invalidValue",
		);
		expect(bad.detail).toMatch(/userName/);
		expect(bad.detail).toMatch(/active/);
		expect(bad.detail).toMatch(/displayName/);
		const ada = await provision(ownerKey, `ada@${domain}`);
		await expectScimError(
			await scim(ownerKey, "PUT", `/Users/${ada.id}`, { userName: `other@${domain}` }),
			400,
			"mutability",
		);
		await expectScimError(
			await scim(ownerKey, "GET", `/Users?filter=${encodeURIComponent('userName co "ada"')}`),
			400,
			"invalidFilter",
		);
		await expectScimError(
			await t.request("/scim/v2/Users", {
				method: "POST",
				headers: { Authorization: `Bearer ${ownerKey}`, "Content-Type": SCIM },
				body: "{not json",
			}),
			400,
			"invalidSyntax",
		);
		await expectScimError(await scim(ownerKey, "POST", "/Users", { userName: `ada@${domain}` }), 409, "uniqueness");
		await expectScimError(await scim(ownerKey, "GET", "/Users/usr_aaaaaaaaaaaaaaaa"), 404);
	});

	it("adds and raises nobody while the account is locked down, but still deactivates", async () => {
		const { s, domain, ownerKey } = await scimAccount();
		const ada = await provision(ownerKey, `ada@${domain}`);
		await db.update(accounts).set({ lockedDownAt: clock.now() }).where(eq(accounts.id, s.accountId));
		await expectScimError(await scim(ownerKey, "POST", "/Users", { userName: `bob@${domain}` }), 423);
		expect(await db.query.users.findFirst({ where: eq(users.email, `bob@${domain}`) })).toBeUndefined();
		expect((await deactivate(ownerKey, ada.id)).status).toBe(200);
		expect(await membershipOf(s.accountId, ada.id)).toBeUndefined();
		await expectScimError(await deactivate(ownerKey, ada.id, true), 423);
		expect(await membershipOf(s.accountId, ada.id)).toBeUndefined();
	});
});

describe("SCIM, second attacker round", () => {
	it("provisioning an existing member as inactive ends their access (Entra creates people disabled)", async () => {
		const { s, domain, ownerKey } = await scimAccount();
		const existing = newId("usr");
		const userName = `mem@${domain}`;
		await db.insert(users).values({
			id: existing,
			email: userName,
			name: "Mem",
			passwordHash: "x",
			emailVerifiedAt: clock.now(),
			createdAt: clock.now(),
		});
		await db
			.insert(memberships)
			.values({ accountId: s.accountId, userId: existing, role: "member", joinedAt: clock.now() });
		const session = await startSession(env, db, existing, { ip: null, userAgent: "test", country: null }, clock.now());
		const key = (await createKey(t, session.token, s.accountId)).secret;
		const mem = await provision(ownerKey, userName, { active: false });
		expect(mem.active).toBe(false);
		expect(await membershipOf(s.accountId, existing)).toBeUndefined();
		expect((await t.request(`/v1/accounts/${s.accountId}`, as(session.token))).status).toBe(401);
		expect(await verifyCode(t, key)).toBe("REVOKED");
	});

	it("a person deactivated by the provider cannot bring themselves back with a SCIM key they set up before", async () => {
		const { s, domain, ownerKey } = await scimAccount();
		// Rogue, an admin the provider manages, makes an admin service account and a SCIM key for it.
		const rogue = await provision(ownerKey, `rogue@${domain}`, { roles: [{ value: "admin", primary: true }] });
		const session = await startSession(env, db, rogue.id, { ip: null, userAgent: "test", country: null }, clock.now());
		const made = await t.request(
			`/v1/accounts/${s.accountId}/service-accounts`,
			as(session.token, "POST", { name: "backdoor", role: "admin" }),
		);
		expect(made.status).toBe(201);
		const { serviceAccount } = await made.json<{ serviceAccount: { id: string } }>();
		const backdoor = (
			await createKey(t, session.token, s.accountId, {
				scopes: ["scim:write"],
				owner: { serviceAccountId: serviceAccount.id },
			})
		).secret;
		expect((await deactivate(ownerKey, rogue.id)).status).toBe(200);
		const back = await scim(backdoor, "PATCH", `/Users/${rogue.id}`, {
			Operations: [
				{ op: "replace", path: "active", value: true },
				{ op: "replace", path: "roles", value: [{ value: "admin" }] },
			],
		});
		await expectScimError(back, 403);
		expect(await membershipOf(s.accountId, rogue.id)).toBeUndefined();
		// Nor through a group mapped to a role, once someone else reactivated them as a member.
		await db
			.update(accounts)
			.set({ settings: JSON.stringify({ scimGroupRoles: { Admins: "admin" } }) })
			.where(eq(accounts.id, s.accountId));
		await db.update(scimUsers).set({ role: "member" }).where(eq(scimUsers.userId, rogue.id));
		expect((await deactivate(ownerKey, rogue.id, true)).status).toBe(200);
		await expectScimError(
			await scim(backdoor, "POST", "/Groups", { displayName: "Admins", members: [{ value: rogue.id }] }),
			403,
		);
		expect((await membershipOf(s.accountId, rogue.id))?.role).toBe("member");
		// The key still takes away: it may deactivate others, as any SCIM key may.
		expect((await deactivate(backdoor, rogue.id)).status).toBe(200);
	});

	it("lists and groups of more people than D1 binds in one statement", async () => {
		const { s, domain, ownerKey } = await scimAccount();
		const ids = await seedProvisioned(s.accountId, domain, 150, false);
		const list = await scim(ownerKey, "GET", "/Users?count=200");
		expect(list.status, await list.clone().text()).toBe(200);
		expect((await list.json<{ Resources: unknown[] }>()).Resources).toHaveLength(150);
		const created = await scim(ownerKey, "POST", "/Groups", {
			displayName: "Everyone",
			members: ids.map((value) => ({ value })),
		});
		expect(created.status, await created.clone().text()).toBe(201);
		const group = await created.json<{ id: string; members: unknown[] }>();
		expect(group.members).toHaveLength(150);
		const replaced = await scim(ownerKey, "PUT", `/Groups/${group.id}`, {
			displayName: "Everyone",
			members: ids.slice(20, 140).map((value) => ({ value })),
		});
		expect(replaced.status, await replaced.clone().text()).toBe(200);
		expect((await replaced.json<{ members: unknown[] }>()).members).toHaveLength(120);
		expect((await scim(ownerKey, "GET", "/Groups")).status).toBe(200);
	});
});

describe("SCIM, third attacker round", () => {
	/**
	 * Rogue: an admin the provider manages, who hands an admin service account (the owner made it,
	 * so Rogue is not its maker) a key.
	 */
	async function rogueWithServiceKey(settings: Record<string, unknown> = {}, scopes = ["scim:write"]) {
		const { s, domain, ownerKey } = await scimAccount(settings);
		const rogue = await provision(ownerKey, `rogue@${domain}`, { roles: [{ value: "admin", primary: true }] });
		const session = await startSession(env, db, rogue.id, { ip: null, userAgent: "test", country: null }, clock.now());
		const made = await t.request(
			`/v1/accounts/${s.accountId}/service-accounts`,
			as(s.users.owner.token, "POST", { name: "sync", role: "admin" }),
		);
		expect(made.status).toBe(201);
		const { serviceAccount } = await made.json<{ serviceAccount: { id: string } }>();
		const first = await createKey(t, session.token, s.accountId, {
			scopes,
			owner: { serviceAccountId: serviceAccount.id },
		});
		return { s, domain, ownerKey, rogue, first };
	}

	it("a key minted or rotated by a service account's key still counts its first key's maker as behind it", async () => {
		const { s, ownerKey, rogue, first } = await rogueWithServiceKey({}, ["keys:write", "scim:write"]);
		// The first key mints a second for its own service account, and rotates itself: both name the
		// service account, not Rogue, as their creator.
		const minted = await createKey(t, first.secret, s.accountId, { scopes: ["scim:write"] });
		const rotated = await t.request(
			`/v1/accounts/${s.accountId}/keys/${first.key.id}/rotate`,
			as(first.secret, "POST", { gracePeriodHours: 0 }),
		);
		expect(rotated.status, await rotated.clone().text()).toBe(201);
		const successor = (await rotated.json<{ secret: string }>()).secret;
		expect((await deactivate(ownerKey, rogue.id)).status).toBe(200);
		for (const key of [minted.secret, successor]) {
			await expectScimError(await deactivate(key, rogue.id, true), 403);
			await expectScimError(
				await scim(key, "PUT", `/Users/${rogue.id}`, { userName: rogue.userName, active: true }),
				403,
			);
			expect(await membershipOf(s.accountId, rogue.id)).toBeUndefined();
		}
		// Those keys still work for everyone else.
		expect((await provision(minted.secret, `other@${rogue.userName.split("@")[1]}`)).active).toBe(true);
	});

	it("a group call that would raise a person behind the key writes nothing, for create, replace and patch", async () => {
		const { s, domain, ownerKey, rogue, first } = await rogueWithServiceKey({ scimGroupRoles: { Admins: "admin" } });
		const x = await provision(ownerKey, `x@${domain}`);
		// The provider demotes Rogue; Rogue pushes an Admins group holding X and themselves.
		const demote = await scim(ownerKey, "PATCH", `/Users/${rogue.id}`, {
			Operations: [{ op: "replace", path: "roles", value: [{ value: "member", primary: true }] }],
		});
		expect(demote.status).toBe(200);
		const both = [{ value: x.id }, { value: rogue.id }];
		await expectScimError(await scim(first.secret, "POST", "/Groups", { displayName: "Admins", members: both }), 403);
		const plain = await scim(ownerKey, "POST", "/Groups", { displayName: "Staff", members: [{ value: x.id }] });
		expect(plain.status).toBe(201);
		const staff = await plain.json<{ id: string; meta: { version: string } }>();
		await expectScimError(
			await scim(first.secret, "PUT", `/Groups/${staff.id}`, { displayName: "Admins", members: both }),
			403,
		);
		await expectScimError(
			await scim(first.secret, "PATCH", `/Groups/${staff.id}`, {
				Operations: [
					{ op: "replace", path: "displayName", value: "Admins" },
					{ op: "add", path: "members", value: [{ value: rogue.id }] },
				],
			}),
			403,
		);
		const groups = await db.query.scimGroups.findMany({ where: eq(scimGroups.accountId, s.accountId) });
		expect(groups.map((g) => [g.displayName, g.version])).toEqual([["Staff", 1]]);
		expect(
			(await db.query.scimGroupMembers.findMany({ where: eq(scimGroupMembers.accountId, s.accountId) })).map(
				(m) => m.userId,
			),
		).toEqual([x.id]);
		expect((await membershipOf(s.accountId, x.id))?.role).toBe("member");
		// A routine profile sync later finds no stored place that would raise Rogue.
		const sync = await scim(ownerKey, "PATCH", `/Users/${rogue.id}`, {
			Operations: [{ op: "replace", path: "displayName", value: "Rogue" }],
		});
		expect(sync.status).toBe(200);
		expect((await membershipOf(s.accountId, rogue.id))?.role).toBe("member");
	});

	it("one group call alerts once however many roles it changes, and changes at most 100", async () => {
		const mail: Email[] = [];
		const mailer: Mailer = { send: async (email) => void mail.push(email) };
		const audit = observedQueue();
		const tm = testApp({ clock, services: (e) => ({ db: createDatabase(e.DB), clock, mailer, fetch }) });
		const { s, domain, ownerKey } = await scimAccount({ scimGroupRoles: { Admins: "admin" } });
		const via = (method: string, path: string, body?: unknown) =>
			tm.request(
				`/scim/v2${path}`,
				{
					method,
					headers: { Authorization: `Bearer ${ownerKey}`, "Content-Type": SCIM },
					body: body === undefined ? undefined : JSON.stringify(body),
				},
				{ AUDIT_QUEUE: audit.queue },
			);
		const people = await seedProvisioned(s.accountId, domain, 30 + MAX_ROLE_CHANGES_PER_CALL + 1);
		mail.length = 0;
		const raised = await via("POST", "/Groups", {
			displayName: "Admins",
			members: people.slice(0, 30).map((id) => ({ value: id })),
		});
		expect(raised.status, await raised.clone().text()).toBe(201);
		const group = await raised.json<{ id: string }>();
		const changed = audit.sent.filter((e) => e.action === "member.role_changed");
		expect(changed).toHaveLength(30);
		const alerts = audit.sent.filter((e) => e.action === "alert.member_changed");
		expect(alerts).toHaveLength(1);
		expect(alerts[0]?.metadata).toMatchObject({ change: "roles_changed", count: 30, groupId: group.id });
		expect(alerts[0]?.metadata.changes).toHaveLength(20);
		// One email per owner and admin, not one per person raised.
		const recipients = (await db.query.memberships.findMany({ where: eq(memberships.accountId, s.accountId) })).filter(
			(m) => m.role === "owner" || m.role === "admin",
		).length;
		expect(mail).toHaveLength(recipients);
		expect(mail[0]?.text).toContain("and 10 more");
		// A push that would change more than 100 roles is refused before it writes anything.
		const tooMany = await via("PUT", `/Groups/${group.id}`, {
			displayName: "Admins",
			members: people.map((id) => ({ value: id })),
		});
		const error = await expectScimError(tooMany, 400, "invalidValue");
		expect(error.detail).toMatch(/at most 100/);
		expect((await db.query.scimGroups.findFirst({ where: eq(scimGroups.id, group.id) }))?.version).toBe(1);
		const admins = (await db.query.memberships.findMany({ where: eq(memberships.accountId, s.accountId) })).filter(
			(m) => m.role === "admin" && people.includes(m.userId),
		);
		expect(admins).toHaveLength(30);
	});

	it("a SCIM key over its rate limit is told to wait (429 with Retry-After), not that it is unknown", async () => {
		const { s } = await scimAccount();
		const limited = (
			await seedKey(s.accountId, s.users.owner.id, ["scim:write"], clock.now(), "staging", {
				rateLimit: 2,
				windowSeconds: 3600,
			})
		).secret;
		for (let i = 0; i < 2; i++) expect((await scim(limited, "GET", "/Users")).status).toBe(200);
		const refused = await scim(limited, "GET", "/Users");
		const error = await expectScimError(refused, 429);
		expect(error.detail).toMatch(/rate limit/);
		expect(Number(refused.headers.get("Retry-After"))).toBeGreaterThan(0);
		expect(refused.headers.get("RateLimit-Policy")).toBe('"key";q=2;w=3600');
		// The management API answers a rate-limited key the same way.
		const management = await t.request(`/v1/accounts/${s.accountId}/keys`, as(limited));
		expect(management.status).toBe(429);
	});
});

describe("SCIM under bursts", () => {
	it("a burst of activations and deactivations leaves the membership where the record is", async () => {
		const { s, domain, ownerKey } = await scimAccount();
		const ada = await provision(ownerKey, `ada@${domain}`);
		const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => deactivate(ownerKey, ada.id, i % 2 === 1)));
		for (const r of answers) expect([200, 409]).toContain(r.status);
		const row = await db.query.scimUsers.findFirst({
			where: and(eq(scimUsers.accountId, s.accountId), eq(scimUsers.userId, ada.id)),
		});
		expect(Boolean(await membershipOf(s.accountId, ada.id))).toBe(row?.active);
	});

	it("a burst of creations of one address provisions it once", async () => {
		const { s, domain, ownerKey } = await scimAccount();
		const answers = await Promise.all(
			Array.from({ length: 8 }, () => scim(ownerKey, "POST", "/Users", { userName: `dup@${domain}` })),
		);
		expect(answers.filter((r) => r.status === 201)).toHaveLength(1);
		for (const r of answers) expect([201, 409]).toContain(r.status);
		expect(await db.query.users.findMany({ where: eq(users.email, `dup@${domain}`) })).toHaveLength(1);
		expect(await db.query.scimUsers.findMany({ where: eq(scimUsers.accountId, s.accountId) })).toHaveLength(1);
	});
});

describe("SCIM discovery", () => {
	it("says what the service supports, and agrees with what the routes do", async () => {
		const { ownerKey } = await scimAccount();
		const config = await scim(ownerKey, "GET", "/ServiceProviderConfig");
		expect(config.status).toBe(200);
		expect(config.headers.get("Content-Type")).toContain(SCIM);
		const body = await config.json<Record<string, { supported: boolean; maxResults?: number }>>();
		expect([body.patch?.supported, body.filter?.supported, body.bulk?.supported, body.sort?.supported]).toEqual([
			true,
			true,
			false,
			false,
		]);
		// The page limit it announces is the one the list routes keep: one more is refused.
		const max = body.filter?.maxResults ?? 0;
		expect((await scim(ownerKey, "GET", `/Users?count=${max}`)).status).toBe(200);
		await expectScimError(await scim(ownerKey, "GET", `/Users?count=${max + 1}`), 400);

		const types = await (await scim(ownerKey, "GET", "/ResourceTypes")).json<{
			Resources: { name: string; endpoint: string; schema: string }[];
		}>();
		expect(types.Resources.map((r) => [r.name, r.endpoint])).toEqual([
			["User", "/Users"],
			["Group", "/Groups"],
		]);
		// Every resource type's endpoint answers with that key.
		for (const r of types.Resources) expect((await scim(ownerKey, "GET", r.endpoint)).status).toBe(200);
		const schemas = await (await scim(ownerKey, "GET", "/Schemas")).json<{
			Resources: { id: string; attributes: { name: string; mutability: string }[] }[];
		}>();
		expect(schemas.Resources.map((r) => r.id)).toEqual(types.Resources.map((r) => r.schema));
		const userName = schemas.Resources[0]?.attributes.find((a) => a.name === "userName");
		expect(userName?.mutability).toBe("immutable");
		// Without a key, nothing.
		expect((await t.request("/scim/v2/ServiceProviderConfig")).status).toBe(401);
	});
});

describe("every SCIM route, from the document, as each kind of caller", () => {
	it("refuses sessions, keys without scim:write, demoted creators, and never reaches another account", async () => {
		const doc = await (await t.request("/v1/openapi.json")).json<{ paths: Record<string, Record<string, unknown>> }>();
		const ops = Object.entries(doc.paths)
			.filter(([path]) => path.startsWith("/scim/"))
			.flatMap(([path, item]) => Object.keys(item).map((method) => ({ method: method.toUpperCase(), path })));
		expect(ops).toHaveLength(15);
		const mine = await scimAccount();
		const theirs = await scimAccount();
		const victim = await provision(theirs.ownerKey, `victim@${theirs.domain}`);
		const group = await (
			await scim(theirs.ownerKey, "POST", "/Groups", { displayName: "Theirs", members: [{ value: victim.id }] })
		).json<{ id: string }>();
		const before = JSON.stringify(
			await db.query.scimUsers.findMany({ where: eq(scimUsers.accountId, theirs.s.accountId) }),
		);
		const mismatches: string[] = [];
		for (const { method, path } of ops) {
			const url = path.replace("{id}", path.includes("Groups") ? group.id : victim.id);
			const body =
				method === "PATCH"
					? { Operations: [{ op: "replace", path: "active", value: false }] }
					: method === "POST" || method === "PUT"
						? path.includes("Groups")
							? { displayName: "Theirs", members: [{ value: victim.id }] }
							: { userName: `victim@${theirs.domain}`, active: false }
						: undefined;
			const callers: [string, string | null, number[]][] = [
				["anonymous", null, [401]],
				["owner's session", mine.s.users.owner.token, [401]],
				["key without scim:write", mine.s.apiKeys.withoutScope, [403]],
				["key of a demoted creator", mine.s.apiKeys.demoted, [403]],
				// Another account's SCIM key acts in its own account: the ids are not there, and a POST lands
				// in its own account (where the domain is not verified).
				[
					"another account's SCIM key",
					mine.ownerKey,
					method === "GET" && !path.includes("{id}") ? [200] : [403, 404, 400],
				],
			];
			for (const [who, credential, allowed] of callers) {
				const res = await t.request(url, {
					method,
					headers: {
						...(credential ? { Authorization: `Bearer ${credential}` } : {}),
						...(body ? { "Content-Type": SCIM } : {}),
					},
					body: body ? JSON.stringify(body) : undefined,
				});
				const text = await res.text();
				if (!allowed.includes(res.status))
					mismatches.push(`${method} ${path} as ${who}: ${res.status} ${text.slice(0, 120)}`);
				if (res.status >= 400 && !res.headers.get("Content-Type")?.startsWith(SCIM))
					mismatches.push(`${method} ${path} as ${who}: not a SCIM error`);
				if (res.status === 200 && text.includes(victim.id))
					mismatches.push(`${method} ${path} as ${who}: saw the victim`);
			}
		}
		expect(mismatches).toEqual([]);
		expect(
			JSON.stringify(await db.query.scimUsers.findMany({ where: eq(scimUsers.accountId, theirs.s.accountId) })),
		).toBe(before);
		expect((await membershipOf(theirs.s.accountId, victim.id))?.role).toBe("member");
	});
});
