import { env } from "cloudflare:test";
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDatabase } from "../../src/db";
import { accounts, memberships, scimUsers, ssoConnections, users } from "../../src/db/schema";
import { ManualClock } from "../../src/platform/clock";
import { newId } from "../../src/platform/ids";
import { reauthParams } from "../../src/sso/sign-in";
import { BASE, testApp } from "../support/app";
import { observedQueue } from "../support/audit";
import { cookieOf } from "../support/browser";
import { seedVerifiedDomain, signUpProven, uniqueDomain } from "../support/domains";
import { fakeIdp, type IssueOptions } from "../support/fake-idp";
import { enrolTotp, type IdentityHarness, PASSWORD, totpCode } from "../support/identity";
import { as, expectProblem } from "../support/request";
import { seedAccount } from "../support/seed";

/**
 * OIDC single sign-on (issue #27) against a fake identity provider (the outside world): the
 * owner connects it, people of a verified domain sign in through it with the code flow, PKCE,
 * state and nonce, and every check of the ID token refuses what it should.
 */
const clock = new ManualClock("2026-12-01T09:00:00Z");
const idp = await fakeIdp({ now: () => clock.now() });
const t = testApp({ clock, fetch: idp.fetch });
const db = createDatabase(env.DB);

type ConnectionBody = { connection: { id: string; issuer: string; redirectUri: string; roleMapping: unknown } };

async function ssoAccount(roleMapping: unknown = undefined) {
	const s = await seedAccount(clock);
	const domain = await seedVerifiedDomain(db, s.accountId, s.users.owner.id, clock.now());
	const res = await t.request(
		`/v1/accounts/${s.accountId}/sso-connections`,
		as(s.users.owner.token, "POST", {
			issuer: idp.issuer,
			clientId: idp.clientId,
			clientSecret: idp.clientSecret,
			...(roleMapping === undefined ? {} : { roleMapping }),
		}),
	);
	expect(res.status, await res.clone().text()).toBe(201);
	return { s, domain, connection: (await res.json<ConnectionBody>()).connection };
}

async function start(email: string) {
	const res = await t.request(`/v1/auth/sso/start?email=${encodeURIComponent(email)}`);
	expect(res.status, await res.clone().text()).toBe(302);
	return { location: res.headers.get("Location") ?? "", browser: cookieOf(res, "__Host-keyward_sso") ?? "" };
}

const callback = (state: string, code: string, cookie: string | null) =>
	t.request(`/v1/auth/sso/callback?state=${encodeURIComponent(state)}&code=${encodeURIComponent(code)}`, {
		headers: cookie ? { Cookie: cookie } : {},
	});

async function signIn(email: string, issue: IssueOptions = {}) {
	const { location, browser } = await start(email);
	const { code, state } = await idp.authorize(location, issue);
	return callback(state, code, browser);
}

const membershipOf = (accountId: string, userId: string) =>
	db.query.memberships.findFirst({ where: and(eq(memberships.accountId, accountId), eq(memberships.userId, userId)) });

async function expectSignedIn(res: Response, accountId: string) {
	expect(res.status, `${await res.clone().text()} ${t.logs.slice(-2).join(" ")}`).toBe(200);
	expect(await res.clone().text()).toContain(`/a/${accountId}`);
	const session = cookieOf(res, "__Host-keyward_session");
	expect(session).toBeDefined();
	const me = await t.request("/v1/me", { headers: { Cookie: session ?? "" } });
	expect(me.status).toBe(200);
	return (await me.json<{ user: { id: string; email: string } }>()).user;
}

