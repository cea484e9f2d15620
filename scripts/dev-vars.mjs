// Creates .dev.vars for local development when it is missing: the shape of
// .dev.vars.example with a fresh random value for every secret that has none.
// An existing file keeps every value it has; a generated secret it lacks (one
// added since it was made, such as PII_WRAPPING_KEY) is appended.
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";

const target = new URL("../.dev.vars", import.meta.url);
const example = new URL("../.dev.vars.example", import.meta.url);
const GENERATED = new Set(["KEY_PEPPER", "TOTP_ENCRYPTION_KEY", "PII_WRAPPING_KEY"]);
const fresh = (name) => `${name}=${randomBytes(32).toString("base64")}`;

if (existsSync(target)) {
	const text = readFileSync(target, "utf8");
	const present = new Set([...text.matchAll(/^([A-Z0-9_]+)=./gm)].map((m) => m[1]));
	const missing = [...GENERATED].filter((name) => !present.has(name));
	if (missing.length > 0) {
		writeFileSync(target, `${text.replace(/\n*$/, "\n")}${missing.map(fresh).join("\n")}\n`, { mode: 0o600 });
		console.log(`added ${missing.join(", ")} to .dev.vars`);
	}
	process.exit(0);
}
const lines = readFileSync(example, "utf8")
	.split("\n")
	.map((line) => {
		const match = /^([A-Z0-9_]+)=$/.exec(line);
		if (match && GENERATED.has(match[1])) return fresh(match[1]);
		return line;
	});
writeFileSync(target, lines.join("\n"), { mode: 0o600 });
console.log("created .dev.vars with fresh development secrets");
