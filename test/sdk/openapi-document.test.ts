/**
 * Keeps the SDK from drifting from the API. The app's own /v1/openapi.json
 * must equal sdk/openapi.json, the input of the generated types (`npm run
 * sdk:types` rewrites both; `npm run sdk:check` then holds the types to it);
 * and the client must have exactly one method per operation of the document.
 */
import { describe, expect, it } from "vitest";
import { OPERATIONS } from "../../sdk/src/index.js";
import { testApp } from "../support/app";

const doc = await (await testApp().request("/v1/openapi.json")).json<{
	servers?: unknown;
	paths: Record<string, Record<string, unknown>>;
}>();

describe("the SDK and the OpenAPI document", () => {
	it("sdk/openapi.json is the app's current document (else run `npm run sdk:types`)", async () => {
		// The server URL is the requester's origin, not part of the API.
		const { servers: _, ...document } = doc;
		await expect(`${JSON.stringify(document, null, "\t")}\n`).toMatchFileSnapshot("../../sdk/openapi.json");
	});

	it("the client has one method for every operation, and none for a route that does not exist", () => {
		const documented = Object.entries(doc.paths)
			.flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`))
			.sort();
		const specs = Object.values(OPERATIONS).flatMap((group) => Object.values(group));
		const client = specs.map((spec) => `${spec.method.toUpperCase()} ${spec.path}`).sort();
		expect(client).toEqual(documented);
	});

	it("retries only what is safe to repeat: GET, PUT, DELETE, and the revoke the contract calls idempotent", () => {
		const retried = Object.entries(OPERATIONS).flatMap(([group, ops]) =>
			Object.entries(ops)
				.filter(([, spec]) => spec.idempotent && spec.method === "post")
				.map(([name]) => `${group}.${name}`),
		);
		expect(retried).toEqual(["keys.revoke"]);
		expect(OPERATIONS.keys.verify.idempotent).toBe(false);
	});
});
