import { describe, expect, it } from "vitest";
import { ManualClock } from "../../src/platform/clock";
import { testApp } from "../support/app";
import { observedQueue } from "../support/audit";
import { uniqueEmail } from "../support/identity";
import { expectProblem, jsonRequest } from "../support/request";

/**
 * The real breached-password client against a fake range server (the outside
 * world): it serves the HIBP range format, pads its answers, and can be made
 * slow or broken.
 */
const BREACHED = "correct horse battery staple";
const CLEAN = "an unlikely passphrase of mine 42";
const PADDED = "padded only passphrase 77";
const RANGE = "https://range.test/range/";

const sha1 = async (text: string) =>
	[...new Uint8Array(await crypto.subtle.digest("SHA-1", new TextEncoder().encode(text)))]
		.map((b) => b.toString(16).padStart(2, "0"))
		.join("")
		.toUpperCase();

function rangeServer() {
	const state = { mode: "ok" as "ok" | "slow" | "broken", breached: new Map<string, number>([[BREACHED, 3_861_493]]) };
	const requests: Request[] = [];
	const fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
		const request = new Request(input, init);
		requests.push(request);
		if (state.mode === "broken") return new Response("upstream down", { status: 503 });
		if (state.mode === "slow")
			return new Promise<Response>((_, reject) =>
				init?.signal?.addEventListener("abort", () => reject(init.signal?.reason)),
			);
		const prefix = new URL(request.url).pathname.split("/").pop() ?? "";
		const lines: string[] = [];
		for (const [password, count] of state.breached) {
			const hash = await sha1(password);
			if (hash.startsWith(prefix)) lines.push(`${hash.slice(5)}:${count}`);
		}
		// Padding: entries with a count of 0, including one for the padded password's own suffix.
		const padded = await sha1(PADDED);
		if (padded.startsWith(prefix)) lines.push(`${padded.slice(5)}:0`);
		for (let i = 0; i < 20; i++) lines.push(`${(i.toString(16).padStart(2, "0") + "A".repeat(33)).toUpperCase()}:0`);
		return new Response(lines.join("\r\n"), { status: 200 });
	};
	return { state, requests, fetch: fetch as typeof globalThis.fetch };
}

function harness(vars: Record<string, string> = {}) {
	const server = rangeServer();
	const clock = new ManualClock("2026-10-20T00:00:00Z");
	const t = testApp({ clock, fetch: server.fetch });
	const audit = observedQueue();
	const env = { BREACHED_PASSWORDS_URL: RANGE, BREACHED_PASSWORDS_TIMEOUT_MS: "50", AUDIT_QUEUE: audit.queue, ...vars };
	const request = (path: string, init?: RequestInit) => t.request(path, init, env);
	const signup = (password: string, email = uniqueEmail()) =>
		request("/v1/auth/signup", jsonRequest("POST", { email, password, name: "Grace" }));
	return { server, request, signup, audit, clock };
}

