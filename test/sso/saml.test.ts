import { env } from "cloudflare:test";
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDatabase } from "../../src/db";
import { memberships, users } from "../../src/db/schema";
import { ManualClock } from "../../src/platform/clock";
import { BASE, testApp } from "../support/app";
import { observedQueue } from "../support/audit";
import { cookieOf } from "../support/browser";
import { seedVerifiedDomain } from "../support/domains";
import {
	assertionXml,
	IDP_ENTITY_ID,
	IDP_SSO_URL,
	idpCertificate,
	type ResponseOptions,
	readAuthnRequest,
	samlResponse,
} from "../support/fake-saml-idp";
import { as, expectProblem } from "../support/request";
import { EC_CERTIFICATE_BASE64 } from "../support/saml-test-keys";
import { seedAccount } from "../support/seed";

/**
 * SAML 2.0 single sign-on (issue #27) against a fake identity provider that signs with
 * xml-crypto: the owner pins the provider's certificate, people of a verified domain sign in
 * through the HTTP-Redirect and HTTP-POST bindings, and every check on the posted Response
 * (signature, wrapping, issuer, audience, recipient, request, time, status) refuses what it should.
 */
const clock = new ManualClock("2026-12-01T09:00:00Z");
const t = testApp({ clock });
const db = createDatabase(env.DB);
const audit = observedQueue();

type SamlBody = {
	connection: { id: string; entityId: string; acsUrl: string; metadataUrl: string; certificateFingerprint: string };
};

async function samlAccount(roleMapping: unknown = undefined) {
	const s = await seedAccount(clock);
	const domain = await seedVerifiedDomain(db, s.accountId, s.users.owner.id, clock.now());
	const res = await t.request(
		`/v1/accounts/${s.accountId}/saml-connections`,
		as(s.users.owner.token, "POST", {
			idpEntityId: IDP_ENTITY_ID,
			ssoUrl: IDP_SSO_URL,
			certificate: idpCertificate,
			...(roleMapping === undefined ? {} : { roleMapping }),
		}),
	);
	expect(res.status, await res.clone().text()).toBe(201);
	return { s, domain, connection: (await res.json<SamlBody>()).connection };
}

async function start(email: string) {
	const res = await t.request(`/v1/auth/sso/start?email=${encodeURIComponent(email)}`);
	expect(res.status, await res.clone().text()).toBe(302);
	const location = res.headers.get("Location") ?? "";
	const setCookie = res.headers.getSetCookie().find((c) => c.startsWith("__Host-keyward_sso=")) ?? "";
	return {
		location,
		setCookie,
		browser: cookieOf(res, "__Host-keyward_sso") ?? "",
		request: await readAuthnRequest(location),
	};
}

const post = (connectionId: string, fields: Record<string, string>, cookie: string | null) =>
	t.request(
		`/v1/auth/sso/saml/${connectionId}/acs`,
		{
			method: "POST",
			headers: { "Content-Type": "application/x-www-form-urlencoded", ...(cookie ? { Cookie: cookie } : {}) },
			body: new URLSearchParams(fields).toString(),
		},
		{ AUDIT_QUEUE: audit.queue },
	);

type Bend = Partial<ResponseOptions>;

/** The provider's signed answer (base64) to a request of `connection`, naming `email`, bent as asked. */
const answerTo = (connection: SamlBody["connection"], requestId: string, email: string, bend: Bend = {}) =>
	samlResponse({
		email,
		requestId,
		acsUrl: connection.acsUrl,
		audience: connection.entityId,
		now: clock.now(),
		...bend,
	}).encoded;

/** Starts a sign-in, has the fake provider answer it (bent as asked), and posts the answer back. */
async function signIn(connection: SamlBody["connection"], email: string, bend: Bend = {}) {
	const started = await start(email);
	const encoded = answerTo(connection, started.request.id, email, bend);
	return post(connection.id, { SAMLResponse: encoded, RelayState: started.request.relayState }, started.browser);
}

const membershipOf = (accountId: string, userId: string) =>
	db.query.memberships.findFirst({ where: and(eq(memberships.accountId, accountId), eq(memberships.userId, userId)) });

