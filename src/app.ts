/**
 * The HTTP application. The order in which the middleware is composed below is
 * the order every request goes through; read it top to bottom.
 */

import { OpenAPIHono } from "@hono/zod-openapi";
import { except } from "hono/combine";
import { methodNotAllowed } from "hono/method-not-allowed";
import { registerInvitations } from "./accounts/invitations-routes";
import { registerLockdown } from "./accounts/lockdown-routes";
import { registerMembers } from "./accounts/members-routes";
import { registerAccounts } from "./accounts/routes";
import { registerSecurityReport } from "./accounts/security-report-routes";
import { registerServiceAccounts } from "./accounts/service-accounts-routes";
import { registerDevAudit } from "./audit/dev-routes";
import { registerAuditEvents } from "./audit/routes";
import { credentialAuthenticator } from "./auth/credential-authenticator";
import type { Authenticator } from "./auth/principal";
import { registerConsole } from "./console";
import { createDatabase } from "./db";
import { registerMeEmail } from "./identity/email-change-routes";
import { registerExport } from "./identity/export-routes";
import { registerMe } from "./identity/me-routes";
import { registerMeMfa } from "./identity/mfa-routes";
import { registerPasskeys } from "./identity/passkey-routes";
import { registerPasswordReset } from "./identity/password-reset-routes";
import { registerMeReauthenticate } from "./identity/reauthenticate-routes";
import { registerAuthMfa } from "./identity/second-factor-routes";
import { SESSION_COOKIE } from "./identity/sessions";
import { registerMeSessions } from "./identity/sessions-routes";
import { registerAuth } from "./identity/sign-in-routes";
import { registerKeys } from "./keys/routes";
import { registerSecretScanning } from "./keys/secret-scanning-route";
import { registerVerify } from "./keys/verify-route";
import { createMailer } from "./mail";
import { auditTrail } from "./middleware/audit-trail";
import { authenticate } from "./middleware/authenticate";
import { bodyLimit } from "./middleware/body-limit";
import { configGuard } from "./middleware/config-guard";
import { corsAllowlist } from "./middleware/cors-allowlist";
import { developmentOnly } from "./middleware/development-only";
import { httpsOnly } from "./middleware/https-only";
import { jsonBody } from "./middleware/json-body";
import { requestId } from "./middleware/request-id";
import { requestLog } from "./middleware/request-log";
import { sameOriginForms } from "./middleware/same-origin-forms";
import { securityHeaders } from "./middleware/security-headers";
import { services } from "./middleware/services";
import type { App, AppEnv, Services } from "./platform/app-env";
import { type Clock, systemClock } from "./platform/clock";
import type { Env } from "./platform/env";
import { registerErasure } from "./privacy/routes";
import { ApiError, asApiError, errorFrames, fieldErrorsFromZod, problemResponse, validationError } from "./problems";
import { registerDevObjects } from "./routes/dev-objects";
import { registerDevOutbox } from "./routes/dev-outbox";
import { registerDocs } from "./routes/docs";
import { registerHealth } from "./routes/health";
import { parseOriginList } from "./security/origin";
import { registerSsoConnections } from "./sso/connection-routes";
import { registerDomains } from "./sso/domains-routes";
import { registerSaml } from "./sso/saml-routes";
import { registerScimDiscovery } from "./sso/scim-discovery";
import { scimErrors } from "./sso/scim-errors";
import { registerScim } from "./sso/scim-routes";
import { registerSsoSignIn } from "./sso/sign-in-routes";
import { registerLogStreams } from "./streams/routes";
import { registerWebhookCatalogue } from "./webhooks/catalogue-routes";
import { registerWebhookDeliveries } from "./webhooks/delivery-routes";
import { registerWebhooks } from "./webhooks/routes";

export type { App };

export const MAX_BODY_BYTES = 64 * 1024;
/** 500 reports of the longest token and URL the route takes (about 3 KiB each) fit. */
export const SECRET_SCANNING_MAX_BODY_BYTES = 2 * 1024 * 1024;
/** Where SAML providers post assertions (src/sso/saml-routes.ts), and how large a post may be. */
const SAML_ACS = "/v1/auth/sso/saml/:connectionId/acs";
export const SAML_ACS_MAX_BODY_BYTES = 512 * 1024;

export interface AppOptions {
	clock?: Clock;
	/** Replaces the services built from the bindings (tests inject a mailer or clock here). */
	services?: (env: Env) => Services;
	log?: (line: string) => void;
	/** Resolves credentials to a principal; sessions and API keys plug in here. */
	authenticate?: Authenticator;
	/** The outside world's fetch; tests point it at a fake service. */
	fetch?: typeof fetch;
}

