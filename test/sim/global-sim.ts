/**
 * The verify path across regions, simulated (issue #25, docs/GLOBAL.md): one key's home object and a
 * guard per region exchange verifies, renewals, reports, releases and revocations over links whose
 * delays come from a published round-trip table (./rtt.ts), in virtual time. The home's window and
 * the guards' shares are the production arithmetic (src/security/quota-lease.ts); the objects'
 * single threads are queues with a fixed service time. Every admission is logged at the moment it
 * is decided, and checked against the limit in every window afterwards.
 */
import {
	DEFAULT_TERMS,
	GuardShare,
	type LeaseTerms,
	LentWindow,
	TIME_SLOTS_PER_WINDOW,
} from "../../src/security/quota-lease";
import { busiestWindow, seededRandom } from "../support/random";
import { Clock, percentile, Server } from "./engine";
import { type Region, rtt } from "./rtt";

export type Fault =
	| { kind: "guard-crash"; region: Region; at: number }
	| { kind: "partition"; region: Region; from: number; to: number }
	| { kind: "home-restart"; at: number; downMs: number };

export interface SimConfig {
	mode: "home" | "regional";
	home: Region;
	/** Verifies per second arriving in each region. */
	load: Partial<Record<Region, number>>;
	limit: number;
	windowMs: number;
	durationMs: number;
	/** Admissions before this are left out of the under-admission figure (the first window fills). */
	warmupMs: number;
	seed: number;
	terms?: LeaseTerms;
	/** One call's time on an object's thread: 1 ms, the platform's ~1,000 requests a second per object. */
	serviceMs?: number;
	/** Each one-way trip is its table time times 1 ± this (uniform). */
	jitter?: number;
	faults?: Fault[];
	/** When the revoke call reaches the home (home time). */
	revokeAt?: number;
	/** A guard asks for enough to last this long at its recent demand (default SHARE_MS). */
	shareMs?: number;
}

export interface RegionLatency {
	n: number;
	p50: number;
	p99: number;
}

export interface SimResult {
	latency: Partial<Record<Region, RegionLatency>>;
	verifies: number;
	admitted: number;
	/** The most admissions in any window, less the limit (0 when never over). */
	overAdmission: number;
	/** What an exact limiter deciding at each arrival would have admitted after the warm-up, less what was admitted, in % of the limit's capacity over that time. */
	underAdmissionPct: number;
	/** Messages between guards and the home per 1,000 verifies. */
	messagesPer1000: number;
	/** Verifies the guards answered on their own. */
	answeredLocally: number;
	revoke?: { returnedAfterMs: number; validAfterReturn: number; validBeforeReturn: number };
}

/** How long a guard waits for the home before its Worker asks the home itself. */
const TIMEOUT_MS = 1_000;
/** How often guards and the home look at their shares (an alarm each, in the objects). */
const TICK_MS = 250;
/** A guard asks for enough to last this long at its recent demand. */
const SHARE_MS = 1_000;
/** After the home refuses with nothing to lend, the guard refuses on its own this long (its renewals go on). */
const REFUSED_MS = 1_000;