async function expectSignedIn(res: Response, accountId: string) {
	expect(res.status, `${await res.clone().text()} ${t.logs.slice(-2).join(" ")}`).toBe(200);
	expect(await res.clone().text()).toContain(`/a/${accountId}/keys`);
	const session = cookieOf(res, "__Host-keyward_session");
	expect(session).toBeDefined();
	const me = await t.request("/v1/me", { headers: { Cookie: session ?? "" } });
	expect(me.status).toBe(200);
	return { ...(await me.json<{ user: { id: string; email: string } }>()).user, cookie: session ?? "" };
}

const base64Of = (xml: string) => {
	let binary = "";
	for (const byte of new TextEncoder().encode(xml)) binary += String.fromCharCode(byte);
	return btoa(binary);
};

describe("SAML connections", () => {
	it("the owner pins a provider's certificate; Keyward's entity id, ACS URL and metadata are shown; one connection per account", async () => {
		const { s, connection } = await samlAccount();
		expect(connection.entityId).toBe(`${BASE}/v1/auth/sso/saml/${connection.id}/metadata`);
		expect(connection.acsUrl).toBe(`${BASE}/v1/auth/sso/saml/${connection.id}/acs`);
		expect(connection.certificateFingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
		const metadata = await t.request(connection.metadataUrl.slice(BASE.length));
		expect(metadata.status).toBe(200);
		expect(metadata.headers.get("Content-Type")).toContain("application/samlmetadata+xml");
		const xml = await metadata.text();
		expect(xml).toContain(`entityID="${connection.entityId}"`);
		expect(xml).toContain(`Location="${connection.acsUrl}"`);
		// Members read it; the OIDC list does not show it; a second connection of either kind is 409.
		const listed = await t.request(`/v1/accounts/${s.accountId}/saml-connections`, as(s.users.member.token));
		expect((await listed.json<{ data: { id: string }[] }>()).data.map((c) => c.id)).toEqual([connection.id]);
		const oidc = await t.request(`/v1/accounts/${s.accountId}/sso-connections`, as(s.users.member.token));
		expect((await oidc.json<{ data: unknown[] }>()).data).toEqual([]);
		const again = { idpEntityId: "x", ssoUrl: IDP_SSO_URL, certificate: idpCertificate };
		await expectProblem(
			await t.request(`/v1/accounts/${s.accountId}/saml-connections`, as(s.users.owner.token, "POST", again)),
			409,
		);
		await expectProblem(
			await t.request(`/v1/accounts/${s.accountId}/saml-connections`, as(s.users.admin.token, "POST", again)),
			403,
		);
		// The OIDC routes do not reach it, nor the SAML routes an OIDC connection.
		const one = `/v1/accounts/${s.accountId}/saml-connections/${connection.id}`;
		await expectProblem(
			await t.request(
				`/v1/accounts/${s.accountId}/sso-connections/${connection.id}`,
				as(s.users.owner.token, "PATCH", { clientId: "x" }),
			),
			404,
		);
		const changed = await t.request(
			one,
			as(s.users.owner.token, "PATCH", { idpEntityId: "https://saml.acme-sso.com/2" }),
		);
		expect(changed.status, await changed.clone().text()).toBe(200);
		expect((await changed.json<{ connection: { idpEntityId: string } }>()).connection.idpEntityId).toBe(
			"https://saml.acme-sso.com/2",
		);
		expect((await t.request(one, as(s.users.owner.token, "DELETE"))).status).toBe(204);
		expect((await t.request(one, as(s.users.owner.token, "DELETE"))).status).toBe(404);
		expect((await t.request(connection.metadataUrl.slice(BASE.length))).status).toBe(404);
	});

	it("refuses a certificate that is not an RSA X.509 certificate, and URLs it must not send people to, naming each field", async () => {
		const s = await seedAccount(clock);
		const path = `/v1/accounts/${s.accountId}/saml-connections`;
		const bad = await expectProblem(
			await t.request(
				path,
				as(s.users.owner.token, "POST", {
					idpEntityId: "has spaces in it",
					ssoUrl: "ftp://saml.acme-sso.com/sso",
					certificate: "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----",
					roleMapping: { claim: "groups", values: { Boss: "owner" } },
				}),
			),
			400,
		);
		expect(bad.errors?.map((e) => e.path).sort()).toEqual(["idpEntityId", "roleMapping.values.Boss", "ssoUrl"]);
		for (const [ssoUrl, certificate, field] of [
			["https://10.0.0.7/sso", idpCertificate, "ssoUrl"],
			["http://saml.acme-sso.com/sso", idpCertificate, "ssoUrl"],
			[IDP_SSO_URL, "bm90IGEgY2VydGlmaWNhdGU=", "certificate"],
			[IDP_SSO_URL, EC_CERTIFICATE_BASE64, "certificate"],
			[IDP_SSO_URL, idpCertificate.slice(0, 600), "certificate"],
		] as const) {
			const res = await t.request(path, as(s.users.owner.token, "POST", { idpEntityId: "e", ssoUrl, certificate }));
			expect(res.status, `${ssoUrl} ${certificate.slice(30, 60)}`).toBe(400);
			const problem = await expectProblem(res, 400);
			expect(
				problem.errors?.map((e) => e.path),
				`${ssoUrl} ${certificate.slice(0, 20)}`,
			).toEqual([field]);
		}
		// The bare base64 of IdP metadata is taken as well as PEM.
		const bare = idpCertificate.replace(/-----[A-Z ]+-----|\s/g, "");
		const ok = await t.request(
			path,
			as(s.users.owner.token, "POST", { idpEntityId: "e", ssoUrl: IDP_SSO_URL, certificate: bare }),
		);
		expect(ok.status, await ok.clone().text()).toBe(201);
	});
});

describe("SAML sign-in", () => {
	it("sends an AuthnRequest by redirect and signs a first-time person in from a signed assertion, with the mapped role", async () => {
		const { s, domain, connection } = await samlAccount({ claim: "groups", values: { "KW Admins": "admin" } });
		const started = await start(`ada@${domain}`);
		expect(started.location.startsWith(`${IDP_SSO_URL}?SAMLRequest=`)).toBe(true);
		expect(started.request).toMatchObject({
			acsUrl: connection.acsUrl,
			issuer: connection.entityId,
			destination: IDP_SSO_URL,
			forceAuthn: false,
		});
		expect(started.request.id).toMatch(/^_[a-z0-9]{20,}$/);
		// The provider posts back cross-site: the browser cookie must be SameSite=None to come with it.
		expect(started.setCookie).toMatch(/HttpOnly; Secure; SameSite=None/);

		const ada = await expectSignedIn(
			await signIn(connection, `ada@${domain}`, { attributes: { groups: ["Staff", "KW Admins"] } }),
			s.accountId,
		);
		expect(ada.email).toBe(`ada@${domain}`);
		expect((await membershipOf(s.accountId, ada.id))?.role).toBe("admin");
		expect((await db.query.users.findFirst({ where: eq(users.id, ada.id) }))?.emailVerifiedAt).not.toBeNull();
		// The address may come from an attribute (Entra's claim name) rather than the NameID.
		const bob = await expectSignedIn(
			await signIn(connection, `bob@${domain}`, {
				attributes: { "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress": [`BOB@${domain}`] },
			}),
			s.accountId,
		);
		expect(bob.email).toBe(`bob@${domain}`);
		expect((await membershipOf(s.accountId, bob.id))?.role).toBe("member");
		// The response signed instead of the assertion, or both, is as good.
		for (const sign of ["response", "both"] as const)
			expect((await expectSignedIn(await signIn(connection, `ada@${domain}`, { sign }), s.accountId)).id).toBe(ada.id);
	});

	it("refuses every response that is unsigned, forged, wrapped, misdirected, stale or unsuccessful, and signs nobody in", async () => {
		const { s, domain, connection } = await samlAccount();
		const evilAssertion = (o: ResponseOptions) => assertionXml({ ...o, email: `root@${domain}` }, "_evil");
		const cases: [string, Bend, RegExp][] = [
			["unsigned", { sign: "none" }, /not signed/],
			["signed by another key", { key: "other" }, /does not verify/],
			["tampered after signing", { after: (x) => x.replace(/>[a-z]+@/, ">mallory@") }, /does not verify/],
			["RSA-SHA1", { signatureAlgorithm: "http://www.w3.org/2000/09/xmldsig#rsa-sha1" }, /RSA-SHA256/],
			[
				"HMAC keyed with the public certificate",
				{
					after: (x) =>
						x.replace(
							"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
							"http://www.w3.org/2000/09/xmldsig#hmac-sha1",
						),
				},
				/RSA-SHA256/,
			],
			["another issuer", { issuer: "https://evil.example.org/saml" }, /issuer/],
			["another audience", { audience: "https://other-sp.example.com" }, /audience/],
			["another recipient", { recipient: "https://evil.example.org/acs" }, /Recipient/],
			["another request", { requestId: "_someone-elses-request", responseInResponseTo: null }, /InResponseTo/],
			["response answers another request", { responseInResponseTo: "_other" }, /another request/],
			["expired", { validFor: -300 }, /NotOnOrAfter|expired/],
			["not valid yet", { validIn: 600, validFor: 900 }, /not valid yet/],
			["not a bearer", { method: "urn:oasis:names:tc:SAML:2.0:cm:holder-of-key" }, /bearer/],
			["unsuccessful", { status: "urn:oasis:names:tc:SAML:2.0:status:Requester" }, /success/],
			[
				"an unsigned assertion beside the signed one (XSW)",
				{ after: (x) => x.replace("<saml:Assertion ", `${evilAssertion(base(x))}<saml:Assertion `) },
				/exactly one assertion/,
			],
			[
				"the signed assertion hidden in Extensions, an evil one with its id in its place (XSW)",
				{
					after: (x) => {
						const signed = x.slice(x.indexOf("<saml:Assertion "), x.indexOf("</saml:Assertion>") + 17);
						const id = /ID="([^"]+)"/.exec(signed)?.[1] ?? "";
						const evil = evilAssertion(base(x)).replace('ID="_evil"', `ID="${id}"`);
						return x.replace(signed, `<samlp:Extensions>${signed}</samlp:Extensions>${evil}`);
					},
				},
				/exactly one assertion|does not verify/,
			],
			[
				"a signed response whose assertion was swapped",
				{ sign: "response", after: (x) => x.replace(/>[a-z]+@/, ">mallory@") },
				/does not verify/,
			],
			["a DTD", { after: (x) => `<!DOCTYPE r [<!ENTITY e "x">]>${x}` }, /document type declaration/],
			[
				"an encrypted assertion",
				{
					after: (x) =>
						x.replace(
							"</samlp:Response>",
							'<saml:EncryptedAssertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"/></samlp:Response>',
						),
				},
				/encrypted/,
			],
		];
		// `after` sees the XML only; the evil assertion needs the options the case was made with.
		let current: ResponseOptions | null = null;
		const base = (_: string) => current as ResponseOptions;
		for (const [name, bend, reason] of cases) {
			const email = `${name.replace(/\W/g, "").slice(0, 30)}@${domain}`;
			const started = await start(email);
			current = {
				email,
				requestId: started.request.id,
				acsUrl: connection.acsUrl,
				audience: connection.entityId,
				now: clock.now(),
			};
			const { encoded } = samlResponse({ ...current, ...bend });
			const res = await post(
				connection.id,
				{ SAMLResponse: encoded, RelayState: started.request.relayState },
				started.browser,
			);
			const problem = await expectProblem(res, 401);
			expect(problem.detail, name).toMatch(reason);
			expect(cookieOf(res, "__Host-keyward_session"), name).toBeUndefined();
			expect(await db.query.users.findFirst({ where: eq(users.email, email) }), name).toBeUndefined();
			expect(await db.query.users.findFirst({ where: eq(users.email, `root@${domain}`) }), name).toBeUndefined();
		}
		// Each refusal is audited in the account, with the check that failed.
		const failed = audit.sent.filter((e) => e.action === "auth.sso.failed" && e.accountId === s.accountId);
		expect(failed.length).toBeGreaterThanOrEqual(cases.length);
	});

	it("reads the NameID as signed: a comment cannot cut an address short into the verified domain", async () => {
		const { connection, domain } = await samlAccount();
		const started = await start(`ada@${domain}`);
		const o: ResponseOptions = {
			email: `ada@${domain}.evil.example`,
			requestId: started.request.id,
			acsUrl: connection.acsUrl,
			audience: connection.entityId,
			now: clock.now(),
		};
		// The provider signed ada@<domain>.evil.example; a comment spliced in after signing changes nothing signed.
		const { xml } = samlResponse(o);
		const spliced = xml.replace(`ada@${domain}.evil.example`, `ada@${domain}<!---->.evil.example`);
		const res = await post(
			connection.id,
			{ SAMLResponse: base64Of(spliced), RelayState: started.request.relayState },
			started.browser,
		);
		const problem = await expectProblem(res, 403);
		expect(problem.detail).toMatch(/not verified/);
		expect(await db.query.users.findFirst({ where: eq(users.email, `ada@${domain}`) })).toBeUndefined();
	});

	it("uses a sign-in once, in the browser that started it, at its own connection's ACS URL, for verified domains only", async () => {
		const { s, domain, connection } = await samlAccount();
		const other = await samlAccount();
		const respond = (started: Awaited<ReturnType<typeof start>>, email: string) =>
			answerTo(connection, started.request.id, email);
		// No cookie (another browser): refused, and the sign-in is used up.
		let started = await start(`eve@${domain}`);
		let answer = respond(started, `eve@${domain}`);
		await expectProblem(
			await post(connection.id, { SAMLResponse: answer, RelayState: started.request.relayState }, null),
			401,
		);
		expect(
			(
				await expectProblem(
					await post(connection.id, { SAMLResponse: answer, RelayState: started.request.relayState }, started.browser),
					401,
				)
			).detail,
		).toMatch(/unknown or was used/);
		// A burst of the same post: exactly one signs in, the rest find the sign-in used.
		started = await start(`eve@${domain}`);
		answer = respond(started, `eve@${domain}`);
		const burst = await Promise.all(
			Array.from({ length: 6 }, () =>
				post(connection.id, { SAMLResponse: answer, RelayState: started.request.relayState }, started.browser),
			),
		);
		expect(burst.map((r) => r.status).sort()).toEqual([200, 401, 401, 401, 401, 401]);
		// A SAML sign-in's RelayState brought to the OIDC callback as its state: refused, and used up.
		started = await start(`eve@${domain}`);
		const crossed = await t.request(
			`/v1/auth/sso/callback?state=${encodeURIComponent(started.request.relayState)}&code=x`,
			{ headers: { Cookie: started.browser } },
		);
		expect((await expectProblem(crossed, 401)).detail).toMatch(/SAML/);
		// Posted to another connection's ACS URL.
		started = await start(`eve@${domain}`);
		await expectProblem(
			await post(
				other.connection.id,
				{ SAMLResponse: respond(started, `eve@${domain}`), RelayState: started.request.relayState },
				started.browser,
			),
			401,
		);
		// An address outside the account's verified domains, even signed by its provider.
		started = await start(`eve@${domain}`);
		const outside = await post(
			connection.id,
			{ SAMLResponse: respond(started, "eve@unverified.example.org"), RelayState: started.request.relayState },
			started.browser,
		);
		expect((await expectProblem(outside, 403)).detail).toMatch(/not verified/);
		// Too slow.
		started = await start(`eve@${domain}`);
		answer = respond(started, `eve@${domain}`);
		clock.advance(11 * 60_000);
		expect(
			(
				await expectProblem(
					await post(connection.id, { SAMLResponse: answer, RelayState: started.request.relayState }, started.browser),
					401,
				)
			).detail,
		).toMatch(/ten minutes/);
		expect(await db.query.users.findFirst({ where: eq(users.email, "eve@unverified.example.org") })).toBeUndefined();
		expect(s.accountId).not.toBe(other.s.accountId);
	});

	it("answers malformed posts with a problem naming each field, never a 500", async () => {
		const { connection, domain } = await samlAccount();
		const empty = await expectProblem(await post(connection.id, {}, null), 400);
		expect(empty.errors?.map((e) => e.path).sort()).toEqual(["RelayState", "SAMLResponse"]);
		for (const SAMLResponse of [
			"%%%not base64",
			base64Of("<samlp:Response"),
			base64Of("plain text"),
			btoa("\xff\xfe<x/>"),
			base64Of("<x/>"),
			base64Of('<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>'),
		]) {
			const started = await start(`x@${domain}`);
			const res = await post(connection.id, { SAMLResponse, RelayState: started.request.relayState }, started.browser);
			expect(res.status, `${SAMLResponse} ${t.logs.slice(-2).join(" ")}`).toBe(401);
			const problem = await expectProblem(res, 401);
			expect(res.status, `${SAMLResponse} ${t.logs.slice(-2).join(" ")}`).toBe(401);
			expect(problem.detail, SAMLResponse).toMatch(/base64|well-formed|not a SAML Response|success/);
		}
		// Hostile shapes inside the size limit: deep nesting (recursive walkers), a wide document, a huge attribute.
		const response = (inner: string) =>
			`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r" Version="2.0"><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>${inner}</samlp:Response>`;
		for (const [name, xml] of [
			["deep", response(`${"<x>".repeat(30_000)}${"</x>".repeat(30_000)}`)],
			[
				"deep signature",
				response(
					`<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#">${"<x>".repeat(30_000)}${"</x>".repeat(30_000)}</ds:Signature>`,
				),
			],
			["wide", response("<x/>".repeat(60_000))],
			["long attribute", response(`<x a="${"a".repeat(250_000)}"/>`)],
		] as const) {
			const started = await start(`x@${domain}`);
			const res = await post(
				connection.id,
				{ SAMLResponse: base64Of(xml), RelayState: started.request.relayState },
				started.browser,
			);
			expect(res.status, `${name}: ${t.logs.slice(-2).join(" ")}`).toBe(401);
		}
		const json = await t.request(`/v1/auth/sso/saml/${connection.id}/acs`, {
			method: "POST",
			headers: { "Content-Type": "application/json" },
			body: JSON.stringify({ SAMLResponse: "x", RelayState: "y" }),
		});
		expect([400, 415]).toContain((await expectProblem(json, json.status)).status);
		const id = await expectProblem(await post("sso_nope", { SAMLResponse: "x", RelayState: "y" }, null), 400);
		expect(id.errors?.map((e) => e.path)).toEqual(["connectionId"]);
	});

	it("proves it again through the provider with ForceAuthn, for the same person, authenticated after the start", async () => {
		const { s, domain, connection } = await samlAccount();
		const email = `proof@${domain}`;
		const { cookie: stale } = await expectSignedIn(
			await signIn(connection, email, { authnInstant: new Date(clock.now().getTime() - 3_600_000) }),
			s.accountId,
		);
		const begin = async () => {
			const res = await t.request("/v1/me/reauthenticate/sso", {
				method: "POST",
				headers: { Cookie: stale, Origin: BASE, "Content-Type": "application/json" },
				body: JSON.stringify({ returnTo: "/console/security" }),
			});
			expect(res.status, await res.clone().text()).toBe(200);
			const { location } = await res.json<{ location: string }>();
			return { browser: cookieOf(res, "__Host-keyward_sso") ?? "", request: await readAuthnRequest(location) };
		};
		const answer = async (started: Awaited<ReturnType<typeof begin>>, bend: Bend) =>
			post(
				connection.id,
				{
					SAMLResponse: answerTo(connection, started.request.id, email, bend),
					RelayState: started.request.relayState,
				},
				started.browser,
			);
		let started = await begin();
		expect(started.request.forceAuthn).toBe(true);
		// The provider reused its old session (AuthnInstant before the start): no proof.
		const old = await expectProblem(
			await answer(started, { authnInstant: new Date(clock.now().getTime() - 600_000) }),
			401,
		);
		expect(old.detail).toMatch(/sign in again/);
		// Someone else signed in at the provider.
		await expectSignedIn(await signIn(connection, `other@${domain}`), s.accountId);
		started = await begin();
		await expectProblem(await answer(started, { email: `other@${domain}` }), 403);
		// The same person, just now: a new session with the proof; the old one ends.
		started = await begin();
		const done = await answer(started, {});
		expect(done.status, await done.clone().text()).toBe(200);
		expect(await done.clone().text()).toContain(`content="0;url=${BASE}/console/security"`);
		const proved = cookieOf(done, "__Host-keyward_session") ?? "";
		expect(proved).not.toBe(stale);
		expect((await t.request("/v1/me", { headers: { Cookie: stale } })).status).toBe(401);
		expect((await t.request("/v1/me", { headers: { Cookie: proved } })).status).toBe(200);
	});
});
