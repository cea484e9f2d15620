// Benchmark harness: starts the real Worker under `wrangler dev` (every binding
// local, fresh state in .wrangler/bench-state), drives it over loopback and
// prints figures. Bounded in count and time; talks only to 127.0.0.1.
//
//   npm run bench                   all scenarios
//   npm run bench -- health audit   chosen scenarios
//   npm run bench -- audit audit-personal   the audit pipeline, anonymous and signed-in (sealed) events
//   npm run bench -- binding        verify via a service binding vs over HTTP (bench/binding.mjs)
//   npm run bench -- stream         audit events into a log stream end to end (bench/stream.mjs)
//   npm run bench -- scim           SCIM deactivation and reactivation, one at a time (bench/scim.mjs)
//   BENCH_REQUESTS=5000 BENCH_AUDIT_EVENTS=20000 BENCH_ROUNDS=5 npm run bench
//   BENCH_INSPECTOR=off npm run bench -- health verify   without the debugger `wrangler dev` attaches
//   BENCH_RATE=50 npm run bench -- floor verify   the open-loop pass (floor and warm verify at one rate; default 75/s)
//   npm run bench -- floor object-floor verify   warm verify against the bare floor and the object floor (one call, one write)
import { setTimeout as sleep } from "node:timers/promises";
import { bindingScenario } from "./binding.mjs";
import { scimScenario, startFakeResolver } from "./scim.mjs";
import {
	createBenchKey,
	drive as driveLoop,
	json,
	percentile,
	readArchivedEvents,
	serverCpuMs,
	signUpVerified,
	startStack,
} from "./stack.mjs";
import { streamScenario } from "./stream.mjs";

const PORT = Number(process.env.BENCH_PORT ?? 8799);
const FLOOR_PORT = PORT + 1;
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 2000);
const AUDIT_EVENTS = Number(process.env.BENCH_AUDIT_EVENTS ?? 10_000);
const STREAM_EVENTS = Number(process.env.BENCH_STREAM_EVENTS ?? 5000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const LOGIN_SAMPLES = Number(process.env.BENCH_LOGIN_SAMPLES ?? 60);
// The latency scenarios run this many times each, interleaved (health, verify, … then again), so
// a slow patch of the shared machine falls on every scenario alike; the bars compare within a round.
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
// The open-loop pass: this many requests per round at this rate, below what either Worker serves.
const RATE = Number(process.env.BENCH_RATE ?? 75);
const RATE_REQUESTS = Number(process.env.BENCH_RATE_REQUESTS ?? 1125);
// BENCH_INSPECTOR=off serves through bench/serve.mjs: no debugger attached, as in production.
const INSPECTOR = process.env.BENCH_INSPECTOR !== "off";
const DEADLINE_MS = 180_000;
const drive = (count, request, concurrency = CONCURRENCY) =>
	driveLoop(count, request, { concurrency, deadlineMs: DEADLINE_MS });
const STATE = ".wrangler/bench-state";

let send; // set once the stack is up
let served;
let floorSend; // the bare floor's, once it is up

// ---- Keys of Keyward's public format (src/keys/format.ts), minted here for the forged-key scenario.
const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
	let c = n;
	for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
	return c >>> 0;
});
const crc32 = (text) => {
	let crc = 0xffffffff;
	for (const byte of new TextEncoder().encode(text)) crc = CRC_TABLE[(crc ^ byte) & 0xff] ^ (crc >>> 8);
	return (crc ^ 0xffffffff) >>> 0;
};
const base62 = (value, width) => {
	let out = "";
	for (let v = value; v > 0n; v /= 62n) out = BASE62[Number(v % 62n)] + out;
	return out.padStart(width, "0");
};
/** A key with a valid checksum for an account that exists, and a secret nobody issued. */
function forgedKey(accountId) {
	const random = crypto.getRandomValues(new Uint8Array(32)).reduce((a, b) => (a << 8n) | BigInt(b), 0n);
	const body = `kw_test_${accountId.replace(/^acc_/, "")}${base62(random, 43)}`;
	return body + base62(BigInt(crc32(body)), 6);
}

