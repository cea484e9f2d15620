// npm run audit:verify -- --account <id> [--env production] [--remote] [--persist-to DIR]
// npm run audit:verify -- --file <ndjson> [--account <id>]
//
// Walks an account's (or `system`'s) archive in R2 and reports the first gap,
// edit or reordering. Local by default (the state `wrangler dev` uses);
// --remote reads the deployed bucket through wrangler's remote bindings.
//
// With --file, checks a log stream's copy instead (issue #24): the NDJSON a
// stream delivered (docs/AUDIT.md, "Log streams"), resends counted once. It
// needs no Keyward at all, so a customer runs it on their own side.
//
// An account with an archiveRetentionYears setting (read from D1, or forced with
// --expired-start) may have lost its oldest objects to the bucket's lifecycle
// rule: the walk then starts at the oldest object held and reports how many
// expired before it (docs/AUDIT.md, "Retention").
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { verifyChain, verifyCopy } from "../src/audit/chain.ts";
import { validRetention } from "../src/audit/retention.ts";
import { openArchive, readStream } from "./archive.ts";

const { values } = parseArgs({
	options: {
		account: { type: "string" },
		file: { type: "string" },
		env: { type: "string" },
		remote: { type: "boolean", default: false },
		"persist-to": { type: "string" },
		"expired-start": { type: "boolean", default: false },
	},
});
if (values.file) {
	const report = await verifyCopy(readFileSync(values.file, "utf8"), values.account);
	console.log(JSON.stringify(report, null, 2));
	process.exit(report.ok ? 0 : 1);
}
if (!values.account) {
	console.error(
		"usage: npm run audit:verify -- --account <accountId|system> [--env NAME] [--remote]\n" +
			"       npm run audit:verify -- --file <ndjson> [--account <accountId>]",
	);
	process.exit(2);
}

const archive = await openArchive({ environment: values.env, remote: values.remote, persistTo: values["persist-to"] });
try {
	const objects = await readStream(archive.bucket, values.account);
	const expiredStart = values["expired-start"] || (await hasRetention(archive.env.DB, values.account));
	const report = await verifyChain(values.account, objects, undefined, { expiredStart });
	console.log(JSON.stringify(report, null, 2));
	process.exitCode = report.ok ? 0 : 1;
} finally {
	await archive.dispose();
}

async function hasRetention(db: unknown, accountId: string): Promise<boolean> {
	const row = await (db as D1Like)
		.prepare("SELECT json_extract(settings, '$.archiveRetentionYears') AS years FROM accounts WHERE id = ?")
		.bind(accountId)
		.first<{ years: unknown }>()
		.catch(() => null);
	return validRetention(row?.years);
}

type D1Like = {
	prepare(sql: string): { bind(...v: unknown[]): { first<T>(): Promise<T | null> } };
};