export function simulate(config: SimConfig): SimResult {
	const terms = config.terms ?? DEFAULT_TERMS;
	const serviceMs = config.serviceMs ?? 1;
	const shareMs = config.shareMs ?? SHARE_MS;
	const jitter = config.jitter ?? 0.1;
	const random = seededRandom(config.seed);
	const clock = new Clock();
	const faults = config.faults ?? [];
	const window = new LentWindow(config.limit, config.windowMs);
	const homeServer = new Server(clock, serviceMs);
	const regions = Object.keys(config.load) as Region[];
	let homeDownUntil = 0;
	let revokedAtHome = false;
	let messages = 0;
	let answeredLocally = 0;
	const admissions: number[] = [];
	const arrivals: number[] = [];
	const outcomes: { region: Region; start: number; end: number; valid: boolean }[] = [];

	const oneWay = (a: Region, b: Region) => (rtt(a, b) / 2) * (1 + jitter * (2 * random() - 1));
	const cutOff = (region: Region, t: number) =>
		faults.some((f) => f.kind === "partition" && f.region === region && f.from <= t && t < f.to);
	const atHome = (work: () => void) => homeServer.serve(work, homeDownUntil);

	interface Guard {
		region: Region;
		incarnation: number;
		share: GuardShare;
		revoked: boolean;
		refusedUntil: number;
		renewing: boolean;
		/** The last verify this guard saw (the alarm gives an idle guard's share back). */
		lastSeenAt: number;
		server: Server;
	}
	const guards = new Map<Region, Guard>();
	const guardId = (g: Guard) => `${g.region}#${g.incarnation}`;
	const newGuard = (region: Region, incarnation: number): Guard => ({
		region,
		incarnation,
		share: new GuardShare(config.windowMs / TIME_SLOTS_PER_WINDOW),
		revoked: false,
		refusedUntil: 0,
		renewing: false,
		lastSeenAt: Number.NEGATIVE_INFINITY,
		server: new Server(clock, serviceMs),
	});
	for (const region of regions) guards.set(region, newGuard(region, 1));
	const horizonOf = (region: Region) => rtt(region, config.home) + TICK_MS;

	/** A guard-to-home message and its answer; lost (the caller's `lost` runs after the timeout) across a partition. */
	function exchange<T>(g: Guard, handle: () => T, answer: (reply: T) => void, lost: () => void): void {
		messages++;
		if (cutOff(g.region, clock.now)) {
			clock.after(TIMEOUT_MS, lost);
			return;
		}
		clock.after(oneWay(g.region, config.home), () =>
			atHome(() => {
				const reply = handle();
				messages++;
				if (cutOff(g.region, clock.now)) {
					clock.after(TIMEOUT_MS, lost);
					return;
				}
				clock.after(oneWay(config.home, g.region), () => answer(reply));
			}),
		);
	}

	/** A verify the home decides (home mode, a guard's forward, or a Worker's fallback). */
	function decideAtHome(): { valid: boolean; resetMs: number } {
		if (revokedAtHome) return { valid: false, resetMs: 0 };
		const decision = window.admit(clock.now);
		if (decision.admitted) admissions.push(clock.now);
		return { valid: decision.admitted, resetMs: decision.resetMs };
	}

	function viaHome(region: Region, finish: (valid: boolean) => void): void {
		clock.after(oneWay(region, config.home), () =>
			atHome(() => {
				const { valid } = decideAtHome();
				clock.after(oneWay(config.home, region), () => finish(valid));
			}),
		);
	}

	function renew(g: Guard): void {
		if (g.renewing || g.revoked) return;
		if (!g.share.shouldRenew(clock.now, horizonOf(g.region), terms)) return;
		g.renewing = true;
		const asking = guardId(g);
		const report = g.share.report(clock.now);
		const want = g.share.want(shareMs);
		exchange(
			g,
			() => (revokedAtHome ? null : window.renew(asking, report, want, clock.now, terms)),
			(grant) => {
				g.renewing = false;
				if (!grant || guardId(g) !== asking) return;
				const before = g.share.epoch === grant.epoch ? g.share.granted : 0;
				g.share.accept(grant);
				// The window is full (less was free than asked): once this share is spent, refuse here
				// rather than send each verify to the home; the renewals go on and pick up what frees.
				if (grant.granted - before < want) g.refusedUntil = clock.now + REFUSED_MS;
			},
			() => {
				g.renewing = false;
			},
		);
	}

	function atGuard(g: Guard, finish: (valid: boolean) => void): void {
		const reply = (valid: boolean) => clock.after(oneWay(g.region, g.region), () => finish(valid));
		if (g.revoked) {
			reply(false);
			return;
		}
		g.lastSeenAt = clock.now;
		const admitted = g.share.take(clock.now, 1, terms);
		renew(g);
		if (admitted) {
			admissions.push(clock.now);
			answeredLocally++;
			reply(true);
			return;
		}
		if (clock.now < g.refusedUntil) {
			answeredLocally++;
			reply(false);
			return;
		}
		// No share left: the home decides this one and lends a share in the same exchange.
		const asking = guardId(g);
		const report = g.share.report(clock.now);
		const want = g.share.want(shareMs);
		exchange(
			g,
			() => {
				const decision = decideAtHome();
				const grant = revokedAtHome ? null : window.renew(asking, report, want, clock.now, terms);
				return { ...decision, grant, revoked: revokedAtHome };
			},
			({ valid, resetMs, grant, revoked }) => {
				if (guardId(g) === asking) {
					if (grant) g.share.accept(grant);
					if (revoked) g.revoked = true;
					// Refused with nothing lent: refuse here for a while; the alarm's renewals pick up what frees.
					if (!valid && g.share.left(clock.now, terms) === 0)
						g.refusedUntil = clock.now + Math.max(resetMs, REFUSED_MS);
				}
				reply(valid);
			},
			() => viaHome(g.region, (valid) => reply(valid)),
		);
	}

	function verify(region: Region): void {
		const start = clock.now;
		arrivals.push(start);
		const finish = (valid: boolean) => outcomes.push({ region, start, end: clock.now, valid });
		if (config.mode === "home") {
			viaHome(region, finish);
			return;
		}
		const g = guards.get(region) as Guard;
		clock.after(oneWay(region, region), () => g.server.serve(() => atGuard(g, finish)));
	}

	// Arrivals: a Poisson stream per region.
	for (const region of regions) {
		const perMs = (config.load[region] ?? 0) / 1000;
		if (perMs <= 0) continue;
		let t = -Math.log(1 - random()) / perMs;
		while (t < config.durationMs) {
			clock.at(t, () => verify(region));
			t += -Math.log(1 - random()) / perMs;
		}
	}

	// Alarms: the home reclaims expired shares; an idle guard gives its share back, a busy one renews.
	for (let t = TICK_MS; t < config.durationMs + terms.leaseMs * 2; t += TICK_MS) {
		clock.at(t, () => atHome(() => window.expire(clock.now, terms)));
		if (config.mode !== "regional") continue;
		for (const region of regions) {
			clock.at(t, () => {
				const g = guards.get(region) as Guard;
				if (clock.now - g.lastSeenAt > terms.leaseMs / 2) {
					if (g.share.left(clock.now, terms) === 0) return;
					const asking = guardId(g);
					const report = g.share.report(clock.now);
					g.share.drop();
					exchange(
						g,
						() => window.release(asking, report, clock.now, terms),
						() => {},
						() => {},
					);
				} else {
					renew(g);
				}
			});
		}
	}

	for (const fault of faults) {
		if (fault.kind === "guard-crash")
			clock.at(fault.at, () => {
				const old = guards.get(fault.region) as Guard;
				guards.set(fault.region, { ...newGuard(fault.region, old.incarnation + 1), server: old.server });
			});
		if (fault.kind === "home-restart")
			clock.at(fault.at, () => {
				homeDownUntil = fault.at + fault.downMs;
			});
	}

	// Revocation: returns when every guard holding a share has acknowledged, or its share has ended.
	let revokeReturnedAt: number | null = null;
	if (config.revokeAt !== undefined) {
		clock.at(config.revokeAt, () =>
			atHome(() => {
				revokedAtHome = true;
				const waiting = new Set(window.book.guards);
				const settle = () => {
					for (const id of waiting) if (!window.book.share(id)) waiting.delete(id);
					if (waiting.size === 0 && revokeReturnedAt === null) revokeReturnedAt = clock.now;
				};
				for (const id of waiting) {
					const region = id.split("#")[0] as Region;
					const share = window.book.share(id);
					if (share)
						clock.at(share.deadline + terms.graceMs, () =>
							atHome(() => {
								window.expire(clock.now, terms);
								settle();
							}),
						);
					messages++; // the revoke, out to the guard
					if (cutOff(region, clock.now)) continue;
					clock.after(oneWay(config.home, region), () => {
						const here = guards.get(region) as Guard;
						here.revoked = true;
						if (guardId(here) !== id) return; // a crashed guard's share ends at its deadline
						const report = here.share.report(clock.now);
						here.share.drop();
						messages++;
						if (cutOff(region, clock.now)) return;
						clock.after(oneWay(region, config.home), () =>
							atHome(() => {
								window.release(id, report, clock.now, terms);
								settle();
							}),
						);
					});
				}
				settle();
			}),
		);
	}

	clock.run(config.durationMs + terms.leaseMs * 3 + TIMEOUT_MS * 2);

	const latency: Partial<Record<Region, RegionLatency>> = {};
	for (const region of regions) {
		const times = outcomes.filter((o) => o.region === region).map((o) => o.end - o.start);
		latency[region] = { n: times.length, p50: percentile(times, 50), p99: percentile(times, 99) };
	}
	const ideal = exactAdmissions(
		arrivals.filter((t) => t < config.durationMs),
		config.limit,
		config.windowMs,
	).filter((t) => t >= config.warmupMs && t < config.durationMs).length;
	const actual = admissions.filter((t) => t >= config.warmupMs && t < config.durationMs).length;
	const capacity = (config.limit * (config.durationMs - config.warmupMs)) / config.windowMs;
	const result: SimResult = {
		latency,
		verifies: outcomes.length,
		admitted: admissions.length,
		overAdmission: Math.max(0, busiestWindow(admissions, config.windowMs) - config.limit),
		underAdmissionPct: (100 * (ideal - actual)) / capacity,
		messagesPer1000: (1000 * messages) / Math.max(1, outcomes.length),
		answeredLocally,
	};
	const revokeAt = config.revokeAt;
	if (revokeAt !== undefined) {
		const returned = revokeReturnedAt ?? Number.POSITIVE_INFINITY;
		result.revoke = {
			returnedAfterMs: returned - revokeAt,
			validAfterReturn: outcomes.filter((o) => o.valid && o.start >= returned).length,
			validBeforeReturn: outcomes.filter((o) => o.valid && o.start < returned && o.start >= revokeAt).length,
		};
	}
	return result;
}

