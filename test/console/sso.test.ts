/**
 * The console's single sign-on (issue #27): the owner connects the provider on the account's page
 * (the client secret never comes back, not even into the proof-of-identity prompt), maps groups to
 * roles and turns enforcement on; a person starts a sign-in from the console's sign-in page, and a
 * member whose password sign-in enforcement refuses is sent to single sign-on, not told "wrong password".
 */
import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDatabase } from "../../src/db";
import { memberships, ssoConnections } from "../../src/db/schema";
import { ManualClock } from "../../src/platform/clock";
import { testApp } from "../support/app";
import { formBrowser, hiddenFields } from "../support/browser";
import { seedVerifiedDomain, signUpProven, uniqueDomain } from "../support/domains";
import { fakeIdp } from "../support/fake-idp";
import { seedSamlConnection } from "../support/fake-saml-idp";
import { enrolTotp, type IdentityHarness, PASSWORD, totpCode } from "../support/identity";
import { seedAccount } from "../support/seed";

const clock = new ManualClock("2026-12-02T09:00:00Z");
const idp = await fakeIdp({ now: () => clock.now() });
const t = testApp({ clock, fetch: idp.fetch });
const db = createDatabase(env.DB);
const harness = { request: t.request, clock } as unknown as IdentityHarness;

/** An owner (password and TOTP) of an account holding a verified domain, signed in in a console browser. */
async function ownerWithDomain() {
	const domain = uniqueDomain();
	const owner = await signUpProven(t.request, db, clock.now(), `owner@${domain}`, "Owner");
	const accountId = owner.account.id;
	await seedVerifiedDomain(db, accountId, owner.user.id, clock.now(), domain);
	const { secret } = await enrolTotp(harness, owner.session.token);
	const b = formBrowser(t.request);
	b.jar.set("__Host-keyward_session", owner.session.token);
	return { domain, accountId, ownerId: owner.user.id, token: owner.session.token, totp: secret, b };
}

/** Where a page sends the browser on to (its meta refresh), as the browser reads it. */
const providerOf = (html: string) =>
	(/<meta http-equiv="refresh" content="0; url=([^"]+)"/.exec(html)?.[1] ?? "").replaceAll("&amp;", "&");

const connectForm = (extra: Record<string, string> = {}) => ({
	issuer: idp.issuer,
	clientId: idp.clientId,
	clientSecret: idp.clientSecret,
	scopes: "openid email profile groups",
	mappingClaim: "groups",
	mappingValues: "Keyward Admins = admin\nAuditors = readonly",
	mappingDefault: "member",
	...extra,
});

