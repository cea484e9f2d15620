/**
 * An account's OIDC connection (issue #27): one identity provider per account, managed by the
 * owner. Making or changing one reads the provider's discovery document and JWKS first (behind
 * the SSRF guard), so a connection that is stored can be signed in with. The client secret is
 * sealed (AES-GCM, bound to the connection id) and never shown again. Each write is one
 * conditional statement on the state it starts from, the account not locked down and the caller
 * still the owner.
 */
import { and, eq, sql } from "drizzle-orm";
import { accountLockedDown, grantLost, stillAllowed } from "../accounts/queries";
import type { Database } from "../db";
import { accountDomains, type SsoRoleMapping, ssoAttempts, ssoConnections } from "../db/schema";
import { newId } from "../platform/ids";
import { ApiError, isUniqueViolation } from "../problems";
import { openSecret, sealSecret } from "../security/secret-box";
import { type Discovery, discover, fetchJwks, OidcError, providerUrlProblem, type SigningKey } from "./oidc";
import { normalizeCertificate, spEndpoints } from "./saml";

export type ConnectionRow = typeof ssoConnections.$inferSelect;
const PERMISSION = "sso:manage" as const;
export const DEFAULT_SCOPES = ["openid", "email", "profile"];
/** How long a cached JWKS is trusted before a sign-in fetches it again. */
export const JWKS_MAX_AGE_MS = 60 * 60 * 1000;

export interface ConnectionDeps {
	db: Database;
	fetch: typeof fetch;
	sealingKey: string;
	now: Date;
	/** Development only: a provider on this machine may be used (src/sso/oidc.ts). */
	development?: boolean;
}

export interface ConnectionInput {
	issuer: string;
	clientId: string;
	clientSecret: string;
	scopes?: string[];
	roleMapping?: SsoRoleMapping | null;
}

const secretBinding = (id: string) => `sso-connection:${id}`;

/** Where the provider sends people back: the deployment's own callback. */
export const redirectUriFor = (origin: string) => `${origin}/v1/auth/sso/callback`;

export function publicConnection(row: ConnectionRow, origin: string) {
	return {
		id: row.id,
		issuer: row.issuer,
		clientId: row.clientId,
		scopes: row.scopes,
		roleMapping: row.roleMapping ?? null,
		redirectUri: redirectUriFor(origin),
		endpoints: { authorization: row.authorizationEndpoint, token: row.tokenEndpoint, jwks: row.jwksUri },
		createdAt: row.createdAt.toISOString(),
		updatedAt: row.updatedAt.toISOString(),
	};
}

export const getConnection = (db: Database, accountId: string) =>
	db.query.ssoConnections.findFirst({ where: eq(ssoConnections.accountId, accountId) });

/** The provider's endpoints and keys, or a 400 naming what is wrong with the issuer. */
async function providerOf(deps: ConnectionDeps, issuer: string): Promise<{ discovery: Discovery; keys: SigningKey[] }> {
	const problem = providerUrlProblem(issuer, deps.development);
	if (problem) throw new ApiError("validation", { errors: [{ path: "issuer", message: `The issuer ${problem}` }] });
	try {
		const discovery = await discover(deps.fetch, issuer, deps.development);
		return { discovery, keys: await fetchJwks(deps.fetch, discovery.jwksUri, deps.development) };
	} catch (err) {
		if (!(err instanceof OidcError)) throw err;
		throw new ApiError("validation", {
			detail: `The issuer cannot be used: ${err.reason}`,
			errors: [{ path: "issuer", message: `Cannot be used: ${err.reason}` }],
		});
	}
}

const allowedNow = (accountId: string, actorId: string) =>
	sql`(NOT ${accountLockedDown(accountId)} AND ${stillAllowed(accountId, actorId, PERMISSION)})`;

export async function createConnection(
	deps: ConnectionDeps,
	accountId: string,
	actorId: string,
	input: ConnectionInput,
): Promise<ConnectionRow> {
	const { discovery, keys } = await providerOf(deps, input.issuer);
	const id = newId("sso");
	return insertConnection(deps.db, {
		...blankConnection(id, accountId, actorId, deps.now),
		issuer: input.issuer,
		clientId: input.clientId,
		clientSecretSealed: await sealSecret(
			deps.sealingKey,
			new TextEncoder().encode(input.clientSecret),
			secretBinding(id),
		),
		scopes: input.scopes ?? DEFAULT_SCOPES,
		roleMapping: input.roleMapping ?? null,
		...discovery,
		jwks: JSON.stringify(keys),
	});
}

