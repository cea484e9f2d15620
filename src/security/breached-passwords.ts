/**
 * Breached-password check (ASVS 6.2.12) against a Have I Been Pwned style
 * range API, with k-anonymity: only the first 5 hex digits of the password's
 * SHA-1 leave the Worker, and the request asks for padding (`Add-Padding:
 * true`) so the answer's size does not tell which prefix bucket was hit. The
 * service answers every suffix in the bucket with its count; padded entries
 * have a count of 0 and mean nothing. The password is checked in the one
 * normalised form it is hashed and compared in (NFKC), so a full-width or
 * decomposed spelling of a breached password is the breached password.
 */
import { normalizePassword } from "./password-policy";

export interface BreachCheckConfig {
	/** The range endpoint; the 5-character prefix is appended (`https://api.pwnedpasswords.com/range/`). */
	url: string;
	timeoutMs: number;
	/** When the service cannot answer: accept the password (logged and audited) or refuse with 503. */
	failOpen: boolean;
}

export type BreachVerdict =
	| { status: "breached"; count: number }
	| { status: "clean" }
	| { status: "unknown"; reason: "timeout" | "unavailable" | "malformed" };

const hex = (bytes: ArrayBuffer) =>
	[...new Uint8Array(bytes)]
		.map((b) => b.toString(16).padStart(2, "0"))
		.join("")
		.toUpperCase();

export async function checkBreached(
	password: string,
	config: BreachCheckConfig,
	fetcher: typeof fetch,
): Promise<BreachVerdict> {
	const sha1 = hex(await crypto.subtle.digest("SHA-1", new TextEncoder().encode(normalizePassword(password))));
	const prefix = sha1.slice(0, 5);
	const suffix = sha1.slice(5);
	let text: string;
	try {
		const res = await fetcher(`${config.url}${prefix}`, {
			headers: { "Add-Padding": "true", "User-Agent": "keyward-breach-check" },
			redirect: "manual",
			signal: AbortSignal.timeout(config.timeoutMs),
		});
		if (!res.ok) return { status: "unknown", reason: "unavailable" };
		text = await res.text();
	} catch (err) {
		const timedOut = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
		return { status: "unknown", reason: timedOut ? "timeout" : "unavailable" };
	}
	for (const line of text.split("\n")) {
		const [candidate, count] = line.trim().split(":");
		if (!candidate || count === undefined) continue;
		if (!/^[0-9A-F]{35}$/i.test(candidate)) return { status: "unknown", reason: "malformed" };
		if (candidate.toUpperCase() === suffix) {
			const n = Number(count);
			return n > 0 ? { status: "breached", count: n } : { status: "clean" };
		}
	}
	return { status: "clean" };
}

/**
 * The configuration from the environment, or null when the check is off. Deployments check
 * against the public service by default; local development only when a URL is configured.
 */
export function breachCheckConfig(env: {
	ENVIRONMENT: string;
	BREACHED_PASSWORDS_URL?: string;
	BREACHED_PASSWORDS_TIMEOUT_MS?: string;
	BREACHED_PASSWORDS_ON_ERROR?: string;
}): BreachCheckConfig | null {
	const configured = env.BREACHED_PASSWORDS_URL?.trim();
	if (configured === "off") return null;
	const url = configured || (env.ENVIRONMENT === "development" ? "" : "https://api.pwnedpasswords.com/range/");
	if (!url) return null;
	const timeout = Number(env.BREACHED_PASSWORDS_TIMEOUT_MS);
	return {
		url,
		timeoutMs: Number.isInteger(timeout) && timeout > 0 ? timeout : 1000,
		failOpen: env.BREACHED_PASSWORDS_ON_ERROR !== "refuse",
	};
}
