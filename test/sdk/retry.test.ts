/**
 * Retries: idempotent calls only, on 429 and 503 only, never sooner than
 * Retry-After, with jittered exponential backoff; and the timeout. The
 * stand-in answers "not now" a given number of times, then hands the request
 * to the real app.
 */
import { describe, expect, it } from "vitest";
import { type FetchLike, KeywardError, KeywardTimeoutError } from "../../sdk/src/index.js";
import { DEFAULT_RETRY, parseRetryAfter, retryDelayMs } from "../../sdk/src/retry.js";
import { ManualClock } from "../../src/platform/clock";
import { testApp } from "../support/app";
import { seedAccount } from "../support/seed";
import { appFetch, sdkClient } from "./helpers";

const clock = new ManualClock("2026-09-01T00:00:00Z");
const t = testApp({ clock, log: () => {} });

/** Answers `status` (with `retryAfter`, if given) to the first `failures` calls, then lets the app answer. */
function flaky(failures: number, status: 429 | 503, retryAfter?: string) {
	const real = appFetch(t.app);
	let calls = 0;
	const fetch: FetchLike = async (request) => {
		calls++;
		if (calls > failures) return real(request);
		const headers = new Headers({ "Content-Type": "application/problem+json" });
		if (retryAfter !== undefined) headers.set("Retry-After", retryAfter);
		const kind = status === 429 ? "quota-exceeded" : "service-unavailable";
		const problem = { type: `https://keyward.dev/problems/${kind}`, title: "Not now", status, detail: "later" };
		return new Response(JSON.stringify({ ...problem, requestId: "req_standin" }), { status, headers });
	};
	return { fetch, calls: () => calls };
}

describe("retry policy (pure)", () => {
	it("reads Retry-After as seconds or an HTTP date", () => {
		const now = Date.parse("2026-09-01T00:00:00Z");
		expect(parseRetryAfter("3", now)).toBe(3000);
		expect(parseRetryAfter(" 0 ", now)).toBe(0);
		expect(parseRetryAfter("Tue, 01 Sep 2026 00:00:05 GMT", now)).toBe(5000);
		expect(parseRetryAfter("Tue, 01 Sep 2020 00:00:05 GMT", now)).toBe(0);
		expect(parseRetryAfter("soon", now)).toBeNull();
		expect(parseRetryAfter(null, now)).toBeNull();
	});

	it("backs off exponentially with full jitter, capped, never under Retry-After, and gives up", () => {
		const options = { ...DEFAULT_RETRY, retries: 5, baseDelayMs: 100, maxDelayMs: 1000 };
		const top = () => 0.999999;
		expect([0, 1, 2, 3, 4].map((a) => retryDelayMs(a, null, options, top))).toEqual([99, 199, 399, 799, 999]);
		expect(retryDelayMs(0, null, options, () => 0)).toBe(0);
		expect(retryDelayMs(0, 2000, options, top)).toBe(2000);
		expect(retryDelayMs(5, null, options, top)).toBeNull();
		expect(retryDelayMs(0, options.maxRetryAfterMs + 1, options, top)).toBeNull();
	});
});

describe("SDK client retries against the real app", () => {
	it("an idempotent call waits out Retry-After on 503, then succeeds", async () => {
		const s = await seedAccount(clock);
		const standIn = flaky(1, 503, "1");
		const kw = sdkClient(t.app, { token: s.users.owner.token, fetch: standIn.fetch });
		const started = Date.now();
		const { data } = await kw.keys.list({ accountId: s.accountId });
		expect(data.length).toBeGreaterThan(0);
		expect(standIn.calls()).toBe(2);
		expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
	});

	it("and on 429, more than once", async () => {
		const s = await seedAccount(clock);
		const standIn = flaky(2, 429, "0");
		const kw = sdkClient(t.app, { token: s.users.owner.token, fetch: standIn.fetch });
		expect((await kw.members.list({ accountId: s.accountId })).data.length).toBeGreaterThan(0);
		expect(standIn.calls()).toBe(3);
	});

	it("revoke, idempotent by contract, is retried though it is a POST", async () => {
		const s = await seedAccount(clock);
		const standIn = flaky(1, 503, "0");
		const kw = sdkClient(t.app, { token: s.users.owner.token, fetch: standIn.fetch });
		const { key } = await kw.keys.revoke({ accountId: s.accountId, keyId: s.keyIds.member, body: { reason: "x" } });
		expect(key.status).toBe("revoked");
		expect(standIn.calls()).toBe(2);
	});

	it("a non-idempotent call is never retried", async () => {
		const s = await seedAccount(clock);
		for (const status of [503, 429] as const) {
			const standIn = flaky(1, status, "0");
			const kw = sdkClient(t.app, { token: s.users.owner.token, fetch: standIn.fetch });
			const err = await kw.keys
				.create({ accountId: s.accountId, body: { name: "x", environment: "ci", scopes: ["a:b"] } })
				.catch((e: unknown) => e);
			expect(err).toBeInstanceOf(KeywardError);
			expect((err as KeywardError).status).toBe(status);
			expect((err as KeywardError).retryAfterSeconds).toBe(0);
			expect(standIn.calls()).toBe(1);
			// Verify neither: every VALID verdict takes a slot of the key's rate limit.
			const verifyStandIn = flaky(1, status, "0");
			const verifying = sdkClient(t.app, { fetch: verifyStandIn.fetch });
			const verify = await verifying.verify({ key: "kw_test_x" }).catch((e: unknown) => e);
			expect((verify as KeywardError).status).toBe(status);
			expect(verifyStandIn.calls()).toBe(1);
		}
	});

	it("gives up after its retries, and at once when Retry-After is longer than it will wait", async () => {
		const s = await seedAccount(clock);
		const always = flaky(99, 503);
		const kw = sdkClient(t.app, { token: s.users.owner.token, fetch: always.fetch, retry: { baseDelayMs: 1 } });
		expect(((await kw.me.get().catch((e: unknown) => e)) as KeywardError).status).toBe(503);
		expect(always.calls()).toBe(1 + DEFAULT_RETRY.retries);

		const lockedOut = flaky(99, 429, "900");
		const patient = sdkClient(t.app, { token: s.users.owner.token, fetch: lockedOut.fetch });
		const err = (await patient.me.get().catch((e: unknown) => e)) as KeywardError;
		expect(err.retryAfterSeconds).toBe(900);
		expect(lockedOut.calls()).toBe(1);
	});

	it("a status other than 429/503 is not retried, even for a GET", async () => {
		const real = appFetch(t.app);
		const kw = sdkClient(t.app, { fetch: real });
		expect(((await kw.me.get().catch((e: unknown) => e)) as KeywardError).status).toBe(401);
		expect(real.calls).toHaveLength(1);
	});

	it("times out a call that does not answer, and honours the caller's abort", async () => {
		const hang: FetchLike = (request) =>
			new Promise((_, reject) => request.signal.addEventListener("abort", () => reject(request.signal.reason)));
		const kw = sdkClient(t.app, { fetch: hang, timeoutMs: 50 });
		const err = await kw.service.health().catch((e: unknown) => e);
		expect(err).toBeInstanceOf(KeywardTimeoutError);
		const controller = new AbortController();
		const pending = kw.service.health(undefined, { signal: controller.signal, timeoutMs: 10_000 });
		controller.abort(new Error("caller gave up"));
		await expect(pending).rejects.toThrow("caller gave up");
	});
});
