// SAML single sign-on over HTTP against the real local stack the console journey runs (issue #27),
// played by an attacker as much as by a provider. A victim organisation connects its SAML provider
// and one of its people signs in; an attacker with an account, a verified domain and a SAML
// provider of their own then tries to turn what they hold into a session in the victim's account:
// their own provider's assertions at the victim's ACS URL, the victim's domain at their own
// connection, a victim's response lifted and replayed, wrapped and oversized posts. This runs
// xml-crypto as the provider, in node, and the stack as wrangler bundles it (the SAML checks load
// lazily there). Throws on the first difference.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { inflateRawSync } from "node:zlib";
import { SignedXml } from "xml-crypto";
import { verifiedOrganisation } from "./organisation.mjs";

const keysSource = readFileSync(new URL("../support/saml-test-keys.ts", import.meta.url), "utf8");
const constant = (name) => new RegExp(`${name} =\\s*"([^"]+)"`).exec(keysSource)?.[1] ?? "";
const pem = (label, body) => `-----BEGIN ${label}-----\n${body.match(/.{1,64}/g).join("\n")}\n-----END ${label}-----\n`;
const PROVIDERS = {
	victim: {
		entityId: "https://saml.victim-sso.com/metadata",
		certificate: pem("CERTIFICATE", constant("IDP_CERTIFICATE_BASE64")),
		key: pem("PRIVATE KEY", constant("IDP_KEY_PKCS8_BASE64")),
	},
	attacker: {
		entityId: "https://saml.attacker-sso.com/metadata",
		certificate: pem("CERTIFICATE", constant("OTHER_CERTIFICATE_BASE64")),
		key: pem("PRIVATE KEY", constant("OTHER_KEY_PKCS8_BASE64")),
	},
};

const json = (body, headers = {}) => ({
	method: "POST",
	headers: { "Content-Type": "application/json", ...headers },
	body: JSON.stringify(body),
});

function sign(xml, id, key) {
	const sig = new SignedXml({
		privateKey: key,
		signatureAlgorithm: "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
		canonicalizationAlgorithm: "http://www.w3.org/2001/10/xml-exc-c14n#",
	});
	sig.addReference({
		xpath: `//*[@ID='${id}']`,
		digestAlgorithm: "http://www.w3.org/2001/04/xmlenc#sha256",
		transforms: ["http://www.w3.org/2000/09/xmldsig#enveloped-signature", "http://www.w3.org/2001/10/xml-exc-c14n#"],
	});
	sig.computeSignature(xml, { location: { reference: `//*[@ID='${id}']/*[local-name()='Issuer']`, action: "after" } });
	return sig.getSignedXml();
}

/** A Response to `request`, as `provider` signs it (the assertion), naming `email`. */
function respond(provider, request, email, audience) {
	const now = new Date();
	const later = new Date(now.getTime() + 300_000).toISOString();
	const id = `_a${crypto.randomUUID().replace(/-/g, "")}`;
	const assertion = sign(
		`<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${id}" Version="2.0" IssueInstant="${now.toISOString()}">` +
			`<saml:Issuer>${provider.entityId}</saml:Issuer>` +
			`<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">${email}</saml:NameID>` +
			`<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData InResponseTo="${request.id}" NotOnOrAfter="${later}" Recipient="${request.acsUrl}"/></saml:SubjectConfirmation></saml:Subject>` +
			`<saml:Conditions NotBefore="${now.toISOString()}" NotOnOrAfter="${later}"><saml:AudienceRestriction><saml:Audience>${audience}</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
			`<saml:AuthnStatement AuthnInstant="${now.toISOString()}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>` +
			"</saml:Assertion>",
		id,
		provider.key,
	);
	const xml =
		`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_r${id.slice(2)}" Version="2.0" IssueInstant="${now.toISOString()}" Destination="${request.acsUrl}" InResponseTo="${request.id}">` +
		`<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>${assertion}</samlp:Response>`;
	return { xml, encoded: Buffer.from(xml).toString("base64") };
}