/**
 * Open loop: request i is sent at start + i / rate, whether or not earlier ones have answered, and
 * its latency is counted from that planned moment (so a stall is charged to every request it
 * delays, not hidden by a client that waits). At a rate both Workers can serve, the p99 ratio is
 * the latency a scenario adds; with a fixed number of clients (`drive`) a scenario that serves
 * 0.6x the floor's req/s waits about 1/0.6x as long at the median by Little's law, whatever its tail.
 */
async function driveAtRate(count, rate, request) {
	const latencies = [];
	let errors = 0;
	const started = performance.now();
	const one = async (i) => {
		const planned = started + (i * 1000) / rate;
		const wait = planned - performance.now();
		if (wait > 0) await sleep(wait);
		const res = await request();
		if (res.status >= 500) errors++;
		latencies.push(performance.now() - planned);
	};
	await Promise.all(Array.from({ length: count }, (_, i) => one(i)));
	latencies.sort((a, b) => a - b);
	return {
		requests: latencies.length,
		errors5xx: errors,
		rps: Math.round(latencies.length / ((performance.now() - started) / 1000)),
		p50ms: +percentile(latencies, 50).toFixed(2),
		p95ms: +percentile(latencies, 95).toFixed(2),
		p99ms: +percentile(latencies, 99).toFixed(2),
	};
}

const BENCH_PASSWORD = "bench passphrase that is long";
let benchSession; // set by setupIdentity()

/** One user for the identity scenarios; its session token authenticates /v1/me. */
async function setupIdentity() {
	const email = `bench-${Date.now()}@example.com`;
	const { session, account } = await signUpVerified(send, { email, password: BENCH_PASSWORD, name: "Bench" });
	const apiKey = await createBenchKey(send, session.token, account.id);
	// A customer's key (issue #23): credits spent and two named limits checked on every verify.
	const customerKey = await createBenchKey(send, session.token, account.id, {
		name: "bench customer",
		externalId: "cus_bench",
		meta: { plan: "bench" },
		credits: { remaining: 1_000_000_000 },
		rateLimits: [
			{ name: "default", limit: 1_000_000, windowSeconds: 60 },
			{ name: "burst", limit: 1_000_000, windowSeconds: 1 },
		],
	});
	const badKey = apiKey.slice(0, -1) + (apiKey.endsWith("A") ? "B" : "A");
	// The login scenario signs in as a person of its own: a person keeps at most 20 sessions, so its
	// 63 sign-ins would end the session that /v1/me and the personal audit scenario use.
	const loginEmail = `bench-login-${Date.now()}@example.com`;
	await signUpVerified(send, { email: loginEmail, password: BENCH_PASSWORD, name: "Bench login" });
	// An account whose keys are verified by regional guards (issue #25): locally two guards take turns
	// (DEV_VERIFY_REGIONS), each admitting on shares lent by the account's object.
	const regional = await signUpVerified(send, {
		email: `bench-regional-${Date.now()}@example.com`,
		password: BENCH_PASSWORD,
		name: "Bench regional",
	});
	const placed = await send(
		`/v1/accounts/${regional.account.id}`,
		json({ settings: { verifyPlacement: "regional" } }, { Authorization: `Bearer ${regional.session.token}` }, "PATCH"),
	);
	if (placed.status !== 200) throw new Error(`could not make the bench account regional: ${placed.status}`);
	const regionalKey = await createBenchKey(send, regional.session.token, regional.account.id);
	benchSession = {
		loginEmail,
		token: session.token,
		apiKey,
		customerKey,
		badKey,
		accountId: account.id,
		regionalKey,
		regionalAccountId: regional.account.id,
	};
}

const OBJECT_FLOOR = "object-floor (one call, one write)";