describe("console: single sign-on page", () => {
	it("the owner connects the provider with a role mapping; the page shows the redirect URI and never the secret", async () => {
		const o = await ownerWithDomain();
		const empty = await (await o.b.get(`/console/a/${o.accountId}/sso`)).text();
		expect(empty).toContain("Connect an identity provider");
		expect(empty).not.toContain("Enforce single sign-on");

		const done = await o.b.post(`/console/a/${o.accountId}/sso`, connectForm());
		const html = await done.text();
		expect(done.status, html).toBe(200);
		expect(html).toContain(`Connected ${idp.issuer}`);
		expect(html).toContain("/v1/auth/sso/callback");
		expect(html).toContain("Keyward Admins = admin");
		expect(html).not.toContain(idp.clientSecret);
		const [row] = await db.select().from(ssoConnections).where(eq(ssoConnections.accountId, o.accountId));
		expect(row?.roleMapping).toEqual({
			claim: "groups",
			values: { "Keyward Admins": "admin", Auditors: "readonly" },
			default: "member",
		});
		expect(row?.scopes).toEqual(["openid", "email", "profile", "groups"]);

		// A mapping to owner is refused, named at the mapping field; nothing changes.
		const owner = await o.b.post(
			`/console/a/${o.accountId}/sso`,
			connectForm({ clientSecret: "", mappingValues: "Founders = owner" }),
		);
		expect(owner.status).toBe(400);
		expect(await owner.text()).toMatch(/id="mappingValues-error"/);
		const [same] = await db.select().from(ssoConnections).where(eq(ssoConnections.accountId, o.accountId));
		expect(same?.version).toBe(row?.version);

		// Enforcement: on from the page (the owner has TOTP), and the settings page says so.
		const on = await o.b.post(`/console/a/${o.accountId}/sso-enforcement`, { enforce: "on" });
		expect(await on.text()).toContain("Single sign-on is enforced.");
		expect(await (await o.b.get(`/console/a/${o.accountId}/settings`)).text()).toContain("(enforced now)");
	});

	it("shows a SAML connection with what to register at the provider, offers enforcement, and removes it", async () => {
		const o = await ownerWithDomain();
		const id = await seedSamlConnection(db, { accountId: o.accountId, ownerId: o.ownerId }, clock.now());
		const page = await o.b.get(`/console/a/${o.accountId}/sso`);
		const html = await page.text();
		expect(page.status, html).toBe(200);
		expect(html).toContain("Connected (SAML 2.0)");
		expect(html).toContain(`/v1/auth/sso/saml/${id}/acs`);
		expect(html).toContain(`/v1/auth/sso/saml/${id}/metadata`);
		expect(html).toContain("Enforce single sign-on");
		// No OIDC form beside it: a second connection would be refused anyway.
		expect(html).not.toContain("Connect an identity provider");
		expect(hiddenFields(html).protocol).toBe("saml");
		const removed = await o.b.post(`/console/a/${o.accountId}/sso/${id}/remove`, { protocol: "saml" });
		expect(removed.status, await removed.clone().text()).toBe(303);
		expect(await db.query.ssoConnections.findFirst({ where: eq(ssoConnections.id, id) })).toBeUndefined();
	});

	it("a change that meets the proof prompt never writes the client secret into it, and asks for it again", async () => {
		const o = await ownerWithDomain();
		clock.advance(11 * 60_000);
		const fresh = "a-brand-new-client-secret-9f3k";
		const prompt = await o.b.post(`/console/a/${o.accountId}/sso`, connectForm({ clientSecret: fresh }));
		const html = await prompt.text();
		expect(html).toContain("Confirm it is you");
		expect(html).not.toContain(fresh);
		const hidden = hiddenFields(html);
		expect(hidden["field.__withheld"]).toBe("clientSecret");
		expect(hidden["field.clientId"]).toBe(idp.clientId);

		const replayed = await o.b.post("/console/reauthenticate", {
			...hidden,
			password: PASSWORD,
			code: await totpCode(o.totp, clock.now()),
		});
		const page = await replayed.text();
		expect(replayed.status, page).toBe(400);
		expect(page).toMatch(/id="clientSecret-error"[^>]*>Enter the client secret again/);
		expect(await db.select().from(ssoConnections).where(eq(ssoConnections.accountId, o.accountId))).toEqual([]);
		// With the fresh proof now in place, the secret typed again connects it.
		const done = await o.b.post(`/console/a/${o.accountId}/sso`, connectForm({ clientSecret: fresh }));
		expect(done.status).toBe(200);
	});

	it("an admin sees the connection but cannot change it or turn enforcement off", async () => {
		const o = await ownerWithDomain();
		expect((await o.b.post(`/console/a/${o.accountId}/sso`, connectForm())).status).toBe(200);
		const a = await signUpProven(t.request, db, clock.now(), `admin@${o.domain}`, "Admin");
		await db
			.insert(memberships)
			.values({ accountId: o.accountId, userId: a.user.id, role: "admin", joinedAt: clock.now() });
		const b = formBrowser(t.request);
		b.jar.set("__Host-keyward_session", a.session.token);
		expect(await (await b.get(`/console/a/${o.accountId}/sso`)).text()).toContain(idp.issuer);
		const changed = await b.post(`/console/a/${o.accountId}/sso`, connectForm({ issuer: "https://evil.example.net" }));
		expect(changed.status).toBe(403);
		const off = await b.post(`/console/a/${o.accountId}/sso-enforcement`, { enforce: "on" });
		expect(off.status).toBe(403);
		const [row] = await db.select().from(ssoConnections).where(eq(ssoConnections.accountId, o.accountId));
		expect(row?.issuer).toBe(idp.issuer);
	});
});

