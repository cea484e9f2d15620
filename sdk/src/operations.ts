/**
 * Every operation of the API, by the name the client gives it. The types of
 * each method's input and result come from the generated `paths` (never
 * written by hand), so a changed route changes the client's types, and a test
 * holds this table to the OpenAPI document: no route without a method.
 */
import type { paths } from "./schema.js";

export type HttpMethod = "get" | "put" | "post" | "patch" | "delete";
export type ApiPath = keyof paths;
export type MethodOf<P extends ApiPath> = Extract<keyof paths[P], HttpMethod>;

export interface OperationSpec<P extends ApiPath = ApiPath, M extends HttpMethod = HttpMethod> {
	method: M;
	path: P;
	/** Safe to send twice; only these are retried (RFC 9110 §9.2.2, or the contract says so). */
	idempotent: boolean;
}

const IDEMPOTENT_METHODS: readonly HttpMethod[] = ["get", "put", "delete"];

function op<P extends ApiPath, M extends MethodOf<P>>(method: M, path: P, idempotent?: true): OperationSpec<P, M> {
	return { method, path, idempotent: idempotent ?? IDEMPOTENT_METHODS.includes(method) };
}

export const OPERATIONS = {
	service: {
		health: op("get", "/health"),
	},
	dev: {
		outbox: op("get", "/v1/dev/outbox"),
		auditStats: op("get", "/v1/dev/audit-stats"),
		objectStats: op("get", "/v1/dev/object-stats"),
	},
	auth: {
		signup: op("post", "/v1/auth/signup"),
		verifyEmail: op("post", "/v1/auth/verify-email"),
		resendVerification: op("post", "/v1/auth/verify-email/resend"),
		confirmEmailChange: op("post", "/v1/auth/email-change/confirm"),
		cancelEmailChange: op("post", "/v1/auth/email-change/cancel"),
		notMe: op("post", "/v1/auth/not-me"),
		login: op("post", "/v1/auth/login"),
		logout: op("post", "/v1/auth/logout"),
		sendEmailCode: op("post", "/v1/auth/mfa/email-code"),
		verifyMfa: op("post", "/v1/auth/mfa/verify"),
		passkeyMfaOptions: op("post", "/v1/auth/mfa/passkey-options"),
		passkeyOptions: op("post", "/v1/auth/passkey/options"),
		passkeySignIn: op("post", "/v1/auth/passkey/verify"),
		requestPasswordReset: op("post", "/v1/auth/password-reset"),
		confirmPasswordReset: op("post", "/v1/auth/password-reset/confirm"),
	},
	me: {
		get: op("get", "/v1/me"),
		changePassword: op("post", "/v1/me/password"),
		startTotp: op("post", "/v1/me/mfa/totp"),
		confirmTotp: op("post", "/v1/me/mfa/totp/confirm"),
		disableTotp: op("delete", "/v1/me/mfa/totp"),
		replaceTotp: op("post", "/v1/me/mfa/totp/replace"),
		regenerateRecoveryCodes: op("post", "/v1/me/mfa/recovery-codes"),
		passkeyOptions: op("post", "/v1/me/passkeys/options"),
		addPasskey: op("post", "/v1/me/passkeys"),
		listPasskeys: op("get", "/v1/me/passkeys"),
		renamePasskey: op("patch", "/v1/me/passkeys/{passkeyId}"),
		removePasskey: op("delete", "/v1/me/passkeys/{passkeyId}"),
		listSessions: op("get", "/v1/me/sessions"),
		exportData: op("get", "/v1/me/export"),
		erase: op("delete", "/v1/me"),
		revokeSession: op("delete", "/v1/me/sessions/{sessionId}"),
		revokeOtherSessions: op("post", "/v1/me/sessions/revoke-others"),
		reauthenticate: op("post", "/v1/me/reauthenticate"),
		/** The same proof through the identity provider of the caller's domain: answers where to send the browser. */
		reauthenticateWithSso: op("post", "/v1/me/reauthenticate/sso"),
		changeEmail: op("post", "/v1/me/email"),
	},
	accounts: {
		create: op("post", "/v1/accounts"),
		get: op("get", "/v1/accounts/{accountId}"),
		update: op("patch", "/v1/accounts/{accountId}"),
		delete: op("delete", "/v1/accounts/{accountId}"),
		transferOwnership: op("post", "/v1/accounts/{accountId}/transfer-ownership"),
		securityReport: op("get", "/v1/accounts/{accountId}/security-report"),
		lockdown: op("post", "/v1/accounts/{accountId}/lockdown"),
		liftLockdown: op("post", "/v1/accounts/{accountId}/lockdown/lift"),
	},
	members: {
		list: op("get", "/v1/accounts/{accountId}/members"),
		update: op("patch", "/v1/accounts/{accountId}/members/{userId}"),
		remove: op("delete", "/v1/accounts/{accountId}/members/{userId}"),
	},
	domains: {
		list: op("get", "/v1/accounts/{accountId}/domains"),
		add: op("post", "/v1/accounts/{accountId}/domains"),
		verify: op("post", "/v1/accounts/{accountId}/domains/{domainId}/verify"),
		remove: op("delete", "/v1/accounts/{accountId}/domains/{domainId}"),
	},
	/**
	 * Single sign-on through the account's OIDC or SAML provider. `start`, `callback` and
	 * `samlAcs` are browser routes (a redirect to the provider, and the pages it sends the browser
	 * back to): link a browser to `start`; the client lists them so every route has a method.
	 */
	sso: {
		listConnections: op("get", "/v1/accounts/{accountId}/sso-connections"),
		connect: op("post", "/v1/accounts/{accountId}/sso-connections"),
		updateConnection: op("patch", "/v1/accounts/{accountId}/sso-connections/{connectionId}"),
		removeConnection: op("delete", "/v1/accounts/{accountId}/sso-connections/{connectionId}"),
		listSamlConnections: op("get", "/v1/accounts/{accountId}/saml-connections"),
		connectSaml: op("post", "/v1/accounts/{accountId}/saml-connections"),
		updateSamlConnection: op("patch", "/v1/accounts/{accountId}/saml-connections/{connectionId}"),
		removeSamlConnection: op("delete", "/v1/accounts/{accountId}/saml-connections/{connectionId}"),
		start: op("get", "/v1/auth/sso/start"),
		callback: op("get", "/v1/auth/sso/callback"),
		samlMetadata: op("get", "/v1/auth/sso/saml/{connectionId}/metadata"),
		samlAcs: op("post", "/v1/auth/sso/saml/{connectionId}/acs"),
	},
	/** SCIM 2.0, for a provisioning job of your own (identity providers speak it themselves); errors arrive as KeywardError too. */
	scim: {
		listUsers: op("get", "/scim/v2/Users"),
		createUser: op("post", "/scim/v2/Users"),
		getUser: op("get", "/scim/v2/Users/{id}"),
		replaceUser: op("put", "/scim/v2/Users/{id}"),
		patchUser: op("patch", "/scim/v2/Users/{id}"),
		deleteUser: op("delete", "/scim/v2/Users/{id}"),
		listGroups: op("get", "/scim/v2/Groups"),
		createGroup: op("post", "/scim/v2/Groups"),
		getGroup: op("get", "/scim/v2/Groups/{id}"),
		replaceGroup: op("put", "/scim/v2/Groups/{id}"),
		patchGroup: op("patch", "/scim/v2/Groups/{id}"),
		deleteGroup: op("delete", "/scim/v2/Groups/{id}"),
		serviceProviderConfig: op("get", "/scim/v2/ServiceProviderConfig"),
		resourceTypes: op("get", "/scim/v2/ResourceTypes"),
		schemas: op("get", "/scim/v2/Schemas"),
	},
	serviceAccounts: {
		create: op("post", "/v1/accounts/{accountId}/service-accounts"),
		list: op("get", "/v1/accounts/{accountId}/service-accounts"),
		get: op("get", "/v1/accounts/{accountId}/service-accounts/{serviceAccountId}"),
		update: op("patch", "/v1/accounts/{accountId}/service-accounts/{serviceAccountId}"),
		delete: op("delete", "/v1/accounts/{accountId}/service-accounts/{serviceAccountId}"),
	},
	invitations: {
		create: op("post", "/v1/accounts/{accountId}/invitations"),
		list: op("get", "/v1/accounts/{accountId}/invitations"),
		cancel: op("delete", "/v1/accounts/{accountId}/invitations/{invitationId}"),
		preview: op("post", "/v1/invitations/preview"),
		accept: op("post", "/v1/invitations/accept"),
	},
	keys: {
		create: op("post", "/v1/accounts/{accountId}/keys"),
		list: op("get", "/v1/accounts/{accountId}/keys"),
		get: op("get", "/v1/accounts/{accountId}/keys/{keyId}"),
		update: op("patch", "/v1/accounts/{accountId}/keys/{keyId}"),
		rotate: op("post", "/v1/accounts/{accountId}/keys/{keyId}/rotate"),
		// API.md §5: revoking a revoked key answers the same, so a retry is harmless.
		revoke: op("post", "/v1/accounts/{accountId}/keys/{keyId}/revoke", true),
		revealSecret: op("post", "/v1/accounts/{accountId}/keys/{keyId}/reveal-secret"),
		// Not idempotent: every VALID verdict takes a slot of the key's rate limit.
		verify: op("post", "/v1/keys/verify"),
	},
	auditEvents: {
		list: op("get", "/v1/accounts/{accountId}/audit-events"),
		export: op("get", "/v1/accounts/{accountId}/audit-events/export"),
	},
	secretScanning: {
		github: op("post", "/v1/secret-scanning/github"),
	},
	webhooks: {
		create: op("post", "/v1/accounts/{accountId}/webhooks"),
		list: op("get", "/v1/accounts/{accountId}/webhooks"),
		delete: op("delete", "/v1/accounts/{accountId}/webhooks/{webhookId}"),
		deliveries: op("get", "/v1/accounts/{accountId}/webhooks/{webhookId}/deliveries"),
		get: op("get", "/v1/accounts/{accountId}/webhooks/{webhookId}"),
		update: op("patch", "/v1/accounts/{accountId}/webhooks/{webhookId}"),
		rotateSecret: op("post", "/v1/accounts/{accountId}/webhooks/{webhookId}/rotate-secret"),
		test: op("post", "/v1/accounts/{accountId}/webhooks/{webhookId}/test"),
		redeliver: op("post", "/v1/accounts/{accountId}/webhooks/{webhookId}/deliveries/{deliveryId}/redeliver"),
		events: op("get", "/v1/webhook-events"),
	},
	logStreams: {
		create: op("post", "/v1/accounts/{accountId}/log-streams"),
		list: op("get", "/v1/accounts/{accountId}/log-streams"),
		get: op("get", "/v1/accounts/{accountId}/log-streams/{streamId}"),
		update: op("patch", "/v1/accounts/{accountId}/log-streams/{streamId}"),
		delete: op("delete", "/v1/accounts/{accountId}/log-streams/{streamId}"),
	},
} as const;

