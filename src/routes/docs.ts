import type { App } from "../platform/app-env";
import { SECURITY_SCHEMES, withSecurity } from "./openapi-security";
import { withSharedResponses } from "./openapi-shared";

/**
 * The interactive reference is Scalar's standalone bundle, pinned by version
 * and by Subresource Integrity hash, so a compromised CDN cannot run code on
 * this origin. Scalar styles itself at run time, which is why style-src needs
 * 'unsafe-inline'; scripts run only with the per-response nonce.
 */
export const SCALAR_VERSION = "1.72.1";
const SCALAR_SRC = `https://cdn.jsdelivr.net/npm/@scalar/api-reference@${SCALAR_VERSION}/dist/browser/standalone.js`;
const SCALAR_SRI = "sha384-U11tb2XnKvmwt8RlTvnwUnYgrN+ur4Xyh9htLhjajWNR/Oyl5AX5DEz00qRmlrmK";

export const docsContentSecurityPolicy = (nonce: string): string =>
	[
		"default-src 'none'",
		`script-src 'nonce-${nonce}' https://cdn.jsdelivr.net`,
		"style-src 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.scalar.com",
		"font-src https://fonts.scalar.com https://cdn.jsdelivr.net data:",
		"img-src 'self' data:",
		"connect-src 'self'",
		"frame-ancestors 'none'",
		"base-uri 'none'",
		"form-action 'none'",
	].join("; ");

const docsPage = (nonce: string): string => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Keyward API reference</title>
</head>
<body>
<div id="app"></div>
<script nonce="${nonce}" src="${SCALAR_SRC}" integrity="${SCALAR_SRI}" crossorigin="anonymous"></script>
<script nonce="${nonce}">Scalar.createApiReference("#app", { url: "/v1/openapi.json", hideClientButton: false });</script>
</body>
</html>`;

export const OPENAPI_PATH = "/v1/openapi.json";

/** Routes that serve the documentation itself and so are not listed in it. */
export const UNDOCUMENTED_PATHS = new Set([OPENAPI_PATH, "/docs"]);

export function registerDocs(app: App) {
	for (const [name, scheme] of Object.entries(SECURITY_SCHEMES))
		app.openAPIRegistry.registerComponent("securitySchemes", name, scheme);
	app.get(OPENAPI_PATH, (c) =>
		c.json(
			withSecurity(
				withSharedResponses(
					app.getOpenAPI31Document({
						openapi: "3.1.0",
						info: {
							title: "Keyward API",
							version: "1.0.0",
							description:
								"Accounts, members, sessions, two-factor, scoped API keys, verify, audit and incident response. " +
								"Errors are RFC 9457 problems (application/problem+json).",
						},
						servers: [{ url: new URL(c.req.url).origin }],
					}),
				),
				app.routes,
			),
		),
	);
	app.get("/docs", (c) => {
		const nonce = crypto.randomUUID().replaceAll("-", "");
		c.set("contentSecurityPolicy", docsContentSecurityPolicy(nonce));
		return c.html(docsPage(nonce));
	});
}