const latencyScenarios = {
	// The bare floor: a bare Hono Worker's `/health`, on the same runtime (bench/floor).
	floor: () => floorSend("/health"),
	// The object floor: the same Worker making one Durable Object call with one durable write, the
	// least a verify does (bench/floor). Warm verify is reported against it too.
	[OBJECT_FLOOR]: () => floorSend("/object"),
	health: () => send("/health"),
	"validation-400": () => send("/v1/dev/outbox?to=not-an-email"),
	// Session validation: a round trip to the user's Durable Object on every request, no cache.
	"me (session)": () => send("/v1/me", { headers: { Authorization: `Bearer ${benchSession.token}` } }),
	// Warm verify: one Durable Object call, no D1 (the limit is high enough never to refuse).
	"verify (warm)": () => send("/v1/keys/verify", json({ key: benchSession.apiKey, requiredScopes: ["bench:read"] })),
	// The same, for a key with credits and two named limits: a credit spent and two windows counted.
	"verify (credits, two limits)": () =>
		send(
			"/v1/keys/verify",
			json({
				key: benchSession.customerKey,
				requiredScopes: ["bench:read"],
				cost: 1,
				ratelimits: ["default", "burst"],
			}),
		),
	// Warm verify of a regional account's key: answered by a guard on its lent share (GLOBAL.md).
	"verify (regional)": () =>
		send("/v1/keys/verify", json({ key: benchSession.regionalKey, requiredScopes: ["bench:read"] })),
	// A key with a bad checksum: refused before any storage.
	"verify (bad checksum)": () => send("/v1/keys/verify", json({ key: benchSession.badKey })),
	// Distinct forged keys with valid checksums for a real account: the object's key set answers, no D1.
	"verify (forged keys)": () => send("/v1/keys/verify", json({ key: forgedKey(benchSession.accountId) })),
};

/** Targets of issue #20, as ratios to the floor in the same round (medians over the rounds). */
const FLOOR_TARGETS = {
	health: { rps: 0.8 },
	"verify (warm)": { rps: 0.6, p99: 1.5 },
	// The latency bar at equal offered load (open loop): what verify adds, not what fewer req/s cost.
	[`verify (warm) @${RATE}/s`]: { p99: 1.5 },
};

/** Every scenario as a ratio to the bare floor of its own round: req/s and p99, per round and median. */
function floorRatios(rounds) {
	const names = Object.keys(rounds[0] ?? {}).filter((n) => !n.startsWith("floor"));
	// An open-loop row (`… @150/s`) is compared with the floor at the same rate.
	const floorOf = (name) => (name.includes(" @") ? `floor @${name.split(" @")[1]}` : "floor");
	return names.map((name) => {
		const pairs = rounds.filter((r) => r[floorOf(name)] && r[name]).map((r) => [r[name], r[floorOf(name)]]);
		const rps = pairs.map(([row, floor]) => +(row.rps / floor.rps).toFixed(2));
		const p99 = pairs.map(([row, floor]) => +(row.p99ms / floor.p99ms).toFixed(2));
		const target = FLOOR_TARGETS[name];
		const verdicts = [];
		if (target?.rps) verdicts.push(`req/s >= ${target.rps}x: ${median(rps) >= target.rps ? "met" : "not met"}`);
		if (target?.p99) verdicts.push(`p99 <= ${target.p99}x: ${median(p99) <= target.p99 ? "met" : "not met"}`);
		return {
			scenario: `${name} ÷ floor`,
			rpsRatios: rps.join(" "),
			rpsMedian: median(rps),
			p99Ratios: p99.join(" "),
			p99Median: median(p99),
			bars: verdicts.join("; ") || "(reported)",
		};
	});
}

/** The isolate's audit queue counters and the bench account's object counters, read through the dev routes. */
/**
 * What a counter added between two reads. The objects' counters live in memory, so an object that
 * went idle during a scenario and was evicted counts again from zero: all it counts then is new.
 * (Subtracting across the restart took its earlier sends off the isolate's, and once made
 * `GET /v1/me` look like 0.009 queue operations a request.)
 */
const grew = (after, before) => (after >= before ? after - before : after);

