import { describe, expect, it } from "vitest";
import { enrolTotp, identityHarness, PASSWORD, totpCode } from "../support/identity";
import { expectProblem, jsonRequest } from "../support/request";

const IP = "192.0.2.44";
const MINUTE = 60_000;

describe("recent authentication for sensitive actions (ASVS 7.5)", () => {
	it("a session older than ten minutes is asked to prove it is you; the proof is a new token and the old one ends", async () => {
		const h = identityHarness();
		const u = await h.signupVerified();
		const elsewhere = (await (await h.login(u.email)).json<{ session: { id: string } }>()).session.id;
		h.clock.advance(11 * MINUTE);
		const as = (token: string) => ({ Authorization: `Bearer ${token}`, "CF-Connecting-IP": IP });
		// Ending another of one's sessions needs the proof too (ASVS 7.5.2).
		await expectProblem(
			await h.request(`/v1/me/sessions/${elsewhere}`, { method: "DELETE", headers: as(u.token) }),
			403,
			"reauthentication-required",
		);
		const base = `/v1/accounts/${u.accountId}`;
		const sensitive = (token: string) => [
			h.request(
				`${base}/keys`,
				jsonRequest("POST", { name: "mgmt", environment: "staging", scopes: ["keys:read"] }, as(token)),
			),
			h.request(base, jsonRequest("PATCH", { settings: { ipAllowlist: ["192.0.2.0/24"] } }, as(token))),
			h.request("/v1/me/sessions/revoke-others", { method: "POST", headers: as(token) }),
		];
		for (const res of await Promise.all(sensitive(u.token))) {
			const problem = await expectProblem(res, 403, "reauthentication-required");
			expect(problem.detail).toMatch(/\/v1\/me\/reauthenticate/);
		}
		// The same session still does what needs no fresh proof.
		const plain = await h.request(
			`${base}/keys`,
			jsonRequest("POST", { name: "app", environment: "staging", scopes: ["invoices:read"] }, as(u.token)),
		);
		expect(plain.status).toBe(201);
		await expectProblem(
			await h.request(base, { method: "DELETE", headers: as(u.token) }),
			403,
			"reauthentication-required",
		);

		const proof = await h.request("/v1/me/reauthenticate", jsonRequest("POST", { password: PASSWORD }, as(u.token)));
		expect(proof.status).toBe(200);
		const { session } = await proof.json<{ session: { token: string } }>();
		expect(session.token).not.toBe(u.token);
		await expectProblem(await h.get("/v1/me", u.token), 401); // the presented token ended
		for (const res of await Promise.all(sensitive(session.token)))
			expect(res.status, await res.text()).toBeLessThan(300);
		expect(h.audit.sent.some((e) => e.action === "auth.reauthenticated" && e.metadata.factor === "password")).toBe(
			true,
		);
		// Ten minutes later the proof has worn off again.
		h.clock.advance(11 * MINUTE);
		await expectProblem(
			await h.request(base, { method: "DELETE", headers: as(session.token) }),
			403,
			"reauthentication-required",
		);
	});

	it("a proof is the password and the second factor: one alone is refused", async () => {
		const h = identityHarness();
		const u = await h.signupVerified();
		const { secret } = await enrolTotp(h, u.token);
		h.clock.advance(31_000);
		const prove = (body: Record<string, unknown>) =>
			h.request("/v1/me/reauthenticate", jsonRequest("POST", body, { Authorization: `Bearer ${u.token}` }));
		const codeOnly = await expectProblem(
			await prove({ method: "totp", code: await totpCode(secret, h.clock.now()) }),
			400,
		);
		expect(codeOnly.errors?.map((e) => e.path)).toContain("password");
		const passwordOnly = await expectProblem(await prove({ password: PASSWORD }), 400);
		expect(passwordOnly.errors?.map((e) => e.path)).toEqual(["method", "code"]);
		const both = await prove({ password: PASSWORD, method: "totp", code: await totpCode(secret, h.clock.now()) });
		expect(both.status).toBe(200);
		expect(h.audit.sent.find((e) => e.action === "auth.reauthenticated")?.metadata.factor).toBe("password+totp");
	});

	it("a session that guesses ends itself, and never locks its owner out of proving who they are", async () => {
		const h = identityHarness();
		const u = await h.signupVerified();
		const stolen = (await (await h.login(u.email)).json<{ session: { token: string } }>()).session.token;
		const guesses = await Promise.all(
			Array.from({ length: 8 }, (_, i) =>
				h.request(
					"/v1/me/reauthenticate",
					jsonRequest("POST", { password: `wrong guess ${i}` }, { Authorization: `Bearer ${stolen}` }),
				),
			),
		);
		const statuses = guesses.map((r) => r.status);
		// At most five are checked; the fifth failure ends the session, so the rest find none (or the lock).
		expect(statuses.filter((s) => s === 400).length).toBeLessThanOrEqual(5);
		expect(statuses.every((s) => s === 400 || s === 401 || s === 429)).toBe(true);
		expect((await h.request("/v1/me", { headers: { Authorization: `Bearer ${stolen}` } })).status).toBe(401);
		expect(h.audit.sent.some((e) => e.action === "auth.lockout" && e.metadata.sessionEnded === true)).toBe(true);
		// The owner's own session proves itself at once: nothing of theirs was locked.
		const owner = await h.request(
			"/v1/me/reauthenticate",
			jsonRequest("POST", { password: PASSWORD }, { Authorization: `Bearer ${u.token}` }),
		);
		expect(owner.status).toBe(200);
	});

	it("the sign-in event names the factors that proved it (ASVS 16.3.1)", async () => {
		const h = identityHarness();
		const u = await h.signupVerified();
		expect((await h.login(u.email)).status).toBe(200);
		const event = h.audit.sent.find((e) => e.action === "auth.login.succeeded");
		expect(event?.metadata.factors).toEqual(["password"]);
	});
});
