// npm run audit:replay [-- --remote --env production]
//
// Moves what the audit dead-letter queue delivered (table audit_dead_letters)
// into the audit outbox, which the next cron run sends back through the queue.
// Safe to repeat: the consumer drops events it already indexed and archived.
// Locally, trigger the cron at once with:
//   curl http://localhost:8787/cdn-cgi/local/scheduled
import { execFileSync } from "node:child_process";
import { parseArgs } from "node:util";

const { values } = parseArgs({
	options: { remote: { type: "boolean", default: false }, env: { type: "string" } },
});
// The same statements as replayDeadLetters() in src/audit/consumer.ts.
const sql = [
	"INSERT INTO audit_outbox (id, body, created_at) SELECT id, body, received_at FROM audit_dead_letters WHERE true ON CONFLICT DO NOTHING;",
	"DELETE FROM audit_dead_letters WHERE id IN (SELECT id FROM audit_outbox);",
].join(" ");
const args = ["wrangler", "d1", "execute", "DB", values.remote ? "--remote" : "--local", "--command", sql];
if (values.env) args.push("--env", values.env);
execFileSync("npx", args, { stdio: "inherit" });
console.log("dead letters moved to the audit outbox; the next cron run re-sends them");
