// npm run privacy:erase -- --user <usr_id> [--remote --env production]
// npm run privacy:erase -- --email <address> [--remote --env production]
//
// Asks for a person's erasure (issue #26, docs/PRIVACY.md): writes a row to
// erasure_requests naming the user (or the address) and who ran this script.
// By address: the user it belongs to is erased as by id; an address that never
// became a user (someone invited who asks) has its invitee data key destroyed
// and its pending invitations deleted, and the row forgets the address. The next cron run
// erases them through the same lifecycle as DELETE /v1/me (recorded in the
// audit trail as user.erased, by "operator") and writes the outcome on the row:
// erased, already-erased, no-such-user, or "refused: sole owner of …" while they
// own an account that has other members. Locally, run the cron at once with
//   curl http://localhost:8787/cdn-cgi/local/scheduled
// and read the outcome with
//   npx wrangler d1 execute DB --local --command "SELECT * FROM erasure_requests"
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { userInfo } from "node:os";
import { parseArgs } from "node:util";
import { ERASABLE_EMAIL, erasureRequestSql, USER_ID } from "../src/privacy/erasure-request.ts";

const { values } = parseArgs({
	options: {
		user: { type: "string" },
		email: { type: "string" },
		remote: { type: "boolean", default: false },
		env: { type: "string" },
	},
});
const byUser = values.user !== undefined && USER_ID.test(values.user) && values.email === undefined;
const byEmail = values.email !== undefined && ERASABLE_EMAIL.test(values.email) && values.user === undefined;
if (!byUser && !byEmail) {
	console.error(
		"usage: npm run privacy:erase -- --user usr_<id> [--remote --env production]\n" +
			"       npm run privacy:erase -- --email <address> [--remote --env production]",
	);
	process.exit(2);
}
const by = process.env.USER || userInfo().username || "unknown";
const id = `era_${randomBytes(10).toString("hex")}`;
const sql = erasureRequestSql(
	byUser
		? { id, userId: values.user ?? "", by, at: Date.now() }
		: { id, email: values.email ?? "", by, at: Date.now() },
);
const args = ["wrangler", "d1", "execute", "DB", values.remote ? "--remote" : "--local", "--command", sql];
if (values.env) args.push("--env", values.env);
execFileSync("npx", args, { stdio: "inherit" });
console.log(
	`erasure of ${byUser ? values.user : "the address"} requested by ${by} (${id}); the next cron run performs it and records the outcome`,
);
