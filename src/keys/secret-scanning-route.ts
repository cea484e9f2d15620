/**
 * `POST /v1/secret-scanning/github` (issue #24): GitHub's secret-scanning
 * partner endpoint. The signature is checked on the raw bytes before anything
 * is parsed (the route's middleware runs before its body validator, which then
 * reads the same bytes); the tokens are then handled by `keys/leaks.ts`.
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { raiseAlertFrom } from "../alerts/raise";
import type { App, AppEnv } from "../platform/app-env";
import { ApiError } from "../problems";
import { jsonBody, jsonContent, problemResponses } from "../routes/openapi-shared";
import { verifyGithubSignature } from "../security/github-signature";
import { handleLeakReports } from "./leaks";

const Report = z
	.object({
		token: z.string().min(1).max(1000).openapi({
			description: "The string GitHub found (it matched Keyward's key pattern)",
			example: "kw_live_mfrggzdfmztwq2lkAbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefg1a2B3c",
		}),
		type: z.string().min(1).max(100).openapi({ description: "The pattern's name", example: "keyward_api_key" }),
		url: z.string().max(2048).openapi({
			description: "Where it was found, publicly",
			example: "https://github.com/octocat/hello/blob/0123abc/config.js",
		}),
		source: z.string().max(100).optional().openapi({ description: "What kind of place", example: "content" }),
	})
	.openapi({ description: "One token GitHub found" });

const Reports = z.array(Report).min(1).max(500).openapi({ description: "The tokens of this report, 1 to 500" });

const Verdict = z
	.object({
		token_hash: z.string().openapi({
			description: "SHA-256 (hex) of the token: the token itself is never sent back",
			example: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		}),
		token_type: z.string().openapi({ description: "The report's `type`", example: "keyward_api_key" }),
		label: z.enum(["true_positive", "false_positive"]).openapi({
			description: "`true_positive`: a Keyward key (now revoked, if it was live); `false_positive`: not one",
			example: "true_positive",
		}),
	})
	.openapi("SecretScanningVerdict", { description: "Keyward's answer about one reported token" });

/** Refuses a report whose GitHub signature does not verify, before its body is parsed. */
const githubSigned: MiddlewareHandler<AppEnv> = async (c, next) => {
	const body = new Uint8Array(await c.req.arrayBuffer());
	const verified = await verifyGithubSignature(
		{
			pinned: c.env.GITHUB_SECRET_SCANNING_KEYS,
			url: c.env.GITHUB_SECRET_SCANNING_KEYS_URL,
			now: c.get("services").clock.now().getTime(),
		},
		c.req.header("Github-Public-Key-Identifier"),
		c.req.header("Github-Public-Key-Signature"),
		body,
	).catch(() => {
		// The key list could not be fetched: GitHub retries a report that failed.
		throw new ApiError("service-unavailable", { detail: "GitHub's signing keys could not be read; retry later" });
	});
	if (!verified) throw new ApiError("unauthorized", { detail: "The report's GitHub signature does not verify" });
	await next();
};

export const githubSecretScanningRoute = createRoute({
	method: "post",
	path: "/v1/secret-scanning/github",
	tags: ["Keys"],
	summary:
		"GitHub secret scanning reports Keyward keys found in public; each live one is revoked (signed by GitHub, no credential)",
	description:
		"GitHub's secret-scanning partner protocol. The body must carry `Github-Public-Key-Identifier` and " +
		"`Github-Public-Key-Signature` (ECDSA P-256, SHA-256, over the raw body) made with a key GitHub publishes. " +
		"A token that is a Keyward key is revoked (`key.revoked`, `alert.key_leaked`); any other leaves only a count.",
	security: [],
	middleware: [githubSigned] as const,
	request: { body: jsonBody(Reports) },
	responses: {
		200: jsonContent(z.array(Verdict), "One verdict per reported token, in order"),
		...problemResponses(400, 401, 413, 415, 503),
	},
});

export function registerSecretScanning(app: App) {
	app.openapi(githubSecretScanningRoute, async (c) => {
		const { db, clock } = c.get("services");
		const verdicts = await handleLeakReports(
			{
				env: c.env,
				db,
				now: clock.now(),
				record: (input) => c.get("audit").record(input),
				alert: (alert) => raiseAlertFrom(c, alert),
			},
			c.req.valid("json"),
		);
		return c.json(verdicts, 200);
	});
}
