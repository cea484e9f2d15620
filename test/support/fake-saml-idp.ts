/**
 * A fake SAML 2.0 identity provider (the outside world) for the tests: it reads the AuthnRequest
 * Keyward redirects to it and signs Responses with xml-crypto the way Okta and Entra ID do
 * (exclusive C14N, RSA-SHA256, the signature after the assertion's Issuer). Every field can be
 * bent, so each check of src/sso/saml.ts can be shown to refuse.
 */
import { SignedXml } from "xml-crypto";
import type { Database } from "../../src/db";
import { ssoConnections } from "../../src/db/schema";
import { newId } from "../../src/platform/ids";
import { IDP_CERTIFICATE_BASE64, IDP_KEY_PKCS8_BASE64, OTHER_KEY_PKCS8_BASE64 } from "./saml-test-keys";

const pem = (label: string, body: string) =>
	`-----BEGIN ${label}-----\n${body.match(/.{1,64}/g)?.join("\n")}\n-----END ${label}-----\n`;

export const IDP_ENTITY_ID = "https://saml.acme-sso.com/metadata";
export const IDP_SSO_URL = "https://saml.acme-sso.com/sso";
export const idpCertificate = pem("CERTIFICATE", IDP_CERTIFICATE_BASE64);
const KEYS = {
	idp: pem("PRIVATE KEY", IDP_KEY_PKCS8_BASE64),
	other: pem("PRIVATE KEY", OTHER_KEY_PKCS8_BASE64),
};

/** What Keyward's redirect to the provider carried. */
export interface AuthnRequest {
	id: string;
	acsUrl: string;
	issuer: string;
	forceAuthn: boolean;
	relayState: string;
	destination: string;
}

export async function readAuthnRequest(location: string): Promise<AuthnRequest> {
	const url = new URL(location);
	const encoded = url.searchParams.get("SAMLRequest") ?? "";
	const bytes = Uint8Array.from(atob(encoded), (ch) => ch.charCodeAt(0));
	const xml = await new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate-raw"))).text();
	const attr = (name: string) => new RegExp(`${name}="([^"]*)"`).exec(xml)?.[1] ?? "";
	return {
		id: attr(" ID"),
		acsUrl: attr("AssertionConsumerServiceURL"),
		destination: attr("Destination"),
		issuer: /<saml:Issuer>([^<]*)<\/saml:Issuer>/.exec(xml)?.[1] ?? "",
		forceAuthn: attr("ForceAuthn") === "true",
		relayState: url.searchParams.get("RelayState") ?? "",
	};
}

export interface ResponseOptions {
	email: string;
	/** The request answered (`InResponseTo`). */
	requestId: string;
	acsUrl: string;
	audience: string;
	now: Date;
	issuer?: string;
	attributes?: Record<string, string[]>;
	authnInstant?: Date;
	/** Seconds the assertion stays valid (default 300); negative for one that has expired. */
	validFor?: number;
	/** Seconds until it becomes valid (default 0). */
	validIn?: number;
	recipient?: string;
	responseInResponseTo?: string | null;
	status?: string;
	method?: string;
	/** What the provider signs (default the assertion). */
	sign?: "assertion" | "response" | "both" | "none";
	key?: keyof typeof KEYS;
	signatureAlgorithm?: string;
	/** Rewrites the signed XML before it is sent (tampering, wrapping). */
	after?: (xml: string) => string;
}

const iso = (d: Date) => d.toISOString();
const plus = (d: Date, seconds: number) => new Date(d.getTime() + seconds * 1000);