describe("OIDC connections", () => {
	it("the owner connects a provider: discovery and JWKS are read, the secret is sealed and never shown", async () => {
		const { s, connection } = await ssoAccount();
		expect(connection.redirectUri).toBe("https://keyward.test/v1/auth/sso/callback");
		expect(JSON.stringify(connection)).not.toContain(idp.clientSecret);
		const row = await db.query.ssoConnections.findFirst({ where: eq(ssoConnections.id, connection.id) });
		expect(row?.clientSecretSealed).toMatch(/^v1\./);
		expect(row?.clientSecretSealed).not.toContain(idp.clientSecret);
		expect(row?.tokenEndpoint).toBe(`${idp.issuer}/token`);
		const listed = await t.request(`/v1/accounts/${s.accountId}/sso-connections`, as(s.users.member.token));
		expect(listed.status).toBe(200);
		expect(await listed.text()).not.toContain(idp.clientSecret);
		// A second connection is 409; an admin may not make one at all.
		const again = { issuer: idp.issuer, clientId: "x", clientSecret: "y" };
		const path = `/v1/accounts/${s.accountId}/sso-connections`;
		await expectProblem(await t.request(path, as(s.users.owner.token, "POST", again)), 409);
		await expectProblem(await t.request(path, as(s.users.admin.token, "POST", again)), 403);
		// Changing the secret reseals it; the mapping never names owner.
		const one = `${path}/${connection.id}`;
		const changed = await t.request(one, as(s.users.owner.token, "PATCH", { clientSecret: "rotated-secret-2" }));
		expect(changed.status, await changed.clone().text()).toBe(200);
		const resealed = await db.query.ssoConnections.findFirst({ where: eq(ssoConnections.id, connection.id) });
		expect(resealed?.clientSecretSealed).not.toBe(row?.clientSecretSealed);
		const owner = await expectProblem(
			await t.request(
				one,
				as(s.users.owner.token, "PATCH", { roleMapping: { claim: "groups", values: { Boss: "owner" } } }),
			),
			400,
		);
		expect(JSON.stringify(owner.errors)).toContain("roleMapping.values.Boss");
		expect((await t.request(one, as(s.users.owner.token, "DELETE"))).status).toBe(204);
		expect((await t.request(one, as(s.users.owner.token, "DELETE"))).status).toBe(404);
	});

	it("refuses issuers it must not call or cannot use, naming the field", async () => {
		const s = await seedAccount(clock);
		const path = `/v1/accounts/${s.accountId}/sso-connections`;
		for (const issuer of [
			"http://idp.acme-sso.com",
			"https://169.254.169.254/latest",
			"https://10.0.0.7",
			"https://idp.internal",
			"https://idp.acme-sso.com/?x=1",
			"https://elsewhere.acme-sso.com",
			`${idp.issuer}/other`,
		]) {
			const res = await t.request(path, as(s.users.owner.token, "POST", { issuer, clientId: "a", clientSecret: "b" }));
			const problem = await expectProblem(res, 400);
			expect(problem.errors?.map((e) => e.path)).toEqual(["issuer"]);
		}
		// A provider on this machine only in development (a local stack against a fake provider).
		const local = { issuer: "http://localhost:9999", clientId: "a", clientSecret: "b" };
		const dev = await expectProblem(await t.request(path, as(s.users.owner.token, "POST", local)), 400);
		expect(dev.errors?.[0]?.message).toMatch(/answered 502/);
		const staging = await expectProblem(
			await t.request(path, as(s.users.owner.token, "POST", local), {
				ENVIRONMENT: "staging",
				MAIL_TRANSPORT: "http",
				MAIL_API_URL: "https://mail.example",
				MAIL_API_TOKEN: "t",
				CONSOLE_URL: "https://keyward.test/console",
				WEBAUTHN_RP_ID: "keyward.test",
				WEBAUTHN_ORIGINS: "https://keyward.test",
			}),
			400,
		);
		expect(staging.errors?.[0]?.message).toMatch(/must use https/);
		// A discovery document naming another issuer (a provider vouching for someone else) is refused.
		idp.discovery.issuer = "https://evil.example.org";
		try {
			const res = await t.request(
				path,
				as(s.users.owner.token, "POST", { issuer: idp.issuer, clientId: "a", clientSecret: "b" }),
			);
			expect((await expectProblem(res, 400)).detail).toMatch(/names the issuer/);
		} finally {
			idp.discovery.issuer = idp.issuer;
		}
		expect(
			await db.query.ssoConnections.findFirst({ where: eq(ssoConnections.accountId, s.accountId) }),
		).toBeUndefined();
	});
});