async function counters() {
	const audit = (await send("/v1/dev/audit-stats?stream=system")).json();
	const objects = (await send(`/v1/dev/object-stats?accountId=${benchSession.accountId}`)).json();
	// Verify's events are sent by the account's object (issue #20), which counts its own sends.
	const objectMessages = objects.eventsSent?.messages ?? 0;
	// The regional account's guards: verifies they sent on to the home, and their requests for shares.
	const regional = (await send(`/v1/dev/object-stats?accountId=${benchSession.regionalAccountId}`)).json();
	const guardToHome = (regional.guards ?? []).reduce((n, g) => n + g.answeredHome + (g.lends ?? 0), 0);
	return { queue: audit.queue, objectMessages, d1Loads: objects.d1Loads + (regional.d1Loads ?? 0), guardToHome };
}

/**
 * Warm verify against the object floor of its own round: what Keyward's own code costs beyond the
 * one object call and one durable write its design needs (reported; issue #20's bars are against
 * the bare floor). The CPU difference is the runtime's, per request.
 */
function objectFloorRatio(rounds) {
	const pairs = rounds.filter((r) => r[OBJECT_FLOOR] && r["verify (warm)"]);
	if (pairs.length === 0) return null;
	const of = (pick) => pairs.map((r) => +pick(r["verify (warm)"], r[OBJECT_FLOOR]).toFixed(2));
	const rps = of((v, o) => v.rps / o.rps);
	const p99 = of((v, o) => v.p99ms / o.p99ms);
	return {
		scenario: "verify (warm) ÷ object-floor",
		rpsRatios: rps.join(" "),
		rpsMedian: median(rps),
		p99Ratios: p99.join(" "),
		p99Median: median(p99),
		extraWorkerdCpuMs: median(of((v, o) => v.workerdCpuMs - o.workerdCpuMs)),
		bars: "(reported)",
	};
}

