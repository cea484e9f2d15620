import { createRoute } from "@hono/zod-openapi";
import type { App } from "../app";
import { verifyApiKey } from "../keys/verify";
import { VerifyBody, VerifyResponse } from "./key-schemas";
import { jsonBody, jsonContent, problemResponses } from "./openapi-shared";

export const verifyRoute = createRoute({
	method: "post",
	path: "/v1/keys/verify",
	tags: ["API keys"],
	summary: "Check a key presented to your service; 200 for every outcome, with the key's rate-limit headers",
	request: { body: jsonBody(VerifyBody) },
	responses: { 200: jsonContent(VerifyResponse, "The verdict"), ...problemResponses(400, 413, 415) },
});

export const registerVerify = (app: App) =>
	app.openapi(verifyRoute, async (c) => {
		const { body, headers, key } = await verifyApiKey(c.env, c.req.valid("json"), c.get("services").clock.now());
		if (key) {
			// The request lands in the key's account trail, so `audit-events?keyId=` shows a key's use.
			const audit = c.get("audit");
			audit.accountId = key.accountId;
			audit.annotate({ keyId: key.keyId, verdict: key.code, decidedAt: key.decidedAt });
		}
		for (const [name, value] of Object.entries(headers)) c.header(name, value);
		return c.json(body, 200);
	});
