/**
 * Issue #21: an invitation email carries a link that leads the invitee through sign-up (or
 * sign-in), email confirmation (a link too) and acceptance; the header's account switcher then
 * lists both accounts with the role in each. A link's token leaves the URL on arrival.
 */
import { describe, expect, it } from "vitest";
import { BASE } from "../support/app";
import { formBrowser } from "../support/browser";
import { identityHarness, PASSWORD, uniqueEmail } from "../support/identity";
import { as } from "../support/request";

const h = identityHarness();

const browser = () => formBrowser(h.request);

const linkIn = (text: string | undefined, path: string) =>
	new RegExp(`${BASE.replace(/[.]/g, "\\.")}(${path}\\?token=[a-z2-7]+)`).exec(text ?? "")?.[1] ?? "";
const location = (res: Response) => res.headers.get("Location") ?? "";

describe("an invitation link, from the email to the account", () => {
	it("leads a new person through sign-up, confirmation by link and acceptance, then lists both accounts", async () => {
		const owner = await h.signupVerified();
		const invitee = uniqueEmail();
		const invited = await h.request(
			`/v1/accounts/${owner.accountId}/invitations`,
			as(owner.token, "POST", { email: invitee, role: "admin" }),
		);
		expect(invited.status).toBe(201);
		const invitation = (await h.outbox(invitee)).find((m) => m.subject.includes("invited"));
		const link = linkIn(invitation?.text, "/console/invitations/accept");
		expect(link).toMatch(/^\/console\/invitations\/accept\?token=/);
		expect(invitation?.text).toContain("valid 7 days");

		const b = browser();
		// Arrival: the token moves into an HttpOnly cookie; the page goes on without it.
		const arrival = await b.get(link);
		expect(arrival.status).toBe(200);
		const arrivalHtml = await arrival.text();
		const token = link.split("token=")[1] ?? "";
		expect(arrivalHtml).not.toContain(token);
		expect(arrivalHtml).toContain('<meta http-equiv="refresh" content="0; url=/console/invitations/accept"');
		expect(arrival.headers.getSetCookie().join()).toMatch(/__Host-keyward_invite=[a-z2-7]+;.*HttpOnly/i);

		// Not signed in: the account, role and address are named first; then sign in or create an account.
		const invitationPage = await (await b.get("/console/invitations/accept")).text();
		expect(invitationPage).toContain("Create an account");
		expect(invitationPage).toContain(owner.accountId);
		expect(invitationPage).toContain(invitee);
		expect(invitationPage).toMatch(/Role.{0,80}admin/s);

		const signedUp = await b.post("/console/sign-up", { name: "Bea", email: invitee, password: PASSWORD });
		expect(location(signedUp)).toBe("/console");
		expect(location(await b.get("/console"))).toBe("/console/invitations/accept");
		const confirmFirst = await (await b.get("/console/invitations/accept")).text();
		expect(confirmFirst).toContain("Confirm your email address");
		// Accepting before the address is proven grants nothing.
		const early = await b.post("/console/invitations/accept");
		expect(early.status).toBe(403);
		expect(await early.text()).toContain("Verify your email address first");

		// The confirmation email's link, in the same browser, comes back to the invitation.
		const confirmation = (await h.outbox(invitee)).find((m) => m.subject.includes("confirm"));
		const verifyLink = linkIn(confirmation?.text, "/console/verify-email");
		expect(verifyLink).not.toBe("");
		const verifyArrival = await b.get(verifyLink);
		expect(await verifyArrival.text()).toContain('url=/console/verify-email"');
		const verified = await b.get("/console/verify-email");
		expect(location(verified)).toBe("/console/invitations/accept");
		expect(b.jar.has("__Host-keyward_verify")).toBe(false);

		const ready = await (await b.get("/console/invitations/accept")).text();
		expect(ready).toContain("Accept the invitation");
		expect(ready).toMatch(/<button type="submit">Join .+ as admin<\/button>/);
		const accepted = await b.post("/console/invitations/accept");
		expect(location(accepted)).toBe(`/console/a/${owner.accountId}/keys?joined=1`);
		expect(b.jar.has("__Host-keyward_invite")).toBe(false);

		const joined = await (await b.get(`/console/a/${owner.accountId}/keys?joined=1`)).text();
		expect(joined).toMatch(/You joined .+ as admin\./);
		// The switcher names the current account and lists both, with the role in each.
		const switcher = /<details class="switcher">([\s\S]*?)<\/details>/.exec(joined)?.[1] ?? "";
		expect(switcher).toContain(`href="/console/a/${owner.accountId}/keys" aria-current="true"`);
		expect(switcher.match(/href="\/console\/a\/acc_[a-z0-9]+\/keys"/g)).toHaveLength(2);
		expect(switcher).toMatch(/admin<\/span>/);
		expect(switcher).toMatch(/owner<\/span>/);
	});

	it("an invitation for another address is refused with the API's reason, and the invitation stays", async () => {
		const owner = await h.signupVerified();
		const invitee = uniqueEmail();
		await h.request(
			`/v1/accounts/${owner.accountId}/invitations`,
			as(owner.token, "POST", { email: invitee, role: "member" }),
		);
		const link = linkIn((await h.outbox(invitee))[0]?.text, "/console/invitations/accept");
		const stranger = await h.signupVerified();
		const b = browser();
		await b.get(link);
		const signedIn = await h.login(stranger.email);
		const session = (await signedIn.json<{ session: { token: string } }>()).session.token;
		b.jar.set("__Host-keyward_session", session);
		const refused = await b.post("/console/invitations/accept");
		expect(refused.status).toBe(403);
		expect(await refused.text()).toContain("This invitation is for another email address");
		expect(b.jar.has("__Host-keyward_invite")).toBe(false); // a final refusal ends the held link
		const pending = await h.request(`/v1/accounts/${owner.accountId}/invitations`, as(owner.token));
		expect((await pending.json<{ data: unknown[] }>()).data).toHaveLength(1);
	});

	it("keeps nothing that does not open a pending invitation, and a used confirmation link says so", async () => {
		const b = browser();
		// Not a token, and a well-formed token that opens nothing (what a planting site would send).
		for (const token of ["%3Cscript%3E", "aaaaaaaaaaaaaaaaaaaaaaaa"]) {
			const res = await b.get(`/console/invitations/accept?token=${token}`);
			expect(res.status, token).toBe(410);
			expect(await res.text()).toContain("This invitation is no longer valid");
			expect(b.jar.has("__Host-keyward_invite"), token).toBe(false);
		}

		const u = await h.signup();
		const link = linkIn(
			(await h.outbox(u.email)).find((m) => m.subject.includes("confirm"))?.text,
			"/console/verify-email",
		);
		b.jar.set("__Host-keyward_session", u.token);
		await b.get(link);
		expect(location(await b.get("/console/verify-email"))).toBe("/console/security?done=verified");
		await b.get(link);
		const again = await b.get("/console/verify-email");
		expect(again.status).toBe(400);
		expect(await again.text()).toContain("This link has expired or was already used.");
	});

	it("a held invitation that is cancelled meanwhile is let go, and 'Not now' lets it go too", async () => {
		const owner = await h.signupVerified();
		const invitee = uniqueEmail();
		const created = await h.request(
			`/v1/accounts/${owner.accountId}/invitations`,
			as(owner.token, "POST", { email: invitee, role: "readonly" }),
		);
		const { invitation } = await created.json<{ invitation: { id: string } }>();
		const link = linkIn((await h.outbox(invitee))[0]?.text, "/console/invitations/accept");
		const b = browser();
		await b.get(link);
		expect(b.jar.has("__Host-keyward_invite")).toBe(true);
		const declined = await b.post("/console/invitations/accept/decline");
		expect(location(declined)).toBe("/console");
		expect(b.jar.has("__Host-keyward_invite")).toBe(false);

		await b.get(link);
		await h.request(`/v1/accounts/${owner.accountId}/invitations/${invitation.id}`, as(owner.token, "DELETE"));
		const gone = await b.get("/console/invitations/accept");
		expect(gone.status).toBe(410);
		expect(b.jar.has("__Host-keyward_invite")).toBe(false);
	});

	it("the API previews a pending invitation to its code's holder, and nothing else", async () => {
		const owner = await h.signupVerified();
		const invitee = uniqueEmail();
		await h.request(
			`/v1/accounts/${owner.accountId}/invitations`,
			as(owner.token, "POST", { email: invitee, role: "member" }),
		);
		const token = linkIn((await h.outbox(invitee))[0]?.text, "/console/invitations/accept").split("token=")[1];
		const res = await h.post("/v1/invitations/preview", { token });
		expect(res.status).toBe(200);
		expect(await res.json()).toEqual({
			invitation: {
				accountId: owner.accountId,
				accountName: expect.any(String),
				role: "member",
				email: invitee,
				expiresAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
			},
		});
		const wrong = await h.post("/v1/invitations/preview", { token: "a".repeat(52) });
		expect(wrong.status).toBe(400);
		// Previewing changes nothing: the invitation is still pending and still accepts.
		const pending = await h.request(`/v1/accounts/${owner.accountId}/invitations`, as(owner.token));
		expect((await pending.json<{ data: unknown[] }>()).data).toHaveLength(1);
	});
});

