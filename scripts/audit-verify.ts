// npm run audit:verify -- --account <id> [--env production] [--remote] [--persist-to DIR]
//
// Walks an account's (or `system`'s) archive in R2 and reports the first gap,
// edit or reordering. Local by default (the state `wrangler dev` uses);
// --remote reads the deployed bucket through wrangler's remote bindings.
import { parseArgs } from "node:util";
import { verifyChain } from "../src/audit/chain.ts";
import { openArchive, readStream } from "./archive.ts";

const { values } = parseArgs({
	options: {
		account: { type: "string" },
		env: { type: "string" },
		remote: { type: "boolean", default: false },
		"persist-to": { type: "string" },
	},
});
if (!values.account) {
	console.error("usage: npm run audit:verify -- --account <accountId|system> [--env NAME] [--remote]");
	process.exit(2);
}

const archive = await openArchive({ environment: values.env, remote: values.remote, persistTo: values["persist-to"] });
try {
	const objects = await readStream(archive.bucket, values.account);
	const report = await verifyChain(values.account, objects);
	console.log(JSON.stringify(report, null, 2));
	process.exitCode = report.ok ? 0 : 1;
} finally {
	await archive.dispose();
}
