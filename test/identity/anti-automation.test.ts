import { describe, expect, it } from "vitest";
import { identityHarness, PASSWORD, uniqueEmail } from "../support/identity";
import { expectProblem, jsonRequest } from "../support/request";

const WRONG = "wrong wrong wrong";
const deviceCookieOf = (res: Response) =>
	res.headers
		.getSetCookie()
		.find((c) => c.startsWith("__Host-keyward_device="))
		?.split(";")[0];

describe("throttles an attacker cannot turn against the owner (ASVS 6.1.1, 6.3.1)", () => {
	it("someone who knows only the email locks out unknown devices, never the owner's known browser", async () => {
		const h = identityHarness();
		const u = await h.signup();
		const first = await h.login(u.email);
		expect(first.status).toBe(200);
		const device = deviceCookieOf(first);
		expect(device).toMatch(/^__Host-keyward_device=dev_[a-z2-7]{26}\.[0-9a-f]{32}$/);
		const fromDevice = (password: string) =>
			h.post("/v1/auth/login", { email: u.email, password }, { Cookie: device ?? "", "CF-Connecting-IP": "192.0.2.7" });

		// The attacker: ten wrong passwords from unknown devices lock the email for them.
		for (let i = 0; i < 10; i++) {
			h.clock.advance(60_000);
			await h.login(u.email, WRONG);
		}
		await expectProblem(await h.login(u.email), 429);
		// The owner's browser is not locked out.
		const owner = await fromDevice(PASSWORD);
		expect(owner.status).toBe(200);
		// A forged device cookie is just an unknown device.
		const forged = await h.post(
			"/v1/auth/login",
			{ email: u.email, password: PASSWORD },
			{ Cookie: `__Host-keyward_device=dev_${"a".repeat(26)}.${"0".repeat(32)}` },
		);
		expect(forged.status).toBe(429);
		// The known device keeps a small budget of its own: five failures lock it, and only it.
		for (let i = 0; i < 5; i++) {
			h.clock.advance(60_000);
			await fromDevice(WRONG);
		}
		await expectProblem(await fromDevice(PASSWORD), 429);
	});

	it("counts IPv6 clients by their /64", async () => {
		const h = identityHarness();
		for (let i = 1; i <= 20; i++) await h.login(uniqueEmail(), WRONG, `2001:db8:7:9::${i.toString(16)}`);
		await expectProblem(await h.login(uniqueEmail(), WRONG, "2001:db8:7:9:ffff::1"), 429);
		expect((await h.login(uniqueEmail(), WRONG, "2001:db8:7:a::1")).status).toBe(401);
	});

	it("sign-up per address, password reset per address and per email, invitations per account, verification mails per user", async () => {
		const h = identityHarness();
		const ip = { "CF-Connecting-IP": "198.51.100.77" };
		const signups = [];
		for (let i = 0; i < 11; i++)
			signups.push(await h.post("/v1/auth/signup", { email: uniqueEmail(), password: PASSWORD, name: "Bot" }, ip));
		expect(signups.slice(0, 10).every((r) => r.status === 201)).toBe(true);
		const refused = signups[10] as Response;
		await expectProblem(refused, 429, "quota-exceeded");
		expect(Number(refused.headers.get("Retry-After"))).toBeGreaterThan(0);
		expect(refused.headers.get("RateLimit-Policy")).toBe('"signup-per-address";q=10;w=3600');

		const target = uniqueEmail();
		for (let i = 0; i < 3; i++) expect((await h.post("/v1/auth/password-reset", { email: target })).status).toBe(202);
		await expectProblem(await h.post("/v1/auth/password-reset", { email: target }), 429);
		await expectProblem(await h.post("/v1/auth/password-reset", { email: target.toUpperCase() }), 429);
		expect((await h.post("/v1/auth/password-reset", { email: uniqueEmail() })).status).toBe(202);

		const owner = await h.signupVerified();
		const auth = { Authorization: `Bearer ${owner.token}` };
		for (let i = 0; i < 30; i++)
			expect(
				(
					await h.request(
						`/v1/accounts/${owner.accountId}/invitations`,
						jsonRequest("POST", { email: uniqueEmail(), role: "member" }, auth),
					)
				).status,
			).toBe(201);
		await expectProblem(
			await h.request(
				`/v1/accounts/${owner.accountId}/invitations`,
				jsonRequest("POST", { email: uniqueEmail(), role: "member" }, auth),
			),
			429,
		);

		const unverified = await h.signup();
		const resend = () => h.post("/v1/auth/verify-email/resend", {}, { Authorization: `Bearer ${unverified.token}` });
		for (let i = 0; i < 3; i++) expect((await resend()).status).toBe(202);
		await expectProblem(await resend(), 429);
	});
});