describe("single sign-on", () => {
	it("signs a first-time person in, creating them with the mapped role; later sign-ins reuse them", async () => {
		const { s, domain } = await ssoAccount({ claim: "groups", values: { "KW Admins": "admin" }, default: "readonly" });
		const admin = await expectSignedIn(
			await signIn(`ada@${domain}`, { claims: { groups: ["Staff", "KW Admins"] } }),
			s.accountId,
		);
		expect(admin.email).toBe(`ada@${domain}`);
		expect((await membershipOf(s.accountId, admin.id))?.role).toBe("admin");
		const user = await db.query.users.findFirst({ where: eq(users.id, admin.id) });
		expect(user?.emailVerifiedAt).not.toBeNull();
		// ES256 too; nothing matched gives the default.
		const reader = await expectSignedIn(await signIn(`bob@${domain}`, { alg: "ES256" }), s.accountId);
		expect((await membershipOf(s.accountId, reader.id))?.role).toBe("readonly");
		// A second sign-in finds the same person and changes nothing.
		const again = await expectSignedIn(await signIn(`ADA@${domain}`, { claims: { groups: [] } }), s.accountId);
		expect(again.id).toBe(admin.id);
		expect((await membershipOf(s.accountId, admin.id))?.role).toBe("admin");
		// What Keyward sent the provider: the secret only to the token endpoint, with the PKCE verifier.
		const redeem = idp.calls.filter((c) => c.url.endsWith("/token")).at(-1);
		expect(redeem?.authorization).toMatch(/^Basic /);
		expect(redeem?.body).toMatch(/code_verifier=/);
	});

	it("refuses every token that is forged, misdirected, stale or unverified, and signs nobody in", async () => {
		const { domain } = await ssoAccount();
		const now = Math.floor(clock.now().getTime() / 1000);
		const cases: [string, IssueOptions, RegExp][] = [
			["wrong issuer", { claims: { iss: "https://evil.example.org" } }, /issuer/],
			["wrong audience", { claims: { aud: "someone-else" } }, /not for this client/],
			["another client's azp", { claims: { aud: [idp.clientId, "other"], azp: "other" } }, /azp/],
			["expired", { claims: { exp: now - 600, iat: now - 900 } }, /expired|too old/],
			["issued in the future", { claims: { iat: now + 3600, exp: now + 7200 } }, /future/],
			["bad signature", { forged: true }, /signature/],
			["missing nonce", { claims: { nonce: undefined } }, /nonce/],
			["another sign-in's nonce", { claims: { nonce: "a".repeat(52) } }, /nonce/],
			["unverified email", { claims: { email_verified: false } }, /verified/],
			["the string true", { claims: { email_verified: "true" } }, /verified/],
			["no email", { claims: { email: undefined } }, /email/],
		];
		for (const [name, issue, reason] of cases) {
			const email = `${name.replace(/\W/g, "")}@${domain}`;
			const res = await signIn(email, issue);
			const problem = await expectProblem(res, 401);
			expect(problem.detail, name).toMatch(reason);
			expect(cookieOf(res, "__Host-keyward_session"), name).toBeUndefined();
			expect(await db.query.users.findFirst({ where: eq(users.email, email) }), name).toBeUndefined();
		}
	});

	it("uses a state once, in the browser that started it, within ten minutes; a code from another sign-in fails PKCE", async () => {
		const { s, domain } = await ssoAccount();
		const first = await start(`eve@${domain}`);
		const granted = await idp.authorize(first.location);
		// Another browser (no cookie, or another sign-in's cookie) is refused, and that uses the state up.
		const other = await start(`eve@${domain}`);
		await expectProblem(await callback(granted.state, granted.code, other.browser), 401);
		await expectProblem(await callback(granted.state, granted.code, first.browser), 401);
		// Replay of a state that signed someone in.
		const ok = await start(`eve@${domain}`);
		const code = await idp.authorize(ok.location);
		await expectSignedIn(await callback(code.state, code.code, ok.browser), s.accountId);
		const replay = await expectProblem(await callback(code.state, code.code, ok.browser), 401);
		expect(replay.detail).toMatch(/unknown or was used/);
		// A code the attacker got for their own sign-in, injected into the victim's: the verifier does not match.
		const victim = await start(`eve@${domain}`);
		const attacker = await start(`eve@${domain}`);
		const injected = await idp.authorize(attacker.location);
		const { state } = await idp.authorize(victim.location);
		await expectProblem(await callback(state, injected.code, victim.browser), 401);
		// Too slow.
		const slow = await start(`eve@${domain}`);
		const late = await idp.authorize(slow.location);
		clock.advance(11 * 60_000);
		expect((await expectProblem(await callback(late.state, late.code, slow.browser), 401)).detail).toMatch(
			/ten minutes/,
		);
	});

	it("routes only verified domains, and admits nobody the provider deactivated, no squatter, nobody while locked down", async () => {
		const { s, domain } = await ssoAccount();
		await expectProblem(await t.request("/v1/auth/sso/start?email=x%40never-verified.example.com"), 404);
		await expectProblem(await t.request("/v1/auth/sso/start?email=not-an-address"), 400);
		// The provider vouches for an address outside the account's verified domains.
		const foreign = await signIn(`ada@${domain}`, { claims: { email: "ada@gmail.com" } });
		expect((await expectProblem(foreign, 403)).detail).toMatch(/not verified/);
		// SCIM deactivated this person: single sign-on does not bring them back.
		const gone = newId("usr");
		await db.insert(users).values({
			id: gone,
			email: `gone@${domain}`,
			name: "Gone",
			passwordHash: "x",
			emailVerifiedAt: clock.now(),
			createdAt: clock.now(),
		});
		await db.insert(scimUsers).values({
			accountId: s.accountId,
			userId: gone,
			userName: `gone@${domain}`,
			active: false,
			role: "member",
			createdAt: clock.now(),
			updatedAt: clock.now(),
		});
		expect((await expectProblem(await signIn(`gone@${domain}`), 403)).detail).toMatch(/deactivated/);
		expect(await membershipOf(s.accountId, gone)).toBeUndefined();
		// Someone signed up with the address and never proved it.
		await db.insert(users).values({
			id: newId("usr"),
			email: `squat@${domain}`,
			name: "Squatter",
			passwordHash: "x",
			emailVerifiedAt: null,
			createdAt: clock.now(),
		});
		await expectProblem(await signIn(`squat@${domain}`), 409);
		// Locked down: no new member, and no user left behind.
		await db.update(accounts).set({ lockedDownAt: clock.now() }).where(eq(accounts.id, s.accountId));
		await expectProblem(await signIn(`late@${domain}`), 423);
		expect(await db.query.users.findFirst({ where: eq(users.email, `late@${domain}`) })).toBeUndefined();
	});
});

