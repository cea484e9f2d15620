import type { D1Migration } from "cloudflare:test";
import type { Env as KeywardEnv } from "../src/platform/env";

declare global {
	namespace Cloudflare {
		interface Env extends KeywardEnv {
			TEST_MIGRATIONS: D1Migration[];
			/** Fuzzing: runs per route and seed (`npm run fuzz` sets them; `npm test` uses a fixed slice). */
			FUZZ_RUNS: string;
			FUZZ_SEED: string;
			/** Non-empty: the global simulation prints its figures (`npm run sim`). */
			SIM_REPORT: string;
		}
	}
}
