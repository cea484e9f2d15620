/**
 * TXT look-ups over DNS over HTTPS, in the JSON form Cloudflare and Google
 * answer (`application/dns-json`): a Worker has no resolver of its own. The
 * resolver is the deployment's choice (`DOH_RESOLVER_URL`), never a caller's,
 * and must be HTTPS outside development; tests point it at a fake.
 */
import { type Env, isDevelopment } from "../platform/env";

export const DEFAULT_DOH_RESOLVER = "https://cloudflare-dns.com/dns-query";
const TIMEOUT_MS = 5_000;

/** DNS RCODEs (RFC 1035 §4.1.1): NOERROR and NXDOMAIN are answers; anything else is the resolver failing. */
const NOERROR = 0;
const NXDOMAIN = 3;
const TXT = 16;

export type TxtAnswer = { records: string[] } | { unavailable: string };

export function resolverUrl(env: Pick<Env, "DOH_RESOLVER_URL" | "ENVIRONMENT">): string | null {
	const configured = env.DOH_RESOLVER_URL?.trim() || DEFAULT_DOH_RESOLVER;
	try {
		const url = new URL(configured);
		if (url.protocol === "https:" || (url.protocol === "http:" && isDevelopment(env))) return url.toString();
	} catch {}
	return null;
}

/** The data of a TXT answer: one or more quoted character-strings, joined (RFC 7208 §3.3), unescaped. */
export function txtData(data: string): string {
	const parts = [...data.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1] ?? "");
	const joined = parts.length > 0 ? parts.join("") : data;
	return joined.replace(/\\(\d{3}|.)/g, (_, c: string) => (c.length === 3 ? String.fromCharCode(Number(c)) : c));
}

/** The TXT records at `name`; an NXDOMAIN is none. */
export async function lookupTxt(
	outbound: typeof fetch,
	env: Pick<Env, "DOH_RESOLVER_URL" | "ENVIRONMENT">,
	name: string,
): Promise<TxtAnswer> {
	const resolver = resolverUrl(env);
	if (!resolver) return { unavailable: "DOH_RESOLVER_URL is not an https URL" };
	const url = new URL(resolver);
	url.searchParams.set("name", name);
	url.searchParams.set("type", "TXT");
	let body: { Status?: unknown; Answer?: unknown };
	try {
		// workerd implements only "follow" and "manual": a redirect is not followed, and counts as no answer.
		const res = await outbound(url, {
			headers: { Accept: "application/dns-json" },
			signal: AbortSignal.timeout(TIMEOUT_MS),
			redirect: "manual",
		});
		if (!res.ok) return { unavailable: `the resolver answered ${res.status}` };
		body = (await res.json()) as typeof body;
	} catch {
		return { unavailable: "the resolver did not answer" };
	}
	if (body.Status === NXDOMAIN) return { records: [] };
	if (body.Status !== NOERROR) return { unavailable: "the resolver could not resolve the name" };
	const answers = Array.isArray(body.Answer) ? body.Answer : [];
	return {
		records: answers
			.filter((a): a is { type: number; data: string } => a?.type === TXT && typeof a?.data === "string")
			.map((a) => txtData(a.data)),
	};
}
