// Peer benchmark (issue #20): Keyward's warm verify against Better Auth's API-key plugin on D1
// (bench/peer/better-auth), on the same local runtime, next to the bare floor Worker (bench/floor) and
// its object floor (one Durable Object call with one durable write).
// All three are served the same way: through bench/serve.mjs (wrangler's dev server, local
// bindings, no debugger attached), or with PEER_INSPECTOR=on through `wrangler dev`.
//
//   npm run bench:peer   (installs the peer's own pinned deps into bench/peer/better-auth on first use, with npm ci)
//   PEER_REQUESTS=2000 PEER_CONCURRENCY=16 PEER_ROUNDS=3 node_modules/.bin/node bench/peer.mjs
//
// Talks only to 127.0.0.1. Prints a table per round, the ratios, and one JSON line at the end.
import { spawn } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { dirname } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { createBenchKey, drive as driveLoop, json, run, signUpVerified, startStack } from "./stack.mjs";

// The children (`node`, `npx wrangler`) run on this Node (22), not whatever `node` is first on PATH.
process.env.PATH = `${dirname(process.execPath)}:${process.env.PATH}`;

const REQUESTS = Number(process.env.PEER_REQUESTS ?? 2000);
const CONCURRENCY = Number(process.env.PEER_CONCURRENCY ?? 16);
const ROUNDS = Number(process.env.PEER_ROUNDS ?? 3);
const WARMUP = Math.min(500, REQUESTS);
const INSPECTOR = process.env.PEER_INSPECTOR === "on";
const PEER_PORT = 8811;
const KEYWARD_PORT = 8812;
const FLOOR_PORT = 8813;
const PEER_DIR = "bench/peer/better-auth";
const PEER_CONFIG = `${PEER_DIR}/wrangler.toml`;
const PEER_STATE = ".wrangler/peer-state";
const DEADLINE_MS = 180_000;
const drive = (count, request) => driveLoop(count, request, { concurrency: CONCURRENCY, deadlineMs: DEADLINE_MS });

