import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDatabase } from "../../src/db";
import { accounts, memberships } from "../../src/db/schema";
import { QUOTAS } from "../../src/identity/quotas";
import {
	codeIn,
	enrolTotp,
	type IdentityHarness,
	identityHarness,
	PASSWORD,
	uniqueEmail,
	uniqueIp,
} from "../support/identity";
import { expectProblem, jsonRequest } from "../support/request";
import { type Algorithm, type CeremonyTweaks, SoftAuthenticator } from "../support/webauthn";

type Options = { publicKey: { challenge: string; user: { id: string }; allowCredentials?: { id: string }[] } };

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

async function register(
	h: IdentityHarness,
	token: string,
	authenticator = new SoftAuthenticator(),
	tweaks: CeremonyTweaks = {},
	name = "Laptop",
) {
	const options = await h.request("/v1/me/passkeys/options", { method: "POST", headers: bearer(token) });
	expect(options.status).toBe(200);
	const credential = await authenticator.create(await options.json<Options>(), tweaks);
	return h.request("/v1/me/passkeys", jsonRequest("POST", { name, credential }, bearer(token)));
}

/** A verified user with one passkey. */
async function withPasskey(h: IdentityHarness, algorithm: Algorithm = "ES256", counter = 0) {
	const u = await h.signupVerified();
	const authenticator = new SoftAuthenticator(algorithm, { counter });
	const res = await register(h, u.token, authenticator);
	expect(res.status).toBe(201);
	const { passkey } = await res.json<{ passkey: { id: string } }>();
	return { ...u, authenticator, passkeyId: passkey.id };
}

/** A session made with the passkey: the proof a user with passkeys needs to change them. */
async function passkeyToken(h: IdentityHarness, authenticator: SoftAuthenticator) {
	const res = await signIn(h, authenticator);
	expect(res.status).toBe(200);
	return (await res.json<{ session: { token: string } }>()).session.token;
}

async function signInOptions(h: IdentityHarness, ip = uniqueIp()) {
	const res = await h.request("/v1/auth/passkey/options", { method: "POST", headers: { "CF-Connecting-IP": ip } });
	expect(res.status).toBe(200);
	return res.json<Options>();
}

async function signIn(h: IdentityHarness, authenticator: SoftAuthenticator, tweaks: CeremonyTweaks = {}) {
	const credential = await authenticator.get(await signInOptions(h), tweaks);
	return h.post("/v1/auth/passkey/verify", { credential }, { "CF-Connecting-IP": uniqueIp() });
}

const failures = (h: IdentityHarness) =>
	h.audit.sent.filter((e) => e.action === "auth.login.failed").map((e) => (e.metadata as { reason?: string }).reason);

