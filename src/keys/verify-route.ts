import { createRoute } from "@hono/zod-openapi";
import type { App } from "../platform/app-env";
import { optionalCredential } from "../routes/openapi-security";
import { jsonBody, jsonContent, problemResponses } from "../routes/openapi-shared";
import { VerifyBody, VerifyResponse } from "./schemas";
import { clientAddressFor, guardRegionFor, verifyApiKey } from "./verify";

export const verifyRoute = createRoute({
	method: "post",
	path: "/v1/keys/verify",
	tags: ["API keys"],
	summary: "Check a key presented to your service; 200 for every outcome",
	description:
		"Needs no credential. Rate-limit headers of the key's limit are sent only with `VALID` and `RATE_LIMITED`. " +
		"The body's `ip` is honoured only when the caller sends, as `Authorization: Bearer`, a key of the same " +
		"account with the reserved `keys:verify` scope (a root key of your service; its creator must be an admin " +
		"or the owner), or calls through the service binding; otherwise the key's IP allowlist is checked " +
		"against the address the request comes from.",
	// Anonymous, or a root key with `keys:verify` vouching for the body's `ip`: the credential is optional.
	security: optionalCredential("bearerAuth"),
	request: { body: jsonBody(VerifyBody) },
	responses: { 200: jsonContent(VerifyResponse, "The verdict"), ...problemResponses(400, 413, 415) },
});

export const registerVerify = (app: App) =>
	app.openapi(verifyRoute, async (c) => {
		const input = c.req.valid("json");
		const ip = clientAddressFor(input, c.req.header("CF-Connecting-IP") ?? null, c.get("principal"));
		const audit = c.get("audit");
		// The request's event, drafted here and completed and stored by the key's account object in the
		// verify call itself: no send from this Worker. A key the object does not hold stores nothing,
		// and the middleware records the request in the system stream as for any other.
		const draft = audit.draft({
			action: "http.request",
			metadata: { method: c.req.method, route: verifyRoute.path, path: c.req.path, status: 200 },
		});
		const { body, headers, key, recorded } = await verifyApiKey(
			c.env,
			{ ...input, ip },
			c.get("services").clock.now(),
			draft,
			guardRegionFor(c.req.raw.cf, c.env),
		);
		if (key) {
			// Had the object not stored it, the request still lands in the key's account trail.
			audit.accountId = key.accountId;
			audit.annotate({ keyId: key.keyId, verdict: key.code, decidedAt: key.decidedAt });
		}
		audit.requestEventStored = recorded;
		for (const [name, value] of Object.entries(headers)) c.header(name, value);
		return c.json(body, 200);
	});
