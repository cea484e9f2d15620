// npm run audit:retention -- [--remote --env production] [--bucket NAME --apply] [--out DIR]
//
// Writes the archive bucket's lifecycle and lock configuration from the
// accounts' archiveRetentionYears settings (issue #26, src/audit/retention.ts):
// a one-year lock on everything under audit/, and for each account with a
// retention a rule that deletes its objects at that age and a lock for the
// same period. Without --apply it only writes the two JSON files and prints
// them. With --apply it sets both on the bucket through wrangler (each `set`
// replaces the bucket's whole configuration of that kind). It is idempotent:
// run it at deployment and after settings change (for example daily from CI).
// R2 has no lifecycle or locks locally, so --apply needs --remote.
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { retentionRules, TooManyRetentions } from "../src/audit/retention.ts";
import { openArchive } from "./archive.ts";

const { values } = parseArgs({
	options: {
		env: { type: "string" },
		remote: { type: "boolean", default: false },
		"persist-to": { type: "string" },
		bucket: { type: "string" },
		apply: { type: "boolean", default: false },
		out: { type: "string" },
	},
});
if (values.apply && (!values.remote || !values.bucket)) {
	console.error("usage: npm run audit:retention -- --remote --env production --bucket <archive bucket> --apply");
	process.exit(2);
}

type D1Like = { prepare(sql: string): { all<T>(): Promise<{ results: T[] }> } };

const archive = await openArchive({ environment: values.env, remote: values.remote, persistTo: values["persist-to"] });
let rows: { accountId: string; years: unknown }[];
try {
	rows = (
		await (archive.env.DB as D1Like)
			.prepare(
				"SELECT id AS accountId, json_extract(settings, '$.archiveRetentionYears') AS years FROM accounts WHERE json_extract(settings, '$.archiveRetentionYears') IS NOT NULL",
			)
			.all<{ accountId: string; years: unknown }>()
	).results;
} finally {
	await archive.dispose();
}

let rules: ReturnType<typeof retentionRules>;
try {
	rules = retentionRules(rows.map((r) => ({ accountId: r.accountId, years: Number(r.years) })));
} catch (error) {
	if (error instanceof TooManyRetentions) {
		console.error(`${error.message}: nothing applied (docs/AUDIT.md, "Retention")`);
		process.exit(1);
	}
	throw error;
}

const dir = values.out ?? mkdtempSync(join(tmpdir(), "keyward-retention-"));
const lifecycleFile = join(dir, "lifecycle.json");
const lockFile = join(dir, "lock.json");
writeFileSync(lifecycleFile, `${JSON.stringify(rules.lifecycle, null, 2)}\n`);
writeFileSync(lockFile, `${JSON.stringify(rules.lock, null, 2)}\n`);
console.log(
	`${rules.lock.rules.length - 1} accounts with an archive retention; lifecycle → ${lifecycleFile}, lock → ${lockFile}`,
);

if (values.apply && values.bucket) {
	const env = values.env ? ["--env", values.env] : [];
	// The lock first: an account whose retention grew must be protected before its expiry moves out.
	for (const [kind, file] of [
		["lock", lockFile],
		["lifecycle", lifecycleFile],
	] as const) {
		execFileSync("npx", ["wrangler", "r2", "bucket", kind, "set", values.bucket, "--file", file, "--force", ...env], {
			stdio: "inherit",
		});
	}
} else {
	console.log(JSON.stringify(rules, null, 2));
}
