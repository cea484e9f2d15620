import { describe, expect, it } from "vitest";
import { enrolTotp, identityHarness, PASSWORD, uniqueEmail } from "../support/identity";
import { expectProblem, jsonRequest } from "../support/request";

describe("sign-up, verification, login and sessions", () => {
	it("signs up: user, owned account, session, cookie and a verification email", async () => {
		const h = identityHarness();
		const email = uniqueEmail();
		const res = await h.post("/v1/auth/signup", { email, password: PASSWORD, name: "Ada" });
		expect(res.status).toBe(201);
		const body = await res.json<{
			user: Record<string, unknown>;
			account: { id: string };
			session: { token: string; expiresAt: string };
		}>();
		expect(body.user).toMatchObject({ email, name: "Ada", emailVerified: false, mfaEnabled: false });
		expect(body.account.id).toMatch(/^acc_/);
		expect(body.session.expiresAt).toBe("2026-06-02T12:00:00.000Z");
		const cookie = res.headers.getSetCookie().find((c) => c.startsWith("__Host-keyward_session=")) ?? "";
		// The browser that signed up is the account's first known device.
		expect(res.headers.getSetCookie().some((c) => c.startsWith("__Host-keyward_device=dev_"))).toBe(true);
		expect(cookie).toMatch(
			/^__Host-keyward_session=usr_[a-z2-7]+\.ses_[a-z2-7]+\.[a-z2-7]{32}; Path=\/; HttpOnly; Secure; SameSite=Strict/,
		);
		const me = await (await h.get("/v1/me", body.session.token)).json<{
			memberships: { role: string; accountId: string }[];
		}>();
		expect(me.memberships).toEqual([{ accountId: body.account.id, accountName: "Ada's account", role: "owner" }]);

		const [mail] = await h.outbox(email);
		const token = /\n\n([a-z2-7]+)\n/.exec(mail?.text ?? "")?.[1] ?? "";
		expect(token).toHaveLength(52);
		const auth = { Authorization: `Bearer ${body.session.token}` };
		// The emailed code alone is not enough: it must come with the session of the user it was sent to.
		await expectProblem(await h.post("/v1/auth/verify-email", { token }), 401);
		const someoneElse = await h.signup();
		await expectProblem(
			await h.post("/v1/auth/verify-email", { token }, { Authorization: `Bearer ${someoneElse.token}` }),
			403,
		);
		expect((await h.post("/v1/auth/verify-email", { token }, auth)).status).toBe(204);
		await expectProblem(await h.post("/v1/auth/verify-email", { token }, auth), 400, "validation");
		const after = await (await h.get("/v1/me", body.session.token)).json<{ user: { emailVerified: boolean } }>();
		expect(after.user.emailVerified).toBe(true);
		expect(h.audit.sent.some((e) => e.action === "auth.signup" && e.accountId === body.account.id)).toBe(true);
	});

	it("refuses a weak password naming the rule, and a taken email with 409", async () => {
		const h = identityHarness();
		const email = uniqueEmail();
		const weak = await expectProblem(
			await h.post("/v1/auth/signup", { email, password: "password1234", name: "A" }),
			400,
			"validation",
		);
		expect(weak.errors).toEqual([{ path: "password", message: expect.stringContaining("most common") }]);
		const short = await expectProblem(await h.post("/v1/auth/signup", { email, password: "short", name: "A" }), 400);
		expect(short.errors?.[0]?.message).toContain("at least 12 characters");
		await h.signup(email);
		await expectProblem(
			await h.post("/v1/auth/signup", { email: email.toUpperCase(), password: PASSWORD, name: "B" }),
			409,
			"conflict",
		);
	});

	it("unknown email and wrong password are indistinguishable", async () => {
		const h = identityHarness();
		const { email } = await h.signup();
		const a = await h.login(email, "wrong password entirely");
		const b = await h.login(uniqueEmail(), "wrong password entirely");
		expect(a.status).toBe(401);
		expect(b.status).toBe(401);
		const strip = async (r: Response) => {
			const { requestId: _r, ...rest } = await r.json<Record<string, unknown>>();
			return rest;
		};
		expect(await strip(a)).toEqual(await strip(b));
		const headerNames = (r: Response) => [...r.headers.keys()].filter((k) => k !== "x-request-id").sort();
		expect(headerNames(a)).toEqual(headerNames(b));
	});

	it("a session works by Bearer and by cookie; unsafe cookie requests need an allowed Origin", async () => {
		const h = identityHarness();
		const { token } = await h.signup();
		const cookie = { Cookie: `__Host-keyward_session=${token}` };
		expect((await h.request("/v1/me", { headers: cookie })).status).toBe(200);
		const foreign = await h.request("/v1/me/sessions/revoke-others", {
			method: "POST",
			headers: { ...cookie, Origin: "https://evil.example" },
		});
		await expectProblem(foreign, 403, "forbidden");
		const noOrigin = await h.request("/v1/me/sessions/revoke-others", { method: "POST", headers: cookie });
		await expectProblem(noOrigin, 403, "forbidden");
		const same = await h.request("/v1/me/sessions/revoke-others", {
			method: "POST",
			headers: { ...cookie, Origin: "https://keyward.test" },
		});
		expect(same.status).toBe(200);
		expect((await h.request(`/v1/me?token=${token}`)).status).toBe(401);
	});

	it("logout ends the session at once", async () => {
		const h = identityHarness();
		const { token } = await h.signup();
		expect(
			(await h.request("/v1/auth/logout", { method: "POST", headers: { Authorization: `Bearer ${token}` } })).status,
		).toBe(204);
		await expectProblem(await h.get("/v1/me", token), 401, "unauthorized");
	});

	it("lists sessions and revokes one or the others; the revoked are refused next request", async () => {
		const h = identityHarness();
		const { email, token, sessionId } = await h.signup();
		const second = (await (await h.login(email)).json<{ session: { token: string; id: string } }>()).session;
		const third = (await (await h.login(email)).json<{ session: { token: string; id: string } }>()).session;
		const list = await (await h.get("/v1/me/sessions", token)).json<{ data: { id: string; current: boolean }[] }>();
		expect(list.data.map((s) => s.id).sort()).toEqual([sessionId, second.id, third.id].sort());
		expect(list.data.find((s) => s.current)?.id).toBe(sessionId);

		const del = await h.request(`/v1/me/sessions/${second.id}`, {
			method: "DELETE",
			headers: { Authorization: `Bearer ${token}` },
		});
		expect(del.status).toBe(204);
		await expectProblem(await h.get("/v1/me", second.token), 401);
		const others = await h.request("/v1/me/sessions/revoke-others", {
			method: "POST",
			headers: { Authorization: `Bearer ${token}` },
		});
		expect(await others.json()).toEqual({ revoked: 1 });
		await expectProblem(await h.get("/v1/me", third.token), 401);
		expect((await h.get("/v1/me", token)).status).toBe(200);
	});

	it("a password change ends the other sessions by default; reset ends them all", async () => {
		const h = identityHarness();
		const { email, token } = await h.signup();
		const other = (await (await h.login(email)).json<{ session: { token: string } }>()).session.token;
		const change = await h.request(
			"/v1/me/password",
			jsonRequest(
				"POST",
				{ currentPassword: PASSWORD, newPassword: "a brand new passphrase" },
				{ Authorization: `Bearer ${token}` },
			),
		);
		expect(change.status).toBe(204);
		await expectProblem(await h.get("/v1/me", other), 401);
		expect((await h.get("/v1/me", token)).status).toBe(200);
		expect((await h.login(email, "a brand new passphrase")).status).toBe(200);

		expect((await h.post("/v1/auth/password-reset", { email })).status).toBe(202);
		expect((await h.post("/v1/auth/password-reset", { email: uniqueEmail() })).status).toBe(202);
		const mail = (await h.outbox(email)).find((m) => m.subject.includes("reset"));
		const resetToken = /\n\n([a-z2-7]+)\n/.exec(mail?.text ?? "")?.[1] ?? "";
		const weak = await h.post("/v1/auth/password-reset/confirm", { token: resetToken, newPassword: "password1234" });
		await expectProblem(weak, 400, "validation");
		expect(
			(await h.post("/v1/auth/password-reset/confirm", { token: resetToken, newPassword: "the reset passphrase" }))
				.status,
		).toBe(204);
		await expectProblem(await h.get("/v1/me", token), 401);
		await expectProblem(
			await h.post("/v1/auth/password-reset/confirm", { token: resetToken, newPassword: "another passphrase!" }),
			400,
		);
		expect((await h.login(email, "the reset passphrase")).status).toBe(200);
	});

	it("enforces the idle timeout and the absolute lifetime", async () => {
		const h = identityHarness();
		const { token } = await h.signup();
		h.clock.advance(29 * 60_000);
		expect((await h.get("/v1/me", token)).status).toBe(200); // renews last-seen
		h.clock.advance(29 * 60_000);
		expect((await h.get("/v1/me", token)).status).toBe(200);
		h.clock.advance(31 * 60_000);
		await expectProblem(await h.get("/v1/me", token), 401);

		const fresh = await h.signup();
		for (let i = 0; i < 50; i++) {
			h.clock.advance(29 * 60_000);
			const res = await h.get("/v1/me", fresh.token);
			if (res.status === 401) {
				// Ends by the 24-hour lifetime even though it was never idle.
				expect(i * 29).toBeGreaterThanOrEqual(24 * 60 - 29 * 2);
				return;
			}
		}
		throw new Error("the session outlived its 24-hour lifetime");
	});
});

