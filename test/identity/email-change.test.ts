import { describe, expect, it } from "vitest";
import { changedAway, codeIn, identityHarness, PASSWORD, uniqueEmail } from "../support/identity";
import { expectProblem, jsonRequest } from "../support/request";

describe("email change that cannot be hijacked", () => {
	it("needs a fresh proof; applies only when the new address confirms; other sessions end", async () => {
		const h = identityHarness();
		const u = await h.signupVerified();
		const other = (await (await h.login(u.email)).json<{ session: { token: string } }>()).session.token;
		const next = uniqueEmail();
		h.clock.advance(11 * 60_000);
		const auth = { Authorization: `Bearer ${u.token}` };
		await expectProblem(
			await h.request("/v1/me/email", jsonRequest("POST", { email: next }, auth)),
			403,
			"reauthentication-required",
		);
		const proof = await h.request("/v1/me/reauthenticate", jsonRequest("POST", { password: PASSWORD }, auth));
		const fresh = { Authorization: `Bearer ${(await proof.json<{ session: { token: string } }>()).session.token}` };
		const started = await h.request("/v1/me/email", jsonRequest("POST", { email: next }, fresh));
		expect(started.status).toBe(202);
		// Nothing changed yet; the old address was told, with a way to cancel.
		expect((await (await h.request("/v1/me", { headers: fresh })).json<{ user: { email: string } }>()).user.email).toBe(
			u.email,
		);
		expect((await h.outbox(u.email))[0]?.subject).toBe("Keyward: your email address is being changed");
		const confirm = codeIn((await h.outbox(next))[0]?.text);
		expect((await h.post("/v1/auth/email-change/confirm", { token: confirm }, fresh)).status).toBe(204);
		await expectProblem(await h.post("/v1/auth/email-change/confirm", { token: confirm }), 400);
		const me = await (await h.request("/v1/me", { headers: fresh })).json<{
			user: { email: string; emailVerified: boolean };
		}>();
		expect(me.user).toMatchObject({ email: next, emailVerified: true });
		await expectProblem(await h.get("/v1/me", other), 401);
		expect((await h.login(next)).status).toBe(200);
		expect(h.audit.sent.some((e) => e.action === "auth.email_change.confirmed")).toBe(true);
	});

	it("the old address cancels within 72 hours: the address goes back and the account is locked until a reset", async () => {
		const h = identityHarness();
		// The attacker (who had the session and the password) confirms from their own mailbox...
		const { u, next, cancel } = await changedAway(h);
		// ...and the owner of the old address says it was not them.
		h.clock.advance(48 * 3_600_000);
		expect((await h.post("/v1/auth/email-change/cancel", { token: cancel })).status).toBe(204);
		await expectProblem(await h.get("/v1/me", u.token), 401);
		expect((await h.login(next, PASSWORD)).status).toBe(401);
		expect((await h.login(u.email, PASSWORD)).status).toBe(401); // the password no longer works
		const reset = codeIn((await h.outbox(u.email)).find((m) => m.subject.includes("locked"))?.text);
		expect(
			(await h.post("/v1/auth/password-reset/confirm", { token: reset, newPassword: "the owner is back in control" }))
				.status,
		).toBe(204);
		expect((await h.login(u.email, "the owner is back in control")).status).toBe(200);
	});

	it("a cancel code is spent once and expires after 72 hours", async () => {
		const h = identityHarness();
		const u = await h.signupVerified();
		await h.request(
			"/v1/me/email",
			jsonRequest("POST", { email: uniqueEmail() }, { Authorization: `Bearer ${u.token}` }),
		);
		const cancel = codeIn((await h.outbox(u.email)).find((m) => m.subject.includes("being changed"))?.text);
		h.clock.advance(73 * 3_600_000);
		await expectProblem(await h.post("/v1/auth/email-change/cancel", { token: cancel }), 400);
	});
});

describe("new-device notice", () => {
	it('a sign-in from a device never seen is mailed; its "this wasn\'t me" code ends that session and starts a reset', async () => {
		const h = identityHarness();
		const u = await h.signupVerified();
		const before = (await h.outbox(u.email)).length;
		// The same device (user agent) as the sign-up: nothing to tell.
		expect((await h.login(u.email)).status).toBe(200);
		expect((await h.outbox(u.email)).length).toBe(before);
		const intruder = await h.post(
			"/v1/auth/login",
			{ email: u.email, password: PASSWORD },
			{ "User-Agent": "curl/8.9 (stolen password)" },
		);
		const stolen = (await intruder.json<{ session: { token: string } }>()).session.token;
		const notice = (await h.outbox(u.email))[0];
		expect(notice?.subject).toBe("Keyward: new sign-in to your account");
		expect(notice?.text).toContain("curl/8.9 (stolen password)");
		expect((await h.post("/v1/auth/not-me", { token: codeIn(notice?.text) })).status).toBe(204);
		await expectProblem(await h.get("/v1/me", stolen), 401);
		expect((await h.outbox(u.email))[0]?.subject).toBe("Keyward: reset your password");
		await expectProblem(await h.post("/v1/auth/not-me", { token: codeIn(notice?.text) }), 400);
	});
});
