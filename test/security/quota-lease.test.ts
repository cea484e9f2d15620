import { describe, expect, it } from "vitest";
import {
	GuardShare,
	type LeaseTerms,
	LentCredits,
	LentWindow,
	ShareBook,
	TIME_SLOTS_PER_WINDOW,
} from "../../src/security/quota-lease";
import { busiestWindow, seededRandom } from "../support/random";

const TERMS: LeaseTerms = { leaseMs: 300, graceMs: 50 };

describe("share book", () => {
	it("lends only what is free, counts reports once, and ignores an ended epoch", () => {
		const book = new ShareBook();
		const first = book.grant("g1", 10, 6, 0, TERMS);
		expect(first).toMatchObject({ epoch: 1, granted: 6, deadline: 300 });
		expect(book.held).toBe(6);
		expect(book.report("g1", 1, 4)).toBe(4);
		expect(book.report("g1", 1, 4)).toBe(0); // a repeated report
		expect(book.report("g1", 1, 3)).toBe(0); // an older one, arriving late
		expect(book.report("g1", 1, 99)).toBe(2); // capped at what was granted
		expect(book.held).toBe(0);
		expect(book.expire(351, TERMS)).toEqual({ counted: 0, guards: ["g1"] });
		expect(book.report("g1", 1, 6)).toBe(0);
		const second = book.grant("g1", 3, 10, 400, TERMS);
		expect(second.epoch).toBe(2);
		expect(book.release("g1", 1, 3)).toBe(0); // the ended epoch cannot end the new one
		expect(book.release("g1", 2, 1)).toBe(1);
		expect(book.held).toBe(0);
	});

	it("a sealed share keeps what it has but neither grows nor lasts longer; a new epoch is lent afresh", () => {
		const book = new ShareBook();
		const first = book.grant("g1", 5, 100, 0, TERMS);
		book.seal();
		expect(book.grant("g1", 50, 100, 200, TERMS)).toMatchObject({ epoch: first.epoch, granted: 5, deadline: 300 });
		expect(book.held).toBe(5);
		expect(book.expire(350, TERMS).counted).toBe(5);
		expect(book.grant("g1", 50, 100, 400, TERMS)).toMatchObject({ epoch: first.epoch + 1, granted: 50, deadline: 700 });
	});

	it("counts an unreported share as used once its deadline and grace have passed, not before", () => {
		const window = new LentWindow(10, 1_000);
		const grant = window.renew("g1", { epoch: 0, used: 0 }, 7, 0, TERMS);
		expect(grant.granted).toBe(7);
		expect(window.free(0)).toBe(3);
		expect(window.admit(0, 3).admitted).toBe(true);
		expect(window.admit(0).admitted).toBe(false);
		expect(window.expire(349, TERMS)).toEqual([]);
		expect(window.expire(350, TERMS)).toEqual(["g1"]);
		// The seven count from the expiry, one window on: nothing frees before 1,350 ms.
		expect(window.free(1_000)).toBe(0);
		expect(window.free(1_400)).toBe(10);
	});

	it("a guard stops at its deadline less the grace, and a new epoch starts its count again", () => {
		const share = new GuardShare();
		share.accept({ epoch: 1, granted: 2, deadline: 300, reported: 0 });
		expect(share.take(0, 1, TERMS)).toBe(true);
		expect(share.take(249, 1, TERMS)).toBe(true);
		expect(share.take(249, 1, TERMS)).toBe(false); // used up
		share.accept({ epoch: 1, granted: 1, deadline: 900, reported: 0 }); // an older grant, arriving late
		expect(share.granted).toBe(2);
		share.accept({ epoch: 1, granted: 3, deadline: 300, reported: 0 });
		expect(share.take(250, 1, TERMS)).toBe(false); // past the deadline less the grace
		share.accept({ epoch: 2, granted: 1, deadline: 600, reported: 0 });
		expect(share.used).toBe(0);
		expect(share.take(300, 1, TERMS)).toBe(true);
		// Given back: a renewal of epoch 2 still on its way is not taken (the home ended it).
		share.drop();
		share.accept({ epoch: 2, granted: 5, deadline: 900, reported: 0 });
		expect(share.take(310, 1, TERMS)).toBe(false);
		share.accept({ epoch: 3, granted: 1, deadline: 900, reported: 0 });
		expect(share.take(310, 1, TERMS)).toBe(true);
	});
});