describe("breached passwords (ASVS 6.2.12)", () => {
	it("refuses a breached password at sign-up, sending only the first 5 hex digits of its SHA-1 and asking for padding", async () => {
		const h = harness();
		const problem = await expectProblem(await h.signup(BREACHED), 400, "validation");
		expect(problem.errors?.[0]).toMatchObject({ path: "password" });
		expect(problem.errors?.[0]?.message).toMatch(/known data breaches/);
		const [request] = h.server.requests;
		const hash = await sha1(BREACHED);
		expect(request?.url).toBe(`${RANGE}${hash.slice(0, 5)}`);
		expect(request?.url).not.toContain(hash.slice(5, 12));
		expect(request?.headers.get("Add-Padding")).toBe("true");
		expect(request?.method).toBe("GET");
	});

	it("checks the form the password is hashed in: full-width, decomposed or NBSP spellings of a breached one are refused", async () => {
		const h = harness();
		h.server.state.breached.set("Fullwidth-Secret-99", 41);
		h.server.state.breached.set("caf\u00e9 au lait passphrase", 7);
		const spellings = [
			"\uff26\uff55\uff4c\uff4c\uff57\uff49\uff44\uff54\uff48\uff0d\uff33\uff45\uff43\uff52\uff45\uff54\uff0d\uff19\uff19",
			"cafe\u0301 au lait passphrase",
			"caf\u00e9\u00a0au\u00a0lait\u00a0passphrase",
		];
		for (const spelling of spellings) {
			const problem = await expectProblem(await h.signup(spelling), 400, "validation");
			expect(problem.errors?.[0]?.message, JSON.stringify(spelling)).toMatch(/known data breaches/);
		}
	});

	it("accepts a password the service does not know, and one present only as padding (count 0)", async () => {
		const h = harness();
		expect((await h.signup(CLEAN)).status).toBe(201);
		expect((await h.signup(PADDED)).status).toBe(201);
	});

	it("when the service is slow or broken: accepts and audits the skipped check, or refuses with 503 if configured", async () => {
		for (const mode of ["slow", "broken"] as const) {
			const open = harness();
			open.server.state.mode = mode;
			expect((await open.signup(BREACHED)).status, mode).toBe(201);
			const skipped = open.audit.sent.find((e) => e.action === "auth.breach_check_skipped");
			expect(skipped?.metadata.reason).toBe(mode === "slow" ? "timeout" : "unavailable");

			const closed = harness({ BREACHED_PASSWORDS_ON_ERROR: "refuse" });
			closed.server.state.mode = mode;
			const refused = await closed.signup(BREACHED);
			await expectProblem(refused, 503, "service-unavailable");
			expect(refused.headers.get("Retry-After")).toBe("5");
		}
	});

	it("a sign-in with a password found breached later marks the user, the report counts them, and a change clears it", async () => {
		const h = harness();
		const email = uniqueEmail();
		const signup = await h.signup(CLEAN, email);
		const { session, account } = await signup.json<{ session: { token: string }; account: { id: string } }>();
		h.server.state.breached.set(CLEAN, 12);
		const login = await h.request("/v1/auth/login", jsonRequest("POST", { email, password: CLEAN }));
		const { session: fresh } = await login.json<{ session: { token: string } }>();
		const me = await (await h.request("/v1/me", { headers: { Authorization: `Bearer ${fresh.token}` } })).json<{
			user: { passwordBreached: boolean };
		}>();
		expect(me.user.passwordBreached).toBe(true);
		const report = await (
			await h.request(`/v1/accounts/${account.id}/security-report`, {
				headers: { Authorization: `Bearer ${session.token}` },
			})
		).json<{ checks: { id: string; status: string; items: string[] }[] }>();
		const check = report.checks.find((c) => c.id === "members_with_breached_passwords");
		expect(check?.status).toBe("fail");
		expect(check?.items).toHaveLength(1);
		// The attacker's move: change to another breached password. Refused; a clean one clears the mark.
		const change = (newPassword: string) =>
			h.request(
				"/v1/me/password",
				jsonRequest("POST", { currentPassword: CLEAN, newPassword }, { Authorization: `Bearer ${fresh.token}` }),
			);
		await expectProblem(await change(BREACHED), 400);
		expect((await change("a fresh and unbreached passphrase")).status).toBe(204);
		const after = await (await h.request("/v1/me", { headers: { Authorization: `Bearer ${fresh.token}` } })).json<{
			user: { passwordBreached: boolean };
		}>();
		expect(after.user.passwordBreached).toBe(false);
	});

	it("is off in development unless a URL is configured", async () => {
		const server = rangeServer();
		const t = testApp({ clock: new ManualClock("2026-10-20T00:00:00Z"), fetch: server.fetch });
		const res = await t.request(
			"/v1/auth/signup",
			jsonRequest("POST", { email: uniqueEmail(), password: BREACHED, name: "Grace" }),
		);
		expect(res.status).toBe(201);
		expect(server.requests).toHaveLength(0);
	});
});
