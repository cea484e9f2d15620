/**
 * Where links in emails lead: `CONSOLE_URL`, which a deployment must set (the configuration guard
 * refuses to serve without it, so a link never takes its host from a request); in development,
 * when it is not set, this Worker's own `/console`. Links carry single-use tokens; the console moves a token out of the URL
 * into an HttpOnly cookie on arrival (src/console/pages/email-links.tsx).
 */
export function consoleUrl(env: { CONSOLE_URL?: string }, requestUrl: string): string {
	const configured = env.CONSOLE_URL?.trim();
	return (configured || `${new URL(requestUrl).origin}/console`).replace(/\/+$/, "");
}