describe("passkeys: registration", () => {
	it("adds a passkey (audited, emailed), lists it, and counts it on the user", async () => {
		const h = identityHarness();
		const u = await withPasskey(h);
		const list = await (await h.get("/v1/me/passkeys", u.token)).json<{
			data: { id: string; name: string; backupEligible: boolean; backedUp: boolean; lastUsedAt: string | null }[];
		}>();
		expect(list.data).toEqual([
			expect.objectContaining({
				id: u.passkeyId,
				name: "Laptop",
				backupEligible: true,
				backedUp: true,
				lastUsedAt: null,
			}),
		]);
		const me = await (await h.get("/v1/me", u.token)).json<{ user: { passkeys: number; mfaEnabled: boolean } }>();
		expect(me.user).toMatchObject({ passkeys: 1, mfaEnabled: true });
		expect(h.audit.sent.some((e) => e.action === "auth.passkey.added" && e.target?.id === u.passkeyId)).toBe(true);
		expect((await h.outbox(u.email)).some((m) => m.subject === "Keyward: a passkey was added")).toBe(true);
	});

	it.each(["ES256", "RS256", "Ed25519"] as const)("registers and signs in with %s", async (algorithm) => {
		const h = identityHarness();
		const u = await withPasskey(h, algorithm);
		const res = await signIn(h, u.authenticator);
		expect(res.status).toBe(200);
		const body = await res.json<{ user: { id: string }; session: { token: string } }>();
		expect(body.user.id).toBe(u.userId);
		expect((await h.get("/v1/me", body.session.token)).status).toBe(200);
	});

	it("needs a recent proof of identity to start", async () => {
		const h = identityHarness();
		const u = await h.signupVerified();
		h.clock.advance(11 * 60_000);
		const res = await h.request("/v1/me/passkeys/options", { method: "POST", headers: bearer(u.token) });
		await expectProblem(res, 403, "reauthentication-required");
	});

	it("refuses a wrong origin, a wrong rpId, a spent or expired challenge and a credential registered twice", async () => {
		const h = identityHarness();
		const u = await h.signupVerified();
		const origin = await expectProblem(await register(h, u.token, undefined, { origin: "https://evil.example" }), 400);
		expect(origin.errors?.[0]?.path).toBe("credential.response.clientDataJSON");
		const rp = await expectProblem(await register(h, u.token, undefined, { rpId: "evil.example" }), 400);
		expect(rp.errors?.[0]?.path).toBe("credential.response.attestationObject");
		const frame = await expectProblem(await register(h, u.token, undefined, { crossOrigin: true }), 400);
		expect(frame.errors?.[0]?.message).toMatch(/frame/);
		const type = await expectProblem(await register(h, u.token, undefined, { type: "webauthn.get" }), 400);
		expect(type.errors?.[0]?.message).toMatch(/webauthn.create/);

		// A challenge is spent once, and expires after 5 minutes.
		const options = await (
			await h.request("/v1/me/passkeys/options", { method: "POST", headers: bearer(u.token) })
		).json<Options>();
		const authenticator = new SoftAuthenticator();
		const credential = await authenticator.create(options);
		const once = await h.request("/v1/me/passkeys", jsonRequest("POST", { name: "A", credential }, bearer(u.token)));
		expect(once.status).toBe(201);
		const again = await h.request("/v1/me/passkeys", jsonRequest("POST", { name: "A", credential }, bearer(u.token)));
		expect((await expectProblem(again, 400)).errors?.[0]?.message).toMatch(/challenge/);
		// The same authenticator registered again with fresh options: the credential id is taken.
		await expectProblem(await register(h, await passkeyToken(h, authenticator), authenticator), 409);

		const strong = await passkeyToken(h, authenticator);
		const late = await (
			await h.request("/v1/me/passkeys/options", { method: "POST", headers: bearer(strong) })
		).json<Options>();
		h.clock.advance(5 * 60_000 + 1);
		const expired = await h.request(
			"/v1/me/passkeys",
			jsonRequest("POST", { name: "B", credential: await new SoftAuthenticator().create(late) }, bearer(strong)),
		);
		expect((await expectProblem(expired, 400)).errors?.[0]?.message).toMatch(/challenge/);
	});

	it("refuses another user's challenge", async () => {
		const h = identityHarness();
		const a = await h.signupVerified();
		const b = await h.signupVerified();
		const options = await (
			await h.request("/v1/me/passkeys/options", { method: "POST", headers: bearer(a.token) })
		).json<Options>();
		const credential = await new SoftAuthenticator().create(options);
		const res = await h.request("/v1/me/passkeys", jsonRequest("POST", { name: "x", credential }, bearer(b.token)));
		await expectProblem(res, 400);
		expect((await (await h.get("/v1/me/passkeys", b.token)).json<{ data: unknown[] }>()).data).toHaveLength(0);
	});

	it("names every bad field of a malformed credential", async () => {
		const h = identityHarness();
		const u = await h.signupVerified();
		const res = await h.request(
			"/v1/me/passkeys",
			jsonRequest(
				"POST",
				{ name: "", credential: { id: "!!", rawId: "x", type: "password", response: { clientDataJSON: 3 } } },
				bearer(u.token),
			),
		);
		const problem = await expectProblem(res, 400, "validation");
		const paths = problem.errors?.map((e) => e.path) ?? [];
		for (const p of [
			"name",
			"credential.id",
			"credential.type",
			"credential.response.clientDataJSON",
			"credential.response.attestationObject",
		])
			expect(paths).toContain(p);
	});

	it("refuses credentials that could never sign or that break the format: another attestation, BS without BE, a key off the curve, bytes after the key", async () => {
		const h = identityHarness();
		const u = await h.signupVerified();
		for (const [tweaks, message] of [
			[{ fmt: "packed", attStmt: { alg: -7, sig: new Uint8Array(8) } }, /"none"/],
			[{ flags: 0x01 | 0x04 | 0x10 | 0x40 }, /backup-eligible/],
			[{ offCurveKey: true }, /not a valid key/],
			[{ trailingBytes: true }, /follow the public key/],
		] as const) {
			const problem = await expectProblem(await register(h, u.token, new SoftAuthenticator(), tweaks), 400);
			expect(problem.errors?.[0]?.message, JSON.stringify(tweaks)).toMatch(message);
		}
		const me = await (await h.get("/v1/me", u.token)).json<{ user: { passkeys: number } }>();
		expect(me.user.passkeys).toBe(0);
	});

	it("a user with a passkey changes passkeys only from a passkey (or recovery code) proof: a phished password and code cannot add one", async () => {
		const h = identityHarness();
		const u = await withPasskey(h);
		const { recoveryCodes } = await enrolTotp(h, u.token);
		// A fresh password-and-TOTP sign-in: recent, but not as strong as the passkey.
		const challenge = await (await h.login(u.email)).json<{ challenge: { token: string } }>();
		const totp = await (
			await h.post("/v1/auth/mfa/verify", {
				challengeToken: challenge.challenge.token,
				method: "recovery_code",
				code: recoveryCodes[0],
			})
		).json<{ session: { token: string } }>();
		// A recovery code is the way back when the passkeys are lost: it may.
		expect((await register(h, totp.session.token)).status).toBe(201);
		const email = await h.login(u.email);
		const emailChallenge = (await email.json<{ challenge: { token: string } }>()).challenge.token;
		expect((await h.post("/v1/auth/mfa/email-code", { challengeToken: emailChallenge })).status).toBe(202);
		const code = /code is (\d{6})/.exec(
			(await h.outbox(u.email)).find((m) => m.subject.includes("sign-in code"))?.text ?? "",
		)?.[1];
		const phished = await (
			await h.post("/v1/auth/mfa/verify", { challengeToken: emailChallenge, method: "email_code", code })
		).json<{ session: { token: string } }>();
		const options = await h.request("/v1/me/passkeys/options", {
			method: "POST",
			headers: bearer(phished.session.token),
		});
		expect((await expectProblem(options, 403, "reauthentication-required")).detail).toMatch(/passkeys/);
		await expectProblem(
			await h.request(`/v1/me/passkeys/${u.passkeyId}`, { method: "DELETE", headers: bearer(phished.session.token) }),
			403,
			"reauthentication-required",
		);
		// Re-authenticating with the passkey gives the proof.
		const reauth = await h.request(
			"/v1/me/reauthenticate",
			jsonRequest(
				"POST",
				{ credential: await u.authenticator.get(await signInOptions(h)) },
				bearer(phished.session.token),
			),
		);
		const strong = (await reauth.json<{ session: { token: string } }>()).session.token;
		expect((await h.request("/v1/me/passkeys/options", { method: "POST", headers: bearer(strong) })).status).toBe(200);
	});

	it("renames and removes (audited and emailed); another user's passkey is not found", async () => {
		const h = identityHarness();
		const u = await withPasskey(h);
		const other = await h.signupVerified();
		const path = `/v1/me/passkeys/${u.passkeyId}`;
		await expectProblem(await h.request(path, jsonRequest("PATCH", { name: "Mine" }, bearer(other.token))), 404);
		await expectProblem(await h.request(path, { method: "DELETE", headers: bearer(other.token) }), 404);
		const renamed = await h.request(path, jsonRequest("PATCH", { name: "Phone" }, bearer(u.token)));
		expect((await renamed.json<{ passkey: { name: string } }>()).passkey.name).toBe("Phone");
		// Removing one needs a proof as strong as the passkey: the password session is asked for it.
		await expectProblem(
			await h.request(path, { method: "DELETE", headers: bearer(u.token) }),
			403,
			"reauthentication-required",
		);
		const strong = await passkeyToken(h, u.authenticator);
		expect((await h.request(path, { method: "DELETE", headers: bearer(strong) })).status).toBe(204);
		await expectProblem(await h.request(path, { method: "DELETE", headers: bearer(strong) }), 404);
		const actions = h.audit.sent.map((e) => e.action);
		expect(actions).toEqual(expect.arrayContaining(["auth.passkey.renamed", "auth.passkey.removed"]));
		const subjects = (await h.outbox(u.email)).map((m) => m.subject);
		expect(subjects).toEqual(
			expect.arrayContaining(["Keyward: a passkey was renamed", "Keyward: a passkey was removed"]),
		);
		const me = await (await h.get("/v1/me", strong)).json<{ user: { passkeys: number; mfaEnabled: boolean } }>();
		expect(me.user).toMatchObject({ passkeys: 0, mfaEnabled: false });
		// Removed: it signs nobody in.
		await expectProblem(await signIn(h, u.authenticator), 401);
	});

	it("a burst of registrations past the limit stores at most 20", async () => {
		const h = identityHarness();
		const u = await withPasskey(h);
		const token = await passkeyToken(h, u.authenticator);
		for (let i = 0; i < 17; i++) expect((await register(h, token)).status).toBe(201);
		const burst = await Promise.all(
			Array.from({ length: 5 }, async () => {
				const options = await h.request("/v1/me/passkeys/options", { method: "POST", headers: bearer(token) });
				if (options.status !== 200) return options.status;
				const credential = await new SoftAuthenticator().create(await options.json<Options>());
				return (await h.request("/v1/me/passkeys", jsonRequest("POST", { name: "b", credential }, bearer(token))))
					.status;
			}),
		);
		expect(burst.filter((s) => s === 201)).toHaveLength(2);
		expect(burst.filter((s) => s !== 201).every((s) => s === 409)).toBe(true);
		const me = await (await h.get("/v1/me", u.token)).json<{ user: { passkeys: number } }>();
		expect(me.user.passkeys).toBe(20);
	});
});