/** What an exact sliding-log limiter admits, deciding at each arrival with no delay: the ideal. */
export function exactAdmissions(arrivals: readonly number[], limit: number, windowMs: number): number[] {
	const sorted = [...arrivals].sort((a, b) => a - b);
	const admitted: number[] = [];
	let oldest = 0;
	for (const t of sorted) {
		while (oldest < admitted.length && (admitted[oldest] as number) <= t - windowMs) oldest++;
		if (admitted.length - oldest < limit) admitted.push(t);
	}
	return admitted;
}

/**
 * The highest verify rate one account sustains with its keys spread over `shards` objects
 * (shard = hash(key) mod N), each a single thread of `serviceMs` per call: the highest Poisson
 * rate at which the 99th percentile of the wait for a thread stays within `maxWaitMs`.
 */
export function sustainableRate(
	shards: number,
	opts: { keys: number; serviceMs: number; maxWaitMs: number; durationMs: number; seed: number },
): number {
	const shardOf = Array.from({ length: opts.keys }, (_, i) => fnv1a(`key_${i}`) % shards);
	const holds = (rate: number) => {
		const random = seededRandom(opts.seed);
		const clock = new Clock();
		const servers = Array.from({ length: shards }, () => new Server(clock, opts.serviceMs));
		const perMs = rate / 1000;
		for (let t = -Math.log(1 - random()) / perMs; t < opts.durationMs; t += -Math.log(1 - random()) / perMs) {
			const server = servers[shardOf[Math.floor(random() * opts.keys)] as number] as Server;
			clock.at(t, () => server.serve(() => {}));
		}
		clock.run(Number.POSITIVE_INFINITY);
		return (
			percentile(
				servers.flatMap((s) => s.waits),
				99,
			) <= opts.maxWaitMs
		);
	};
	let low = 0;
	let high = (1000 / opts.serviceMs) * shards * 1.2;
	while (high - low > 25) {
		const mid = (low + high) / 2;
		if (holds(mid)) low = mid;
		else high = mid;
	}
	return Math.floor(low);
}

/** FNV-1a, 32 bits: the same spread a key-hash shard would have. */
export function fnv1a(text: string): number {
	let hash = 0x811c9dc5;
	for (let i = 0; i < text.length; i++) {
		hash ^= text.charCodeAt(i);
		hash = Math.imul(hash, 0x01000193) >>> 0;
	}
	return hash;
}
