import { createRoute } from "@hono/zod-openapi";
import type { App } from "../platform/app-env";
import { jsonBody, jsonContent, problemResponses } from "../routes/openapi-shared";
import { VerifyBody, VerifyResponse } from "./schemas";
import { clientAddressFor, verifyApiKey } from "./verify";

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
	request: { body: jsonBody(VerifyBody) },
	responses: { 200: jsonContent(VerifyResponse, "The verdict"), ...problemResponses(400, 413, 415) },
});

export const registerVerify = (app: App) =>
	app.openapi(verifyRoute, async (c) => {
		const input = c.req.valid("json");
		const ip = clientAddressFor(input, c.req.header("CF-Connecting-IP") ?? null, c.get("principal"));
		const { body, headers, key } = await verifyApiKey(c.env, { ...input, ip }, c.get("services").clock.now());
		if (key) {
			// The request lands in the key's account trail, so `audit-events?keyId=` shows a key's use.
			const audit = c.get("audit");
			audit.accountId = key.accountId;
			audit.annotate({ keyId: key.keyId, verdict: key.code, decidedAt: key.decidedAt });
		}
		for (const [name, value] of Object.entries(headers)) c.header(name, value);
		return c.json(body, 200);
	});
