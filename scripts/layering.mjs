#!/usr/bin/env node
/**
 * The layering rule of docs/ARCHITECTURE.md: a file under src/ never imports
 * a file that lives in one of its ancestor folders. A folder composes what is
 * below it and uses its siblings; only the composition root (the files directly
 * in src/: index.ts, entrypoint.ts, app.ts) may import any folder, and nothing
 * imports the root. Import cycles are refused by biome's noImportCycles (types
 * included); this script checks the direction. `npm run lint` runs both.
 *
 * A second rule keeps handlers thin (parse → service → render): a routes
 * file (`routes.ts`, `*-routes.ts`, `*-route.ts`) imports neither drizzle nor
 * the schema, so queries and transitions live in the feature's services.
 *
 *   node scripts/layering.mjs          exits 1 and names every violation
 */
import fs from "node:fs";
import path from "node:path";

const SRC = path.resolve("src");
const EXTENSIONS = ["", ".ts", ".tsx", "/index.ts", "/index.tsx"];

function* sourceFiles(dir) {
	for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
		const full = path.join(dir, entry.name);
		if (entry.isDirectory()) yield* sourceFiles(full);
		else if (/\.tsx?$/.test(entry.name)) yield full;
	}
}

function resolveImport(from, specifier) {
	// `./client.js` names `./client.ts` (the SDK's NodeNext style).
	const base = path.resolve(path.dirname(from), specifier.replace(/\.js$/, ""));
	for (const ext of EXTENSIONS) {
		const candidate = base + ext;
		if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) return candidate;
	}
	return null;
}

const ROUTES_FILE = /(^|-)routes?\.tsx?$/;
const ANY_IMPORT = /\bfrom\s*["']([^"']+)["']/g;

const IMPORT =
	/(?:^|\n)\s*(?:import|export)\b[^;]*?\bfrom\s*["'](\.{1,2}\/[^"']+)["']|\bimport\(\s*["'](\.{1,2}\/[^"']+)["']\s*\)/g;

export function violations(root = SRC) {
	const found = [];
	for (const file of sourceFiles(root)) {
		const folder = path.dirname(file);
		if (folder === root) continue; // the composition root
		const text = fs.readFileSync(file, "utf8");
		for (const match of text.matchAll(IMPORT)) {
			const specifier = match[1] ?? match[2];
			const target = resolveImport(file, specifier);
			if (!target) {
				found.push(`${path.relative(".", file)}: cannot resolve "${specifier}"`);
				continue;
			}
			const targetFolder = path.dirname(target);
			const upward = targetFolder !== folder && folder.startsWith(targetFolder + path.sep);
			if (upward) found.push(`${path.relative(".", file)} imports "${specifier}", a file in a folder above it`);
		}
	}
	for (const file of sourceFiles(root)) {
		if (!ROUTES_FILE.test(path.basename(file))) continue;
		for (const match of fs.readFileSync(file, "utf8").matchAll(ANY_IMPORT)) {
			const specifier = match[1];
			const target = specifier.startsWith(".") ? resolveImport(file, specifier) : null;
			if (specifier === "drizzle-orm" || target === path.join(root, "db", "schema.ts"))
				found.push(`${path.relative(".", file)} imports "${specifier}": a handler calls a service, it does not query`);
		}
	}
	return found;
}

if (import.meta.url === `file://${process.argv[1]}`) {
	const found = violations();
	for (const line of found) console.error(line);
	if (found.length > 0) {
		console.error(`layering: ${found.length} violation(s); see docs/ARCHITECTURE.md`);
		process.exit(1);
	}
	console.log("layering: no file under src/ imports from a folder above it, and no routes file queries");
}