describe("where the home places a guard's uses", () => {
	const terms: LeaseTerms = { leaseMs: 5_000, graceMs: 500 };
	/**
	 * A guard whose clock reads `skew` ms off the home's takes all 5 uses of a 10 s window at 1 s (the
	 * home's clock) and reports at 3 s; the report arrives at 3.1 s. Returns when the window is whole
	 * again, checking that it is not before the uses are a window old.
	 */
	const freedAt = (skew: number, dated: boolean) => {
		const window = new LentWindow(5, 10_000);
		const share = new GuardShare(10_000 / TIME_SLOTS_PER_WINDOW);
		share.accept(window.renew("g", { epoch: 0, used: 0 }, 5, 0, terms));
		for (let i = 0; i < 5; i++) expect(share.take(1_000 + skew, 1, terms)).toBe(true);
		const report = share.report(3_000 + skew);
		if (!dated) delete report.sentAt;
		window.report("g", report, 3_100, terms);
		expect(window.free(10_999), `skew ${skew}, ${dated ? "dated" : "undated"}`).toBe(0);
		let t = 11_000;
		while (window.free(t) < 5) t += 10;
		return t;
	};

	it("by each use's age at the guard: never early, and within the trip and a bucket of the truth whatever the clocks read", () => {
		for (const skew of [-900, 0, 3_000]) expect(freedAt(skew, true), `skew ${skew}`).toBeLessThanOrEqual(11_300);
		// Without the sending time: the guard's time plus twice the grace, never later than the arrival.
		expect(freedAt(-900, false)).toBeGreaterThanOrEqual(11_100);
		expect(freedAt(3_000, false)).toBeGreaterThanOrEqual(13_100);
	});
});

/**
 * A home and three guards exchange renewals, reports and releases over a network that delays,
 * reorders and drops messages; guards crash (a new incarnation, holding nothing) and their clocks
 * run behind the home's by up to twice the grace, or ahead. Every admission anywhere is logged at the true time, and no
 * window of the key's length may hold more than its limit.
 */
function schedule(seed: number) {
	const random = seededRandom(seed);
	// Half the runs send reports without their sending time (the older form, placed by the grace).
	const dated = seed % 2 === 0;
	const reportOf = (g: { share: GuardShare }, clock: number) => {
		const report = g.share.report(clock);
		if (!dated) delete report.sentAt;
		return report;
	};
	const limit = 5 + Math.floor(random() * 40);
	const windowMs = 200 + Math.floor(random() * 2_000);
	const home = new LentWindow(limit, windowMs);
	const admitted: number[] = [];
	let homeAdmitted = 0;
	let guardAdmitted = 0;
	let messages = 0;
	interface Guard {
		name: string;
		incarnation: number;
		share: GuardShare;
		skew: number;
		cutOffUntil: number;
	}
	const guards: Guard[] = ["syd", "iad", "nrt"].map((name) => ({
		name,
		incarnation: 1,
		share: new GuardShare(),
		// A guard's clock may run behind the home's by anything under twice the grace (or ahead by any amount).
		skew: Math.round(random() * 3 * TERMS.graceMs) - 2 * TERMS.graceMs + 1,
		cutOffUntil: 0,
	}));
	const id = (g: Guard) => `${g.name}#${g.incarnation}`;
	const pending: { at: number; run: () => void }[] = [];
	let now = 0;
	const send = (from: Guard, run: () => void) => {
		messages++;
		if (random() < 0.1 || now < from.cutOffUntil) return; // dropped, or the guard is cut off
		pending.push({ at: now + Math.floor(random() * 200), run });
	};
	for (let step = 0; step < 3_000; step++) {
		now += Math.floor(random() * 20);
		pending.sort((a, b) => a.at - b.at);
		while (pending.length > 0 && (pending[0] as { at: number }).at <= now) pending.shift()?.run();
		const g = guards[Math.floor(random() * guards.length)] as Guard;
		const clock = now + g.skew;
		const roll = random();
		if (roll < 0.1) {
			if (home.admit(now).admitted) {
				admitted.push(now);
				homeAdmitted++;
			}
		} else if (roll < 0.6) {
			if (g.share.take(clock, 1, TERMS)) {
				admitted.push(now);
				guardAdmitted++;
			}
		} else if (roll < 0.8) {
			const report = reportOf(g, clock);
			const want = g.share.want(200, 2);
			const asking = id(g);
			send(g, () => {
				const grant = home.renew(asking, report, want, now, TERMS);
				send(g, () => {
					if (id(g) === asking) g.share.accept(grant);
				});
			});
		} else if (roll < 0.88) {
			const report = reportOf(g, clock);
			const asking = id(g);
			send(g, () => home.report(asking, report, now, TERMS));
		} else if (roll < 0.93) {
			const report = reportOf(g, clock);
			const asking = id(g);
			g.share.drop();
			send(g, () => home.release(asking, report, now, TERMS));
		} else if (roll < 0.96) {
			g.incarnation++;
			g.share = new GuardShare(windowMs / 100);
		} else if (roll < 0.98) {
			g.cutOffUntil = now + Math.floor(random() * 1_000);
		} else {
			home.expire(now, TERMS);
		}
	}
	return {
		limit,
		windowMs,
		admitted,
		homeAdmitted,
		guardAdmitted,
		messages,
		busiest: busiestWindow(admitted, windowMs),
	};
}

