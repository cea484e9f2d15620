// The local stack for the bench and the load run: the real Worker under
// `wrangler dev` with every binding local and fresh state, plus the client
// helpers both drive it with. Talks only to 127.0.0.1.
import { spawn } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

export function percentile(sorted, p) {
	return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export const json = (body, headers = {}, method = "POST") => ({
	method,
	headers: { "Content-Type": "application/json", ...headers },
	body: JSON.stringify(body),
});

/**
 * Signs up and verifies the address from the development outbox (an account whose owner has not
 * verified their email grants nothing: no keys). `prefix` is where Keyward answers (a passthrough
 * Worker mounts it under /keyward). Returns the sign-up body.
 */
export async function signUpVerified(send, body, prefix = "") {
	const signup = await send(`${prefix}/v1/auth/signup`, json(body));
	if (signup.status !== 201) throw new Error(`signup failed: ${signup.status} ${signup.text}`);
	const outbox = await send(`${prefix}/v1/dev/outbox?to=${encodeURIComponent(body.email)}`);
	const mail = outbox.json().data.find((m) => m.subject.includes("confirm"));
	const token = /\n\n([a-z2-7]+)\n/.exec(mail?.text ?? "")?.[1];
	const created = signup.json();
	const verified = await send(
		`${prefix}/v1/auth/verify-email`,
		json({ token }, { Authorization: `Bearer ${created.session.token}` }),
	);
	if (verified.status !== 204) throw new Error(`email verification failed: ${verified.status}`);
	return created;
}

/**
 * A staging key with the `bench:read` scope (plus `body`) in the account, made by the session;
 * returns its secret. The default rate limit is high enough never to refuse a bench.
 */
export async function createBenchKey(send, token, accountId, body = {}) {
	const created = await send(
		`/v1/accounts/${accountId}/keys`,
		json(
			{
				name: "bench",
				environment: "staging",
				scopes: ["bench:read"],
				...(body.rateLimits ? {} : { rateLimit: { limit: 1_000_000, windowSeconds: 60 } }),
				...body,
			},
			{ Authorization: `Bearer ${token}` },
		),
	);
	if (created.status !== 201) throw new Error(`key creation failed: ${created.status} ${created.text}`);
	return created.json().secret;
}

/** Runs a command to its end; `stderr: "inherit"` shows what went wrong when it fails. */
export const run = (command, args, { stderr = "ignore" } = {}) =>
	new Promise((resolve, reject) =>
		spawn(command, args, { stdio: ["ignore", "ignore", stderr] }).on("exit", (code) =>
			code === 0 ? resolve() : reject(new Error(`${command} ${args.join(" ")} exited ${code}`)),
		),
	);

/**
 * Closed loop: `concurrency` clients, each sending its next request when the last one answered,
 * until `count` are sent or `deadlineMs` has passed. `request` resolves to something with a status.
 */
export async function drive(count, request, { concurrency = 16, deadlineMs = 180_000 } = {}) {
	const latencies = [];
	let next = 0;
	let errors = 0;
	let non2xx = 0;
	const started = performance.now();
	const worker = async () => {
		while (next < count && performance.now() - started < deadlineMs) {
			next++;
			const t0 = performance.now();
			const res = await request();
			if (res.status >= 500) errors++;
			if (res.status < 200 || res.status >= 300) non2xx++;
			latencies.push(performance.now() - t0);
		}
	};
	await Promise.all(Array.from({ length: concurrency }, worker));
	const seconds = (performance.now() - started) / 1000;
	latencies.sort((a, b) => a - b);
	return {
		requests: latencies.length,
		errors5xx: errors,
		non2xx,
		rps: Math.round(latencies.length / seconds),
		p50ms: +percentile(latencies, 50).toFixed(2),
		p95ms: +percentile(latencies, 95).toFixed(2),
		p99ms: +percentile(latencies, 99).toFixed(2),
	};
}

/**
 * Starts `wrangler dev` on `port` with state in `state` (wiped first), applies
 * the migrations, waits for /health. Every response's X-Request-Id is kept in
 * `served`, so the audit trail can be checked against what was answered.
 * `configs` runs several Workers in the one `wrangler dev` (the first is the
 * one on the port), `vars` overrides their variables, and `healthPath` is
 * where the first one answers 200 once it is up. `inspector: false` serves
 * through bench/serve.mjs instead, the same Worker and local bindings with no
 * debugger attached to the runtime (one Worker, no `configs`).
 */
export async function startStack({
	port,
	state,
	configs = [],
	vars = {},
	healthPath = "/health",
	inspector = true,
	migrate = true,
}) {
	const base = `http://127.0.0.1:${port}`;
	const served = [];
	/** Request id → "METHOD /path", to say which requests a check is about. */
	const routes = new Map();
	async function send(path, init) {
		const res = await fetch(base + path, init);
		const text = await res.text();
		const id = res.headers.get("x-request-id");
		if (id) {
			served.push(id);
			routes.set(id, `${init?.method ?? "GET"} ${path.split("?")[0].replace(/(acc|key|inv)_[a-z0-9]+/g, "{$1}")}`);
		}
		return {
			status: res.status,
			headers: res.headers,
			text,
			json: () => JSON.parse(text),
		};
	}
	rmSync(state, { recursive: true, force: true });
	// The runtime creates its storage files but not the folder they go in: a Worker with no migrations
	// to apply (the bench's floor) would otherwise fail its first write on a fresh clone.
	mkdirSync(state, { recursive: true });
	// A fresh clone has no .dev.vars yet; the Worker refuses to serve without its secrets.
	await run("node", ["scripts/dev-vars.mjs"]);
	if (migrate) await run("npx", ["wrangler", "d1", "migrations", "apply", "DB", "--local", "--persist-to", state]);
	if (!inspector && configs.length > 1) throw new Error("inspector: false serves one Worker");
	const command = inspector
		? [
				"npx",
				"wrangler",
				"dev",
				...configs.flatMap((config) => ["-c", config]),
				...Object.entries(vars).flatMap(([name, value]) => ["--var", `${name}:${value}`]),
				...["--port", String(port), "--ip", "127.0.0.1", "--persist-to", state, "--log-level", "error"],
			]
		: ["node", "bench/serve.mjs", String(port), state, ...configs];
	const server = spawn(command[0], command.slice(1), {
		stdio: ["ignore", "ignore", "inherit"],
		detached: true,
		// bench/serve.mjs takes the variable overrides here (`wrangler dev` takes them as --var).
		env: { ...process.env, BENCH_VARS: JSON.stringify(vars) },
	});
	const stop = async () => {
		try {
			process.kill(-server.pid, "SIGTERM");
		} catch {}
		await sleep(1500);
	};
	for (let i = 0; i < 120; i++) {
		try {
			if ((await send(healthPath)).status === 200) return { base, send, served, routes, stop, pid: server.pid };
		} catch {}
		await sleep(500);
	}
	await stop();
	throw new Error("wrangler dev did not come up");
}

/**
 * The processes of `pid`'s process group (the server and its children), from /proc: each one's
 * /proc directory, whether it is workerd, and the fields of its `stat` after the command name.
 */
async function* processGroup(pid) {
	const { readdirSync, readFileSync } = await import("node:fs");
	for (const entry of readdirSync("/proc")) {
		if (!/^\d+$/.test(entry)) continue;
		let stat;
		try {
			stat = readFileSync(`/proc/${entry}/stat`, "utf8");
		} catch {
			continue; // the process ended while we looked
		}
		const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
		if (Number(fields[2]) === pid) yield { dir: `/proc/${entry}`, workerd: stat.includes("(workerd)"), fields };
	}
}

/** Resident memory (KiB) of the workerd processes under `pid`'s process group. */
export async function workerdMemoryKiB(pid) {
	const { readFileSync } = await import("node:fs");
	let total = 0;
	for await (const p of processGroup(pid)) {
		if (!p.workerd) continue;
		try {
			total += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`${p.dir}/status`, "utf8"))?.[1] ?? 0);
		} catch {}
	}
	return total;
}