describe("passkeys: sign-in with the passkey alone", () => {
	it("gives a session made with a passkey; the sign-in is audited with its factor", async () => {
		const h = identityHarness();
		const u = await withPasskey(h);
		const res = await signIn(h, u.authenticator);
		expect(res.status).toBe(200);
		const event = h.audit.sent.find((e) => e.action === "auth.login.succeeded");
		expect(event?.metadata).toMatchObject({ factors: ["passkey"] });
		const list = await (await h.get("/v1/me/passkeys", u.token)).json<{ data: { lastUsedAt: string | null }[] }>();
		expect(list.data[0]?.lastUsedAt).toBe(h.clock.now().toISOString());
	});

	it("refuses wrong origin, wrong rpId, a forged signature, no user verification, another user's handle", async () => {
		const h = identityHarness();
		const u = await withPasskey(h);
		for (const tweaks of [
			{ origin: "https://evil.example" },
			{ rpId: "evil.example" },
			{ forgeSignature: true },
			{ userVerified: false },
			{ userPresent: false },
			{ userHandle: "dXNyX290aGVy" },
			{ type: "webauthn.create" },
		] satisfies CeremonyTweaks[])
			await expectProblem(await signIn(h, u.authenticator, tweaks), 401, "unauthorized");
		expect(failures(h)).toEqual([
			"wrong_origin",
			"wrong_rp_id",
			"bad_signature",
			"user_not_verified",
			"user_not_present",
			"unknown_passkey",
			"malformed",
		]);
		// None of that hurt the real one.
		expect((await signIn(h, u.authenticator)).status).toBe(200);
	});

	it("a replayed or expired challenge is refused, and a burst of one assertion signs in once", async () => {
		const h = identityHarness();
		const u = await withPasskey(h);
		const credential = await u.authenticator.get(await signInOptions(h));
		const burst = await Promise.all(
			Array.from({ length: 6 }, () =>
				h.post("/v1/auth/passkey/verify", { credential }, { "CF-Connecting-IP": uniqueIp() }),
			),
		);
		expect(burst.filter((r) => r.status === 200)).toHaveLength(1);
		expect(burst.filter((r) => r.status === 401)).toHaveLength(5);
		const late = await u.authenticator.get(await signInOptions(h));
		h.clock.advance(5 * 60_000 + 1);
		await expectProblem(await h.post("/v1/auth/passkey/verify", { credential: late }), 401);
		expect(failures(h).filter((r) => r === "challenge_unknown")).toHaveLength(6);
	});

	it("refuses a signature counter that goes backwards (a clone), and keeps counting from the real one", async () => {
		const h = identityHarness();
		const u = await withPasskey(h, "ES256", 10);
		expect((await signIn(h, u.authenticator)).status).toBe(200); // counter 11
		await expectProblem(await signIn(h, u.authenticator, { counter: 11 }), 401);
		await expectProblem(await signIn(h, u.authenticator, { counter: 3 }), 401);
		expect(failures(h)).toEqual(["counter_regressed", "counter_regressed"]);
		expect((await signIn(h, u.authenticator)).status).toBe(200); // counter 12
	});

	it("a refused answer records no use: a UV-less assertion cannot push the counter", async () => {
		const h = identityHarness();
		const u = await withPasskey(h, "ES256", 10);
		await expectProblem(await signIn(h, u.authenticator, { userVerified: false, counter: 1000 }), 401);
		const list = await (await h.get("/v1/me/passkeys", u.token)).json<{ data: { lastUsedAt: string | null }[] }>();
		expect(list.data[0]?.lastUsedAt).toBeNull();
		expect((await signIn(h, u.authenticator, { counter: 11 })).status).toBe(200);
	});

	it("a failure is the passkey's user's event only when its signature verified", async () => {
		const h = identityHarness();
		const u = await withPasskey(h);
		await expectProblem(await signIn(h, u.authenticator, { forgeSignature: true }), 401);
		await expectProblem(await signIn(h, u.authenticator, { userVerified: false }), 401);
		const events = h.audit.sent.filter((e) => e.action === "auth.login.failed");
		expect(events.map((e) => [(e.metadata as { reason: string }).reason, e.actor?.id ?? null, e.accountId])).toEqual([
			["bad_signature", null, "system"],
			["user_not_verified", u.userId, u.accountId],
		]);
	});

	it("an unknown passkey is refused like a wrong password, and failures are throttled per address", async () => {
		const h = identityHarness();
		const stranger = new SoftAuthenticator();
		const ip = uniqueIp();
		const statuses: number[] = [];
		for (let i = 0; i < 22; i++) {
			const credential = await stranger.get(await signInOptions(h));
			statuses.push((await h.post("/v1/auth/passkey/verify", { credential }, { "CF-Connecting-IP": ip })).status);
		}
		expect(statuses.slice(0, 3)).toEqual([401, 401, 401]);
		expect(statuses.at(-1)).toBe(429);
	});

	it("options are limited per address", async () => {
		const h = identityHarness();
		const ip = uniqueIp();
		const { limit } = QUOTAS["passkey-options-per-address"];
		const statuses: number[] = [];
		for (let i = 0; i < limit; i++)
			statuses.push(
				(await h.request("/v1/auth/passkey/options", { method: "POST", headers: { "CF-Connecting-IP": ip } })).status,
			);
		expect(statuses.every((s) => s === 200)).toBe(true);
		await expectProblem(
			await h.request("/v1/auth/passkey/options", { method: "POST", headers: { "CF-Connecting-IP": ip } }),
			429,
		);
	});
});

