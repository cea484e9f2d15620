import scalarBundle from "../../dist/scalar/standalone.bin";
import type { App } from "../platform/app-env";
import { SECURITY_SCHEMES, withSecurity } from "./openapi-security";
import { withSharedResponses } from "./openapi-shared";

/**
 * The interactive reference is Scalar's standalone bundle, a Data module of this Worker
 * (`dist/scalar/standalone.bin`, put there by `scripts/scalar-asset.mjs` at install, which refuses
 * any other bytes), served at {@link SCALAR_SRC} and loaded with its Subresource Integrity hash. So
 * `/docs` works offline and no CDN is trusted. It is not a static asset: a Worker with assets has
 * the platform's asset router in front of every request, which cost /health about a fifth of its
 * throughput (docs/PERFORMANCE.md); the bundle adds 1.2 MB (gzip) to the upload instead.
 * Scalar styles itself at run time, which is why style-src needs 'unsafe-inline'; scripts run only
 * with the per-response nonce. Its web fonts come from fonts.scalar.com when it is reachable;
 * offline the page falls back to system fonts.
 */
export const SCALAR_VERSION = "1.72.1";
export const SCALAR_SRC = `/docs/scalar-${SCALAR_VERSION}.js`;
export const SCALAR_SRI = "sha384-U11tb2XnKvmwt8RlTvnwUnYgrN+ur4Xyh9htLhjajWNR/Oyl5AX5DEz00qRmlrmK";

export const docsContentSecurityPolicy = (nonce: string): string =>
	[
		"default-src 'none'",
		`script-src 'nonce-${nonce}'`,
		"style-src 'unsafe-inline' https://fonts.scalar.com",
		"font-src https://fonts.scalar.com data:",
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
<script nonce="${nonce}">Scalar.createApiReference("#app", { url: "/v1/openapi.json", hideClientButton: false, authentication: { preferredSecurityScheme: "bearerAuth" } });</script>
</body>
</html>`;

export const OPENAPI_PATH = "/v1/openapi.json";

/** Routes that serve the documentation itself and so are not listed in it. */
export const UNDOCUMENTED_PATHS = new Set([OPENAPI_PATH, "/docs", SCALAR_SRC]);

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
	// The name carries the version, so the bytes under it never change: cacheable for a year, also
	// by a signed-in browser (the answer does not depend on who asks; see securityHeaders).
	app.get(SCALAR_SRC, (c) => {
		c.set("immutableAsset", true);
		return c.body(scalarBundle, 200, {
			"Content-Type": "text/javascript; charset=utf-8",
			"Cache-Control": "public, max-age=31536000, immutable",
		});
	});
	app.get("/docs", (c) => {
		const nonce = crypto.randomUUID().replaceAll("-", "");
		c.set("contentSecurityPolicy", docsContentSecurityPolicy(nonce));
		return c.html(docsPage(nonce));
	});
}