describe("leases never over-admit", () => {
	it("in 200 random schedules with delays, drops, reordering, crashes, partitions and skewed clocks", () => {
		let guardAdmitted = 0;
		let busy = 0;
		for (let seed = 1; seed <= 200; seed++) {
			const run = schedule(seed);
			expect(run.busiest, `seed ${seed}: limit ${run.limit} per ${run.windowMs} ms`).toBeLessThanOrEqual(run.limit);
			guardAdmitted += run.guardAdmitted;
			if (run.busiest === run.limit) busy++;
		}
		// The schedules are not vacuous: guards admit most uses, and most runs reach their limit.
		expect(guardAdmitted).toBeGreaterThan(5_000);
		expect(busy).toBeGreaterThan(10);
	});
});

/**
 * A balance lent to three guards over a network that delays, reorders and drops messages, with
 * guards that crash (losing what they held unreported) and the home spending on its own. Credits
 * are never spent past the balance; with no crash, no lost message and guards that give their shares
 * back before the deadline, every credit not spent comes back: the balance ends at exactly what was left.
 */
function creditSchedule(seed: number, faults: boolean) {
	const random = seededRandom(seed);
	const initial = 20 + Math.floor(random() * 200);
	let remaining = initial;
	const books = [new ShareBook(), new ShareBook(), new ShareBook()];
	const heldAll = () => books.reduce((n, b) => n + b.held, 0);
	const lent = books.map(
		(book) =>
			new LentCredits(
				book,
				() => remaining - heldAll(),
				(n) => {
					remaining -= Math.min(n, remaining);
				},
			),
	);
	const guards = [0, 1, 2].map((i) => ({ i, incarnation: 1, share: new GuardShare() }));
	let admitted = 0;
	let now = 0;
	const pending: { at: number; run: () => void }[] = [];
	const send = (run: () => void) => {
		if (faults && random() < 0.1) return;
		pending.push({ at: now + Math.floor(random() * (faults ? 200 : 20)), run });
	};
	for (let step = 0; step < 2_000; step++) {
		now += Math.floor(random() * 20);
		pending.sort((a, b) => a.at - b.at);
		while (pending.length > 0 && (pending[0] as { at: number }).at <= now) pending.shift()?.run();
		// A guard that works gives a share back before its deadline, as the real one's alarm does.
		for (const h of guards) {
			if (faults || !h.share.live(now, TERMS) || h.share.deadline - TERMS.graceMs - now > 100) continue;
			const report = h.share.report(now);
			h.share.drop();
			const name = `g${h.i}#${h.incarnation}`;
			send(() => (lent[h.i] as LentCredits).release(name, report));
		}
		const g = guards[Math.floor(random() * 3)] as (typeof guards)[number];
		const holder = `g${g.i}#${g.incarnation}`;
		const book = lent[g.i] as LentCredits;
		const roll = random();
		if (roll < 0.1) {
			if (remaining - heldAll() >= 1) {
				remaining -= 1;
				admitted++;
			}
		} else if (roll < 0.6) {
			if (g.share.take(now, 1, TERMS)) admitted++;
		} else if (roll < 0.8) {
			const report = g.share.report(now);
			const want = 1 + Math.floor(random() * 8);
			send(() => {
				const grant = book.renew(holder, report, want, now, TERMS);
				send(() => {
					if (`g${g.i}#${g.incarnation}` === holder) g.share.accept(grant);
				});
			});
		} else if (roll < 0.9) {
			const report = g.share.report(now);
			g.share.drop();
			send(() => book.release(holder, report));
		} else if (faults && roll < 0.93) {
			g.incarnation++;
			g.share = new GuardShare();
		} else {
			book.expire(now, TERMS);
		}
		expect(admitted, `seed ${seed}: ${admitted} admitted of ${initial}`).toBeLessThanOrEqual(initial);
		expect(remaining).toBeGreaterThanOrEqual(0);
	}
	// Every guard gives back what it holds; what is still on the way arrives; shares end.
	for (const g of guards) {
		const report = g.share.report(now);
		g.share.drop();
		(lent[g.i] as LentCredits).release(`g${g.i}#${g.incarnation}`, report);
	}
	for (const p of pending.sort((a, b) => a.at - b.at)) p.run();
	for (const l of lent) l.expire(now + 10 * TERMS.leaseMs, TERMS);
	return { initial, admitted, remaining };
}

describe("credit leases", () => {
	it("never spend past the balance, in 200 random schedules with drops, reordering and crashed guards", () => {
		let admitted = 0;
		for (let seed = 1; seed <= 200; seed++) {
			const run = creditSchedule(seed, true);
			expect(run.admitted + run.remaining, `seed ${seed}`).toBeLessThanOrEqual(run.initial);
			admitted += run.admitted;
		}
		expect(admitted).toBeGreaterThan(10_000);
	});

	it("give back every credit not spent when no message is lost, no guard crashes and shares are given back in time", () => {
		for (let seed = 1; seed <= 100; seed++) {
			const run = creditSchedule(seed, false);
			expect(run.admitted + run.remaining, `seed ${seed}`).toBe(run.initial);
		}
	});
});
