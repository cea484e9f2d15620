/**
 * The checks on a posted SAML Response (see ./saml.ts for the whole design). Imported dynamically
 * by src/sso/sign-in.ts, so xml-crypto and @xmldom/xmldom initialise on the first SAML sign-in of
 * an isolate, not at its start-up.
 */
import { DOMParser, type Document, type Element, type Node } from "@xmldom/xmldom";
import { SignedXml } from "xml-crypto";
import { SAML_ASSERTION, SAML_PROTOCOL, SamlError } from "./saml";

const DSIG = "http://www.w3.org/2000/09/xmldsig#";
const SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success";
const BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
const SIGNATURE_ALGORITHMS = new Set([
	"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
	"http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
]);
/** The largest SAMLResponse (decoded) read at all. */
export const MAX_RESPONSE_BYTES = 256 * 1024;
/** Clock skew allowed on every time bound, as for OIDC tokens. */
const SKEW_MS = 120_000;

export interface SamlExpectations {
	idpEntityId: string;
	certificate: string;
	entityId: string;
	acsUrl: string;
	requestId: string;
	now: Date;
}

export interface SamlIdentity {
	email: string | null;
	/** Attribute name to its values, for the role mapping (the same shape as ID token claims). */
	claims: Record<string, string[]>;
	/** When the provider authenticated the person (`AuthnInstant`, ms); 0 when it does not say. */
	authnInstant: number;
}

function parse(xml: string): Document {
	try {
		const fail = () => {
			throw new SamlError("the response is not well-formed XML");
		};
		return new DOMParser({ errorHandler: { warning: () => {}, error: fail, fatalError: fail } }).parseFromString(
			xml,
			"text/xml",
		);
	} catch {
		throw new SamlError("the response is not well-formed XML");
	}
}

const children = (parent: Element, ns: string, name: string): Element[] =>
	Array.from(parent.childNodes as ArrayLike<Node>).filter(
		(n): n is Element => n.nodeType === 1 && (n as Element).namespaceURI === ns && (n as Element).localName === name,
	);
const child = (parent: Element, ns: string, name: string) => children(parent, ns, name)[0];
/** An attribute's value, or null when it is absent (xmldom 0.8 answers "" for that). */
const attribute = (el: Element, name: string) => el.getAttribute(name) || null;
const text = (el: Element | undefined) => (el?.textContent ?? "").trim();

/** An xs:dateTime as ms, or NaN. */
const instant = (value: string | null) => (value && /^\d{4}-\d\d-\d\dT[\d:.]+Z$/.test(value) ? Date.parse(value) : NaN);

/** Checks the signature(s) with the pinned certificate and answers the assertions they cover, parsed from the signed XML. */
function signedAssertions(xml: string, doc: Document, certificate: string): Element[] {
	const signatures = Array.from(doc.getElementsByTagNameNS(DSIG, "Signature") as ArrayLike<Element>);
	if (signatures.length === 0) throw new SamlError("the response is not signed");
	if (signatures.length > 2)
		throw new SamlError("the response carries more signatures than a response and its assertion");
	const covered: Element[] = [];
	for (const node of signatures) {
		const sig = new SignedXml({ publicCert: certificate, getCertFromKeyInfo: () => null });
		let valid = false;
		try {
			sig.loadSignature(node as unknown as Parameters<SignedXml["loadSignature"]>[0]);
			if (!SIGNATURE_ALGORITHMS.has(sig.signatureAlgorithm ?? ""))
				throw new SamlError("the signature algorithm is not RSA-SHA256 or RSA-SHA512");
			valid = sig.checkSignature(xml);
		} catch (err) {
			if (err instanceof SamlError) throw err;
			valid = false;
		}
		if (!valid) throw new SamlError("the signature does not verify with the connection's certificate");
		const references = sig.getSignedReferences();
		if (references.length !== 1) throw new SamlError("a signature must cover exactly one element");
		const root = parse(references[0] ?? "").documentElement as Element | null;
		if (!root) throw new SamlError("the signed element is empty");
		if (root.namespaceURI === SAML_ASSERTION && root.localName === "Assertion") covered.push(root);
		else if (root.namespaceURI === SAML_PROTOCOL && root.localName === "Response")
			covered.push(...children(root, SAML_ASSERTION, "Assertion"));
		else throw new SamlError("the signature covers neither the response nor the assertion");
	}
	return covered;
}