export function assertionXml(o: ResponseOptions, id: string, nameId = o.email): string {
	const start = plus(o.now, o.validIn ?? 0);
	const end = plus(o.now, o.validFor ?? 300);
	const attributes = Object.entries(o.attributes ?? {})
		.map(
			([name, values]) =>
				`<saml:Attribute Name="${name}">${values.map((v) => `<saml:AttributeValue>${v}</saml:AttributeValue>`).join("")}</saml:Attribute>`,
		)
		.join("");
	return (
		`<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${id}" Version="2.0" IssueInstant="${iso(o.now)}">` +
		`<saml:Issuer>${o.issuer ?? IDP_ENTITY_ID}</saml:Issuer>` +
		`<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">${nameId}</saml:NameID>` +
		`<saml:SubjectConfirmation Method="${o.method ?? "urn:oasis:names:tc:SAML:2.0:cm:bearer"}">` +
		`<saml:SubjectConfirmationData InResponseTo="${o.requestId}" NotOnOrAfter="${iso(end)}" Recipient="${o.recipient ?? o.acsUrl}"/>` +
		"</saml:SubjectConfirmation></saml:Subject>" +
		`<saml:Conditions NotBefore="${iso(start)}" NotOnOrAfter="${iso(end)}">` +
		`<saml:AudienceRestriction><saml:Audience>${o.audience}</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
		`<saml:AuthnStatement AuthnInstant="${iso(o.authnInstant ?? o.now)}" SessionIndex="${id}">` +
		"<saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>" +
		(attributes ? `<saml:AttributeStatement>${attributes}</saml:AttributeStatement>` : "") +
		"</saml:Assertion>"
	);
}

function sign(xml: string, id: string, o: ResponseOptions): string {
	const sig = new SignedXml({
		privateKey: KEYS[o.key ?? "idp"],
		signatureAlgorithm: o.signatureAlgorithm ?? "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
		canonicalizationAlgorithm: "http://www.w3.org/2001/10/xml-exc-c14n#",
	});
	sig.addReference({
		xpath: `//*[@ID='${id}']`,
		digestAlgorithm: "http://www.w3.org/2001/04/xmlenc#sha256",
		transforms: ["http://www.w3.org/2000/09/xmldsig#enveloped-signature", "http://www.w3.org/2001/10/xml-exc-c14n#"],
	});
	sig.computeSignature(xml, {
		location: { reference: `//*[@ID='${id}']/*[local-name()='Issuer']`, action: "after" },
	});
	return sig.getSignedXml();
}

let serial = 0;

/** A signed Response as the provider posts it: the raw XML (for tampering) and its base64. */
export function samlResponse(o: ResponseOptions): { xml: string; encoded: string } {
	serial += 1;
	const assertionId = `_a${serial}${crypto.randomUUID().replace(/-/g, "")}`;
	const responseId = `_r${serial}${crypto.randomUUID().replace(/-/g, "")}`;
	const inResponseTo = o.responseInResponseTo === undefined ? o.requestId : o.responseInResponseTo;
	const mode = o.sign ?? "assertion";
	let assertion = assertionXml(o, assertionId);
	if (mode === "assertion" || mode === "both") assertion = sign(assertion, assertionId, o);
	let xml =
		`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${responseId}" Version="2.0" IssueInstant="${iso(o.now)}" Destination="${o.acsUrl}"${inResponseTo === null ? "" : ` InResponseTo="${inResponseTo}"`}>` +
		`<saml:Issuer>${o.issuer ?? IDP_ENTITY_ID}</saml:Issuer>` +
		`<samlp:Status><samlp:StatusCode Value="${o.status ?? "urn:oasis:names:tc:SAML:2.0:status:Success"}"/></samlp:Status>` +
		assertion +
		"</samlp:Response>";
	if (mode === "response" || mode === "both") xml = sign(xml, responseId, o);
	if (o.after) xml = o.after(xml);
	let binary = "";
	for (const byte of new TextEncoder().encode(xml)) binary += String.fromCharCode(byte);
	return { xml, encoded: btoa(binary) };
}

/** A SAML connection row as `POST …/saml-connections` leaves it, for fixtures. */
export async function seedSamlConnection(
	db: Database,
	s: { accountId: string; ownerId: string },
	now: Date,
	options: { id?: string } = {},
) {
	const id = options.id ?? newId("sso");
	await db.insert(ssoConnections).values({
		id,
		accountId: s.accountId,
		protocol: "saml",
		issuer: IDP_ENTITY_ID,
		clientId: "",
		clientSecretSealed: "",
		scopes: [],
		roleMapping: null,
		authorizationEndpoint: IDP_SSO_URL,
		tokenEndpoint: "",
		jwksUri: "",
		tokenAuthMethod: "none",
		jwks: "[]",
		jwksFetchedAt: now,
		samlCertificate: idpCertificate,
		createdBy: s.ownerId,
		createdAt: now,
		updatedAt: now,
		version: 1,
	});
	return id;
}
