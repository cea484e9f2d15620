// OIDC single sign-on attacked over HTTP against the real local stack the console journey runs
// (issue #27). An organisation connects the journey's fake provider; an attacker, with a browser
// of their own and the provider's redirects in hand, tries to turn them into a session that is not
// theirs to have: a callback opened without the browser that started it (login CSRF), a state
// replayed, their own code spliced into someone else's sign-in (code injection), a domain nobody
// verified, and a proof of identity sent somewhere else afterwards. Throws on the first difference.
import assert from "node:assert/strict";
import { verifiedOrganisation } from "./organisation.mjs";

const json = (body, headers = {}) => ({
	method: "POST",
	headers: { "Content-Type": "application/json", ...headers },
	body: JSON.stringify(body),
});

const cookieNamed = (res, name) =>
	res.headers
		.getSetCookie()
		.map((c) => c.split(";")[0])
		.find((c) => c.startsWith(`${name}=`) && c.length > name.length + 1);

export async function oidcSequence({ base, publishTxt, password, idp }) {
	const send = async (path, init) => {
		const res = await fetch(path.startsWith("http") ? path : base + path, { redirect: "manual", ...init });
		const text = await res.text();
		return { status: res.status, text, headers: res.headers, json: () => JSON.parse(text) };
	};
	const stamp = Date.now();
	const { account, owner, domain } = await verifiedOrganisation(send, { name: "oidc", password, publishTxt, stamp });
	const connected = await send(
		`/v1/accounts/${account.id}/sso-connections`,
		json({ issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret }, owner),
	);
	assert.equal(connected.status, 201, connected.text);
	assert.doesNotMatch(connected.text, new RegExp(idp.clientSecret));

	/** A browser starting a sign-in: its cookie, and the callback URL the provider sends it back to. */
	async function begin(email) {
		const started = await send(`/v1/auth/sso/start?email=${encodeURIComponent(email)}`);
		assert.equal(started.status, 302, started.text);
		const authorized = await send(started.headers.get("location"));
		assert.equal(authorized.status, 302, authorized.text);
		const callback = new URL(authorized.headers.get("location"));
		return { cookie: cookieNamed(started, "__Host-keyward_sso"), callback, state: callback.searchParams.get("state") };
	}
	const finish = (url, cookie) => send(`${url.pathname}${url.search}`, { headers: cookie ? { Cookie: cookie } : {} });
	const refused = (what, res, status = 401) => {
		assert.equal(res.status, status, `${what}: ${res.status} ${res.text}`);
		assert.equal(cookieNamed(res, "__Host-keyward_session"), undefined, `${what} set a session`);
		assert.doesNotMatch(res.text, /at \w+ \(|node_modules/, `${what} leaks a stack`);
	};

	// Login CSRF: the attacker's own callback URL opened in the victim's browser (which holds the cookie of its own sign-in).
	const victim = await begin(`victim@${domain}`);
	const attacker = await begin(`attacker@${domain}`);
	refused("a callback URL opened in another browser", await finish(attacker.callback, victim.cookie));
	// That used the attacker's sign-in up, even in the right browser now.
	refused("a state used once already", await finish(attacker.callback, attacker.cookie));
	// Code injection: the attacker's code, in the victim's sign-in and browser. PKCE refuses it.
	const other = await begin(`attacker@${domain}`);
	const spliced = new URL(victim.callback);
	spliced.searchParams.set("code", other.callback.searchParams.get("code"));
	refused("a code from another sign-in", await finish(spliced, victim.cookie));
	// A clean sign-in works, once.
	const clean = await begin(`victim@${domain}`);
	const done = await finish(clean.callback, clean.cookie);
	assert.equal(done.status, 200, done.text);
	const signedIn = cookieNamed(done, "__Host-keyward_session");
	assert.ok(signedIn, "a session");
	refused("a replayed callback", await finish(clean.callback, clean.cookie));
	// A state nobody issued, and the provider's refusal.
	refused(
		"a made-up state",
		await send(`/v1/auth/sso/callback?state=${"a".repeat(43)}&code=x`, { headers: { Cookie: clean.cookie } }),
	);
	refused("the provider's error", await send(`/v1/auth/sso/callback?state=${clean.state}&error=access_denied`));
	// A domain nobody verified has no single sign-on.
	assert.equal(
		(await send(`/v1/auth/sso/start?email=${encodeURIComponent(`x@unverified-${stamp}.example.com`)}`)).status,
		404,
	);
	// A proof of identity continues only to a console path.
	for (const returnTo of [
		"https://evil.example/console",
		"//evil.example/console",
		"/console/../v1/me",
		"/console?next=//evil",
	]) {
		const res = await send("/v1/me/reauthenticate/sso", {
			method: "POST",
			headers: { Cookie: signedIn, Origin: base, "Content-Type": "application/json" },
			body: JSON.stringify({ returnTo }),
		});
		assert.equal(res.status, 400, `returnTo ${returnTo}: ${res.status} ${res.text}`);
	}
	// The same route from another site's page is refused (the session cookie is SameSite=Strict, and the Origin is checked).
	const forged = await send("/v1/me/reauthenticate/sso", {
		method: "POST",
		headers: { Cookie: signedIn, Origin: "https://evil.example", "Content-Type": "application/json" },
		body: "{}",
	});
	assert.equal(forged.status, 403, forged.text);
}