describe("session limits and nudges", () => {
	it("keeps at most 20 sessions per user: a 21st ends the least recently used (ASVS 7.1.2)", async () => {
		const h = identityHarness();
		const u = await h.signup();
		const tokens: string[] = [];
		for (let i = 0; i < 20; i++) {
			h.clock.advance(1000);
			tokens.push((await (await h.login(u.email)).json<{ session: { token: string } }>()).session.token);
		}
		await expectProblem(await h.get("/v1/me", u.token), 401);
		const listed = await (await h.get("/v1/me/sessions", tokens.at(-1))).json<{ data: unknown[] }>();
		expect(listed.data).toHaveLength(20);
		for (const token of tokens) expect((await h.get("/v1/me", token)).status).toBe(200);
	});

	it("offers two-factor at sign-up and nudges until it is on (ASVS 6.3.3)", async () => {
		const h = identityHarness();
		const res = await h.post("/v1/auth/signup", { email: uniqueEmail(), password: PASSWORD, name: "Nudge" });
		const body = await res.json<{ recommendations: { id: string }[]; session: { token: string } }>();
		expect(body.recommendations.map((r) => r.id)).toEqual(["verify_email", "enable_mfa"]);
		await enrolTotp(h, body.session.token);
		const me = await (await h.get("/v1/me", body.session.token)).json<{ recommendations: { id: string }[] }>();
		expect(me.recommendations.map((r) => r.id)).toEqual(["verify_email"]);
	});
});
