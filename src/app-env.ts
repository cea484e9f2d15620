import type { Clock } from "./clock";
import type { Database } from "./db";
import type { Env } from "./env";
import type { Mailer } from "./mail";

/** Shared services handed to every route through the context, never imported as singletons. */
export interface Services {
	db: Database;
	mailer: Mailer;
	clock: Clock;
}

export interface AppEnv {
	Bindings: Env;
	Variables: {
		requestId: string;
		services: Services;
		/** A route that serves HTML sets its own Content-Security-Policy here. */
		contentSecurityPolicy?: string;
	};
}
