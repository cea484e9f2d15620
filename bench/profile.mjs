// A CPU profile of one scenario on the local stack (`wrangler dev`, whose runtime has the
// inspector): where the runtime thread's time goes per request, by function (self time) and by
// entry point (the Worker's request, the account object's call, the queue consumer, ...).
//
//   npm run bench:profile -- verify     (or: health, bad-checksum, me)
//
// Samples every 100 µs over BENCH_PROFILE_REQUESTS requests (default 3,000) from 16 clients,
// after 1,000 unprofiled ones. Figures are µs per request: samples of that row over all samples,
// times the profile's wall time, over the requests. Idle and (program) are the runtime's own.
import { writeFileSync } from "node:fs";
// `ws` is installed with wrangler (miniflare depends on it; the lockfile hoists it to the top).
import WebSocket from "ws";
import { createBenchKey, drive, json, signUpVerified, startStack } from "./stack.mjs";

const MODE = process.argv[2] ?? "verify";
const REQUESTS = Number(process.env.BENCH_PROFILE_REQUESTS ?? 3000);
const stack = await startStack({ port: 8796, state: ".wrangler/bench-profile" });
try {
	const owner = await signUpVerified(stack.send, {
		email: "profile@example.com",
		password: "correct horse battery staple 9",
		name: "Profile",
	});
	const secret = await createBenchKey(stack.send, owner.session.token, owner.account.id);
	const verify = (key) => () => stack.send("/v1/keys/verify", json({ key, requiredScopes: ["bench:read"] }));
	const request = {
		health: () => stack.send("/health"),
		verify: verify(secret),
		"bad-checksum": verify(`${secret.slice(0, -2)}zz`),
		// A management read: the session checked in the person's object, then D1.
		me: () => stack.send("/v1/me", { headers: { Authorization: `Bearer ${owner.session.token}` } }),
	}[MODE];
	if (!request) throw new Error(`no scenario ${MODE}: health, verify, bad-checksum, me`);
	await drive(1000, request);
	const [target] = await (await fetch("http://127.0.0.1:9229/json")).json();
	const ws = new WebSocket(target.webSocketDebuggerUrl);
	await new Promise((resolve, reject) => {
		ws.on("open", resolve);
		ws.on("error", reject);
	});
	let next = 0;
	const pending = new Map();
	ws.on("message", (data) => {
		const message = JSON.parse(String(data));
		pending.get(message.id)?.(message.result);
		pending.delete(message.id);
	});
	const call = (method, params = {}) =>
		new Promise((resolve) => {
			const id = ++next;
			pending.set(id, resolve);
			ws.send(JSON.stringify({ id, method, params }));
		});
	await call("Profiler.enable");
	await call("Profiler.setSamplingInterval", { interval: 100 });
	await call("Profiler.start");
	const started = Date.now();
	const driven = await drive(REQUESTS, request);
	const elapsed = Date.now() - started;
	const { profile } = await call("Profiler.stop");
	ws.close();
	// A run that answered 5xx profiled an error path, not the scenario.
	if (driven.errors5xx > 0) throw new Error(`${driven.errors5xx} answers were 5xx`);
	writeFileSync(`.wrangler/bench-profile-${MODE}.cpuprofile`, JSON.stringify(profile));
	const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
	const parent = new Map();
	for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
	const samples = new Map();
	for (const s of profile.samples) samples.set(s, (samples.get(s) ?? 0) + 1);
	const wallMs = (profile.endTime - profile.startTime) / 1000;
	const perRequest = (count) => Math.round(((count / profile.samples.length) * wallMs * 1000) / REQUESTS);
	const self = new Map();
	const entry = new Map();
	const name = (n) => n.callFrame.functionName || "(anonymous)";
	for (const [id, count] of samples) {
		const node = nodes.get(id);
		const key = `${name(node)} ${node.callFrame.url.split("/").at(-1)}:${node.callFrame.lineNumber}`;
		self.set(key, (self.get(key) ?? 0) + count);
		const chain = [];
		for (let at = id; at; at = parent.get(at)) chain.unshift(name(nodes.get(at)));
		const top = chain.slice(1, 3).join(" > ") || chain[0];
		entry.set(top, (entry.get(top) ?? 0) + count);
	}
	const table = (map, rows) =>
		[...map]
			.sort((a, b) => b[1] - a[1])
			.slice(0, rows)
			.map(([key, count]) => `${String(perRequest(count)).padStart(6)} µs  ${key}`)
			.join("\n");
	console.log(`${MODE}: ${REQUESTS} requests in ${elapsed} ms, ${profile.samples.length} samples`);
	console.log(`\nBy entry point (µs per request):\n${table(entry, 20)}`);
	console.log(`\nBy function, self time (µs per request):\n${table(self, 25)}`);
} finally {
	await stack.stop();
}