describe("a fresh proof asked by any console form finishes that form", () => {
	it("widening a key on its page from a stale session: prompt, password, then the change is saved", async () => {
		const u = await h.signupVerified();
		const created = await h.request(
			`/v1/accounts/${u.accountId}/keys`,
			as(u.token, "POST", { name: "ops", environment: "staging", scopes: ["data:read"] }),
		);
		const { key } = await created.json<{ key: { id: string } }>();
		h.clock.advance(11 * 60_000);
		const b = browser();
		b.jar.set("__Host-keyward_session", u.token);
		const path = `/console/a/${u.accountId}/keys/${key.id}`;
		const form = {
			name: "ops",
			scopes: "data:read, keys:read",
			ipAllowlist: "",
			rateLimit: "100",
			windowSeconds: "60",
		};
		const prompt = await b.post(path, form);
		const html = await prompt.text();
		expect(html).toContain("Confirm it is you");
		const hidden = Object.fromEntries(
			[...html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)].map((m) => [m[1], m[2]]),
		);
		expect(hidden.__replay).toBe(path);
		const done = await b.post("/console/reauthenticate", { ...hidden, password: PASSWORD });
		expect(location(done)).toBe(`${path}?done=saved`);
		const after = await h.request(
			`/v1/accounts/${u.accountId}/keys/${key.id}`,
			as(b.jar.get("__Host-keyward_session") ?? ""),
		);
		expect((await after.json<{ key: { scopes: string[] } }>()).key.scopes).toEqual(["data:read", "keys:read"]);
	});
	it("erasing from a stale session: prompt, password, erased, and the browser keeps no session cookie", async () => {
		const u = await h.signupVerified();
		h.clock.advance(11 * 60_000);
		const b = browser();
		b.jar.set("__Host-keyward_session", u.token);
		const prompt = await b.post("/console/security/erase", { confirm: "on" });
		const html = await prompt.text();
		expect(html).toContain("Confirm it is you");
		const hidden = Object.fromEntries(
			[...html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)].map((m) => [m[1], m[2]]),
		);
		expect(hidden.__replay).toBe("/console/security/erase");
		const done = await b.post("/console/reauthenticate", { ...hidden, password: PASSWORD });
		expect(location(done)).toBe("/console/sign-in?erased=1");
		expect(b.jar.has("__Host-keyward_session")).toBe(false);
		expect((await h.request("/v1/me", as(u.token))).status).toBe(401);
	});
});
