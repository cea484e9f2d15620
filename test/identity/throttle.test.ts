import { describe, expect, it } from "vitest";
import { identityHarness, uniqueEmail, uniqueIp } from "../support/identity";
import { expectProblem } from "../support/request";

describe("login throttling", () => {
	it("per email: backoff after 5 consecutive failures, 15-minute lock after 10, emailed and audited", async () => {
		const h = identityHarness();
		const { email, accountId } = await h.signup();
		for (let i = 0; i < 5; i++) expect((await h.login(email, "wrong wrong wrong")).status).toBe(401);

		const backoff = await h.login(email, "wrong wrong wrong");
		await expectProblem(backoff, 429, "quota-exceeded");
		expect(backoff.headers.get("retry-after")).toBe("1");
		// Even the right password waits out the backoff: the throttle is checked first.
		expect((await h.login(email)).status).toBe(429);

		for (let i = 5; i < 10; i++) {
			h.clock.advance(60_000);
			expect((await h.login(email, "wrong wrong wrong")).status).toBe(401);
		}
		const locked = await h.login(email);
		await expectProblem(locked, 429);
		expect(Number(locked.headers.get("retry-after"))).toBe(900);
		h.clock.advance(14 * 60_000);
		expect((await h.login(email)).status).toBe(429);
		h.clock.advance(61_000);
		expect((await h.login(email)).status).toBe(200);

		const mails = await h.outbox(email);
		expect(mails.some((m) => m.subject.includes("locked"))).toBe(true);
		const actions = h.audit.sent.filter((e) => e.accountId === accountId).map((e) => e.action);
		expect(actions.filter((a) => a === "auth.login.failed").length).toBeGreaterThanOrEqual(10);
		expect(actions).toContain("auth.lockout");
		expect(actions).toContain("auth.login.succeeded");
	});

	it("a success resets the streak", async () => {
		const h = identityHarness();
		const { email } = await h.signup();
		for (let i = 0; i < 4; i++) await h.login(email, "wrong wrong wrong");
		expect((await h.login(email)).status).toBe(200);
		for (let i = 0; i < 4; i++) expect((await h.login(email, "wrong wrong wrong")).status).toBe(401);
		expect((await h.login(email)).status).toBe(200);
	});

	it("unknown emails are throttled exactly like known ones", async () => {
		const h = identityHarness();
		const email = uniqueEmail();
		for (let i = 0; i < 5; i++) expect((await h.login(email, "wrong wrong wrong")).status).toBe(401);
		expect((await h.login(email, "wrong wrong wrong")).status).toBe(429);
	});

	it("per client IP: a sliding window of 20 failures in 10 minutes, across emails", async () => {
		const h = identityHarness();
		const ip = uniqueIp();
		for (let i = 0; i < 20; i++) {
			h.clock.advance(10_000);
			expect((await h.login(uniqueEmail(), "wrong wrong wrong", ip)).status).toBe(401);
		}
		const refused = await h.login(uniqueEmail(), "wrong wrong wrong", ip);
		await expectProblem(refused, 429);
		// The oldest failure was 190 s ago; it leaves the 600 s window in 410 s.
		expect(Number(refused.headers.get("retry-after"))).toBe(410);
		expect((await h.login(uniqueEmail(), "wrong wrong wrong", uniqueIp())).status).toBe(401);
		h.clock.advance(410_000);
		expect((await h.login(uniqueEmail(), "wrong wrong wrong", ip)).status).toBe(401);
	});
});
