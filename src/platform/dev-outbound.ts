/**
 * Outbound requests in development (DEV_OUTBOUND_ALIASES, see `env.ts`): a
 * request to an aliased host name goes to the local origin it names, path and
 * query kept. Staging and production get the platform's fetch, whatever the
 * variable says, so no deployed Worker can be pointed at loopback this way.
 */
import { type Env, isDevelopment } from "./env";

export function outboundFetch(env: Pick<Env, "ENVIRONMENT" | "DEV_OUTBOUND_ALIASES">): typeof fetch | undefined {
	if (!isDevelopment(env) || !env.DEV_OUTBOUND_ALIASES) return undefined;
	const aliases = new Map(
		env.DEV_OUTBOUND_ALIASES.split(",")
			.map((pair) => pair.trim().split("=") as [string, string])
			.filter(([name, origin]) => name && origin),
	);
	return (input, init) => {
		const request = new Request(input, init);
		const url = new URL(request.url);
		const origin = aliases.get(url.hostname);
		if (!origin) return fetch(request);
		return fetch(new Request(`${origin}${url.pathname}${url.search}`, request));
	};
}