describe("console: signing in with single sign-on", () => {
	it("starts at the provider for a domain with a connection, ties the sign-in to the browser, and says so when none", async () => {
		const o = await ownerWithDomain();
		await o.b.post(`/console/a/${o.accountId}/sso`, connectForm());
		const b = formBrowser(t.request);
		expect(await (await b.get("/console/sign-in")).text()).toContain('href="/console/sign-in/sso"');
		const started = await b.post("/console/sign-in/sso", { email: `new.person@${o.domain}` });
		// A page that goes on to the provider: a form may not redirect to another origin (form-action 'self').
		expect(started.status).toBe(200);
		const location = providerOf(await started.text());
		expect(location).toMatch(new RegExp(`^${idp.discovery.authorization_endpoint}\\?`));
		expect(b.jar.get("__Host-keyward_sso")).toMatch(/.{20,}/);

		// Through the provider and back: a member now, landing on the account's keys.
		const { code, state } = await idp.authorize(location);
		const back = await b.get(`/v1/auth/sso/callback?state=${state}&code=${code}`);
		expect(back.status, await back.clone().text()).toBe(200);
		expect(await back.text()).toContain(`/console/a/${o.accountId}/keys`);
		expect((await b.get(`/console/a/${o.accountId}/keys`)).status).toBe(200);

		const none = await formBrowser(t.request).post("/console/sign-in/sso", { email: "someone@elsewhere.example.org" });
		expect(none.status).toBe(404);
		expect(await none.text()).toContain("No organisation signs in this address");
		const bad = await formBrowser(t.request).post("/console/sign-in/sso", { email: "not an address" });
		expect(bad.status).toBe(400);
		expect(await bad.text()).toMatch(/id="email-error"/);
	});

	it("a person of the domain proves it is them again through the provider from the console's prompt", async () => {
		const o = await ownerWithDomain();
		await o.b.post(`/console/a/${o.accountId}/sso`, connectForm());
		const email = `sso.only@${o.domain}`;
		const b = formBrowser(t.request);
		const start = async (path: string, form: Record<string, string>) => {
			const page = await b.post(path, form);
			expect(page.status, await page.clone().text()).toBe(200);
			const grant = await idp.authorize(providerOf(await page.text()));
			return b.get(`/v1/auth/sso/callback?state=${grant.state}&code=${grant.code}`);
		};
		expect((await start("/console/sign-in/sso", { email })).status).toBe(200);
		const first = b.jar.get("__Host-keyward_session");
		clock.advance(11 * 60_000);
		const prompt = await b.post("/console/security/revoke-other-sessions");
		const html = await prompt.text();
		expect(html).toContain("Confirm it is you");
		expect(html).toContain("Confirm with single sign-on");
		const back = await start("/console/reauthenticate/sso", hiddenFields(html));
		expect(back.status, await back.clone().text()).toBe(200);
		expect(idp.lastAuthorize?.get("prompt")).toBe("login");
		expect(await back.text()).toMatch(/url=https:\/\/keyward\.test\/console\/security"/);
		expect(b.jar.get("__Host-keyward_session")).not.toBe(first);
		const done = await b.post("/console/security/revoke-other-sessions");
		expect(done.status).toBe(303);
		expect(done.headers.get("Location")).toContain("done=others");
		// Someone without single sign-on is not offered it.
		const elsewhere = await seedAccount(clock);
		const other = formBrowser(t.request);
		other.jar.set("__Host-keyward_session", elsewhere.users.owner.token);
		clock.advance(11 * 60_000);
		const plain = await (await other.post("/console/security/revoke-other-sessions")).text();
		expect(plain).toContain("Confirm it is you");
		expect(plain).not.toContain("Confirm with single sign-on");
	});

	it("a member's password sign-in under enforcement leads to single sign-on with the address filled in", async () => {
		const o = await ownerWithDomain();
		await o.b.post(`/console/a/${o.accountId}/sso`, connectForm());
		const devEmail = `dev@${o.domain}`;
		const d = await signUpProven(t.request, db, clock.now(), devEmail, "Dev");
		await db
			.insert(memberships)
			.values({ accountId: o.accountId, userId: d.user.id, role: "member", joinedAt: clock.now() });
		await o.b.post(`/console/a/${o.accountId}/sso-enforcement`, { enforce: "on" });

		const b = formBrowser(t.request);
		const refused = await b.post("/console/sign-in", { email: devEmail, password: PASSWORD });
		const html = await refused.text();
		expect(refused.status).toBe(403);
		expect(html).toContain("Your organisation signs you in with single sign-on");
		expect(html).toContain(`value="${devEmail}"`);
		expect(b.jar.has("__Host-keyward_session")).toBe(false);
		// A wrong password is still just a wrong password: enforcement tells a guesser nothing.
		const wrong = await b.post("/console/sign-in", { email: devEmail, password: "not the password at all" });
		expect(wrong.status).toBe(401);
		expect(await wrong.text()).not.toContain("Your organisation signs you in");
	});
});
