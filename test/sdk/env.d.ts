import type { KeywardVerifier } from "../../src/entrypoint";

declare global {
	namespace Cloudflare {
		interface Env {
			/** vitest.config.ts: a service binding to this Worker's `KeywardVerifier` entrypoint. */
			KEYWARD: Service<KeywardVerifier>;
		}
	}
}
