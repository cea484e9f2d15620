// Load and soak: a mixed workload against the real Worker under `wrangler dev`
// (every binding local), then the invariants checked from the outside and from
// the audit archive. Exits 1 if any invariant fails.
//
//   npm run load                      5 minutes (LOAD_SECONDS=300)
//   npm run load -- --seconds 30      the CI slice (part of `npm test`)
//   LOAD_ACCOUNTS=5 LOAD_CONCURRENCY=12 npm run load
import { setTimeout as sleep } from "node:timers/promises";
import { json, percentile, readArchivedEvents, signUpVerified, startStack, workerdMemoryKiB } from "./stack.mjs";

const arg = (name) => {
	const i = process.argv.indexOf(`--${name}`);
	return i >= 0 ? process.argv[i + 1] : undefined;
};
const SECONDS = Number(arg("seconds") ?? process.env.LOAD_SECONDS ?? 300);
const ACCOUNTS = Number(process.env.LOAD_ACCOUNTS ?? 3);
const KEYS_PER_ACCOUNT = Number(process.env.LOAD_KEYS ?? 6);
const CONCURRENCY = Number(process.env.LOAD_CONCURRENCY ?? 8);
const PORT = Number(process.env.LOAD_PORT ?? 8798);
const STATE = ".wrangler/load-state";
const PASSWORD = "load test passphrase, long enough";
const TIGHT = { limit: 20, windowSeconds: 5 };
const LOOSE = { limit: 1_000_000, windowSeconds: 60 };

const stack = await startStack({ port: PORT, state: STATE });
const { send, served } = stack;
const auth = (account) => ({ Authorization: `Bearer ${account.token}` });
const pick = (list) => list[Math.floor(Math.random() * list.length)];

/** Every key ever made: its limit, and when its revocation was answered (if it was). */
const keys = new Map();
const accounts = [];

async function createKey(account, rateLimit, credits) {
	const res = await send(
		`/v1/accounts/${account.id}/keys`,
		json(
			{
				name: "load",
				environment: "staging",
				scopes: ["load:read"],
				rateLimit,
				...(credits ? { credits: { remaining: credits } } : {}),
			},
			auth(account),
		),
	);
	if (res.status !== 201) return res;
	const { key, secret } = res.json();
	// A rotation's successor spends the same balance: `pool` names it (the first key of the chain).
	const pool = credits ? { pool: key.id, credits } : {};
	keys.set(key.id, { id: key.id, secret, account, rateLimit, revokedAnsweredAt: null, active: true, ...pool });
	return res;
}

/** Credits each account's key with a balance starts with (regional guards spend them from lent shares). */
const CREDITS = 20;

/** Sets an account's shard count (the keys move before this answers); throws unless 200. */
async function setShards(entry, verifyShards) {
	const res = await send(
		`/v1/accounts/${entry.id}`,
		json({ settings: { verifyShards } }, { Authorization: `Bearer ${entry.token}` }, "PATCH"),
	);
	if (res.status !== 200) throw new Error(`could not set account ${entry.id} to ${verifyShards} shards: ${res.status}`);
	entry.shards = verifyShards;
}

async function setup() {
	for (let i = 0; i < ACCOUNTS; i++) {
		const email = `load-${Date.now()}-${i}@example.com`;
		const { session, account } = await signUpVerified(send, { email, password: PASSWORD, name: `Load ${i}` });
		const entry = {
			id: account.id,
			email,
			token: session.token,
			placement: i === 0 ? "regional" : "home",
			// The first two accounts' keys are spread over four shards (docs/GLOBAL.md §7); the second's go
			// to sixteen halfway through the run, while it verifies.
			shards: i < 2 ? 4 : 1,
		};
		// The first account's keys are verified by its regional guards (DEV_VERIFY_REGIONS, docs/GLOBAL.md).
		if (entry.placement === "regional") {
			const res = await send(
				`/v1/accounts/${account.id}`,
				json({ settings: { verifyPlacement: "regional" } }, { Authorization: `Bearer ${session.token}` }, "PATCH"),
			);
			if (res.status !== 200) throw new Error(`could not make account ${account.id} regional: ${res.status}`);
		}
		accounts.push(entry);
		for (let k = 0; k < KEYS_PER_ACCOUNT; k++) await createKey(entry, k % 2 ? LOOSE : TIGHT);
		if (i < 2) await createKey(entry, LOOSE, CREDITS);
		if (entry.shards > 1) await setShards(entry, entry.shards);
	}
}

