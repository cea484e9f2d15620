// npm run sdk:install-check: docs/SDK.md's install steps, run as written.
//
// Packs sdk/ (its `prepack` builds dist/), installs the tarball and Hono into a
// scratch project outside this repository, imports every entry point the
// package exports, checks each export's declared types exist, and protects a
// Hono route with the middleware: no key is 401, a good key reaches the
// handler, a missing binding is 503 with a log line that says what to check.
// Fails (exit 1) on any difference, so the guide cannot rot.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = process.cwd();
const sdk = JSON.parse(readFileSync(join(root, "sdk/package.json"), "utf8"));
const hono = JSON.parse(readFileSync(join(root, "node_modules/hono/package.json"), "utf8")).version;
const scratch = mkdtempSync(join(tmpdir(), "keyward-sdk-"));
const project = join(scratch, "your-project");
const npm = (cwd, ...args) =>
	execFileSync("npm", args, {
		cwd,
		encoding: "utf8",
		stdio: ["ignore", "pipe", "pipe"],
		env: { ...process.env, npm_config_loglevel: "error" },
	});

try {
	// docs/SDK.md, "1. Install", in Keyward's clone:
	npm(root, "pack", "./sdk", "--pack-destination", scratch);
	const tarball = `${sdk.name.replace("@", "").replace("/", "-")}-${sdk.version}.tgz`;
	if (!existsSync(join(scratch, tarball))) throw new Error(`npm pack wrote no ${tarball}`);

	// ... and in the project, beside the clone (hono pinned to this repo's version, so the npm cache serves it):
	mkdirSync(project);
	writeFileSync(join(project, "package.json"), JSON.stringify({ name: "your-project", private: true, type: "module" }));
	npm(project, "install", "--prefer-offline", "--no-audit", "--no-fund", `../${tarball}`, `hono@${hono}`);

	const installed = join(project, "node_modules", sdk.name);
	const missingTypes = Object.entries(sdk.exports)
		.filter(([, target]) => typeof target === "object" && !existsSync(join(installed, target.types)))
		.map(([entry]) => entry);
	if (missingTypes.length > 0) throw new Error(`no declared types in the tarball for ${missingTypes.join(", ")}`);

	const entries = Object.keys(sdk.exports).map((entry) => entry.replace(/^\./, sdk.name));
	writeFileSync(
		join(project, "check.mjs"),
		`
import assert from "node:assert/strict";
${entries.map((e, i) => `import * as entry${i} from ${JSON.stringify(e)}${e.endsWith(".json") ? ' with { type: "json" }' : ""};`).join("\n")}
import { Hono } from "hono";
import { keyward } from "@keyward/sdk/hono";
import { KeywardUnavailableError, verifyRequest } from "@keyward/sdk";

for (const [name, mod] of Object.entries({ ${entries.map((e, i) => `${JSON.stringify(e)}: entry${i}`).join(", ")} })) {
	assert.ok(Object.keys(mod).length > 0, name + " exports nothing");
}
assert.equal(typeof verifyRequest, "function");

// docs/SDK.md, "3. Protect your routes", with a stand-in for the KEYWARD binding.
const KEYWARD = {
	async verify({ key, requiredScopes }) {
		if (key !== "kw_test_good") return { ok: true, result: { valid: false, code: "NOT_FOUND" }, headers: {} };
		const result = { valid: true, code: "VALID", keyId: "key_1", accountId: "acc_1", environment: "test",
			scopes: requiredScopes, expiresAt: null, ratelimit: { limit: 100, remaining: 99, resetAt: new Date().toISOString() } };
		return { ok: true, result, headers: { "RateLimit-Policy": '"key";q=100;w=60' } };
	},
};
const app = new Hono();
app.use("/api/*", keyward({ service: (c) => c.env.KEYWARD, requiredScopes: ["invoices:read"] }));
app.get("/api/invoices", (c) => c.json({ account: c.get("keyward").accountId }));

assert.equal((await app.request("/api/invoices", {}, { KEYWARD })).status, 401);
assert.equal((await app.request("/api/invoices", { headers: { Authorization: "Bearer kw_test_bad" } }, { KEYWARD })).status, 401);
const ok = await app.request("/api/invoices", { headers: { Authorization: "Bearer kw_test_good" } }, { KEYWARD });
assert.equal(ok.status, 200);
assert.deepEqual(await ok.json(), { account: "acc_1" });
assert.equal(ok.headers.get("RateLimit-Policy"), '"key";q=100;w=60');

const told = [];
const unbound = new Hono();
unbound.use("*", keyward({ service: (c) => c.env.KEYWARD, onUnavailable: (e) => told.push(e) }));
unbound.get("/", (c) => c.text("never"));
assert.equal((await unbound.request("/", { headers: { Authorization: "Bearer kw_test_good" } }, {})).status, 503);
assert.ok(told[0] instanceof KeywardUnavailableError);
assert.match(told[0].message, /service binding is missing/);
console.log("ok");
`,
	);
	const out = execFileSync(process.execPath, ["check.mjs"], { cwd: project, encoding: "utf8" }).trim();
	if (out !== "ok") throw new Error(`the scratch project printed ${out}`);
	console.log(`${tarball} installs into a scratch project; ${entries.join(", ")} import; a Hono route is protected.`);
} catch (err) {
	console.error(`SDK install check failed: ${err instanceof Error ? err.message : err}`);
	if (err?.stderr) console.error(String(err.stderr));
	process.exitCode = 1;
} finally {
	rmSync(scratch, { recursive: true, force: true });
}
