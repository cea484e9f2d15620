/**
 * SAML 2.0, the parts Keyward needs as a service provider (issue #27): an AuthnRequest sent by
 * the HTTP-Redirect binding, and the checks on the Response the identity provider posts back
 * (HTTP-POST binding) before anything in it is believed.
 *
 * The signature is checked by xml-crypto against the one certificate the owner pinned (never a
 * key named inside the document), with RSA-SHA256 or RSA-SHA512 only; then every fact is read
 * from the XML the signature covers (`getSignedReferences`), never from the document as posted,
 * so a signature-wrapping attack (a second, unsigned assertion beside or around the signed one)
 * finds nothing to inject. The document must hold exactly one assertion, no DTD and no encrypted
 * assertion. In the signed assertion: `Issuer` is the pinned entity id; a bearer
 * `SubjectConfirmationData` names our ACS URL as `Recipient`, our request as `InResponseTo`,
 * and has not expired; `Conditions` hold now and every `AudienceRestriction` names our entity id.
 * A response that answers no request of ours (IdP-initiated) is refused: `InResponseTo` binds it
 * to a sign-in row that is deleted as it is read, which is also what makes an assertion single-use.
 *
 * The checks themselves are in ./saml-response.ts, loaded on the first SAML sign-in only, so the XML
 * libraries (xml-crypto, xpath and xmldom, about 300 KiB of source) initialise there and not at
 * every isolate's start-up.
 */
import { X509Certificate } from "node:crypto";

export const SAML_PROTOCOL = "urn:oasis:names:tc:SAML:2.0:protocol";
export const SAML_ASSERTION = "urn:oasis:names:tc:SAML:2.0:assertion";
export class SamlError extends Error {
	constructor(readonly reason: string) {
		super(reason);
	}
}

/** Keyward's own names at the provider for one connection: its entity id and where assertions are posted. */
export const spEndpoints = (origin: string, connectionId: string) => ({
	entityId: `${origin}/v1/auth/sso/saml/${connectionId}/metadata`,
	acsUrl: `${origin}/v1/auth/sso/saml/${connectionId}/acs`,
});

/**
 * A certificate as the owner pastes it (PEM, or the bare base64 of IdP metadata), as PEM with
 * its SHA-256 fingerprint; null when it is not an X.509 certificate with an RSA key.
 */
export function normalizeCertificate(raw: string): { pem: string; fingerprint: string } | null {
	const body = raw
		.replace(/-----(BEGIN|END) CERTIFICATE-----/g, "")
		.replace(/\s+/g, "")
		.trim();
	if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body) || body.length < 200) return null;
	const pem = `-----BEGIN CERTIFICATE-----\n${body.match(/.{1,64}/g)?.join("\n")}\n-----END CERTIFICATE-----\n`;
	try {
		const cert = new X509Certificate(pem);
		if (cert.publicKey.asymmetricKeyType !== "rsa") return null;
		return { pem, fingerprint: cert.fingerprint256 };
	} catch {
		return null;
	}
}

const escapeXml = (value: string) =>
	value.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

async function deflateRaw(text: string): Promise<Uint8Array> {
	const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("deflate-raw"));
	return new Uint8Array(await new Response(stream).arrayBuffer());
}

const base64 = (bytes: Uint8Array) => {
	let binary = "";
	for (const byte of bytes) binary += String.fromCharCode(byte);
	return btoa(binary);
};

/**
 * The provider's URL with an AuthnRequest (SAML Bindings §3.4, HTTP-Redirect, unsigned) and the
 * RelayState; `forceAuthn` asks the provider to authenticate the person again (a proof of identity).
 */
export async function authnRequestUrl(params: {
	ssoUrl: string;
	requestId: string;
	entityId: string;
	acsUrl: string;
	relayState: string;
	now: Date;
	forceAuthn: boolean;
}): Promise<string> {
	const xml =
		`<samlp:AuthnRequest xmlns:samlp="${SAML_PROTOCOL}" xmlns:saml="${SAML_ASSERTION}" ID="${escapeXml(params.requestId)}" ` +
		`Version="2.0" IssueInstant="${params.now.toISOString()}" Destination="${escapeXml(params.ssoUrl)}" ` +
		`AssertionConsumerServiceURL="${escapeXml(params.acsUrl)}" ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"` +
		`${params.forceAuthn ? ' ForceAuthn="true"' : ""}>` +
		`<saml:Issuer>${escapeXml(params.entityId)}</saml:Issuer>` +
		`<samlp:NameIDPolicy Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress" AllowCreate="true"/>` +
		"</samlp:AuthnRequest>";
	const url = new URL(params.ssoUrl);
	url.searchParams.set("SAMLRequest", base64(await deflateRaw(xml)));
	url.searchParams.set("RelayState", params.relayState);
	return url.toString();
}

/** Keyward's service provider metadata for one connection, to give to the provider. */
export function spMetadata(origin: string, connectionId: string): string {
	const { entityId, acsUrl } = spEndpoints(origin, connectionId);
	return (
		`<?xml version="1.0" encoding="UTF-8"?>\n<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="${escapeXml(entityId)}">` +
		`<md:SPSSODescriptor AuthnRequestsSigned="false" WantAssertionsSigned="true" protocolSupportEnumeration="${SAML_PROTOCOL}">` +
		"<md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>" +
		`<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="${escapeXml(acsUrl)}" index="0" isDefault="true"/>` +
		"</md:SPSSODescriptor></md:EntityDescriptor>\n"
	);
}