export function defaultServices(
	clock: Clock,
	outbound: typeof fetch = (input, init) => fetch(input, init),
): (env: Env) => Services {
	return (env) => {
		const db = createDatabase(env.DB);
		return { db, clock, mailer: createMailer(env, db, clock), fetch: outbound };
	};
}

export function createApp(options: AppOptions = {}): App {
	const clock = options.clock ?? systemClock;
	const log = options.log ?? ((line: string) => console.log(line));

	const app: App = new OpenAPIHono<AppEnv>({
		// Every validation failure, whatever its source, becomes one 400 problem naming each bad field.
		defaultHook: (result) => {
			if (!result.success) throw validationError(fieldErrorsFromZod(result.error.issues));
		},
	});

	app.use(requestId());
	app.use("/scim/*", scimErrors()); // SCIM answers every error in its own schema, whoever raised it
	app.use(requestLog({ write: log }));
	app.use(securityHeaders({ credentialCookies: [SESSION_COOKIE] }));
	app.use(services(options.services ?? defaultServices(clock, options.fetch)));
	app.use(auditTrail({ log })); // outside every refusal below, so each request is audited once
	app.use(methodNotAllowed({ app, onMethodNotAllowed: methodNotAllowedProblem }));
	app.use("/v1/dev/*", developmentOnly()); // every method, so no 405 hints that they exist
	app.use(configGuard({ log }));
	app.use(httpsOnly());
	app.use(corsAllowlist({ origins: (env) => parseOriginList((env as Env).CORS_ORIGINS) }));
	// GitHub sends a batch of reports as one body, and resends it whole: a limit it can exceed would refuse the
	// same batch forever, so its route has a larger one.
	app.use(except(["/v1/secret-scanning/*", SAML_ACS], bodyLimit({ maxBytes: MAX_BODY_BYTES })));
	app.use("/v1/secret-scanning/*", bodyLimit({ maxBytes: SECRET_SCANNING_MAX_BODY_BYTES }));
	// A SAML assertion with many groups outgrows the JSON limit; the route decodes at most MAX_RESPONSE_BYTES.
	app.use(SAML_ACS, bodyLimit({ maxBytes: SAML_ACS_MAX_BODY_BYTES }));
	// The console's HTML forms and a SAML provider's auto-posted form send url-encoded bodies.
	app.use(except(["/console/*", SAML_ACS], jsonBody()));
	app.use("/console/*", sameOriginForms({ allowedOrigins: (env) => parseOriginList((env as Env).CORS_ORIGINS) }));
	app.use(authenticate(options.authenticate ?? credentialAuthenticator));

	registerHealth(app);
	registerDevOutbox(app);
	registerDevAudit(app);
	registerDevObjects(app);
	registerDocs(app);
	registerAuth(app);
	registerAuthMfa(app);
	registerPasskeys(app);
	registerPasswordReset(app);
	registerMe(app);
	registerMeMfa(app);
	registerMeReauthenticate(app);
	registerMeEmail(app);
	registerMeSessions(app);
	registerAccounts(app);
	registerMembers(app);
	registerServiceAccounts(app);
	registerInvitations(app);
	registerKeys(app);
	registerVerify(app);
	registerAuditEvents(app);
	registerWebhooks(app);
	registerLogStreams(app);
	registerExport(app);
	registerErasure(app);
	registerWebhookDeliveries(app);
	registerWebhookCatalogue(app);
	registerSecretScanning(app);
	registerSecurityReport(app);
	registerLockdown(app);
	registerDomains(app);
	registerScim(app);
	registerScimDiscovery(app);
	registerSsoConnections(app);
	registerSsoSignIn(app);
	registerSaml(app);
	registerConsole(app);

	app.notFound((c) => problemResponse(new ApiError("not-found", { detail: "No such route" }), c.get("requestId")));
	app.onError((err, c) => {
		const problem = asApiError(err);
		if (problem.status >= 500) {
			log(
				JSON.stringify({
					level: "error",
					msg: "unhandled error",
					requestId: c.get("requestId"),
					error: errorFrames(err),
				}),
			);
		}
		return problemResponse(problem, c.get("requestId"));
	});
	return app;
}

function methodNotAllowedProblem(c: { get(key: "requestId"): string }, methods: string[]): Response {
	return problemResponse(
		new ApiError("method-not-allowed", {
			detail: `Allowed: ${methods.join(", ")}`,
			headers: { Allow: methods.join(", ") },
		}),
		c.get("requestId"),
	);
}
