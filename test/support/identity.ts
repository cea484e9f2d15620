import { generate } from "otplib";
import { ManualClock } from "../../src/platform/clock";
import { newId } from "../../src/platform/ids";
import { type TestApp, testApp } from "./app";
import { observedQueue } from "./audit";
import { jsonRequest } from "./request";

export const PASSWORD = "correct horse battery staple";
export const uniqueEmail = () => `${newId("usr").slice(4)}@example.com`;
export const uniqueIp = () => `198.51.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`;

export interface IdentityHarness extends TestApp {
	clock: ManualClock;
	audit: ReturnType<typeof observedQueue>;
	post(path: string, body: unknown, headers?: Record<string, string>): Promise<Response>;
	get(path: string, token?: string): Promise<Response>;
	signup(
		email?: string,
		password?: string,
	): Promise<{ email: string; token: string; sessionId: string; userId: string; accountId: string }>;
	/** Signs up and verifies the email from the outbox: an owner whose account can grant. */
	signupVerified(email?: string): ReturnType<IdentityHarness["signup"]>;
	login(email: string, password?: string, ip?: string): Promise<Response>;
	outbox(email: string): Promise<{ subject: string; text: string }[]>;
}

/** The real app with an injected clock and an observed (real) audit queue. */
export function identityHarness(start = "2026-06-01T12:00:00Z"): IdentityHarness {
	const clock = new ManualClock(start);
	const t = testApp({ clock });
	const audit = observedQueue();
	const vars = { AUDIT_QUEUE: audit.queue };
	const h: IdentityHarness = {
		...t,
		clock,
		audit,
		request: (path, init, overrides) => t.request(path, init, { ...vars, ...overrides }),
		post: (path, body, headers) => h.request(path, jsonRequest("POST", body, headers)),
		get: (path, token) => h.request(path, token ? { headers: { Authorization: `Bearer ${token}` } } : undefined),
		async signup(email = uniqueEmail(), password = PASSWORD) {
			const res = await h.post("/v1/auth/signup", { email, password, name: "Ada Lovelace" });
			if (res.status !== 201) throw new Error(`signup failed: ${res.status} ${await res.text()}`);
			const body = await res.json<{
				user: { id: string };
				account: { id: string };
				session: { id: string; token: string };
			}>();
			return {
				email,
				token: body.session.token,
				sessionId: body.session.id,
				userId: body.user.id,
				accountId: body.account.id,
			};
		},
		async signupVerified(email) {
			const u = await h.signup(email);
			const mail = (await h.outbox(u.email)).find((m) => m.subject.includes("confirm"));
			const token = /\n\n([a-z2-7]+)\n/.exec(mail?.text ?? "")?.[1] ?? "";
			const res = await h.post("/v1/auth/verify-email", { token }, { Authorization: `Bearer ${u.token}` });
			if (res.status !== 204) throw new Error(`verify-email failed: ${res.status}`);
			return u;
		},
		login: (email, password = PASSWORD, ip = uniqueIp()) =>
			h.post("/v1/auth/login", { email, password }, { "CF-Connecting-IP": ip }),
		async outbox(email) {
			const res = await h.request(`/v1/dev/outbox?to=${encodeURIComponent(email)}`);
			return (await res.json<{ data: { subject: string; text: string }[] }>()).data;
		},
	};
	return h;
}

export const totpCode = (secretBase32: string, at: Date) =>
	generate({ secret: secretBase32, epoch: Math.floor(at.getTime() / 1000) });

/** Turns TOTP on for a signed-up user; returns the base32 secret and the recovery codes. */
export async function enrolTotp(h: IdentityHarness, token: string) {
	const auth = { Authorization: `Bearer ${token}` };
	const start = await h.request("/v1/me/mfa/totp", jsonRequest("POST", { password: PASSWORD }, auth));
	const { secret } = await start.json<{ secret: string }>();
	const confirm = await h.request(
		"/v1/me/mfa/totp/confirm",
		jsonRequest("POST", { code: await totpCode(secret, h.clock.now()) }, auth),
	);
	const { recoveryCodes } = await confirm.json<{ recoveryCodes: string[] }>();
	return { secret, recoveryCodes };
}

/** The one-time code a Keyward email carries (on its own line after a blank one). */
export const codeIn = (text: string | undefined) => /\n\n([a-z2-7]+)\n/.exec(text ?? "")?.[1] ?? "";

/**
 * A verified user whose address was changed away and confirmed from the new mailbox (what an
 * attacker with the session and the password does); answers the cancel code the old address got.
 */
export async function changedAway(h: IdentityHarness) {
	const { expect } = await import("vitest");
	const u = await h.signupVerified();
	const next = uniqueEmail();
	const auth = { Authorization: `Bearer ${u.token}` };
	expect((await h.request("/v1/me/email", jsonRequest("POST", { email: next }, auth))).status).toBe(202);
	expect(
		(await h.post("/v1/auth/email-change/confirm", { token: codeIn((await h.outbox(next))[0]?.text) })).status,
	).toBe(204);
	const cancel = codeIn((await h.outbox(u.email)).find((m) => m.subject.includes("being changed"))?.text);
	return { u, next, cancel };
}