const median = (values) => {
	const sorted = [...values].sort((a, b) => a - b);
	const mid = Math.floor(sorted.length / 2);
	return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/**
 * Issue #6's bars, judged within each round (same stack, same load generator, same minute):
 * warm verify at least 0.8x the /health floor's req/s, and p99 at most 1.5x the floor's p99.
 */
function verifyBars(rounds) {
	const pairs = rounds
		.map((r) => [r.health, r["verify (warm)"]])
		.filter(([health, verify]) => health && verify)
		.map(([health, verify]) => ({
			rps: verify.rps / health.rps,
			p99: verify.p99ms / health.p99ms,
			cpu: verify.workerdCpuMs - health.workerdCpuMs,
		}));
	if (pairs.length === 0) return null;
	// A run that answered any 5xx measured something else (an error path): no verdict on the bars.
	const errors = rounds.reduce((n, r) => n + Object.values(r).reduce((m, row) => m + row.errors5xx, 0), 0);
	const rps = pairs.map((p) => +p.rps.toFixed(2));
	const p99 = pairs.map((p) => +p.p99.toFixed(2));
	return {
		scenario: "warm verify ÷ /health, per round",
		rpsRatios: rps.join(" "),
		rpsMedian: median(rps),
		p99Ratios: p99.join(" "),
		p99Median: median(p99),
		// What a warm verify costs the runtime beyond /health, in CPU ms per request.
		extraWorkerdCpuMs: +median(pairs.map((p) => p.cpu)).toFixed(2),
		bars:
			errors > 0
				? `invalid: ${errors} responses were 5xx`
				: `req/s >= 0.8: ${median(rps) >= 0.8 ? "met" : "not met"}; p99 <= 1.5: ${median(p99) <= 1.5 ? "met" : "not met"} (medians)`,
	};
}

/** The list with the two named entries' places exchanged (when both are in it). */
function swapped(entries, a, b) {
	const i = entries.findIndex(([name]) => name === a);
	const j = entries.findIndex(([name]) => name === b);
	if (i < 0 || j < 0) return entries;
	const out = [...entries];
	[out[i], out[j]] = [out[j], out[i]];
	return out;
}

/** Issue #23's bar: a verify with credits and two limits at least 0.95x plain warm verify's req/s, per round. */
function customerBars(rounds) {
	const pairs = rounds
		.map((r) => [r["verify (warm)"], r["verify (credits, two limits)"]])
		.filter(([plain, customer]) => plain && customer);
	if (pairs.length === 0) return null;
	const rps = pairs.map(([plain, customer]) => +(customer.rps / plain.rps).toFixed(2));
	const p99 = pairs.map(([plain, customer]) => +(customer.p99ms / plain.p99ms).toFixed(2));
	const cpu = pairs.map(([plain, customer]) => +(customer.workerdCpuMs - plain.workerdCpuMs).toFixed(2));
	return {
		scenario: "verify (credits, two limits) ÷ verify (warm), per round",
		rpsRatios: rps.join(" "),
		rpsMedian: median(rps),
		p99Ratios: p99.join(" "),
		p99Median: median(p99),
		extraWorkerdCpuMs: median(cpu),
		bars: `req/s >= 0.95: ${median(rps) >= 0.95 ? "met" : "not met"} (median)`,
	};
}

/**
 * Sequential (one at a time), so each figure is one request's own cost:
 * a login is dominated by one scrypt hash (N=2^15, r=8, p=3) on the local runtime.
 */
const sequentialScenarios = {
	"login (scrypt verify + session)": () =>
		send("/v1/auth/login", json({ email: benchSession.loginEmail, password: BENCH_PASSWORD })),
};

/**
 * Audit pipeline end to end: AUDIT_EVENTS requests each produce one
 * http.request event (producer → queue → consumer → D1 index + R2 archive).
 * Timed until the index reports them all archived; then the archive is read
 * back after shutdown and checked event by event.
 */
async function auditScenario(request) {
	// Settle first: what earlier scenarios left in flight (coalesced sends, the consumer's 5 s batch
	// timeout) must not count toward this load. Then wait for this load's events alone.
	let baseline = (await send("/v1/dev/audit-stats?stream=system")).json().archived;
	// Each poll is itself an audited request, so "quiet" allows the polls' own few events.
	for (let quiet = 0, polls = 0; quiet < 2 && polls < 30; polls++) {
		await sleep(3000);
		const now = (await send("/v1/dev/audit-stats?stream=system")).json().archived;
		quiet = now - baseline <= 3 ? quiet + 1 : 0;
		baseline = now;
	}
	const before = served.length;
	const started = performance.now();
	const load = await drive(AUDIT_EVENTS, request);
	const loadIds = served.slice(before, before + load.requests);
	const loadDone = performance.now();
	let stats;
	// The load's events plus the polls' own (each poll is an audited request of the system stream).
	const target = () => baseline + (served.length - before);
	while (performance.now() - started < DEADLINE_MS) {
		stats = (await send("/v1/dev/audit-stats?stream=system")).json();
		if (stats.archived >= target() - 1) break;
		await sleep(250);
	}
	const seconds = (performance.now() - started) / 1000;
	return { loadIds, seconds, drainSeconds: (performance.now() - loadDone) / 1000, stats, load };
}

const only = process.argv.slice(2);
const wanted = (name) => only.length === 0 || only.includes(name);
const floor = await startStack({
	port: FLOOR_PORT,
	state: ".wrangler/bench-floor-state",
	configs: ["bench/floor/wrangler.toml"],
	inspector: INSPECTOR,
	migrate: false,
});
floorSend = floor.send;
// Domain verification (issue #27) looks its TXT record up here, the outside world faked.
const resolver = await startFakeResolver();
const stack = await startStack({
	port: PORT,
	state: STATE,
	inspector: INSPECTOR,
	vars: { DOH_RESOLVER_URL: resolver.url },
});
({ send, served } = stack);
const results = [];
let audit;
let auditPersonal;
try {
	await setupIdentity();
	for (const [name, request] of Object.entries(sequentialScenarios)) {
		if (!wanted(name.split(" ")[0])) continue;
		await drive(3, request, 1); // warm-up, discarded
		results.push({ scenario: name, ...(await drive(LOGIN_SAMPLES, request, 1)) });
	}
	const chosen = Object.entries(latencyScenarios).filter(([name]) => wanted(name.split(" ")[0]));
	for (const [, request] of chosen) await drive(Math.min(500, REQUESTS), request); // warm-up, discarded
	const rounds = [];
	for (let round = 1; round <= ROUNDS; round++) {
		const byName = {};
		// Plain and customer verify swap places every other round: whichever runs second in a round
		// tends to run warmer, and the bar compares the two.
		const order = round % 2 === 0 ? swapped(chosen, "verify (warm)", "verify (credits, two limits)") : chosen;
		for (const [name, request] of order) {
			const ofFloor = name === "floor" || name.startsWith("object-floor");
			const pid = ofFloor ? floor.pid : stack.pid;
			const countersBefore = ofFloor ? null : await counters();
			const cpuBefore = await serverCpuMs(pid);
			const row = await drive(REQUESTS, request);
			const cpuAfter = await serverCpuMs(pid);
			if (countersBefore) {
				// Queue messages the isolate sent per request (each message is 3 billed operations:
				// write, read, delete), and D1 reads the account's object made per 1,000 requests.
				// The last requests' coalesced send (1 s), and the account object's alarm (1 s).
				await sleep(1300);
				const countersAfter = await counters();
				// An upper bound: the two counter reads are audited requests too.
				// (A build without these counters, such as the one before issue #20, reports none.)
				if (countersAfter.queue && countersBefore.queue) {
					const messages =
						grew(countersAfter.queue.messages, countersBefore.queue.messages) +
						grew(countersAfter.objectMessages, countersBefore.objectMessages);
					row.queueOpsPerRequest = +((3 * messages) / row.requests).toFixed(4);
				}
				// Object calls a regional verify adds past its guard: verifies sent on, and share requests.
				if (countersAfter.guardToHome !== undefined)
					row.guardToHomePer1k = +(
						(1000 * grew(countersAfter.guardToHome, countersBefore.guardToHome)) /
						row.requests
					).toFixed(2);
				if (countersAfter.d1Loads !== undefined)
					row.d1LoadsPer1k = +((1000 * grew(countersAfter.d1Loads, countersBefore.d1Loads)) / row.requests).toFixed(2);
			}
			// Server CPU per request: steadier than req/s on a machine the load generator shares.
			row.workerdCpuMs = +((cpuAfter.workerd - cpuBefore.workerd) / row.requests).toFixed(2);
			row.proxyCpuMs = +((cpuAfter.other - cpuBefore.other) / row.requests).toFixed(2);
			byName[name] = row;
			results.push({ scenario: name, round, ...byName[name] });
		}
		// The same scenarios at one offered rate (open loop), for the latency each adds at equal load.
		if (byName.floor && byName["verify (warm)"]) {
			for (const name of ["floor", "verify (warm)"]) {
				const row = await driveAtRate(RATE_REQUESTS, RATE, latencyScenarios[name]);
				byName[`${name} @${RATE}/s`] = row;
				results.push({ scenario: `${name} @${RATE}/s`, round, ...row });
			}
		}
		rounds.push(byName);
	}
	const bars = verifyBars(rounds);
	if (bars) results.push(bars);
	const customer = customerBars(rounds);
	if (customer) results.push(customer);
	if (rounds[0]?.floor) results.push(...floorRatios(rounds));
	const objectFloor = objectFloorRatio(rounds);
	if (objectFloor) results.push(objectFloor);
	if (results.some((r) => r.errors5xx > 0)) process.exitCode = 1;
	// Every scenario but the validation one measures requests that succeed: a run whose session or
	// key stopped working measured refusals, so it fails rather than report their figures.
	const refused = results.filter((r) => r.non2xx > 0 && r.scenario !== "validation-400");
	if (refused.length > 0) {
		console.error(`scenarios answered with refusals: ${refused.map((r) => `${r.scenario} (${r.non2xx})`).join(", ")}`);
		process.exitCode = 1;
	}
	// Anonymous requests: the actor is the system, so nothing is sealed.
	if (wanted("audit"))
		audit = await auditScenario(() => send("/health", { headers: { "User-Agent": "keyward-bench" } }));
	// A signed-in person's requests (issue #26): each event's address and user agent are sealed under
	// their data key by the consumer, so this is the pipeline's rate with crypto-shredding at work.
	if (wanted("audit-personal"))
		auditPersonal = await auditScenario(() =>
			send("/v1/me", { headers: { Authorization: `Bearer ${benchSession.token}`, "User-Agent": "keyward-bench" } }),
		);
	// SCIM deprovisioning (issue #27): one call at a time, as a provider makes them, beside the floor.
	if (wanted("scim")) {
		const rows = await scimScenario({
			send,
			floorSend,
			resolver,
			pid: stack.pid,
			floorPid: floor.pid,
			people: LOGIN_SAMPLES,
		});
		results.push(...rows);
		if (rows.some((r) => r.statuses && Object.keys(r.statuses).some((s) => Number(s) >= 300))) process.exitCode = 1;
	}
} finally {
	await stack.stop();
	await floor.stop();
	resolver.close();
}

if (wanted("binding")) {
	const { rows, ratio } = await bindingScenario({
		port: PORT,
		state: ".wrangler/bench-binding-state",
		requests: REQUESTS,
		drive,
	});
	results.push(...rows, ratio);
}

if (wanted("stream")) {
	const summary = await streamScenario({
		port: PORT + 2,
		state: ".wrangler/bench-stream-state",
		events: STREAM_EVENTS,
		drive,
		deadlineMs: DEADLINE_MS,
	});
	console.table([summary]);
	results.push(summary);
	if (summary.lost > 0 || summary.duplicated > 0 || !summary.copyVerifies || !summary.catchUpComplete)
		process.exitCode = 1;
}

const barRows = results.filter((r) => r.bars);
if (results.length > barRows.length) console.table(results.filter((r) => !r.bars));
if (barRows.length) console.table(barRows);
const pipelines = [
	["audit-pipeline", audit],
	["audit-pipeline-personal", auditPersonal],
].filter(([, run]) => run);
if (pipelines.length > 0) {
	const { events, chains } = await readArchivedEvents(STATE, ["system"]);
	const seen = new Map();
	for (const event of events) seen.set(event.requestId, (seen.get(event.requestId) ?? 0) + 1);
	// Sealed fields in the archive (issue #26): the personal run's events carry them, the anonymous run's none.
	const sealedIds = new Set(
		events.filter((e) => String(e.actor?.ip ?? e.actor?.userAgent ?? "").startsWith("pii:v1:")).map((e) => e.requestId),
	);
	for (const [scenario, run] of pipelines) {
		const lost = run.loadIds.filter((id) => !seen.has(id)).length;
		const duplicated = run.loadIds.filter((id) => (seen.get(id) ?? 0) > 1).length;
		const summary = {
			scenario,
			events: run.loadIds.length,
			sealed: run.loadIds.filter((id) => sealedIds.has(id)).length,
			seconds: +run.seconds.toFixed(2),
			eventsPerSecond: Math.round(run.loadIds.length / run.seconds),
			producerRps: run.load.rps,
			drainSeconds: +run.drainSeconds.toFixed(2),
			lost,
			duplicated,
			chainOk: chains.system,
			indexStats: JSON.stringify(run.stats),
		};
		console.table([summary]);
		results.push(summary);
		// The personal run's events each carry an address and a user agent to seal (issue #26).
		const unsealed = scenario === "audit-pipeline-personal" && summary.sealed !== run.loadIds.length;
		if (lost > 0 || duplicated > 0 || !chains.system || unsealed) process.exitCode = 1;
	}
}
console.log(JSON.stringify({ requestsPerScenario: REQUESTS, concurrency: CONCURRENCY, inspector: INSPECTOR, results }));
