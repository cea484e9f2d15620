// Creates .dev.vars for local development when it is missing: the shape of
// .dev.vars.example with a fresh random value for every secret that has none.
// Never overwrites an existing file.
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";

const target = new URL("../.dev.vars", import.meta.url);
const example = new URL("../.dev.vars.example", import.meta.url);
const GENERATED = new Set(["KEY_PEPPER", "TOTP_ENCRYPTION_KEY"]);

if (existsSync(target)) {
	process.exit(0);
}
const lines = readFileSync(example, "utf8")
	.split("\n")
	.map((line) => {
		const match = /^([A-Z0-9_]+)=$/.exec(line);
		if (match && GENERATED.has(match[1])) return `${match[1]}=${randomBytes(32).toString("base64")}`;
		return line;
	});
writeFileSync(target, lines.join("\n"), { mode: 0o600 });
console.log("created .dev.vars with fresh development secrets");