describe("a single sign-on as a proof of identity", () => {
	const revokeOthers = (cookie: string) =>
		t.request("/v1/me/sessions/revoke-others", { method: "POST", headers: { Cookie: cookie, Origin: BASE } });
	const signedInCookie = async (email: string, issue: IssueOptions = {}) => {
		const res = await signIn(email, issue);
		expect(res.status, await res.clone().text()).toBe(200);
		return cookieOf(res, "__Host-keyward_session") ?? "";
	};

	it("asks the provider to authenticate again in the way it takes: Google gets max_age=0 alone (it refuses prompt=login)", () => {
		expect(reauthParams("https://acme.okta.com")).toEqual([
			["prompt", "login"],
			["max_age", "0"],
		]);
		expect(reauthParams("https://login.microsoftonline.com/tenant-id/v2.0")).toEqual([
			["prompt", "login"],
			["max_age", "0"],
		]);
		expect(reauthParams("https://accounts.google.com")).toEqual([["max_age", "0"]]);
	});

	it("counts from when the provider authenticated the person, not from the sign-in: a provider's old session proves nothing recent", async () => {
		const { domain } = await ssoAccount();
		const now = Math.floor(clock.now().getTime() / 1000);
		const fresh = await signedInCookie(`fresh@${domain}`);
		expect((await revokeOthers(fresh)).status).toBe(200);
		// A laptop left open: the provider's own session from an hour ago signs the person in again without asking.
		const old = await signedInCookie(`stale@${domain}`, { claims: { auth_time: now - 3600 } });
		await expectProblem(await revokeOthers(old), 403, "reauthentication-required");
		const unnamed = await signedInCookie(`unnamed@${domain}`, { claims: { auth_time: undefined } });
		await expectProblem(await revokeOthers(unnamed), 403, "reauthentication-required");
		const ahead = await signedInCookie(`ahead@${domain}`, { claims: { auth_time: now + 3600 } });
		await expectProblem(await revokeOthers(ahead), 403, "reauthentication-required");
	});

	it("proves it again through the provider with prompt=login, for the same person only, after the start; the old session ends", async () => {
		const { domain } = await ssoAccount();
		const now = () => Math.floor(clock.now().getTime() / 1000);
		const email = `proof@${domain}`;
		const stale = await signedInCookie(email, { claims: { auth_time: now() - 3600 } });
		const reauth = (cookie: string, body: unknown = { returnTo: "/console/security" }) =>
			t.request("/v1/me/reauthenticate/sso", {
				method: "POST",
				headers: { Cookie: cookie, Origin: BASE, "Content-Type": "application/json" },
				body: JSON.stringify(body),
			});
		const begin = async () => {
			const res = await reauth(stale);
			expect(res.status, await res.clone().text()).toBe(200);
			const { location } = await res.json<{ location: string }>();
			return { location, browser: cookieOf(res, "__Host-keyward_sso") ?? "" };
		};

		// Refused: the provider did not ask again (an auth_time before the start), or named someone else.
		let started = await begin();
		let grant = await idp.authorize(started.location, { claims: { auth_time: now() - 600 } });
		await expectProblem(await callback(grant.state, grant.code, started.browser), 401);
		await signedInCookie(`other@${domain}`);
		started = await begin();
		grant = await idp.authorize(started.location, { claims: { email: `other@${domain}` } });
		await expectProblem(await callback(grant.state, grant.code, started.browser), 403);
		expect((await revokeOthers(stale)).status).toBe(403); // still the stale session, still unproved

		started = await begin();
		grant = await idp.authorize(started.location);
		expect(idp.lastAuthorize?.get("prompt")).toBe("login");
		expect(idp.lastAuthorize?.get("max_age")).toBe("0");
		expect(idp.lastAuthorize?.get("login_hint")).toBe(email);
		const done = await callback(grant.state, grant.code, started.browser);
		expect(done.status, await done.clone().text()).toBe(200);
		expect(await done.clone().text()).toContain(`content="0;url=${BASE}/console/security"`);
		const proved = cookieOf(done, "__Host-keyward_session") ?? "";
		expect(proved).not.toBe(stale);
		expect((await revokeOthers(proved)).status).toBe(200);
		expect((await t.request("/v1/me", { headers: { Cookie: stale } })).status).toBe(401);

		// What it takes: a console path only; a session, not a key; a domain with a connection.
		for (const returnTo of ["https://evil.example/console", "//evil.example", "/console/../v1", "/console?x=1"]) {
			const bad = await expectProblem(await reauth(proved, { returnTo }), 400);
			expect(bad.errors?.map((e) => e.path)).toEqual(["returnTo"]);
		}
		const elsewhere = await seedAccount(clock);
		await expectProblem(await t.request("/v1/me/reauthenticate/sso", as(elsewhere.users.owner.token, "POST", {})), 404);
		const key = await t.request("/v1/me/reauthenticate/sso", as(elsewhere.apiKeys.withScope, "POST", {}));
		expect(key.status).toBe(401);
	});
});

