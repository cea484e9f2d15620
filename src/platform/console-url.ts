/**
 * Where links in emails lead: `CONSOLE_URL` when it is set (a console on its own host), else this
 * Worker's own `/console`. Links carry single-use tokens; the console moves a token out of the URL
 * into an HttpOnly cookie on arrival (src/console/pages/email-links.tsx).
 */
export function consoleUrl(env: { CONSOLE_URL?: string }, requestUrl: string): string {
	const configured = env.CONSOLE_URL?.trim();
	return (configured || `${new URL(requestUrl).origin}/console`).replace(/\/+$/, "");
}
