// Benchmark harness: starts the real Worker under `wrangler dev` (every binding
// local), drives it over loopback with a fixed number of requests per scenario,
// and prints requests/second and latency percentiles. Bounded in count and time.
//
//   npm run bench                  all scenarios
//   npm run bench -- health        one scenario
//   BENCH_REQUESTS=5000 npm run bench
import { spawn } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";

const PORT = Number(process.env.BENCH_PORT ?? 8799);
const BASE = `http://127.0.0.1:${PORT}`;
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 2000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const DEADLINE_MS = 120_000;

/** Each scenario: a name and a function that sends one request and returns the Response. */
const scenarios = {
	health: () => fetch(`${BASE}/health`),
	"validation-400": () => fetch(`${BASE}/v1/dev/outbox?to=not-an-email`),
};

function percentile(sorted, p) {
	return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function run(name, send) {
	const latencies = [];
	let next = 0;
	let errors = 0;
	const started = performance.now();
	const worker = async () => {
		while (next < REQUESTS && performance.now() - started < DEADLINE_MS) {
			next++;
			const t0 = performance.now();
			const res = await send();
			await res.arrayBuffer();
			if (res.status >= 500) errors++;
			latencies.push(performance.now() - t0);
		}
	};
	await Promise.all(Array.from({ length: CONCURRENCY }, worker));
	const seconds = (performance.now() - started) / 1000;
	latencies.sort((a, b) => a - b);
	return {
		scenario: name,
		requests: latencies.length,
		errors5xx: errors,
		rps: Math.round(latencies.length / seconds),
		p50ms: +percentile(latencies, 50).toFixed(2),
		p95ms: +percentile(latencies, 95).toFixed(2),
		p99ms: +percentile(latencies, 99).toFixed(2),
	};
}

async function waitForServer() {
	for (let i = 0; i < 120; i++) {
		try {
			if ((await fetch(`${BASE}/health`)).ok) return;
		} catch {}
		await sleep(500);
	}
	throw new Error("wrangler dev did not come up");
}

const only = process.argv.slice(2);
const server = spawn("npx", ["wrangler", "dev", "--port", String(PORT), "--ip", "127.0.0.1", "--log-level", "error"], {
	stdio: ["ignore", "ignore", "inherit"],
	detached: true,
});
try {
	await waitForServer();
	const results = [];
	for (const [name, send] of Object.entries(scenarios)) {
		if (only.length && !only.includes(name)) continue;
		await run(name, send); // warm-up pass, discarded
		results.push(await run(name, send));
	}
	console.table(results);
	console.log(JSON.stringify({ requestsPerScenario: REQUESTS, concurrency: CONCURRENCY, results }));
} finally {
	process.kill(-server.pid, "SIGTERM");
}