describe("enforceSso", () => {
	const post = (path: string, body: unknown, token?: string) =>
		t.request(path, {
			method: "POST",
			headers: { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) },
			body: JSON.stringify(body),
		});
	const harness = { request: t.request, clock } as unknown as IdentityHarness;

	/** An owner who signed up with an address of the domain, proved it, enrolled TOTP, and connected the provider. */
	async function enforcedAccount() {
		const domain = uniqueDomain();
		const email = `boss@${domain}`;
		const owner = await signUpProven(t.request, db, clock.now(), email, "Boss");
		const accountId = owner.account.id;
		await seedVerifiedDomain(db, accountId, owner.user.id, clock.now(), domain);
		const token = owner.session.token;
		const settings = (enforceSso: boolean, as = token) =>
			t.request(`/v1/accounts/${accountId}`, {
				method: "PATCH",
				headers: { "Content-Type": "application/json", Authorization: `Bearer ${as}` },
				body: JSON.stringify({ settings: { enforceSso } }),
			});
		// Not before the owner has a break-glass factor, nor before there is a connection.
		const noFactor = await expectProblem(await settings(true), 400);
		expect(noFactor.errors?.map((e) => e.path)).toEqual(["settings.enforceSso", "settings.enforceSso"]);
		const { secret, recoveryCodes } = await enrolTotp(harness, token);
		const noConnection = await expectProblem(await settings(true), 400);
		expect(noConnection.errors).toEqual([
			{ path: "settings.enforceSso", message: expect.stringMatching(/Connect an identity provider/) },
		]);
		const connected = await t.request(
			`/v1/accounts/${accountId}/sso-connections`,
			as(token, "POST", { issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret }),
		);
		expect(connected.status, await connected.clone().text()).toBe(201);
		// A member with a password, in the domain.
		const member = await post("/v1/auth/signup", { email: `dev@${domain}`, password: PASSWORD, name: "Dev" });
		const dev = await member.json<{ user: { id: string }; session: { token: string } }>();
		await db.update(users).set({ emailVerifiedAt: clock.now() }).where(eq(users.id, dev.user.id));
		await db.insert(memberships).values({ accountId, userId: dev.user.id, role: "admin", joinedAt: clock.now() });
		// An admin may not turn it on (or off); the owner may.
		await expectProblem(await settings(true, dev.session.token), 403);
		const on = await settings(true);
		expect(on.status, await on.clone().text()).toBe(200);
		return { domain, accountId, email, token, secret, recoveryCodes, devEmail: `dev@${domain}` };
	}

	it("refuses members' password sign-ins after they prove the password, and lets them in through single sign-on", async () => {
		const { accountId, devEmail } = await enforcedAccount();
		await expectProblem(await post("/v1/auth/login", { email: devEmail, password: "wrong password here" }), 401);
		const refused = await expectProblem(
			await post("/v1/auth/login", { email: devEmail, password: PASSWORD }),
			403,
			"sso-required",
		);
		expect(refused.detail).toContain(`/v1/auth/sso/start?email=${encodeURIComponent(devEmail)}`);
		const user = await expectSignedIn(await signIn(devEmail), accountId);
		expect(user.email).toBe(devEmail);
	});

	it("waits for a connection: with it removed, members sign in with their password again instead of being locked out", async () => {
		const { accountId, devEmail, email, token } = await enforcedAccount();
		await expectProblem(await post("/v1/auth/login", { email: devEmail, password: PASSWORD }), 403, "sso-required");
		const owner = await post("/v1/auth/login", { email, password: PASSWORD });
		expect(owner.status).toBe(200); // the owner's second factor comes next; the sign-in is not refused for SSO
		const [row] = await db.select().from(ssoConnections).where(eq(ssoConnections.accountId, accountId));
		const removed = await t.request(`/v1/accounts/${accountId}/sso-connections/${row?.id}`, as(token, "DELETE"));
		expect(removed.status).toBe(204);
		const back = await post("/v1/auth/login", { email: devEmail, password: PASSWORD });
		expect(back.status, await back.clone().text()).toBe(200);
	});

	it("keeps the owner's break-glass path (password and authenticator code), audited and alerted; a recovery code is not it", async () => {
		const { accountId, email, secret, recoveryCodes } = await enforcedAccount();
		const audit = observedQueue();
		const challenge = async () => {
			const res = await post("/v1/auth/login", { email, password: PASSWORD });
			expect(res.status).toBe(200);
			return (await res.json<{ challenge: { token: string } }>()).challenge.token;
		};
		await expectProblem(
			await post("/v1/auth/mfa/verify", {
				challengeToken: await challenge(),
				method: "recovery_code",
				code: recoveryCodes[0],
			}),
			403,
			"sso-required",
		);
		clock.advance(31_000);
		const broke = await t.request(
			"/v1/auth/mfa/verify",
			{
				method: "POST",
				headers: { "Content-Type": "application/json" },
				body: JSON.stringify({
					challengeToken: await challenge(),
					method: "totp",
					code: await totpCode(secret, clock.now()),
				}),
			},
			{ AUDIT_QUEUE: audit.queue },
		);
		expect(broke.status, await broke.clone().text()).toBe(200);
		const events = audit.sent.filter((e) => e.accountId === accountId).map((e) => e.action);
		expect(events).toEqual(expect.arrayContaining(["auth.sso.break_glass", "alert.sso_break_glass"]));
	});
});