/** Checks a posted SAMLResponse (base64) and answers who it names. */
export function verifySamlResponse(encoded: string, expect: SamlExpectations): SamlIdentity {
	let xml: string;
	try {
		const binary = atob(encoded.replace(/\s+/g, ""));
		if (binary.length > MAX_RESPONSE_BYTES) throw new SamlError("the response is too large");
		xml = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(
			Uint8Array.from(binary, (ch) => ch.charCodeAt(0)),
		);
	} catch (err) {
		if (err instanceof SamlError) throw err;
		throw new SamlError("SAMLResponse is not base64 of UTF-8 XML");
	}
	// No DTD at all: no entity expansion, no external entities, no XXE.
	if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw new SamlError("a document type declaration is not accepted");
	const doc = parse(xml);
	const response = doc.documentElement as Element | null;
	if (!response || response.namespaceURI !== SAML_PROTOCOL || response.localName !== "Response")
		throw new SamlError("the document is not a SAML Response");
	const statusElement = child(response, SAML_PROTOCOL, "Status");
	const status = statusElement && child(statusElement, SAML_PROTOCOL, "StatusCode");
	if (!status || attribute(status, "Value") !== SUCCESS)
		throw new SamlError("the identity provider did not report success");
	const destination = attribute(response, "Destination");
	if (destination && destination !== expect.acsUrl) throw new SamlError("the response is addressed to another URL");
	const answers = attribute(response, "InResponseTo");
	if (answers && answers !== expect.requestId) throw new SamlError("the response answers another request");
	if (doc.getElementsByTagNameNS(SAML_ASSERTION, "EncryptedAssertion").length > 0)
		throw new SamlError("encrypted assertions are not supported: turn assertion encryption off at the provider");
	if (doc.getElementsByTagNameNS(SAML_ASSERTION, "Assertion").length !== 1)
		throw new SamlError("the response must hold exactly one assertion");

	const covered = signedAssertions(xml, doc, expect.certificate);
	const ids = new Set(covered.map((a) => attribute(a, "ID")));
	if (covered.length === 0 || ids.size !== 1) throw new SamlError("no single assertion is signed");
	const assertion = covered[0] as Element;
	return checkAssertion(assertion, expect);
}

function checkAssertion(assertion: Element, expect: SamlExpectations): SamlIdentity {
	const now = expect.now.getTime();
	if (attribute(assertion, "Version") !== "2.0") throw new SamlError("the assertion is not SAML 2.0");
	if (text(child(assertion, SAML_ASSERTION, "Issuer")) !== expect.idpEntityId)
		throw new SamlError("the assertion's issuer is not the connection's identity provider");

	const subject = child(assertion, SAML_ASSERTION, "Subject");
	if (!subject) throw new SamlError("the assertion has no subject");
	const confirmed = children(subject, SAML_ASSERTION, "SubjectConfirmation").some((confirmation) => {
		if (attribute(confirmation, "Method") !== BEARER) return false;
		const data = child(confirmation, SAML_ASSERTION, "SubjectConfirmationData");
		if (!data) return false;
		const notOnOrAfter = instant(attribute(data, "NotOnOrAfter"));
		const notBefore = attribute(data, "NotBefore");
		return (
			attribute(data, "Recipient") === expect.acsUrl &&
			attribute(data, "InResponseTo") === expect.requestId &&
			notOnOrAfter > now - SKEW_MS &&
			(notBefore === null || instant(notBefore) <= now + SKEW_MS)
		);
	});
	if (!confirmed)
		throw new SamlError(
			"no bearer subject confirmation names this ACS URL and this request, unexpired (Recipient, InResponseTo, NotOnOrAfter)",
		);

	const conditions = child(assertion, SAML_ASSERTION, "Conditions");
	if (!conditions) throw new SamlError("the assertion has no conditions");
	const notBefore = attribute(conditions, "NotBefore");
	const notOnOrAfter = instant(attribute(conditions, "NotOnOrAfter"));
	if (notBefore !== null && !(instant(notBefore) <= now + SKEW_MS))
		throw new SamlError("the assertion is not valid yet (NotBefore)");
	if (!(notOnOrAfter > now - SKEW_MS)) throw new SamlError("the assertion has expired (NotOnOrAfter)");
	const restrictions = children(conditions, SAML_ASSERTION, "AudienceRestriction");
	if (
		restrictions.length === 0 ||
		!restrictions.every((r) => children(r, SAML_ASSERTION, "Audience").some((a) => text(a) === expect.entityId))
	)
		throw new SamlError("the assertion is for another audience");

	const claims: Record<string, string[]> = Object.create(null);
	const statement = child(assertion, SAML_ASSERTION, "AttributeStatement");
	for (const named of statement ? children(statement, SAML_ASSERTION, "Attribute").slice(0, 100) : []) {
		const name = attribute(named, "Name");
		if (!name || name.length > 256) continue;
		claims[name] = children(named, SAML_ASSERTION, "AttributeValue")
			.slice(0, 200)
			.map((v) => text(v));
	}
	const authn = child(assertion, SAML_ASSERTION, "AuthnStatement");
	const authnInstant = instant(authn ? attribute(authn, "AuthnInstant") : null);
	const nameId = child(subject, SAML_ASSERTION, "NameID");
	return {
		email: emailOf(claims, text(nameId)),
		claims,
		authnInstant: Number.isFinite(authnInstant) && authnInstant <= now + SKEW_MS ? authnInstant : 0,
	};
}

/** The attributes that name the address, in the order providers use them; else the NameID. */
const EMAIL_ATTRIBUTES = [
	"email",
	"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
	"urn:oid:0.9.2342.19200300.100.1.3",
	"mail",
];

function emailOf(claims: Record<string, string[]>, nameId: string): string | null {
	for (const name of EMAIL_ATTRIBUTES) {
		const value = claims[name]?.[0];
		if (value) return value.toLowerCase();
	}
	return nameId.includes("@") ? nameId.toLowerCase() : null;
}