const median = (values) => {
	const sorted = [...values].sort((a, b) => a - b);
	const mid = Math.floor(sorted.length / 2);
	return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

const exec = (command, args) => run(command, args, { stderr: "inherit" });

/** The Better Auth Worker: fresh state, its migration applied, then served on PEER_PORT. */
async function startPeer() {
	// The peer's own dependencies, from its own committed lockfile, installed on first use.
	if (!existsSync(`${PEER_DIR}/node_modules/better-auth`)) await exec("npm", ["ci", "--prefix", PEER_DIR]);
	rmSync(PEER_STATE, { recursive: true, force: true });
	await exec("npx", [
		"wrangler",
		"d1",
		"migrations",
		"apply",
		"DB",
		"--local",
		"-c",
		PEER_CONFIG,
		"--persist-to",
		PEER_STATE,
	]);
	const command = INSPECTOR
		? [
				"npx",
				"wrangler",
				"dev",
				"-c",
				PEER_CONFIG,
				"--port",
				String(PEER_PORT),
				"--ip",
				"127.0.0.1",
				"--persist-to",
				PEER_STATE,
				"--log-level",
				"error",
			]
		: ["node", "bench/serve.mjs", String(PEER_PORT), PEER_STATE, PEER_CONFIG];
	const server = spawn(command[0], command.slice(1), { stdio: ["ignore", "ignore", "inherit"], detached: true });
	const base = `http://127.0.0.1:${PEER_PORT}`;
	const stop = async () => {
		try {
			process.kill(-server.pid, "SIGTERM");
		} catch {}
		await sleep(1500);
	};
	const send = async (path, init) => {
		const res = await fetch(base + path, init);
		const text = await res.text();
		return { status: res.status, text, json: () => JSON.parse(text) };
	};
	for (let i = 0; i < 120; i++) {
		try {
			if ((await send("/health")).status === 200) return { base, send, stop, pid: server.pid };
		} catch {}
		await sleep(500);
	}
	await stop();
	throw new Error("the Better Auth Worker did not come up");
}

const stops = [];
const stopAll = async () => {
	while (stops.length)
		await stops
			.pop()()
			.catch(() => {});
};
for (const signal of ["SIGINT", "SIGTERM"])
	process.on(signal, async () => {
		await stopAll();
		process.exit(130);
	});

const rounds = [];
let setup = {};
try {
	const floor = await startStack({
		port: FLOOR_PORT,
		state: ".wrangler/peer-floor-state",
		configs: ["bench/floor/wrangler.toml"],
		inspector: INSPECTOR,
		migrate: false,
	});
	stops.push(floor.stop);
	const peer = await startPeer();
	stops.push(peer.stop);
	const keyward = await startStack({ port: KEYWARD_PORT, state: ".wrangler/peer-keyward-state", inspector: INSPECTOR });
	stops.push(keyward.stop);

	// Better Auth: one user (email/password sign-up) and one API key, through the Worker's dev route.
	const peerSetup = await peer.send("/setup", { method: "POST" });
	if (peerSetup.status !== 200) throw new Error(`peer setup failed: ${peerSetup.status} ${peerSetup.text}`);
	const peerKey = peerSetup.json().key;
	const peerCheck = await peer.send("/verify", json({ key: peerKey }));
	if (peerCheck.status !== 200 || !peerCheck.json().valid) throw new Error(`peer verify failed: ${peerCheck.text}`);

	// Keyward: a verified account and one key, as bench/run.mjs's setupIdentity does it.
	const email = `peer-${Date.now()}@example.com`;
	const { session, account } = await signUpVerified(keyward.send, {
		email,
		password: "bench passphrase that is long",
		name: "Bench",
	});
	const keywardKey = await createBenchKey(keyward.send, session.token, account.id);
	const keywardCheck = await keyward.send("/v1/keys/verify", json({ key: keywardKey, requiredScopes: ["bench:read"] }));
	if (keywardCheck.status !== 200)
		throw new Error(`keyward verify failed: ${keywardCheck.status} ${keywardCheck.text}`);
	setup = { peerVerify: peerCheck.json().valid, keywardVerify: keywardCheck.status };

	const scenarios = {
		floor: () => floor.send("/health"), // the floor Worker's bare route
		// One Durable Object call with one durable write: the least a verify does (bench/floor).
		"object-floor": () => floor.send("/object"),
		"better-auth health": () => peer.send("/health"),
		// The first comparison: each service's own /health against the floor, in the same rounds.
		"keyward health": () => keyward.send("/health"),
		"better-auth verify": () => peer.send("/verify", json({ key: peerKey })),
		"keyward verify (warm)": () =>
			keyward.send("/v1/keys/verify", json({ key: keywardKey, requiredScopes: ["bench:read"] })),
	};
	for (const request of Object.values(scenarios)) await drive(WARMUP, request); // warm-up, discarded
	for (let round = 1; round <= ROUNDS; round++) {
		const byName = {};
		for (const [name, request] of Object.entries(scenarios)) byName[name] = await drive(REQUESTS, request);
		const kw = byName["keyward verify (warm)"];
		const ba = byName["better-auth verify"];
		const fl = byName.floor;
		const r = (a, b) => +(a / b).toFixed(2);
		byName.ratios = {
			"keyward÷better-auth verify rps": r(kw.rps, ba.rps),
			"keyward÷better-auth verify p99": r(kw.p99ms, ba.p99ms),
			"keyward verify÷floor rps": r(kw.rps, fl.rps),
			"keyward verify÷floor p99": r(kw.p99ms, fl.p99ms),
			"keyward verify÷object-floor rps": r(kw.rps, byName["object-floor"].rps),
			"keyward verify÷object-floor p99": r(kw.p99ms, byName["object-floor"].p99ms),
			"object-floor÷floor rps": r(byName["object-floor"].rps, fl.rps),
			"object-floor÷floor p99": r(byName["object-floor"].p99ms, fl.p99ms),
			"better-auth verify÷floor rps": r(ba.rps, fl.rps),
			"better-auth verify÷floor p99": r(ba.p99ms, fl.p99ms),
			"better-auth health÷floor rps": r(byName["better-auth health"].rps, fl.rps),
			"better-auth health÷floor p99": r(byName["better-auth health"].p99ms, fl.p99ms),
			"keyward health÷floor rps": r(byName["keyward health"].rps, fl.rps),
			"keyward health÷floor p99": r(byName["keyward health"].p99ms, fl.p99ms),
			"keyward health÷better-auth health rps": r(byName["keyward health"].rps, byName["better-auth health"].rps),
		};
		rounds.push(byName);
		console.log(`round ${round}`);
		console.table(Object.fromEntries(Object.entries(byName).filter(([n]) => n !== "ratios")));
		console.table(byName.ratios);
	}
} finally {
	await stopAll();
}

const names = Object.keys(rounds[0] ?? {}).filter((n) => n !== "ratios");
const medians = Object.fromEntries(
	names.map((n) => [
		n,
		Object.fromEntries(["rps", "p50ms", "p95ms", "p99ms"].map((f) => [f, median(rounds.map((r) => r[n][f]))])),
	]),
);
const ratioMedians = Object.fromEntries(
	Object.keys(rounds[0]?.ratios ?? {}).map((k) => [k, median(rounds.map((r) => r.ratios[k]))]),
);
console.log("medians over rounds");
console.table(medians);
console.table(ratioMedians);
if (rounds.some((r) => names.some((n) => r[n].errors5xx > 0 || r[n].non2xx > 0))) process.exitCode = 1;
console.log(
	JSON.stringify({
		requestsPerScenario: REQUESTS,
		concurrency: CONCURRENCY,
		rounds: ROUNDS,
		inspector: INSPECTOR,
		peer: "better-auth@1.7.5 + @better-auth/api-key@1.7.5 on D1 (plugin rate limiting disabled)",
		setup,
		perRound: rounds,
		medians,
		ratioMedians,
	}),
);
