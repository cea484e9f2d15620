/**
 * A 401 says which of six things went wrong (issue #21), so a client can react: sign in again,
 * fix its header, or stop using a revoked key. The code is in the problem's `code` member.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { identityHarness } from "../support/identity";
import { as, createKey } from "../support/request";

const h = identityHarness();

const codeOf = async (res: Response) => {
	expect(res.status).toBe(401);
	const body = await res.json<{ code?: string; type: string }>();
	expect(body.type).toBe("https://keyward.dev/problems/unauthorized");
	return body.code;
};

describe("401 problems carry a code", () => {
	it("missing_credentials: nothing sent", async () => {
		expect(await codeOf(await h.request("/v1/me"))).toBe("missing_credentials");
	});

	it("malformed_authorization: a header that is not `Bearer <token>`", async () => {
		for (const value of ["Basic dXNlcjpwYXNz", "Bearer", "Bearer two words", "bearer"]) {
			const res = await h.request("/v1/me", { headers: { Authorization: value } });
			expect(await codeOf(res)).toBe("malformed_authorization");
		}
	});

	it("invalid_token: a token nobody issued, session-shaped or key-shaped", async () => {
		const u = await h.signup();
		const forged = `${u.token.slice(0, -4)}AAAA`;
		for (const token of ["nonsense", forged, "kw_live_abcdefghijklmnop"]) {
			expect(await codeOf(await h.get("/v1/me", token))).toBe("invalid_token");
		}
	});

	it("session_expired: past its idle timeout or its lifetime", async () => {
		const u = await h.signup();
		expect((await h.get("/v1/me", u.token)).status).toBe(200);
		h.clock.advance(40 * 24 * 3600 * 1000);
		expect(await codeOf(await h.get("/v1/me", u.token))).toBe("session_expired");
		// Asked again after the session was deleted, it is still expired, not unknown.
		expect(await codeOf(await h.get("/v1/me", u.token))).toBe("session_expired");
	});

	it("session_revoked: signed out, or ended from another session", async () => {
		const u = await h.signup();
		const other = await (await h.login(u.email)).json<{ session: { token: string } }>();
		await h.request("/v1/auth/logout", { method: "POST", headers: { Authorization: `Bearer ${u.token}` } });
		expect(await codeOf(await h.get("/v1/me", u.token))).toBe("session_revoked");
		expect((await h.get("/v1/me", other.session.token)).status).toBe(200);
	});

	it("a revoked session's code needs its secret: a guessed secret for the same session id is invalid_token", async () => {
		const u = await h.signup();
		await h.request("/v1/auth/logout", { method: "POST", headers: { Authorization: `Bearer ${u.token}` } });
		const guessed = `${u.token.slice(0, -4)}${u.token.endsWith("AAAA") ? "BBBB" : "AAAA"}`;
		expect(await codeOf(await h.get("/v1/me", guessed))).toBe("invalid_token");
	});

	it("key_revoked: a revoked API key used on the management API", async () => {
		const u = await h.signupVerified();
		const { key, secret } = await createKey(h, u.token, u.accountId, { scopes: ["keys:read"] });
		const list = `/v1/accounts/${u.accountId}/keys`;
		expect((await h.get(list, secret)).status).toBe(200);
		await h.request(`${list}/${key.id}/revoke`, as(u.token, "POST", { reason: "leaked" }));
		expect(await codeOf(await h.get(list, secret))).toBe("key_revoked");
	});

	it("an erased person's session and API key do not act as the tombstone before erasure ends them", async () => {
		const u = await h.signupVerified();
		const { secret } = await createKey(h, u.token, u.accountId, { scopes: ["keys:read"] });
		const list = `/v1/accounts/${u.accountId}/keys`;
		expect((await h.get(list, secret)).status).toBe(200);
		expect((await h.get("/v1/me", u.token)).status).toBe(200);
		// Erasure writes the tombstone first; sessions end and keys are revoked after it. This is the moment between.
		await env.DB.prepare("UPDATE users SET erased_at = ? WHERE id = ?").bind(Date.now(), u.userId).run();
		expect(await codeOf(await h.get(list, secret))).toBe("invalid_token");
		expect(await codeOf(await h.get("/v1/me", u.token))).toBe("invalid_token");
	});

	it("refusals that are not about the credential carry no code", async () => {
		const res = await h.post("/v1/auth/login", { email: "nobody@example.com", password: "wrong password here" });
		expect(res.status).toBe(401);
		const body = await res.json<Record<string, unknown>>();
		expect(body.type).toBe("https://keyward.dev/problems/unauthorized");
		expect(body).not.toHaveProperty("code");
	});
});
