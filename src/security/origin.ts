/**
 * Where a request comes from, for the checks that refuse cross-site writes:
 * the CORS allowlist, the console's form posts and cookie-authenticated API
 * calls all read these two functions.
 */

/** `ALLOWED_ORIGINS`-style configuration: comma-separated exact origins, blanks dropped. */
export const parseOriginList = (value: string | undefined): string[] =>
	(value ?? "")
		.split(",")
		.map((s) => s.trim())
		.filter((s) => s.length > 0);

/**
 * Whether an unsafe request comes from this site: its `Origin` is this site
 * or an allowed one. Under `Referrer-Policy: no-referrer` (API.md §1) a
 * browser's own form post carries `Origin: null`; then `Sec-Fetch-Site`
 * (which no page script can set) must say `same-origin`.
 */
export function fromOwnSite(
	headers: { header(name: string): string | undefined },
	url: string,
	allowed: string[],
): boolean {
	const origin = headers.header("Origin");
	if (origin && origin !== "null") return origin === new URL(url).origin || allowed.includes(origin);
	return headers.header("Sec-Fetch-Site") === "same-origin";
}