/**
 * CPU time (ms, user + system) spent so far by the server's processes under `pid`'s process
 * group: `workerd` (the runtime: Worker, Durable Objects, queues) and `other` (wrangler's Node
 * process, which proxies each request). Clock ticks are 10 ms, so measure over thousands of
 * requests.
 */
export async function serverCpuMs(pid) {
	const ticksPerSecond = 100; // USER_HZ on Linux
	const total = { workerd: 0, other: 0 };
	for await (const p of processGroup(pid)) {
		total[p.workerd ? "workerd" : "other"] += ((Number(p.fields[11]) + Number(p.fields[12])) * 1000) / ticksPerSecond;
	}
	return total;
}

/** Reads every archived event of the given streams from the persisted local R2 state (after the stack stopped). */
export async function readArchivedEvents(state, streams) {
	const { openArchive, readStream } = await import("../scripts/archive.ts");
	const { verifyChain } = await import("../src/audit/chain.ts");
	const archive = await openArchive({ persistTo: state });
	try {
		const events = [];
		const chains = {};
		for (const stream of streams) {
			const objects = await readStream(archive.bucket, stream);
			chains[stream] = (await verifyChain(stream, objects)).ok;
			for (const o of objects) {
				const lines = new TextDecoder().decode(o.bytes).split("\n").slice(1).filter(Boolean);
				for (const line of lines) events.push(JSON.parse(line));
			}
		}
		return { events, chains };
	} finally {
		await archive.dispose();
	}
}