const activeKeys = (account) => [...keys.values()].filter((k) => k.active && (!account || k.account === account));
const verifies = [];

/** The operations and their weights. */
const operations = {
	verify: [
		74,
		async () => {
			// One verify in five goes to a key with credits (there are few of them among the keys).
			const credited = [...keys.values()].filter((k) => k.pool);
			const key = credited.length > 0 && Math.random() < 0.2 ? pick(credited) : pick([...keys.values()]);
			const sentAt = Date.now();
			const res = await send("/v1/keys/verify", json({ key: key.secret, requiredScopes: ["load:read"] }));
			const code = res.status === 200 ? res.json().code : null;
			verifies.push({ keyId: key.id, sentAt, code });
			return res;
		},
	],
	me: [5, () => send("/v1/me", { headers: auth(pick(accounts)) })],
	"list keys": [5, (a = pick(accounts)) => send(`/v1/accounts/${a.id}/keys`, { headers: auth(a) })],
	login: [
		1,
		async (a = pick(accounts)) => {
			const res = await send("/v1/auth/login", json({ email: a.email, password: PASSWORD }));
			// Signed out again: a user keeps at most 20 sessions, and the 21st login would end the
			// set-up session that the management operations use (a 300 s run got 401s from it).
			const token = res.status === 200 ? res.json().session?.token : undefined;
			if (token) await send("/v1/auth/logout", { method: "POST", headers: { Authorization: `Bearer ${token}` } });
			return res;
		},
	],
	"create key": [4, () => createKey(pick(accounts), Math.random() < 0.5 ? TIGHT : LOOSE)],
	"rotate key": [
		3,
		async () => {
			const key = pick(activeKeys());
			const res = await send(`/v1/accounts/${key.account.id}/keys/${key.id}/rotate`, json({}, auth(key.account)));
			if (res.status === 201) {
				const { key: next, secret } = res.json();
				key.active = false; // still valid through its grace period, but not rotated twice
				keys.set(next.id, { ...key, id: next.id, secret, revokedAnsweredAt: null, active: true });
			}
			return res;
		},
	],
	"revoke key": [
		3,
		async () => {
			const account = pick(accounts);
			const live = activeKeys(account);
			if (live.length <= 2) return createKey(account, TIGHT);
			const key = pick(live);
			key.active = false;
			const res = await send(
				`/v1/accounts/${account.id}/keys/${key.id}/revoke`,
				json({ reason: "load test" }, auth(account)),
			);
			if (res.status === 200) key.revokedAnsweredAt = Date.now();
			return res;
		},
	],
	"member change": [
		4,
		async () => {
			const account = pick(accounts);
			const invited = await send(
				`/v1/accounts/${account.id}/invitations`,
				json({ email: `invitee-${crypto.randomUUID()}@example.com`, role: "member" }, auth(account)),
			);
			if (invited.status !== 201) return invited;
			const { invitation } = invited.json();
			return send(`/v1/accounts/${account.id}/invitations/${invitation.id}`, {
				method: "DELETE",
				headers: auth(account),
			});
		},
	],
};

const stats = Object.fromEntries(Object.keys(operations).map((name) => [name, { latencies: [], statuses: {} }]));
const table = Object.entries(operations).flatMap(([name, [weight]]) => Array(weight).fill(name));

async function worker(deadline) {
	while (Date.now() < deadline) {
		const name = pick(table);
		const started = performance.now();
		let status;
		try {
			status = (await operations[name][1]()).status;
		} catch {
			status = "network";
		}
		stats[name].latencies.push(performance.now() - started);
		stats[name].statuses[status] = (stats[name].statuses[status] ?? 0) + 1;
	}
}

/**
 * Waits until the archive holds an http.request event for every request
 * answered at least SETTLE_MS before the current poll; returns how many
 * requests that covers (all of the load's once SETTLE_MS have passed), or 0 on
 * timeout. The polls are requests too, and the last ones' events are still on
 * their way (the coalescer's 1 s window, then the consumer's batch of up to
 * 5 s), so a target that counted them could never be met while polling.
 */
