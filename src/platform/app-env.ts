import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AuditLog } from "../audit/emitter";
import type { Principal } from "../auth/principal";
import type { Database } from "../db";
import type { MembershipView, UserRow } from "../identity/users";
import type { Mailer } from "../mail";
import type { CredentialProblem } from "../problems";
import type { Clock } from "./clock";
import type { Env } from "./env";

/** Shared services handed to every route through the context, never imported as singletons. */
export interface Services {
	db: Database;
	mailer: Mailer;
	clock: Clock;
	/** The outside world's fetch (the breached-password range API); tests put a fake service here. */
	fetch: typeof fetch;
}

export interface AppEnv {
	Bindings: Env;
	Variables: {
		requestId: string;
		services: Services;
		/** This request's audit events; `http.request` is added when the response is done. */
		audit: AuditLog;
		/** The authenticated caller, or null. */
		principal: Principal | null;
		/**
		 * The signed-in person's row and memberships as the session authenticator read them (session
		 * callers only), so a route reuses them instead of reading them again in the same request.
		 */
		sessionUser?: { user: UserRow; memberships: MembershipView[] };
		/** Why a credential that was sent did not authenticate (a 401's `code`); unset when none was sent. */
		credentialProblem?: CredentialProblem;
		/** A route that serves HTML sets its own Content-Security-Policy here. */
		contentSecurityPolicy?: string;
		/**
		 * Set by a route whose answer is the same bytes for everyone (a versioned file), so its own
		 * Cache-Control stands even when the request carried a credential.
		 */
		immutableAsset?: boolean;
	};
}

/** The application every route registers on (built in `src/app.ts`, the composition root). */
export type App = OpenAPIHono<AppEnv>;
