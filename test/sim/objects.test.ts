/**
 * The verify path across regions with the real objects (issue #25): an account's home
 * (`AccountGuard`) and its regional guards (`RegionalGuard`) as real Durable Object instances in
 * workerd, with every message between a guard and the home delayed by half the round trip of the
 * published table (./rtt.ts), in real time. Where test/sim/global.test.ts runs the lease
 * arithmetic for 300 simulated seconds, this runs the production classes for a few real ones:
 * latency a verify adds per region, over-admission against the limit, a revoke's return time and
 * what any verify starting after it answers, with every link up, with one region partitioned, and
 * with a guard crashing and the home restarting under load.
 * `npm run sim` prints the figures docs/GLOBAL.md records.
 */
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { accountGuard, type GuardRegion, regionalGuard } from "../../src/durable/address";
import { verifyApiKey } from "../../src/keys/verify";
import { systemClock } from "../../src/platform/clock";
import { testApp } from "../support/app";
import { as, createKey } from "../support/request";
import { type SeededAccount, seedAccount } from "../support/seed";
import { type Region, rtt } from "./rtt";

const t = testApp({ clock: systemClock });
const HOME: Region = "weur";
const FAR: Region[] = ["enam", "apac", "oc"];
const REGIONS: Region[] = [HOME, ...FAR];
const oneWay = (region: Region) => (region === HOME ? 0 : rtt(region, HOME) / 2);
/** Three time constants of a guard's demand estimate (src/security/quota-lease.ts, `GuardShare.demand`). */
const WARM_UP_MS = 3_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const lines: string[] = [];
const report = (line = "") => lines.push(line);

interface Verdict {
	region: Region;
	startedAt: number;
	endedAt: number;
	code: string;
}

/** Ends an object's run at once, as a crash would: memory gone, calls in flight failed, storage kept. */
const crash = (stub: DurableObjectStub) =>
	runInDurableObject(stub, (_o: unknown, state: DurableObjectState) => state.abort("simulated crash")).catch(() => {});

/** Places each guard far from the home (and the home's recalls to it), as the round-trip table says. */
async function placeGuards(accountId: string, delays: Partial<Record<Region, number>> = {}) {
	const oneWays = Object.fromEntries(REGIONS.map((r) => [r, delays[r] ?? oneWay(r)]));
	for (const region of REGIONS)
		await runInDurableObject(regionalGuard(env, accountId, region as GuardRegion), (guard) => {
			guard.linkDelayMs = oneWays[region] ?? 0;
		});
	await runInDurableObject(accountGuard(env, accountId), (home) => {
		home.linkDelayMs = oneWays;
	});
}

/** A verify made by a Worker in `region`: answered by that region's guard (the account is regional). */
async function verifyFrom(region: Region, secret: string): Promise<Verdict> {
	const startedAt = Date.now();
	const { body } = await verifyApiKey(
		env,
		{ key: secret, requiredScopes: [] },
		new Date(),
		undefined,
		region as GuardRegion,
	);
	return { region, startedAt, endedAt: Date.now(), code: body.code };
}

/** The same verify with placement `home`: the Worker in `region` crosses to the home object and back. */
async function verifyAtHome(region: Region, accountId: string, hash: string): Promise<number> {
	const startedAt = Date.now();
	await sleep(oneWay(region));
	await accountGuard(env, accountId).verifyKey(accountId, hash, [], null, Date.now());
	await sleep(oneWay(region));
	return Date.now() - startedAt;
}

/** Each region verifies `secret` with `concurrency` callers until `until` (a call that throws is an ERROR). */
async function load(secret: string, until: () => boolean, regions = REGIONS, concurrency = 2, thinkMs = 2) {
	const out: Verdict[] = [];
	await Promise.all(
		regions.flatMap((region) =>
			Array.from({ length: concurrency }, async () => {
				while (!until()) {
					const startedAt = Date.now();
					out.push(
						await verifyFrom(region, secret).catch(() => ({ region, startedAt, endedAt: Date.now(), code: "ERROR" })),
					);
					// A caller's think time; it also lets timers run (an answer from memory is only microtasks).
					await sleep(thinkMs);
				}
			}),
		),
	);
	return out;
}