export async function samlSequence({ base, publishTxt, password }) {
	const send = async (path, init) => {
		const res = await fetch(base + path, { redirect: "manual", ...init });
		const text = await res.text();
		return { status: res.status, text, headers: res.headers, json: () => JSON.parse(text) };
	};
	const stamp = Date.now();

	/** An organisation: an owner, a verified domain and a SAML connection to `provider`. */
	async function organisation(name, provider) {
		const { account, owner, domain } = await verifiedOrganisation(send, { name, password, publishTxt, stamp });
		const connected = await send(
			`/v1/accounts/${account.id}/saml-connections`,
			json(
				{
					idpEntityId: provider.entityId,
					ssoUrl: `https://${new URL(provider.entityId).host}/sso`,
					certificate: provider.certificate,
				},
				owner,
			),
		);
		assert.equal(connected.status, 201, connected.text);
		return { accountId: account.id, domain, owner, connection: connected.json().connection };
	}

	/** Starts a sign-in as a browser would: the AuthnRequest Keyward sent, and the browser's cookie. */
	async function start(email) {
		const res = await send(`/v1/auth/sso/start?email=${encodeURIComponent(email)}`);
		assert.equal(res.status, 302, res.text);
		const location = new URL(res.headers.get("location"));
		const xml = inflateRawSync(Buffer.from(location.searchParams.get("SAMLRequest"), "base64")).toString();
		const cookie = res.headers
			.getSetCookie()
			.map((c) => c.split(";")[0])
			.find((c) => c.startsWith("__Host-keyward_sso="));
		return {
			id: / ID="([^"]+)"/.exec(xml)[1],
			acsUrl: /AssertionConsumerServiceURL="([^"]+)"/.exec(xml)[1],
			relayState: location.searchParams.get("RelayState"),
			cookie,
		};
	}

	const post = (connectionId, fields, cookie, type = "application/x-www-form-urlencoded") =>
		send(`/v1/auth/sso/saml/${connectionId}/acs`, {
			method: "POST",
			headers: { "Content-Type": type, ...(cookie ? { Cookie: cookie } : {}), Origin: "https://saml.victim-sso.com" },
			body: type.includes("json") ? JSON.stringify(fields) : new URLSearchParams(fields).toString(),
		});

	const victim = await organisation("victim", PROVIDERS.victim);
	const attacker = await organisation("attacker", PROVIDERS.attacker);

	// The victim's person signs in: a session, a membership, and the page on to the console.
	const ada = `ada@${victim.domain}`;
	let request = await start(ada);
	let answer = respond(PROVIDERS.victim, request, ada, victim.connection.entityId);
	const signedIn = await post(
		victim.connection.id,
		{ SAMLResponse: answer.encoded, RelayState: request.relayState },
		request.cookie,
	);
	assert.equal(signedIn.status, 200, signedIn.text);
	assert.match(signedIn.headers.get("cache-control") ?? "", /no-store/);
	const session = signedIn.headers
		.getSetCookie()
		.map((c) => c.split(";")[0])
		.find((c) => c.startsWith("__Host-keyward_session="));
	const me = await send("/v1/me", { headers: { Cookie: session } });
	assert.equal(me.status, 200, me.text);
	assert.equal(me.json().user.email, ada);
	assert.deepEqual(
		me.json().memberships.map((m) => [m.accountId, m.role]),
		[[victim.accountId, "member"]],
	);

	const refused = async (what, res, status = 401) => {
		assert.equal(res.status, status, `${what}: ${res.status} ${res.text}`);
		assert.doesNotMatch(res.text, /at \w+ \(|node_modules|BEGIN (CERTIFICATE|PRIVATE KEY)/, `${what} leaks`);
		assert.equal(
			res.headers.getSetCookie().some((c) => c.startsWith("__Host-keyward_session=") && !c.includes("Max-Age=0")),
			false,
			`${what} set a session`,
		);
	};

	// The same post again (a response lifted from the victim's browser history or a proxy log).
	await refused(
		"replayed",
		await post(victim.connection.id, { SAMLResponse: answer.encoded, RelayState: request.relayState }, request.cookie),
	);

	// The attacker's own provider signs the victim's address, posted at the victim's ACS URL.
	request = await start(`bob@${victim.domain}`);
	answer = respond(PROVIDERS.attacker, request, `bob@${victim.domain}`, victim.connection.entityId);
	await refused(
		"another provider's signature",
		await post(victim.connection.id, { SAMLResponse: answer.encoded, RelayState: request.relayState }, request.cookie),
	);

	// The victim's domain asserted by the attacker's provider at the attacker's own connection.
	request = await start(`mallory@${attacker.domain}`);
	answer = respond(PROVIDERS.attacker, request, `ceo@${victim.domain}`, attacker.connection.entityId);
	await refused(
		"a domain the account does not hold",
		await post(
			attacker.connection.id,
			{ SAMLResponse: answer.encoded, RelayState: request.relayState },
			request.cookie,
		),
		403,
	);

	// A response the victim's provider made for the victim's sign-in, spliced into the attacker's own sign-in.
	const victimRequest = await start(`carol@${victim.domain}`);
	const lifted = respond(PROVIDERS.victim, victimRequest, `carol@${victim.domain}`, victim.connection.entityId);
	const own = await start(`carol@${victim.domain}`);
	await refused(
		"another sign-in's response",
		await post(victim.connection.id, { SAMLResponse: lifted.encoded, RelayState: own.relayState }, own.cookie),
	);
	// ... and with the victim's RelayState but the attacker's browser (no cookie of that sign-in).
	await refused(
		"another browser",
		await post(
			victim.connection.id,
			{ SAMLResponse: lifted.encoded, RelayState: victimRequest.relayState },
			own.cookie,
		),
	);

	// The attacker's signed assertion for their own domain, posted at the victim's ACS URL: wrong audience and key.
	request = await start(`mallory@${attacker.domain}`);
	answer = respond(PROVIDERS.attacker, request, `mallory@${attacker.domain}`, attacker.connection.entityId);
	await refused(
		"another connection's ACS URL",
		await post(victim.connection.id, { SAMLResponse: answer.encoded, RelayState: request.relayState }, request.cookie),
	);

	// Wrapping: the victim provider's genuine assertion for dave, plus an unsigned one for the owner.
	request = await start(`dave@${victim.domain}`);
	answer = respond(PROVIDERS.victim, request, `dave@${victim.domain}`, victim.connection.entityId);
	const evil = answer.xml
		.slice(answer.xml.indexOf("<saml:Assertion"), answer.xml.indexOf("</saml:Assertion>") + 17)
		.replace(/<ds:Signature[\s\S]*<\/ds:Signature>/, "")
		.replace(`dave@${victim.domain}`, `victim-owner-${stamp}@example.com`)
		.replace(/ID="[^"]+"/, 'ID="_evil"');
	const wrapped = answer.xml.replace("<saml:Assertion", `${evil}<saml:Assertion`);
	await refused(
		"a wrapped assertion",
		await post(
			victim.connection.id,
			{ SAMLResponse: Buffer.from(wrapped).toString("base64"), RelayState: request.relayState },
			request.cookie,
		),
	);

	// Bodies no provider sends: too large (413), JSON (a problem, not a 500), no fields.
	request = await start(`erin@${victim.domain}`);
	const huge = await post(
		victim.connection.id,
		{ SAMLResponse: "A".repeat(600_000), RelayState: request.relayState },
		request.cookie,
	);
	assert.equal(huge.status, 413, huge.text);
	const asJson = await post(victim.connection.id, { SAMLResponse: "x", RelayState: "y" }, null, "application/json");
	assert.ok([400, 415].includes(asJson.status), `JSON body: ${asJson.status} ${asJson.text}`);
	assert.match(asJson.headers.get("content-type") ?? "", /problem\+json/);
	const empty = await post(victim.connection.id, {}, null);
	assert.equal(empty.status, 400, empty.text);

	// Keyward's metadata for the connection, and none for a connection that is not there.
	const metadata = await send(`/v1/auth/sso/saml/${victim.connection.id}/metadata`);
	assert.equal(metadata.status, 200);
	assert.match(metadata.text, new RegExp(`Location="${victim.connection.acsUrl}"`));
	assert.equal((await send("/v1/auth/sso/saml/sso_aaaaaaaaaaaaaaaa/metadata")).status, 404);

	// Nobody but ada got in.
	const members = await send(`/v1/accounts/${victim.accountId}/members`, { headers: victim.owner });
	assert.deepEqual(
		members
			.json()
			.data.map((m) => m.email ?? m.user?.email)
			.filter((e) => e?.endsWith(victim.domain))
			.sort(),
		[ada],
	);
}
