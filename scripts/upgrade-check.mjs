// npm run upgrade:check [-- --from <commit>]
//
// The role split of the Durable Objects (#19), tried on real local state: the
// code of <commit> (default: the last commit with the single class) serves a
// `wrangler dev` and makes state (an account, a key, audit objects archived
// under the old chain head); then this checkout serves the same persisted
// state. Checks what the README's upgrade notes promise:
//   - the archive chain of every stream continues with no gap and verifies;
//   - API keys carry over (the account role kept its deployed class);
//   - sessions start empty (users sign in again).
// Exits 1 when a promise is broken. Local only; it talks to 127.0.0.1.
import { execFileSync, spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { json, signUpVerified } from "../bench/stack.mjs";

const arg = (name) => {
	const i = process.argv.indexOf(`--${name}`);
	return i >= 0 ? process.argv[i + 1] : undefined;
};
const FROM = arg("from") ?? "711a702";
const PORT = Number(process.env.UPGRADE_PORT ?? 8796);
const here = resolve(".");
const work = mkdtempSync(join(tmpdir(), "keyward-upgrade-"));
const old = join(work, "old");
const state = join(work, "state");
const failures = [];
const check = (ok, what) => {
	console.log(`${ok ? "ok  " : "FAIL"} ${what}`);
	if (!ok) failures.push(what);
};

const run = (cwd, command, args) =>
	new Promise((done, fail) =>
		spawn(command, args, { cwd, stdio: "ignore" }).on("exit", (code) =>
			code === 0 ? done() : fail(new Error(`${command} ${args.join(" ")} exited ${code} in ${cwd}`)),
		),
	);

async function serve(cwd) {
	await run(cwd, "npx", ["wrangler", "d1", "migrations", "apply", "DB", "--local", "--persist-to", state]);
	const server = spawn(
		"npx",
		["wrangler", "dev", "--port", String(PORT), "--ip", "127.0.0.1", "--persist-to", state, "--log-level", "error"],
		{ cwd, stdio: ["ignore", "ignore", "inherit"], detached: true },
	);
	const base = `http://127.0.0.1:${PORT}`;
	const send = async (path, init) => {
		const res = await fetch(base + path, init);
		const text = await res.text();
		return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) };
	};
	const stop = async () => {
		try {
			process.kill(-server.pid, "SIGTERM");
		} catch {}
		await sleep(2000);
	};
	for (let i = 0; i < 120; i++) {
		try {
			if ((await send("/health")).status === 200) return { send, stop };
		} catch {}
		await sleep(500);
	}
	await stop();
	throw new Error(`wrangler dev did not come up in ${cwd}`);
}

/** Waits until the consumer has archived more than `past` events of `stream`, and every one indexed (the queue batches every 5 s). */
async function archived(send, stream, past = 0) {
	for (let i = 0; i < 60; i++) {
		const stats = (await send(`/v1/dev/audit-stats?stream=${stream}`)).json();
		if (stats.indexed > past && stats.archived === stats.indexed) return stats;
		await sleep(1000);
	}
	throw new Error(`the audit events of ${stream} were not archived`);
}

const verifyKey = (send, key) => send("/v1/keys/verify", json({ key }));

try {
	execFileSync("git", ["worktree", "add", "--detach", old, FROM], { stdio: "ignore" });
	symlinkSync(join(here, "node_modules"), join(old, "node_modules"));
	// Made at install time (gitignored), and the development secrets: the same for both runs.
	const generated = "src/security/generated/common-passwords.ts";
	mkdirSync(join(old, "src/security/generated"), { recursive: true });
	if (existsSync(generated)) copyFileSync(generated, join(old, generated));
	await run(here, "node", ["scripts/dev-vars.mjs"]);
	copyFileSync(join(here, ".dev.vars"), join(old, ".dev.vars"));

	// ---- before: the single-class layout
	let stack = await serve(old);
	const email = `upgrade-${Date.now()}@example.com`;
	const password = "upgrade check passphrase, long enough";
	const created = await signUpVerified(stack.send, { email, password, name: "Upgrade" });
	const accountId = created.account.id;
	const bearer = (token) => ({ Authorization: `Bearer ${token}` });
	const made = await stack.send(
		`/v1/accounts/${accountId}/keys`,
		json({ name: "carried", environment: "staging", scopes: ["orders:read"] }, bearer(created.session.token)),
	);
	check(made.status === 201, `the old code makes a key (${made.status})`);
	const secret = made.json().secret;
	check((await verifyKey(stack.send, secret)).json().code === "VALID", "the old code verifies it");
	const before = await archived(stack.send, accountId);
	const systemBefore = await archived(stack.send, "system");
	await stack.stop();

	// ---- after: this checkout on the same state
	stack = await serve(here);
	const oldSession = await stack.send("/v1/me", { headers: bearer(created.session.token) });
	check(oldSession.status === 401, `a session from before the upgrade has ended (${oldSession.status})`);
	check((await verifyKey(stack.send, secret)).json().code === "VALID", "a key from before the upgrade still verifies");
	const login = await stack.send("/v1/auth/login", json({ email, password }));
	check(login.status === 200, `the user signs in again (${login.status})`);
	const again = await stack.send(
		`/v1/accounts/${accountId}/keys`,
		json({ name: "after", environment: "staging", scopes: ["orders:read"] }, bearer(login.json().session.token)),
	);
	check(again.status === 201, `and makes a key (${again.status})`);
	const after = await archived(stack.send, accountId, before.archived);
	await archived(stack.send, "system", systemBefore.archived);
	check(
		after.archived > before.archived,
		`events after the upgrade are archived (${before.archived} → ${after.archived})`,
	);
	await stack.stop();

	// ---- the archive, read from the persisted R2 state
	const { openArchive, readStream } = await import("./archive.ts");
	const { verifyChain } = await import("../src/audit/chain.ts");
	const archive = await openArchive({ persistTo: state });
	try {
		for (const stream of [accountId, "system"]) {
			const objects = await readStream(archive.bucket, stream);
			const report = await verifyChain(stream, objects);
			check(
				report.ok && report.objects >= 2,
				`the ${stream === "system" ? "system" : "account's"} chain continues across the upgrade: ${report.objects} objects, ${report.events} events${report.problem ? `, ${report.problem.kind} at ${report.problem.key}` : ""}`,
			);
		}
	} finally {
		await archive.dispose();
	}
} finally {
	try {
		execFileSync("git", ["worktree", "remove", "--force", old], { stdio: "ignore" });
	} catch {}
	rmSync(work, { recursive: true, force: true });
}
if (failures.length > 0) {
	console.error(`${failures.length} upgrade promise(s) broken`);
	process.exit(1);
}
console.log("upgrade check passed");