const SETTLE_MS = 10_000;
async function drainAudit(deadlineMs) {
	const streams = ["system", ...accounts.map((a) => a.id)];
	const loadRequests = served.length;
	const started = Date.now();
	const until = started + deadlineMs;
	/** [when, how many requests had been answered then], oldest first. */
	const answered = [[started, loadRequests]];
	while (Date.now() < until) {
		const now = Date.now();
		answered.push([now, served.length]);
		const settled = answered.filter(([at]) => at <= now - SETTLE_MS).at(-1);
		let archived = 0;
		for (const stream of streams)
			archived += (await send(`/v1/dev/audit-stats?stream=${stream}&action=http.request`)).json().archived;
		if (settled && archived >= settled[1]) return settled[1];
		await sleep(1000);
	}
	return 0;
}

const failures = [];
const check = (ok, message) => {
	if (!ok) failures.push(message);
	return ok;
};

let memory;
let drained = 0;
const startedAt = Date.now();
let reshardMs = null;
try {
	await setup();
	const rssBefore = await workerdMemoryKiB(stack.pid);
	const deadline = Date.now() + SECONDS * 1000;
	// Halfway, the second account goes from four shards to sixteen while the load runs.
	const resharding = new Promise((resolve) => setTimeout(resolve, (SECONDS * 1000) / 2)).then(async () => {
		const started = Date.now();
		await setShards(accounts[1], 16);
		reshardMs = Date.now() - started;
	});
	await Promise.all([...Array.from({ length: CONCURRENCY }, () => worker(deadline)), resharding]);
	const rssAfter = await workerdMemoryKiB(stack.pid);
	const objects = [];
	for (const a of accounts) objects.push((await send(`/v1/dev/object-stats?accountId=${a.id}`)).json());
	memory = { rssBeforeMiB: Math.round(rssBefore / 1024), rssAfterMiB: Math.round(rssAfter / 1024), objects };
	drained = await drainAudit(120_000);
} finally {
	await stack.stop();
}

// ---- Invariants

const rows = Object.entries(stats).map(([name, s]) => {
	const sorted = [...s.latencies].sort((a, b) => a - b);
	return {
		operation: name,
		requests: sorted.length,
		rps: +(sorted.length / SECONDS).toFixed(1),
		p50ms: +(percentile(sorted, 50) ?? 0).toFixed(1),
		p95ms: +(percentile(sorted, 95) ?? 0).toFixed(1),
		p99ms: +(percentile(sorted, 99) ?? 0).toFixed(1),
		statuses: JSON.stringify(s.statuses),
	};
});
console.table(rows);

const fiveHundreds = Object.values(stats).reduce(
	(n, s) =>
		n +
		Object.entries(s.statuses)
			.filter(([k]) => k === "network" || Number(k) >= 500)
			.reduce((a, [, v]) => a + v, 0),
	0,
);
check(fiveHundreds === 0, `${fiveHundreds} responses were 5xx or failed`);

// A revoked key never answers VALID to a request sent after its revocation was answered.
let afterRevocation = 0;
for (const v of verifies) {
	const key = keys.get(v.keyId);
	if (key?.revokedAnsweredAt && v.sentAt > key.revokedAnsweredAt) {
		afterRevocation++;
		check(v.code !== "VALID", `key ${v.keyId} answered VALID after its revocation`);
	}
}

check(drained > 0, "the audit archive did not catch up within 120 s");
const streams = ["system", ...accounts.map((a) => a.id)];
const { events, chains } = await readArchivedEvents(STATE, streams);
const requests = events.filter((e) => e.action === "http.request");
const perRequest = new Map();
for (const e of requests) perRequest.set(e.requestId, (perRequest.get(e.requestId) ?? 0) + 1);
const missingIds = served.slice(0, drained).filter((id) => !perRequest.has(id));
const missing = missingIds.length;
if (missing) {
	const byRoute = {};
	for (const id of missingIds) byRoute[stack.routes.get(id)] = (byRoute[stack.routes.get(id)] ?? 0) + 1;
	console.error(`requests without an archived event, by route: ${JSON.stringify(byRoute)}`);
}
const doubled = [...perRequest.values()].filter((n) => n > 1).length;
check(missing === 0, `${missing} answered requests have no http.request event in the archive`);
check(doubled === 0, `${doubled} requests have more than one http.request event`);
for (const [stream, ok] of Object.entries(chains)) check(ok, `the archive chain of ${stream} is broken`);

