import { env } from "cloudflare:test";
import { type GuardRegion, regionalGuard } from "../../src/durable/address";
import type { TestApp } from "./app";
import { jsonRequest } from "./request";

/**
 * Verify through the route with these Worker variables (e.g. `DEV_VERIFY_REGIONS`), one at a time or
 * in waves of `parallel`; `codes` gives each answer's code in order of the waves.
 */
export function verifier(t: TestApp, vars: Record<string, string> = {}) {
	const verify = async (secret: string) =>
		(await t.request("/v1/keys/verify", jsonRequest("POST", { key: secret }), vars)).json<{ code: string }>();
	const codes = async (secret: string, n: number, parallel = 1) => {
		const out: string[] = [];
		for (let i = 0; i < n; i += parallel)
			out.push(
				...(await Promise.all(Array.from({ length: Math.min(parallel, n - i) }, () => verify(secret)))).map(
					(v) => v.code,
				),
			);
		return out;
	};
	return { verify, codes };
}

/** How many verifies the account's guards in `regions` answered on their own (the local stack's two by default). */
export async function answeredByGuards(accountId: string, regions: GuardRegion[] = ["weur", "apac"]): Promise<number> {
	const stats = await Promise.all(regions.map((region) => regionalGuard(env, accountId, region).stats()));
	return stats.reduce((n, s) => n + s.answered.here, 0);
}