/** A new connection's row before its protocol's fields are filled in. */
const blankConnection = (id: string, accountId: string, actorId: string, now: Date): ConnectionRow => ({
	id,
	accountId,
	protocol: "oidc",
	issuer: "",
	clientId: "",
	clientSecretSealed: "",
	scopes: [],
	roleMapping: null,
	authorizationEndpoint: "",
	tokenEndpoint: "",
	jwksUri: "",
	tokenAuthMethod: "none",
	jwks: "[]",
	jwksFetchedAt: now,
	samlCertificate: null,
	createdBy: actorId,
	createdAt: now,
	updatedAt: now,
	version: 1,
});

/** One connection per account, written only while the actor may still manage it and the account is not locked down. */
async function insertConnection(db: Database, row: ConnectionRow): Promise<ConnectionRow> {
	const { id, accountId, createdBy: actorId } = row;
	let undone: { id: string }[];
	try {
		[, undone] = await db.batch([
			db.insert(ssoConnections).values(row),
			db
				.delete(ssoConnections)
				.where(and(eq(ssoConnections.id, id), sql`NOT ${allowedNow(accountId, actorId)}`))
				.returning({ id: ssoConnections.id }),
		]);
	} catch (err) {
		if (isUniqueViolation(err))
			throw new ApiError("conflict", {
				detail: "The account has a connection already (OIDC or SAML): change it or delete it first",
			});
		throw err;
	}
	if (undone.length > 0) await lost(db, accountId, actorId);
	return row;
}

export interface SamlConnectionInput {
	idpEntityId: string;
	ssoUrl: string;
	certificate: string;
	roleMapping?: SsoRoleMapping | null;
}

/** A SAML connection's provider fields, or a 400 naming the one that cannot be used. */
function samlFields(deps: ConnectionDeps, input: Partial<SamlConnectionInput>) {
	const errors: { path: string; message: string }[] = [];
	const urlProblem = input.ssoUrl === undefined ? null : providerUrlProblem(input.ssoUrl, deps.development);
	if (urlProblem) errors.push({ path: "ssoUrl", message: `The single sign-on URL ${urlProblem}` });
	const certificate = input.certificate === undefined ? undefined : normalizeCertificate(input.certificate);
	if (certificate === null)
		errors.push({ path: "certificate", message: "Not an X.509 certificate with an RSA key (PEM or base64 DER)" });
	if (errors.length > 0) throw new ApiError("validation", { errors });
	return {
		...(input.idpEntityId === undefined ? {} : { issuer: input.idpEntityId }),
		...(input.ssoUrl === undefined ? {} : { authorizationEndpoint: input.ssoUrl }),
		...(certificate ? { samlCertificate: certificate.pem } : {}),
		...(input.roleMapping === undefined ? {} : { roleMapping: input.roleMapping }),
	};
}

export async function createSamlConnection(
	deps: ConnectionDeps,
	accountId: string,
	actorId: string,
	input: SamlConnectionInput,
): Promise<ConnectionRow> {
	return insertConnection(deps.db, {
		...blankConnection(newId("sso"), accountId, actorId, deps.now),
		protocol: "saml",
		...samlFields(deps, { ...input, roleMapping: input.roleMapping ?? null }),
	});
}

export async function updateSamlConnection(
	deps: ConnectionDeps,
	current: ConnectionRow,
	actorId: string,
	patch: Partial<SamlConnectionInput>,
): Promise<ConnectionRow> {
	return writeConnection(deps, current, actorId, samlFields(deps, patch));
}

/** A SAML connection as the API shows it: the provider's names, the certificate's fingerprint, and Keyward's names to register. */
export function publicSamlConnection(row: ConnectionRow, origin: string) {
	const { entityId, acsUrl } = spEndpoints(origin, row.id);
	return {
		id: row.id,
		idpEntityId: row.issuer,
		ssoUrl: row.authorizationEndpoint,
		certificateFingerprint: normalizeCertificate(row.samlCertificate ?? "")?.fingerprint ?? "",
		roleMapping: row.roleMapping ?? null,
		entityId,
		acsUrl,
		metadataUrl: entityId,
		createdAt: row.createdAt.toISOString(),
		updatedAt: row.updatedAt.toISOString(),
	};
}