describe("passkeys: the second factor after a password", () => {
	async function passwordChallenge(h: IdentityHarness, email: string) {
		const login = await (await h.login(email)).json<{
			mfaRequired?: boolean;
			challenge: { token: string; methods: string[] };
		}>();
		expect(login.mfaRequired).toBe(true);
		return login.challenge;
	}

	it("a passkey finishes a password sign-in, even without user verification", async () => {
		const h = identityHarness();
		const u = await withPasskey(h);
		const challenge = await passwordChallenge(h, u.email);
		expect(challenge.methods).toEqual(["passkey", "email_code"]);
		const options = await (
			await h.post("/v1/auth/mfa/passkey-options", { challengeToken: challenge.token })
		).json<Options>();
		expect(options.publicKey.allowCredentials?.map((c) => c.id)).toEqual([u.authenticator.id]);
		const credential = await u.authenticator.get(options, { userVerified: false });
		const done = await h.post("/v1/auth/mfa/verify", {
			challengeToken: challenge.token,
			method: "passkey",
			credential,
		});
		expect(done.status).toBe(200);
		const event = h.audit.sent.find((e) => e.action === "auth.login.succeeded");
		expect(event?.metadata).toMatchObject({ factors: ["password", "passkey"] });
	});

	it("offers passkey beside TOTP, and refuses another user's passkey, a sign-in challenge, and a missing credential", async () => {
		const h = identityHarness();
		const u = await withPasskey(h);
		await enrolTotp(h, u.token);
		const intruder = await withPasskey(h);
		const challenge = await passwordChallenge(h, u.email);
		expect(challenge.methods).toEqual(["passkey", "totp", "recovery_code", "email_code"]);

		// The intruder's own passkey, signed over a challenge issued for this sign-in.
		const options = await (
			await h.post("/v1/auth/mfa/passkey-options", { challengeToken: challenge.token })
		).json<Options>();
		const foreign = await intruder.authenticator.get(options);
		await expectProblem(
			await h.post("/v1/auth/mfa/verify", { challengeToken: challenge.token, method: "passkey", credential: foreign }),
			401,
		);
		// A discoverable sign-in challenge cannot stand in for the second factor's.
		const wrongPurpose = await u.authenticator.get(await signInOptions(h));
		await expectProblem(
			await h.post("/v1/auth/mfa/verify", {
				challengeToken: challenge.token,
				method: "passkey",
				credential: wrongPurpose,
			}),
			401,
		);
		const missing = await expectProblem(
			await h.post("/v1/auth/mfa/verify", { challengeToken: challenge.token, method: "passkey", code: "123456" }),
			400,
		);
		expect(missing.errors?.map((e) => e.path).sort()).toEqual(["code", "credential"]);
		// The right one still finishes it.
		const fresh = await (
			await h.post("/v1/auth/mfa/passkey-options", { challengeToken: challenge.token })
		).json<Options>();
		const done = await h.post("/v1/auth/mfa/verify", {
			challengeToken: challenge.token,
			method: "passkey",
			credential: await u.authenticator.get(fresh),
		});
		expect(done.status).toBe(200);
	});

	it("a user without a passkey is not offered one", async () => {
		const h = identityHarness();
		const u = await h.signupVerified();
		await enrolTotp(h, u.token);
		const challenge = await passwordChallenge(h, u.email);
		await expectProblem(await h.post("/v1/auth/mfa/passkey-options", { challengeToken: challenge.token }), 400);
	});
});

