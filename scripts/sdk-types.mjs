// npm run sdk:types   regenerate sdk/src/schema.d.ts from sdk/openapi.json
// npm run sdk:check   fail if sdk/src/schema.d.ts is not what sdk/openapi.json generates
//
// sdk/openapi.json is the app's own /v1/openapi.json, written by
// test/sdk/openapi-document.test.ts (a file snapshot: `vitest run` fails when
// the app's document and the checked-in copy differ), so the chain
// app → document → SDK types is checked end to end and the client cannot drift.
//
// openapi-typescript is pinned to 6.x: 7.x prints through the TypeScript 5
// compiler API (a peer dependency), which this project's TypeScript 7 does not
// provide; 6.x generates the same `paths`/`components` types without it.
import { readFileSync, writeFileSync } from "node:fs";
import openapiTS from "openapi-typescript";

const DOCUMENT = "sdk/openapi.json";
const TYPES = "sdk/src/schema.d.ts";
const HEADER = `/**
 * The Keyward API's types, generated from ${DOCUMENT} by \`npm run sdk:types\`.
 * Do not edit: \`npm test\` fails when this file is stale.
 */

`;

const generated = HEADER + (await openapiTS(JSON.parse(readFileSync(DOCUMENT, "utf8")), { commentHeader: "" }));

if (process.argv.includes("--check")) {
	let current = "";
	try {
		current = readFileSync(TYPES, "utf8");
	} catch {}
	if (current !== generated) {
		console.error(`${TYPES} is stale: run \`npm run sdk:types\` and commit the result.`);
		process.exit(1);
	}
	console.log(`${TYPES} matches ${DOCUMENT}.`);
} else {
	writeFileSync(TYPES, generated);
	console.log(`wrote ${TYPES}`);
}