export type Operations = typeof OPERATIONS;

// ---- The types a method takes and returns, read off the generated document.

type Operation<S> =
	S extends OperationSpec<infer P, infer M> ? (M extends keyof paths[P] ? paths[P][M] : never) : never;
type ParametersOf<O> = O extends { parameters: infer X } ? X : Record<never, never>;
type PathParamsOf<O> = ParametersOf<O> extends { path: infer X } ? X : unknown;
type QueryOf<O> =
	ParametersOf<O> extends { query: infer Q }
		? { query: Q }
		: "query" extends keyof ParametersOf<O>
			? { query?: NonNullable<ParametersOf<O>["query" & keyof ParametersOf<O>]> }
			: unknown;
/** A JSON body: `application/json`, or SCIM's `application/scim+json` (the same JSON; the client sends it as the former). */
type JsonOf<C> = C extends { "application/json": infer B }
	? B
	: C extends { "application/scim+json": infer B }
		? B
		: never;
type BodyOf<O> = O extends { requestBody: { content: infer C } }
	? [JsonOf<C>] extends [never]
		? unknown
		: { body: JsonOf<C> }
	: "requestBody" extends keyof O
		? {
				body?: NonNullable<O["requestBody" & keyof O]> extends { content: infer C } ? JsonOf<C> : never;
			}
		: unknown;
type ContentOf<R> = R extends { content: infer C }
	? [C] extends [never]
		? undefined
		: C extends { "application/json": infer T }
			? T
			: C extends { "application/scim+json": infer T }
				? T
				: C extends { "application/x-ndjson": infer T }
					? T
					: unknown
	: undefined;

/** Path parameters flattened, then `query` and `body` when the operation has them. */
export type InputOf<S> = PathParamsOf<Operation<S>> & QueryOf<Operation<S>> & BodyOf<Operation<S>>;
/** The body of the operation's success response (`undefined` for 202/204). */
export type OutputOf<S> =
	Operation<S> extends { responses: infer R } ? ContentOf<R[Extract<keyof R, 200 | 201 | 202 | 204>]> : never;
