import { apiKey } from "@better-auth/api-key";
import { betterAuth } from "better-auth";

/**
 * Better Auth with email/password and the API-key plugin, on the D1 binding passed straight
 * as `database` (Better Auth's Kysely adapter detects a D1 binding and uses its D1 dialect).
 * The plugin's per-key rate limiting is DISABLED (`rateLimit.enabled: false`), so /verify
 * measures the lookup and its bookkeeping only; Better Auth's own IP rate limiter is off too.
 */
export function createAuth(env: { DB: D1Database; BETTER_AUTH_SECRET: string }) {
	return betterAuth({
		database: env.DB,
		secret: env.BETTER_AUTH_SECRET,
		baseURL: "http://127.0.0.1:8811",
		emailAndPassword: { enabled: true },
		rateLimit: { enabled: false },
		telemetry: { enabled: false },
		plugins: [apiKey({ rateLimit: { enabled: false } })],
	});
}