// No key ever had more than its limit admitted in any window, by the decision times in the trail.
let windowsChecked = 0;
const admitted = new Map();
for (const e of requests) {
	if (e.metadata?.verdict !== "VALID") continue;
	const list = admitted.get(e.metadata.keyId) ?? [];
	list.push(e.metadata.decidedAt);
	admitted.set(e.metadata.keyId, list);
}
for (const [keyId, times] of admitted) {
	const key = keys.get(keyId);
	if (!key) continue;
	const { limit, windowSeconds } = key.rateLimit;
	times.sort((a, b) => a - b);
	let start = 0;
	for (let end = 0; end < times.length; end++) {
		while (times[start] <= times[end] - windowSeconds * 1000) start++;
		windowsChecked++;
		if (
			!check(
				end - start + 1 <= limit,
				`key ${keyId}: ${end - start + 1} admitted within ${windowSeconds} s (limit ${limit})`,
			)
		)
			break;
	}
}
const clientValid = verifies.filter((v) => v.code === "VALID").length;
check(
	clientValid === [...admitted.values()].reduce((a, t) => a + t.length, 0),
	"VALID answers and VALID events differ",
);

// No balance spent past its credits (a pool is a key and its rotations' successors), by the client's answers.
const validByPool = new Map();
for (const v of verifies) {
	const pool = keys.get(v.keyId)?.pool;
	if (pool && v.code === "VALID") validByPool.set(pool, (validByPool.get(pool) ?? 0) + 1);
}
// What each pool's verifies were answered (so a pool with few VALID says why: revoked, out of credits…).
const codesByPool = new Map();
for (const v of verifies) {
	const pool = keys.get(v.keyId)?.pool;
	if (!pool) continue;
	const codes = codesByPool.get(pool) ?? {};
	codes[v.code ?? "no answer"] = (codes[v.code ?? "no answer"] ?? 0) + 1;
	codesByPool.set(pool, codes);
}
const creditPools = [...keys.values()]
	.filter((k) => k.pool === k.id)
	.map((k) => ({
		pool: k.id,
		valid: validByPool.get(k.id) ?? 0,
		codes: codesByPool.get(k.id) ?? {},
		revokedDuringRun: [...keys.values()].some((r) => r.pool === k.id && r.revokedAnsweredAt !== null),
	}));
for (const { pool, valid } of creditPools)
	check(valid <= CREDITS, `credit pool ${pool}: ${valid} VALID of ${CREDITS} credits`);
check(creditPools.length >= 1, "no key with credits was verified");

// The regional account's verifies of its long-window keys were answered by its guards.
const guardAnswers = (memory?.objects ?? []).map((o) => (o.guards ?? []).reduce((n, g) => n + g.answeredHere, 0));
check((guardAnswers[0] ?? 0) > 0, "the regional account's guards answered no verify");
check(
	guardAnswers.slice(1).every((n) => n === 0),
	"a guard answered for an account whose placement is home",
);

// Every shard held its own slots, and the account that changed its count mid-run ended with sixteen.
const shardCounts = (memory?.objects ?? []).map((o) => 1 + (o.others ?? []).filter((x) => x.ownedSlots > 0).length);
check(
	shardCounts.join(",") === accounts.map((a) => a.shards).join(","),
	`shards holding slots ${shardCounts.join(",")}, expected ${accounts.map((a) => a.shards).join(",")}`,
);
check(reshardMs !== null, "the account's shard count did not change mid-run");

// The Durable Objects hold at most what their keys need.
for (const o of (memory?.objects ?? []).flatMap((o) => [o, ...(o.others ?? [])])) {
	check(o.windows <= o.storedKeys && o.keys <= o.storedKeys, `object memory exceeds its keys: ${JSON.stringify(o)}`);
	check(o.pendingUsage <= o.storedKeys * 7 * 2, `pending usage not bounded: ${JSON.stringify(o)}`);
}

const summary = {
	seconds: SECONDS,
	wallSeconds: Math.round((Date.now() - startedAt) / 1000),
	concurrency: CONCURRENCY,
	accounts: ACCOUNTS,
	keys: keys.size,
	requests: served.length,
	fiveHundreds,
	verifies: verifies.length,
	verifiesAfterRevocation: afterRevocation,
	archivedHttpEvents: requests.length,
	requestsCheckedInArchive: drained,
	missingEvents: missing,
	doubledEvents: doubled,
	rateLimitWindowsChecked: windowsChecked,
	creditPools,
	guardAnswers,
	shardCounts,
	reshardMs,
	memory,
	failures,
};
console.log(JSON.stringify(summary));
if (failures.length) {
	console.error(`load: ${failures.length} invariant(s) failed:\n- ${failures.slice(0, 20).join("\n- ")}`);
	process.exitCode = 1;
} else {
	console.log("load: every invariant held");
}
