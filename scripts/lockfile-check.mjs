#!/usr/bin/env node
/**
 * Did `npm install` install exactly what the committed lockfile pins?
 *
 *   node scripts/lockfile-check.mjs <committed-lockfile> [<lockfile-after-install>]
 *
 * Compares what is installed here (npm's hidden lockfile,
 * node_modules/.package-lock.json) with the committed lockfile, not the two
 * lockfile texts: a registry that gains another platform's optional build
 * (`@biomejs/cli-android-*`) makes npm add an entry this machine never
 * installs, and that must not fail CI. It fails when:
 * - a package installed here is missing from the committed lockfile, or has
 *   another version, source or integrity there;
 * - a package the committed lockfile requires (not optional) was not installed;
 * - the root's declared dependencies differ between package.json's lockfile
 *   entry before and after install (package.json changed without the lockfile).
 */
import { readFileSync } from "node:fs";

const [committedPath, afterPath = "package-lock.json"] = process.argv.slice(2);
if (!committedPath) {
	console.error("usage: lockfile-check.mjs <committed-lockfile> [<lockfile-after-install>]");
	process.exit(2);
}
const read = (path) => JSON.parse(readFileSync(path, "utf8"));
const committed = read(committedPath).packages ?? {};
const after = read(afterPath).packages ?? {};
const installed = read("node_modules/.package-lock.json").packages ?? {};

const PINNED_FIELDS = ["version", "resolved", "integrity"];
const problems = [];

for (const [path, entry] of Object.entries(installed)) {
	if (path === "" || entry.link) continue;
	const pinned = committed[path];
	if (!pinned) {
		problems.push(`${path}@${entry.version} is installed but not in the committed lockfile`);
		continue;
	}
	for (const field of PINNED_FIELDS) {
		if (entry[field] !== undefined && pinned[field] !== undefined && entry[field] !== pinned[field])
			problems.push(`${path}: ${field} ${pinned[field]} in the lockfile, ${entry[field]} installed`);
	}
}

for (const [path, entry] of Object.entries(committed)) {
	if (path === "" || entry.link || installed[path]) continue;
	const skippable = entry.optional || entry.devOptional || entry.peer;
	if (!skippable) problems.push(`${path}@${entry.version} is required by the lockfile but was not installed`);
}

const rootDeps = (packages) =>
	JSON.stringify(
		["dependencies", "devDependencies", "optionalDependencies", "peerDependencies"].map((k) => packages[""]?.[k] ?? {}),
	);
if (rootDeps(committed) !== rootDeps(after))
	problems.push("package.json's dependencies differ from the committed lockfile's root entry");

if (problems.length > 0) {
	console.error("The install does not match the committed package-lock.json:");
	for (const p of problems) console.error(`- ${p}`);
	console.error("Run `npm install` and commit the lockfile.");
	process.exit(1);
}
const added = Object.keys(after).filter((p) => !committed[p]).length;
console.log(
	`lockfile check: ${Object.keys(installed).length - 1} installed packages match the committed lockfile` +
		(added ? ` (${added} entries for other platforms added by the registry, not installed here)` : ""),
);