describe("passkeys: mfaPolicy and re-authentication", () => {
	const db = () => createDatabase(env.DB);
	const accountPath = (id: string) => `/v1/accounts/${id}`;
	const patch = (h: IdentityHarness, token: string, accountId: string, settings: Record<string, unknown>) =>
		h.request(accountPath(accountId), jsonRequest("PATCH", { settings }, bearer(token)));
	const settingsOf = async (h: IdentityHarness, token: string, accountId: string) =>
		(await (await h.get(accountPath(accountId), token)).json<{ account: { settings: Record<string, unknown> } }>())
			.account.settings;

	/** The owner signed in again with the passkey: a session made with it. */
	async function passkeySession(h: IdentityHarness, authenticator: SoftAuthenticator) {
		const res = await signIn(h, authenticator);
		expect(res.status).toBe(200);
		return (await res.json<{ session: { token: string } }>()).session.token;
	}

	it("reads a stored requireMfa as the policy, accepts the old field, and refuses the two disagreeing", async () => {
		const h = identityHarness();
		const u = await h.signupVerified();
		await enrolTotp(h, u.token);
		await db().update(accounts).set({ settings: '{"requireMfa":true}' }).where(eq(accounts.id, u.accountId));
		expect(await settingsOf(h, u.token, u.accountId)).toMatchObject({ mfaPolicy: "any", requireMfa: true });
		expect((await patch(h, u.token, u.accountId, { requireMfa: false })).status).toBe(200);
		expect(await settingsOf(h, u.token, u.accountId)).toMatchObject({ mfaPolicy: "off", requireMfa: false });
		expect((await patch(h, u.token, u.accountId, { mfaPolicy: "any" })).status).toBe(200);
		expect(await settingsOf(h, u.token, u.accountId)).toMatchObject({ mfaPolicy: "any", requireMfa: true });
		const both = await expectProblem(
			await patch(h, u.token, u.accountId, { mfaPolicy: "off", requireMfa: true }),
			400,
			"validation",
		);
		expect(both.errors?.map((e) => e.path).sort()).toEqual(["settings.mfaPolicy", "settings.requireMfa"]);
		await expectProblem(await patch(h, u.token, u.accountId, { mfaPolicy: "strict" }), 400, "validation");
	});

	it("an owner cannot set phishing-resistant from a session not made with a passkey; with one they can", async () => {
		const h = identityHarness();
		const u = await withPasskey(h);
		const refused = await expectProblem(await patch(h, u.token, u.accountId, { mfaPolicy: "phishing-resistant" }), 400);
		expect(refused.errors).toEqual([expect.objectContaining({ path: "settings.mfaPolicy" })]);
		const token = await passkeySession(h, u.authenticator);
		expect((await patch(h, token, u.accountId, { mfaPolicy: "phishing-resistant" })).status).toBe(200);
		// The old field asking for `any` keeps the stricter policy.
		expect((await patch(h, token, u.accountId, { requireMfa: true })).status).toBe(200);
		expect(await settingsOf(h, token, u.accountId)).toMatchObject({ mfaPolicy: "phishing-resistant" });
	});

	it("phishing-resistant refuses a password-and-TOTP session and the keys of a creator without a passkey", async () => {
		const h = identityHarness();
		const owner = await withPasskey(h);
		const ownerToken = await passkeySession(h, owner.authenticator);
		// A member with TOTP only, added to the owner's account.
		const member = await h.signupVerified();
		await enrolTotp(h, member.token);
		await db()
			.insert(memberships)
			.values({ accountId: owner.accountId, userId: member.userId, role: "admin", joinedAt: h.clock.now() });
		const key = await h.request(
			`/v1/accounts/${owner.accountId}/keys`,
			jsonRequest("POST", { name: "ci", scopes: ["keys:read"], environment: "staging" }, bearer(member.token)),
		);
		expect(key.status).toBe(201);
		const secret = (await key.json<{ secret: string }>()).secret;
		expect((await patch(h, ownerToken, owner.accountId, { mfaPolicy: "phishing-resistant" })).status).toBe(200);

		const membersPath = `/v1/accounts/${owner.accountId}/members`;
		const bySession = await expectProblem(await h.get(membersPath, member.token), 403, "forbidden");
		expect(bySession.detail).toMatch(/passkey/);
		const byKey = await expectProblem(await h.get(`/v1/accounts/${owner.accountId}/keys`, secret), 403, "forbidden");
		expect(byKey.detail).toMatch(/creator must add/);
		// An admin may not loosen it.
		await expectProblem(await patch(h, member.token, owner.accountId, { mfaPolicy: "any" }), 403);

		// The member adds a passkey: the key works again; the session works once made with the passkey.
		const added = await withPasskeyFor(h, member.token);
		expect((await h.get(`/v1/accounts/${owner.accountId}/keys`, secret)).status).toBe(200);
		await expectProblem(await h.get(membersPath, member.token), 403);
		const fresh = await passkeySession(h, added);
		const list = await h.get(membersPath, fresh);
		expect(list.status).toBe(200);
		const rows = (await list.json<{ data: { userId: string; strongestFactor: string }[] }>()).data;
		expect(rows.map((m) => m.strongestFactor)).toEqual(["passkey", "passkey"]);
		const report = await (await h.get(`/v1/accounts/${owner.accountId}/security-report`, ownerToken)).json<{
			memberFactors: { userId: string; strongestFactor: string }[];
			checks: { id: string; status: string }[];
		}>();
		expect(report.memberFactors).toHaveLength(2);
		expect(report.memberFactors).toEqual(
			expect.arrayContaining([
				{ userId: owner.userId, strongestFactor: "passkey" },
				{ userId: member.userId, strongestFactor: "passkey" },
			]),
		);
		expect(report.checks.find((c) => c.id === "members_without_passkey")?.status).toBe("pass");
	});

	it("re-authenticates with a passkey that verifies the user, and only the caller's own", async () => {
		const h = identityHarness();
		const u = await withPasskey(h);
		const other = await withPasskey(h);
		const stale = await passkeySession(h, u.authenticator);
		h.clock.advance(11 * 60_000);
		const reauth = async (credential: unknown, token = stale) =>
			h.request("/v1/me/reauthenticate", jsonRequest("POST", { credential }, bearer(token)));
		await expectProblem(await reauth(await other.authenticator.get(await signInOptions(h))), 400);
		await expectProblem(await reauth(await u.authenticator.get(await signInOptions(h), { userVerified: false })), 400);
		const mixed = await expectProblem(
			await h.request(
				"/v1/me/reauthenticate",
				jsonRequest(
					"POST",
					{ password: "x", credential: await u.authenticator.get(await signInOptions(h)) },
					bearer(stale),
				),
			),
			400,
		);
		expect(mixed.errors?.map((e) => e.path)).toEqual(["password"]);
		// A passkey is this user's only second factor: the password alone proves nothing.
		const alone = await expectProblem(
			await h.request("/v1/me/reauthenticate", jsonRequest("POST", { password: "whatever" }, bearer(stale))),
			400,
		);
		expect(alone.errors?.map((e) => e.path)).toEqual(["credential"]);
		const ok = await reauth(await u.authenticator.get(await signInOptions(h)));
		expect(ok.status, await ok.clone().text()).toBe(200);
		const token = (await ok.json<{ session: { token: string } }>()).session.token;
		expect((await h.request("/v1/me/passkeys/options", { method: "POST", headers: bearer(token) })).status).toBe(200);
		expect(h.audit.sent.find((e) => e.action === "auth.reauthenticated")?.metadata).toMatchObject({
			factor: "passkey",
		});
	});
});

