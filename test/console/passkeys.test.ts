/**
 * Passkeys in the console (issue #22): the security page names a passkey, a fresh proof gets the
 * options, the browser's answer is posted back; the sign-in page carries discoverable options for
 * the button and the email field's autofill; the re-authentication prompt offers the passkey, and
 * for a user whose only second factor it is, nothing weaker.
 */
import { describe, expect, it } from "vitest";
import { SESSION_COOKIE } from "../../src/identity/sessions";
import { BASE } from "../support/app";
import { identityHarness, uniqueIp } from "../support/identity";
import { SoftAuthenticator } from "../support/webauthn";

const h = identityHarness();

const form = (token: string | null, fields: Record<string, string>): RequestInit => ({
	method: "POST",
	headers: {
		...(token ? { Cookie: `${SESSION_COOKIE}=${token}` } : {}),
		Origin: new URL(BASE).origin,
		"Content-Type": "application/x-www-form-urlencoded",
		"CF-Connecting-IP": uniqueIp(),
	},
	body: new URLSearchParams(fields).toString(),
});

const htmlUnescape = (s: string) =>
	s
		.replaceAll("&quot;", '"')
		.replaceAll("&#39;", "'")
		.replaceAll("&lt;", "<")
		.replaceAll("&gt;", ">")
		.replaceAll("&amp;", "&");
/** The options a page's passkey form carries. */
const optionsIn = (page: string) => {
	const raw = /data-options="([^"]+)"/.exec(page)?.[1];
	if (!raw) throw new Error("no passkey form on the page");
	return JSON.parse(htmlUnescape(raw)) as { publicKey: { challenge: string; user: { id: string } } };
};

async function addInConsole(token: string, name: string, authenticator = new SoftAuthenticator()) {
	const start = await h.request("/console/security/passkey-start", form(token, { name }));
	expect(start.status).toBe(200);
	const page = await start.text();
	expect(page).toContain('data-passkey="create"');
	const credential = await authenticator.create(optionsIn(page));
	const added = await h.request(
		"/console/security/passkeys",
		form(token, { name, credential: JSON.stringify(credential) }),
	);
	expect(added.status).toBe(303);
	expect(added.headers.get("Location")).toBe("/console/security?done=passkey-added");
	return authenticator;
}

describe("console: passkeys", () => {
	it("adds a passkey from the security page, lists it, renames it, and removes it after confirming with it", async () => {
		const u = await h.signupVerified();
		const authenticator = await addInConsole(u.token, "Work laptop");
		const security = await (
			await h.request("/console/security", { headers: { Cookie: `${SESSION_COOKIE}=${u.token}` } })
		).text();
		expect(security).toContain("Work laptop");
		const id = /\/console\/security\/passkeys\/(pky_[a-z2-7]{16})\/rename/.exec(security)?.[1] ?? "";
		const renamed = await h.request(`/console/security/passkeys/${id}/rename`, form(u.token, { name: "Desk" }));
		expect(renamed.headers.get("Location")).toBe("/console/security?done=passkey-renamed");
		// The password session is not proof enough to remove a passkey: the prompt asks for the passkey.
		const prompt = await h.request(`/console/security/passkeys/${id}/remove`, form(u.token, {}));
		expect(prompt.status).toBe(403);
		const page = await prompt.text();
		expect(page).toContain("Confirm with a passkey");
		const removed = await h.request(
			"/console/reauthenticate",
			form(u.token, {
				__replay: `/console/security/passkeys/${id}/remove`,
				credential: JSON.stringify(await authenticator.get(optionsIn(page))),
			}),
		);
		expect(removed.headers.get("Location")).toBe("/console/security?done=passkey-removed");
	});

	it("an empty name is refused before the browser is asked; a stale session is asked to prove itself first", async () => {
		const u = await h.signupVerified();
		const empty = await h.request("/console/security/passkey-start", form(u.token, { name: " " }));
		expect(empty.status).toBe(400);
		expect(await empty.text()).toMatch(/id="new-passkey-name-error"[^>]*>[^<]*1 to 64/);
		h.clock.advance(11 * 60_000);
		const stale = await h.request("/console/security/passkey-start", form(u.token, { name: "Phone" }));
		expect(stale.status).toBe(403);
		const prompt = await stale.text();
		expect(prompt).toContain("Confirm it is you");
		expect(prompt).toContain('name="field.name" value="Phone"');
	});

	it("signs in with a passkey from the sign-in page; the email field offers passkeys to autofill", async () => {
		const u = await h.signupVerified();
		const authenticator = await addInConsole(u.token, "Phone");
		const page = await (await h.request("/console/sign-in", { headers: { "CF-Connecting-IP": uniqueIp() } })).text();
		expect(page).toContain('autocomplete="username webauthn"');
		expect(page).toContain('data-conditional="on"');
		const credential = await authenticator.get(optionsIn(page));
		const res = await h.request("/console/sign-in/passkey", form(null, { credential: JSON.stringify(credential) }));
		expect(res.status).toBe(303);
		expect(res.headers.getSetCookie().some((c) => c.startsWith(`${SESSION_COOKIE}=usr_`))).toBe(true);
		// The same answer again is a replay: the page says so, and offers a fresh challenge.
		const again = await h.request("/console/sign-in/passkey", form(null, { credential: JSON.stringify(credential) }));
		expect(again.status).toBe(401);
		const text = await again.text();
		expect(text).toContain("That passkey did not sign you in");
		expect(optionsIn(text).publicKey.challenge).not.toBe(optionsIn(page).publicKey.challenge);
		const junk = await h.request("/console/sign-in/passkey", form(null, { credential: "{not json" }));
		expect(junk.status).toBe(400);
	});

	it("a user whose only second factor is a passkey is asked for it, not the password, to re-authenticate", async () => {
		const u = await h.signupVerified();
		const authenticator = await addInConsole(u.token, "Phone");
		h.clock.advance(11 * 60_000);
		const prompt = await h.request("/console/security/revoke-other-sessions", form(u.token, {}));
		expect(prompt.status).toBe(403);
		const page = await prompt.text();
		expect(page).toContain("Confirm with a passkey");
		expect(page).not.toContain('name="password"');
		const credential = await authenticator.get(optionsIn(page));
		const done = await h.request(
			"/console/reauthenticate",
			form(u.token, { __replay: "/console/security/revoke-other-sessions", credential: JSON.stringify(credential) }),
		);
		expect(done.status).toBe(303);
		expect(done.headers.get("Location")).toBe("/console/security?done=others");
	});
});