const lost = (db: Database, accountId: string, actorId: string) =>
	grantLost(db, accountId, actorId, PERMISSION, "single sign-on cannot change", new ApiError("conflict"));

/** Changes a connection: a new issuer is read again from its discovery document; one write on the version read. */
export async function updateConnection(
	deps: ConnectionDeps,
	current: ConnectionRow,
	actorId: string,
	patch: Partial<ConnectionInput>,
): Promise<ConnectionRow> {
	const { now } = deps;
	const issuer = patch.issuer ?? current.issuer;
	const provider =
		patch.issuer !== undefined && patch.issuer !== current.issuer ? await providerOf(deps, issuer) : null;
	const next: ConnectionRow = {
		...current,
		issuer,
		clientId: patch.clientId ?? current.clientId,
		clientSecretSealed:
			patch.clientSecret === undefined
				? current.clientSecretSealed
				: await sealSecret(deps.sealingKey, new TextEncoder().encode(patch.clientSecret), secretBinding(current.id)),
		scopes: patch.scopes ?? current.scopes,
		roleMapping: patch.roleMapping === undefined ? current.roleMapping : patch.roleMapping,
		...(provider ? { ...provider.discovery, jwks: JSON.stringify(provider.keys), jwksFetchedAt: now } : {}),
	};
	return writeConnection(deps, current, actorId, next);
}

/** One write on the version read, while the actor may still manage single sign-on. */
async function writeConnection(
	deps: ConnectionDeps,
	current: ConnectionRow,
	actorId: string,
	fields: Partial<ConnectionRow>,
): Promise<ConnectionRow> {
	const { db, now } = deps;
	const next: ConnectionRow = { ...current, ...fields, updatedAt: now, version: current.version + 1 };
	const { id: _id, accountId, createdAt: _c, createdBy: _b, protocol: _p, ...changes } = next;
	const written = await db
		.update(ssoConnections)
		.set(changes)
		.where(
			and(
				eq(ssoConnections.id, current.id),
				eq(ssoConnections.version, current.version),
				allowedNow(accountId, actorId),
			),
		)
		.returning({ id: ssoConnections.id });
	if (written.length === 0) {
		const latest = await getConnection(db, accountId);
		if (!latest || latest.id !== current.id) throw new ApiError("not-found", { detail: "No such connection" });
		if (latest.version !== current.version)
			throw new ApiError("conflict", { detail: "The connection changed meanwhile; read it again and retry" });
		await lost(db, accountId, actorId);
	}
	return next;
}

/** Deletes the connection and its sign-ins in flight; true if it was there. */
export async function deleteConnection(db: Database, current: ConnectionRow): Promise<boolean> {
	const [deleted] = await db.batch([
		db.delete(ssoConnections).where(eq(ssoConnections.id, current.id)).returning({ id: ssoConnections.id }),
		db.delete(ssoAttempts).where(eq(ssoAttempts.connectionId, current.id)),
	]);
	return deleted.length > 0;
}

export const openClientSecret = async (sealingKey: string, row: ConnectionRow): Promise<string> =>
	new TextDecoder().decode(await openSecret(sealingKey, row.clientSecretSealed, secretBinding(row.id)));

/** The connection that signs in an address: the one of the account that holds the address's domain verified. */
export async function connectionForEmail(db: Database, email: string): Promise<ConnectionRow | undefined> {
	const domain = email.slice(email.lastIndexOf("@") + 1).toLowerCase();
	const [row] = await db
		.select({ connection: ssoConnections })
		.from(accountDomains)
		.innerJoin(ssoConnections, eq(ssoConnections.accountId, accountDomains.accountId))
		.where(and(eq(accountDomains.domain, domain), sql`${accountDomains.verifiedAt} IS NOT NULL`))
		.limit(1);
	return row?.connection;
}

/** The connection's keys, fetched again when older than an hour or when asked (a token names an unknown kid). */
export async function refreshJwks(deps: ConnectionDeps, row: ConnectionRow): Promise<SigningKey[]> {
	const keys = await fetchJwks(deps.fetch, row.jwksUri, deps.development);
	await deps.db
		.update(ssoConnections)
		.set({ jwks: JSON.stringify(keys), jwksFetchedAt: deps.now })
		.where(and(eq(ssoConnections.id, row.id), eq(ssoConnections.jwksUri, row.jwksUri)));
	return keys;
}

export const cachedKeys = (row: ConnectionRow): SigningKey[] => JSON.parse(row.jwks) as SigningKey[];