/** Adds a passkey for the session's user (fresh proof assumed). */
async function withPasskeyFor(h: IdentityHarness, token: string) {
	const authenticator = new SoftAuthenticator();
	expect((await register(h, token, authenticator)).status).toBe(201);
	return authenticator;
}

describe("passkeys: flows that undo an intruder's set-up remove the passkeys they could have added", () => {
	it("a squatter's passkey stops working when the address's real owner claims it with a password reset", async () => {
		const h = identityHarness();
		// The squatter signs up with someone else's address (unverified) and adds a passkey at once.
		const squatter = await h.signup();
		const planted = new SoftAuthenticator();
		expect((await register(h, squatter.token, planted)).status).toBe(201);
		// The real owner resets the password from their mailbox.
		expect((await h.post("/v1/auth/password-reset", { email: squatter.email })).status).toBe(202);
		const token = codeIn((await h.outbox(squatter.email)).find((m) => m.subject.includes("reset"))?.text);
		const confirmed = await h.post("/v1/auth/password-reset/confirm", { token, newPassword: "the real owner is here" });
		expect(confirmed.status).toBe(204);
		await expectProblem(await signIn(h, planted), 401);
		const owner = await (await h.login(squatter.email, "the real owner is here")).json<{
			session: { token: string };
		}>();
		const me = await (await h.get("/v1/me", owner.session.token)).json<{ user: { passkeys: number } }>();
		expect(me.user.passkeys).toBe(0);
	});

	it("\"this wasn't me\" removes every passkey: the intruder's cannot sign them back in", async () => {
		const h = identityHarness();
		const u = await h.signupVerified();
		const intruder = await h.post(
			"/v1/auth/login",
			{ email: u.email, password: PASSWORD },
			{ "User-Agent": "curl/8.9 (stolen password)", "CF-Connecting-IP": uniqueIp() },
		);
		const stolen = (await intruder.json<{ session: { token: string } }>()).session.token;
		const planted = new SoftAuthenticator();
		expect((await register(h, stolen, planted)).status).toBe(201);
		const notice = (await h.outbox(u.email)).find((m) => m.subject === "Keyward: new sign-in to your account");
		expect((await h.post("/v1/auth/not-me", { token: codeIn(notice?.text) })).status).toBe(204);
		await expectProblem(await signIn(h, planted), 401);
		expect(h.audit.sent.find((e) => e.action === "auth.not_me")?.metadata).toMatchObject({ webauthnRemoved: 1 });
	});

	it("a cancelled email change removes the passkeys added since it started, and keeps the older ones", async () => {
		const h = identityHarness();
		const u = await withPasskey(h);
		h.clock.advance(60_000); // the passkey is older than the change
		const strong = await passkeyToken(h, u.authenticator);
		const next = uniqueEmail();
		expect((await h.request("/v1/me/email", jsonRequest("POST", { email: next }, bearer(strong)))).status).toBe(202);
		const planted = new SoftAuthenticator();
		expect((await register(h, strong, planted)).status).toBe(201);
		const cancel = codeIn((await h.outbox(u.email)).find((m) => m.subject.includes("being changed"))?.text);
		expect((await h.post("/v1/auth/email-change/cancel", { token: cancel })).status).toBe(204);
		await expectProblem(await signIn(h, planted), 401);
		expect((await signIn(h, u.authenticator)).status).toBe(200);
		expect(h.audit.sent.find((e) => e.action === "auth.email_change.cancelled")?.metadata).toMatchObject({
			webauthnRemoved: 1,
		});
	});
});
