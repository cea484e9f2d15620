#!/usr/bin/env node
/**
 * Puts the API reference's viewer (Scalar's standalone bundle, pinned in src/routes/docs.ts by
 * version and Subresource Integrity hash) where the Worker's build takes it in as a Data module:
 * dist/scalar/standalone.bin (git-ignored; run by `postinstall`). The Worker serves those bytes at
 * /docs/scalar-<version>.js, so the reference works offline and no CDN can change what runs.
 *
 * It takes only that one file from the package's tarball (`npm pack`, served from npm's cache when
 * it is there), not the package's dependency tree, which the bundle already contains; and it
 * refuses a file whose SHA-384 is not the pinned one, so the hash in the page and the bytes served
 * cannot disagree.
 *
 *   node scripts/scalar-asset.mjs           fetch if missing or wrong, then verify
 *   node scripts/scalar-asset.mjs --check   verify only (exit 1 when missing or wrong)
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const docs = readFileSync(new URL("../src/routes/docs.ts", import.meta.url), "utf8");
const version = /SCALAR_VERSION = "([^"]+)"/.exec(docs)?.[1];
const integrity = /SCALAR_SRI = "(sha384-[^"]+)"/.exec(docs)?.[1];
if (!version || !integrity) {
	console.error("scalar-asset: SCALAR_VERSION or SCALAR_SRI not found in src/routes/docs.ts");
	process.exit(1);
}
const target = new URL("../dist/scalar/standalone.bin", import.meta.url);
const ready = `scalar-asset: dist/scalar/standalone.bin is @scalar/api-reference@${version} (${integrity})`;
const sri = (bytes) => `sha384-${createHash("sha384").update(bytes).digest("base64")}`;
const good = () => existsSync(target) && sri(readFileSync(target)) === integrity;

if (process.argv.includes("--check")) {
	if (!good()) {
		console.error(`scalar-asset: ${target.pathname} is missing or not ${integrity}; run node scripts/scalar-asset.mjs`);
		process.exit(1);
	}
	console.log(ready);
	process.exit(0);
}

if (!good()) {
	const scratch = mkdtempSync(join(tmpdir(), "keyward-scalar-"));
	try {
		const packed = JSON.parse(
			execFileSync("npm", ["pack", `@scalar/api-reference@${version}`, "--json", "--prefer-offline"], {
				cwd: scratch,
				encoding: "utf8",
				stdio: ["ignore", "pipe", "pipe"],
			}),
		)[0].filename;
		execFileSync("tar", ["-xzf", packed, "package/dist/browser/standalone.js"], { cwd: scratch });
		const bytes = readFileSync(join(scratch, "package/dist/browser/standalone.js"));
		if (sri(bytes) !== integrity) {
			console.error(`scalar-asset: @scalar/api-reference@${version} is ${sri(bytes)}, not the pinned ${integrity}`);
			process.exit(1);
		}
		mkdirSync(new URL(".", target), { recursive: true });
		writeFileSync(target, bytes);
	} finally {
		rmSync(scratch, { recursive: true, force: true });
	}
}
console.log(ready);