const percentile = (values: number[], p: number) => {
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
};

/** Each region's guard's counters, in the order of REGIONS. */
const guardStats = (accountId: string) =>
	Promise.all(REGIONS.map((r) => regionalGuard(env, accountId, r as GuardRegion).stats()));
const lendsOf = async (accountId: string) => (await guardStats(accountId)).reduce((n, g) => n + g.lends, 0);
/** Verifies each region's guard sent on to the home. */
const homeAnswers = async (accountId: string) => (await guardStats(accountId)).map((g) => g.answered.home);

async function regionalAccount(): Promise<SeededAccount> {
	const s = await seedAccount(systemClock, { verifyPlacement: "regional" });
	await accountGuard(env, s.accountId).refreshPlacement(s.accountId);
	await placeGuards(s.accountId);
	return s;
}

async function revoke(s: SeededAccount, keyId: string): Promise<{ startedAt: number; returnedAt: number }> {
	const startedAt = Date.now();
	const res = await t.request(
		`/v1/accounts/${s.accountId}/keys/${keyId}/revoke`,
		as(s.users.admin.token, "POST", { reason: "simulation" }),
	);
	expect(res.status).toBe(200);
	return { startedAt, returnedAt: Date.now() };
}

describe("verify across regions, with the real objects", () => {
	it("guards answer near the caller: latency added per region, regional against home, within the limit", async () => {
		const s = await regionalAccount();
		const { key, secret } = await createKey(t, s.users.admin.token, s.accountId, {
			rateLimit: { limit: 100_000, windowSeconds: 60 },
		});
		// Each Worker learns the placement from the home's first answer; the guards take their first shares.
		for (const region of REGIONS) await verifyFrom(region, secret);
		// Three seconds at the steady rate first: a guard sizes its shares from recent demand, which it
		// estimates with a time constant of one second; until the estimate has caught up, a far guard's
		// share can run out before its renewal returns, and that verify goes to the home. How many did
		// is reported, apart from the steady state measured after.
		const warm = Date.now();
		const startUp = await load(secret, () => Date.now() - warm > WARM_UP_MS, REGIONS, 2, 20);
		const sentHomeInStartUp = await homeAnswers(s.accountId);
		let homeBefore = sentHomeInStartUp;
		let lendsBefore = await lendsOf(s.accountId);
		const measure = async () => {
			const started = Date.now();
			return load(secret, () => Date.now() - started > 4_000, REGIONS, 2, 20);
		};
		const p99s = (verdicts: Verdict[]) =>
			REGIONS.map((region) =>
				percentile(
					verdicts.filter((v) => v.region === region).map((v) => v.endedAt - v.startedAt),
					99,
				),
			);
		// Real time on a shared machine: a window that other test files starve of CPU is measured once
		// more, and both are reported (the arithmetic simulation is the deterministic check).
		let verdicts = await measure();
		const first = p99s(verdicts);
		let retried: number[] | null = null;
		if (first.some((p) => p > 10)) {
			lendsBefore = await lendsOf(s.accountId);
			homeBefore = await homeAnswers(s.accountId);
			verdicts = await measure();
			retried = first;
		}
		const lends = (await lendsOf(s.accountId)) - lendsBefore;
		const sentHome = (await homeAnswers(s.accountId)).map((n, i) => n - (homeBefore[i] ?? 0));
		const hash = await runInDurableObject(
			accountGuard(env, s.accountId),
			(_o, state) => state.storage.sql.exec<{ hash: string }>("SELECT hash FROM keys WHERE id = ?", key.id).one().hash,
		);
		report("### With the real objects (test/sim/objects.test.ts), home in weur, links from the round-trip table");
		report();
		report(
			`Latency a verify takes, one key within its limit, two callers per region each waiting 20 ms between verifies (ms, real time in workerd, after ${WARM_UP_MS / 1000} s of warm-up):`,
		);
		report();
		report("| Region | one-way delay to home | regional p50 | regional p99 | home p50 | home p99 |");
		report("| --- | --- | --- | --- | --- | --- |");
		for (const region of REGIONS) {
			const mine = verdicts.filter((v) => v.region === region).map((v) => v.endedAt - v.startedAt);
			const home: number[] = [];
			for (let i = 0; i < 20; i++) home.push(await verifyAtHome(region, s.accountId, hash));
			report(
				`| ${region} | ${oneWay(region).toFixed(1)} | ${percentile(mine, 50)} | ${percentile(mine, 99)} | ${percentile(home, 50)} | ${percentile(home, 99)} |`,
			);
			// Near the caller: within 10 ms at p99 wherever the home is.
			expect(percentile(mine, 99), region).toBeLessThanOrEqual(10);
			if (region !== HOME) expect(percentile(home, 50)).toBeGreaterThan(oneWay(region) * 2 * 0.9);
		}
		report();
		report(
			`${verdicts.length} verifies, all VALID: ${verdicts.every((v) => v.code === "VALID")}; guard requests to the home per 1,000 verifies: ${((1000 * lends) / verdicts.length).toFixed(1)}; verifies a guard sent to the home for want of a share: ${REGIONS.map((r, i) => `${r} ${sentHome[i]}`).join(", ")} (in the warm-up, ${startUp.length} verifies: ${REGIONS.map((r, i) => `${r} ${sentHomeInStartUp[i]}`).join(", ")}).${retried ? ` Measured twice: the first window's regional p99s were ${retried.join(", ")} ms.` : ""}`,
		);
		report();
		expect(verdicts.every((v) => v.code === "VALID")).toBe(true);
	}, 60_000);

	it("never past the limit across four regions, and a revoke holds for every verify after it returns", async () => {
		const s = await regionalAccount();
		const limit = 150;
		const { key, secret } = await createKey(t, s.users.admin.token, s.accountId, {
			rateLimit: { limit, windowSeconds: 60 },
		});
		const first: Verdict[] = [];
		for (const region of REGIONS) first.push(await verifyFrom(region, secret));
		const started = Date.now();
		const running = load(secret, () => Date.now() - started > 6_000);
		await sleep(4_000);
		const revoked = await revoke(s, key.id);
		const verdicts = await running;
		const all = [...first, ...verdicts];
		const valid = all.filter((v) => v.code === "VALID").length;
		const afterReturn = verdicts.filter((v) => v.startedAt > revoked.returnedAt);
		report(
			`Limit ${limit} per 60 s, demand far above it from four regions: ${all.length} verifies, VALID ${valid}; the revoke returned after ${revoked.returnedAt - revoked.startedAt} ms with every link up; verifies started after it returned: ${afterReturn.length}, VALID among them: ${afterReturn.filter((v) => v.code === "VALID").length}.`,
		);
		report();
		expect(valid).toBeLessThanOrEqual(limit);
		expect(valid).toBeGreaterThan(limit * 0.9);
		expect(afterReturn.length).toBeGreaterThan(20);
		expect(afterReturn.filter((v) => v.code !== "REVOKED")).toEqual([]);
	}, 60_000);

	it("a partitioned guard delays a revoke by at most its lease, and admits nothing after it returns", async () => {
		const s = await regionalAccount();
		const { key, secret } = await createKey(t, s.users.admin.token, s.accountId, {
			rateLimit: { limit: 10_000, windowSeconds: 60 },
		});
		for (const region of REGIONS) await verifyFrom(region, secret);
		const warm = Date.now();
		await load(secret, () => Date.now() - warm > 1_500);
		// Sydney's guard is cut off from the home: messages either way take longer than the recall waits.
		await placeGuards(s.accountId, { oc: 30_000 });
		let stop = false;
		const others = load(secret, () => stop, [HOME, "enam", "apac"], 1);
		const revoked = await revoke(s, key.id);
		stop = true;
		const verdicts = await others;
		// The partition heals; Sydney's share ended before the revoke returned, so it asks the home.
		await placeGuards(s.accountId);
		const sydney = await Promise.all(Array.from({ length: 5 }, () => verifyFrom("oc", secret)));
		const afterReturn = [...verdicts.filter((v) => v.startedAt > revoked.returnedAt), ...sydney];
		const took = revoked.returnedAt - revoked.startedAt;
		report(
			`Sydney partitioned: the revoke returned after ${took} ms (a recall waits 2 s, then the share is waited out: a lease of 5 s and 500 ms of grace at most); verifies after it returned: ${afterReturn.length}, VALID: ${afterReturn.filter((v) => v.code === "VALID").length}.`,
		);
		report();
		expect(took).toBeGreaterThan(2_000);
		expect(took).toBeLessThan(8_000);
		expect(afterReturn.filter((v) => v.code !== "REVOKED")).toEqual([]);
	}, 60_000);

	it("a guard crash and a home restart under load cost waiting, never admission, and a revoke after them holds", async () => {
		const s = await regionalAccount();
		const limit = 150;
		const { key, secret } = await createKey(t, s.users.admin.token, s.accountId, {
			rateLimit: { limit, windowSeconds: 60 },
		});
		for (const region of REGIONS) await verifyFrom(region, secret);
		const started = Date.now();
		const running = load(secret, () => Date.now() - started > 7_000, REGIONS, 2, 10);
		// Tokyo's guard crashes at 1.5 s: its share is lost with it (a new run holds nothing).
		await sleep(1_500);
		const tokyo = regionalGuard(env, s.accountId, "apac");
		const before = (await tokyo.stats()).incarnation;
		await crash(tokyo);
		await placeGuards(s.accountId);
		// (A stub from before the crash is broken: ask a new one.)
		const crashed = (await regionalGuard(env, s.accountId, "apac").stats()).incarnation !== before;
		// The home restarts at 3 s: what it holds in memory is gone; windows and shares are stored.
		await sleep(1_500);
		await crash(accountGuard(env, s.accountId));
		await placeGuards(s.accountId);
		const verdicts = await running;
		const revoked = await revoke(s, key.id);
		const after = await Promise.all(REGIONS.map((region) => verifyFrom(region, secret)));
		const valid = verdicts.filter((v) => v.code === "VALID").length + 4;
		const errors = verdicts.filter((v) => v.code === "ERROR").length;
		const odd = verdicts.filter((v) => v.code !== "VALID" && v.code !== "RATE_LIMITED" && v.code !== "ERROR");
		const slowest = Math.max(...verdicts.map((v) => v.endedAt - v.startedAt));
		report(
			`A guard crash (Tokyo, 1.5 s) and a home restart (3 s) under load, limit ${limit} per 60 s: ${verdicts.length + 4} verifies, VALID ${valid}, calls that failed with the crashed object ${errors}, other answers than VALID or RATE_LIMITED ${odd.length}, slowest ${slowest} ms; the revoke after them returned in ${revoked.returnedAt - revoked.startedAt} ms and the next verify in every region was ${[...new Set(after.map((v) => v.code))].join(", ")}.`,
		);
		report();
		expect(crashed).toBe(true);
		expect(valid).toBeLessThanOrEqual(limit);
		expect(valid).toBeGreaterThan(limit * 0.5);
		expect(odd).toEqual([]);
		// Only calls in flight at the two crashes may fail: 8 callers.
		expect(errors).toBeLessThanOrEqual(16);
		expect(new Set(after.map((v) => v.code))).toEqual(new Set(["REVOKED"]));
	}, 60_000);

	it("prints the figures for npm run sim", () => {
		const printed = lines.join("\n");
		expect(printed).toContain("Sydney partitioned");
		if (env.SIM_REPORT) console.log(`\n${printed}\n`);
	});
});
