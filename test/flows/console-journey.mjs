// The console in a real browser: Debian's Chromium driven by playwright-core
// against the real Worker under `wrangler dev` (every binding local). One full
// journey (sign up → TOTP → sign out → sign in with TOTP → production key →
// copy → verify → revoke → audit log → sign out everywhere), an accessibility
// check (axe-core: no serious or critical violations) and a CSP check on every
// page, and the same forms without JavaScript. Exits 1 on the first failure.
//
//   npm run test:console                    (part of npm test)
//   SCREENSHOTS=1 npm run test:console      also refreshes docs/screenshots/
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { generate } from "otplib";
import { chromium } from "playwright-core";
import { startStack } from "../../bench/stack.mjs";
import { startFakeOidcProvider } from "./fake-oidc-provider.mjs";
import { oidcSequence } from "./oidc-sequence.mjs";
import { samlSequence } from "./saml-sequence.mjs";
import { scimOktaSequence } from "./scim-sequence.mjs";

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const SHOTS = process.env.SCREENSHOTS ? "docs/screenshots" : ".wrangler/console-screenshots";
const PORT = Number(process.env.CONSOLE_PORT ?? 8796);
const PASSWORD = "console journey passphrase";
mkdirSync(SHOTS, { recursive: true });

/**
 * A fake breached-password range service (the outside world): it knows the passwords in
 * `breached`, answers in the HIBP range format with padding, and only ever sees 5-digit prefixes.
 */
const breached = new Set();
const rangeServer = createServer((req, res) => {
	const prefix = (req.url ?? "").split("/").pop()?.toUpperCase() ?? "";
	const lines = [...breached]
		.map((p) => createHash("sha1").update(p).digest("hex").toUpperCase())
		.filter((hash) => hash.startsWith(prefix))
		.map((hash) => `${hash.slice(5)}:42`);
	for (let i = 0; i < 10; i++) lines.push(`${"0".repeat(34)}${i}:0`);
	res.end(lines.join("\r\n"));
});
await new Promise((resolve) => rangeServer.listen(0, "127.0.0.1", resolve));
const RANGE = `http://127.0.0.1:${rangeServer.address().port}/range/`;

/** A fake DNS-over-HTTPS resolver (the outside world): the TXT records the journey publishes, in Cloudflare's JSON form. */
const txtRecords = new Map();
const dohServer = createServer((req, res) => {
	const url = new URL(req.url ?? "/", "http://127.0.0.1");
	const name = url.searchParams.get("name") ?? "";
	const found = txtRecords.get(name);
	res.setHeader("Content-Type", "application/dns-json");
	res.end(
		JSON.stringify({
			Status: found ? 0 : 3,
			Answer: (found ?? []).map((data) => ({ name, type: 16, TTL: 60, data: `"${data}"` })),
		}),
	);
});
await new Promise((resolve) => dohServer.listen(0, "127.0.0.1", resolve));
const DOH = `http://127.0.0.1:${dohServer.address().port}/dns-query`;

/** A fake identity provider (the outside world): people whose address starts with "lead-" are in its "Journey Admins" group. */
const idp = await startFakeOidcProvider({
	groupsOf: (address) => (address.startsWith("lead-") ? ["Journey Admins"] : []),
	nameOf: (address) => (address.startsWith("lead-") ? "Lee Lead" : "Sam Provider"),
});

// A proof of identity counts for 3 s here (10 minutes by default), so the journey meets the prompt.
const stack = await startStack({
	port: PORT,
	state: ".wrangler/console-state",
	vars: {
		BREACHED_PASSWORDS_URL: RANGE,
		REAUTH_WINDOW_SECONDS: "3",
		WEBAUTHN_ORIGINS: `http://localhost:${PORT}`,
		DOH_RESOLVER_URL: DOH,
	},
});
// Chromium treats localhost as a secure context, so the __Host- cookies (Secure) work over http here.
const BASE = `http://localhost:${PORT}`;
// A browser that cannot start (Chromium not installed) must not leave the stack serving on PORT.
const browser = await chromium
	.launch({
		executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
		headless: true,
		args: [
			"--no-sandbox",
			"--disable-gpu",
			"--disable-background-networking",
			"--disable-component-update",
			"--disable-sync",
			"--no-first-run",
		],
	})
	.catch(async (error) => {
		await stack.stop();
		rangeServer.close();
		dohServer.close();
		idp.close();
		throw error;
	});
/** The verification code the sign-up emailed (development outbox). */
async function verificationCode(address) {
	const res = await fetch(`${BASE}/v1/dev/outbox?to=${encodeURIComponent(address)}`);
	const mail = (await res.json()).data.find((m) => m.subject.includes("confirm"));
	return /\n\n([a-z2-7]+)\n/.exec(mail?.text ?? "")?.[1] ?? "";
}

/** Verifies the signed-in visitor's address on the security page: until then the account grants nothing. */
async function verifyEmailOn(p, address) {
	await p.goto("/console/security");
	await p.getByLabel("Code from the verification email").fill(await verificationCode(address));
	await p.getByRole("button", { name: "Verify", exact: true }).click();
	await p.waitForURL(/\/console\/security/);
	assert.equal(await p.getByLabel("Code from the verification email").count(), 0, "the address is verified");
}

/** When a change needs a fresh proof, the console asks in place: answer it and let it finish the change. */
async function confirmIfAsked(p, password, name, secret = null) {
	if ((await p.getByRole("heading", { name: "Confirm it is you" }).count()) === 0) return false;
	if (name) await visit(p, name);
	await p.getByLabel("Your password").fill(password);
	if (secret) await p.getByLabel("Code from your authenticator app").fill(await freshTotp(secret));
	await p.getByRole("button", { name: "Confirm and continue" }).click();
	await p.waitForLoadState("load");
	return true;
}

const checked = [];
const violations = [];

/** axe-core on the current page (evaluated through the DevTools protocol, so the page's CSP does not apply to it). */
async function audit(page, name) {
	await page.evaluate(AXE);
	const result = await page.evaluate(async () => {
		const r = await globalThis.axe.run(document, { resultTypes: ["violations"] });
		return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length, help: v.help }));
	});
	const bad = result.filter((v) => v.impact === "serious" || v.impact === "critical");
	checked.push({ page: name, violations: result.length, seriousOrCritical: bad.length });
	if (bad.length) violations.push({ page: name, bad });
}

async function visit(page, name, { shot = true } = {}) {
	await page.waitForLoadState("load");
	await audit(page, name);
	if (shot) await page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });
}

/** The last time step each secret's code was used for: a code is accepted once, and at most one step ahead. */
const lastStep = new Map();
async function freshTotp(secret) {
	for (;;) {
		const now = Math.floor(Date.now() / 30_000);
		const step = Math.max(now, (lastStep.get(secret) ?? -1) + 1);
		if (step <= now + 1) {
			lastStep.set(secret, step);
			return generate({ secret, epoch: step * 30 });
		}
		await new Promise((resolve) => setTimeout(resolve, 30_000 - (Date.now() % 30_000) + 50));
	}
}

let failed = false;
let page;
try {
	const context = await browser.newContext({ baseURL: BASE, viewport: { width: 1280, height: 900 } });
	await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: BASE });
	page = await context.newPage();
	const first = page;
	const cspErrors = [];
	page.on("console", (m) => {
		if (m.type() === "error" && /Content Security Policy/i.test(m.text())) cspErrors.push(m.text());
	});

	// Sign up.
	const email = `journey-${Date.now()}@example.com`;
	await page.goto("/console/sign-up");
	await visit(page, "sign-up");
	await page.getByLabel("Your name").fill("Grace Hopper");
	await page.getByLabel("Email").fill(email);
	await page.getByLabel("Password").fill("short");
	await page.getByRole("button", { name: "Create account" }).click();
	// The API's problem names the field; the console shows it next to that field.
	assert.match(await page.locator("#password-error").innerText(), /12/);
	await page.getByLabel("Password").fill(PASSWORD);
	await page.getByRole("button", { name: "Create account" }).click();
	await page.waitForURL(/\/console\/a\/acc_[a-z0-9]+\/keys$/);
	const accountId = /\/a\/(acc_[a-z0-9]+)\//.exec(page.url())[1];
	await verifyEmailOn(page, email);

	// Enable TOTP: read the secret shown next to the QR code and answer with a code.
	await page.goto("/console/security");
	await visit(page, "security");
	// The session list names the device in words, not the raw User-Agent.
	const sessionsTable = await page.getByRole("table", { name: "Where you are signed in" }).innerText();
	assert.match(sessionsTable, /Chrome on Linux/);
	assert.doesNotMatch(sessionsTable, /Mozilla|AppleWebKit/);
	await page.locator('form[action="/console/security/totp"]').getByLabel("Password").fill(PASSWORD);
	await page.getByRole("button", { name: "Set up an authenticator app" }).click();
	// The enrolment page has loaded once its secret is there (a count alone does not wait for the navigation).
	await page.locator("#totp-secret").waitFor();
	assert.equal(await page.locator(".qr svg").count(), 1, "the QR code is on the page");
	const secret = (await page.locator("#totp-secret").innerText()).trim();
	assert.match(secret, /^[A-Z2-7]{16,}$/);
	await visit(page, "totp-setup");
	// A wrong code keeps the enrolment on screen, same secret, with the API's message at the field.
	await page.getByLabel("6-digit code from the app").fill("000000");
	await page.getByRole("button", { name: "Turn on two-factor" }).click();
	assert.equal((await page.locator("#totp-secret").innerText()).trim(), secret, "the same secret is still shown");
	assert.match(await page.locator("#code-error").innerText(), /does not match/);
	await visit(page, "totp-wrong-code");
	await page.getByLabel("6-digit code from the app").fill(await freshTotp(secret));
	await page.getByRole("button", { name: "Turn on two-factor" }).click();
	const codes = await page.locator("#recovery-codes code").allInnerTexts();
	assert.equal(codes.length, 10, "ten recovery codes are shown once");
	await visit(page, "recovery-codes");

	// Sign out, then in again with the password and a fresh TOTP code (the next step: a code is accepted once).
	await page.getByRole("button", { name: "Sign out" }).click();
	await page.waitForURL(/\/console\/sign-in$/);
	await visit(page, "sign-in");
	await page.getByLabel("Email").fill(email);
	await page.getByLabel("Password").fill(PASSWORD);
	await page.getByRole("button", { name: "Sign in", exact: true }).click();
	await page.waitForURL(/second-factor$/);
	await visit(page, "second-factor");
	await page.getByLabel("6-digit code").fill(await freshTotp(secret));
	await page.getByRole("button", { name: "Verify", exact: true }).click();
	await page.waitForURL(/\/keys$/);

	// Create a production key, copy it, verify it, revoke it.
	await page.getByLabel("Name").fill("billing service");
	await page.getByLabel("Environment").selectOption("production");
	await page.getByLabel("Scopes").fill("invoices:read");
	await page.getByRole("button", { name: "Create key" }).click();
	const shown = (await page.locator("#api-key-secret").innerText()).trim();
	assert.match(shown, /^kw_live_/);
	assert.ok(!page.url().includes(shown), "the secret is not in the URL");
	await page.getByRole("button", { name: "Copy to clipboard" }).click();
	assert.equal(await page.evaluate(() => navigator.clipboard.readText()), shown, "the copy button copied the key");
	await visit(page, "key-created");
	// Post/redirect/get: reloading the page shows no secret and makes no second key.
	assert.match(
		page.url(),
		/\/new-key-secret\?h=[0-9a-f]{12}$/,
		"the secret is shown on the page the form redirected to",
	);
	await page.reload();
	assert.equal(await page.locator("#api-key-secret").count(), 0, "a reload shows no secret");
	await page.getByRole("heading", { name: "Secret already shown" }).waitFor();
	const verify = async () =>
		(
			await (
				await fetch(`${BASE}/v1/keys/verify`, {
					method: "POST",
					headers: { "Content-Type": "application/json" },
					body: JSON.stringify({ key: shown, requiredScopes: ["invoices:read"] }),
				})
			).json()
		).code;
	assert.equal(await verify(), "VALID");
	await page.getByRole("link", { name: /back to the keys/i }).click();
	await page.waitForURL(/\/keys$/);
	await visit(page, "keys");

	// The key's own page: usage, events, settings; rotation and revocation each confirmed by name.
	await page.getByRole("link", { name: "billing service" }).click();
	await page.waitForURL(/\/keys\/key_[a-z0-9]+$/);
	const keyPage = page.url();
	await page.getByRole("heading", { name: "Key billing service" }).waitFor();
	assert.match(await page.locator("body").innerText(), /VALID\s+1/, "the verify shows in the key's usage by code");
	await visit(page, "key-page");
	await page.getByRole("link", { name: "Rotate…" }).click();
	await page.getByRole("heading", { name: "Rotate key billing service?" }).waitFor();
	await visit(page, "key-rotate-confirm");
	await page.getByLabel("Grace period (hours)").fill("1");
	await page.getByRole("button", { name: "Rotate billing service" }).click();
	const successor = (await page.locator("#api-key-secret").innerText()).trim();
	assert.notEqual(successor, shown, "the rotation shows a new secret");
	await page.getByRole("link", { name: /go to the key/i }).click();
	await page.waitForURL(/\/keys\/key_[a-z0-9]+$/);
	assert.notEqual(page.url(), keyPage, "the successor has its own page");
	await page.getByRole("link", { name: "Revoke…" }).click();
	await page.getByRole("heading", { name: "Revoke key billing service?" }).waitFor();
	await visit(page, "key-revoke-confirm");
	await page.getByLabel("Reason").fill("journey done");
	await page.getByRole("button", { name: "Revoke billing service" }).click();
	await page.waitForURL(/done=revoked$/);
	assert.match(await page.locator("body").innerText(), /Key "billing service" is revoked/);
	const verifySuccessor = async () =>
		(
			await (
				await fetch(`${BASE}/v1/keys/verify`, {
					method: "POST",
					headers: { "Content-Type": "application/json" },
					body: JSON.stringify({ key: successor }),
				})
			).json()
		).code;
	assert.equal(await verifySuccessor(), "REVOKED");
	await page.goto(keyPage);
	await page.getByRole("link", { name: "Revoke…" }).click();
	await page.getByLabel("Reason").fill("journey done");
	await page.getByRole("button", { name: "Revoke billing service" }).click();
	await page.waitForURL(/done=revoked$/);
	assert.equal(await verify(), "REVOKED");

	// The revocation in the audit log (events reach the index through the queue, in batches of up to 5 s).
	for (let i = 0; i < 30; i++) {
		await page.goto(`/console/a/${accountId}/audit?action=key.`);
		if ((await page.getByRole("cell", { name: "key.revoked" }).count()) >= 1) break;
		await page.waitForTimeout(1000);
	}
	assert.ok((await page.locator("tbody tr").count()) >= 1, "the key's events are in the audit log");
	assert.match(await page.locator("tbody").innerText(), /key\.revoked/);
	assert.match(await page.locator("tbody").innerText(), /Grace Hopper/, "the actor by name, not id");
	await page.locator("tbody details summary").first().click();
	assert.match(
		await page.locator("tbody details pre").first().innerText(),
		/"requestId"/,
		"a row opens its full event",
	);
	await visit(page, "audit-log");
	for (const [path, name] of [
		["members", "members"],
		["report", "security-report"],
		["settings", "settings"],
		["lockdown", "lockdown"],
	]) {
		await page.goto(`/console/a/${accountId}/${path}`);
		await visit(page, name);
	}

	// An email domain: claimed (after a fresh proof), its record published, checked, verified.
	const journeyDomain = `journey-${Date.now()}.example.com`;
	await page.goto(`/console/a/${accountId}/domains`);
	await visit(page, "domains");
	await page.getByLabel("Domain (as in people's addresses)").fill(journeyDomain);
	await page.getByRole("button", { name: "Claim" }).click();
	await confirmIfAsked(page, PASSWORD, null, secret);
	assert.ok((await page.locator("body").innerText()).includes(`Claimed ${journeyDomain}`), "the claim is confirmed");
	const challenge = (await page.locator("td code").nth(1).innerText()).trim();
	assert.match(challenge, /^keyward-domain-verification=/, "the record to publish is shown");
	await visit(page, "domains-pending");
	await page.getByRole("button", { name: "Check the record now" }).click();
	await confirmIfAsked(page, PASSWORD, null, secret);
	assert.match(await page.locator("body").innerText(), /No TXT record/, "an unpublished record is reported");
	txtRecords.set(`_keyward-challenge.${journeyDomain}`, [challenge]);
	await page.getByRole("button", { name: "Check the record now" }).click();
	await confirmIfAsked(page, PASSWORD, null, secret);
	assert.match(await page.locator("body").innerText(), /is verified/);
	await visit(page, "domains-verified");

	// Single sign-on: connect the provider (the secret is asked again after the proof prompt, which never holds it).
	await page.goto(`/console/a/${accountId}/sso`);
	await visit(page, "sso");
	const connectForm = async () => {
		await page.getByLabel("Issuer URL").fill(idp.issuer);
		await page.getByLabel("Client ID").fill(idp.clientId);
		await page.getByLabel("Client secret").fill(idp.clientSecret);
		await page.getByLabel("Claim to read (optional)").fill("groups");
		await page.getByLabel("Values and roles, one per line").fill("Journey Admins = admin");
		await page.getByRole("button", { name: "Connect" }).click();
		await page.waitForLoadState("load");
	};
	await connectForm();
	for (let i = 0; i < 3 && (await confirmIfAsked(page, PASSWORD, null, secret)); i++) {
		assert.doesNotMatch(await page.content(), new RegExp(idp.clientSecret), "the secret is not on the page");
		assert.match(await page.locator("#clientSecret-error").innerText(), /Enter the client secret again/);
		await page.getByLabel("Client secret").fill(idp.clientSecret);
		await page.getByRole("button", { name: "Connect" }).click();
		await page.waitForLoadState("load");
	}
	assert.match(await page.locator("body").innerText(), /Connected http:\/\/127\.0\.0\.1/);
	assert.match(await page.locator("body").innerText(), /\/v1\/auth\/sso\/callback/, "the redirect URI to register");
	assert.ok(!(await page.content()).includes(idp.clientSecret), "the client secret is never shown");
	await visit(page, "sso-connected");

	// An invitation, from the email's link to a member who switches accounts; then removed, confirmed by name.
	// The invitee's address is in the verified domain: single sign-on applies to them once enforced.
	const invitee = `invitee-${Date.now()}@${journeyDomain}`;
	await page.goto(`/console/a/${accountId}/members`);
	await page.getByLabel("Email").fill(invitee);
	await page.locator("#invite-role").selectOption("admin");
	await page.getByRole("button", { name: "Send invitation" }).click();
	await confirmIfAsked(page, PASSWORD, null, secret);
	assert.match(await page.locator("body").innerText(), /Invitation sent/);
	const invitation = (await (await fetch(`${BASE}/v1/dev/outbox?to=${encodeURIComponent(invitee)}`)).json()).data.find(
		(m) => m.subject.includes("invited"),
	);
	const inviteLink = /(http:\/\/\S+\/console\/invitations\/accept\?token=[a-z2-7]+)/.exec(invitation?.text ?? "")?.[1];
	assert.ok(inviteLink, "the invitation email carries a link");
	const guest = await browser.newContext({ baseURL: BASE, viewport: { width: 1280, height: 900 } });
	const guestPage = await guest.newPage();
	page = guestPage;
	await guestPage.goto(inviteLink);
	await guestPage.waitForURL(/\/console\/invitations\/accept$/); // the token left the URL
	await visit(guestPage, "invitation");
	await guestPage.getByRole("link", { name: "Create an account" }).click();
	await guestPage.getByLabel("Your name").fill("Ada Invitee");
	await guestPage.getByLabel("Email").fill(invitee);
	await guestPage.getByLabel("Password").fill(PASSWORD);
	await guestPage.getByRole("button", { name: "Create account" }).click();
	await guestPage.getByRole("heading", { name: "Confirm your email address" }).waitFor();
	await visit(guestPage, "invitation-confirm-email");
	const confirmation = (
		await (await fetch(`${BASE}/v1/dev/outbox?to=${encodeURIComponent(invitee)}`)).json()
	).data.find((m) => m.subject.includes("confirm"));
	const verifyLink = /(http:\/\/\S+\/console\/verify-email\?token=[a-z2-7]+)/.exec(confirmation?.text ?? "")?.[1];
	assert.ok(verifyLink, "the confirmation email carries a link");
	await guestPage.goto(verifyLink);
	await guestPage.getByRole("heading", { name: "Accept the invitation" }).waitFor();
	await visit(guestPage, "invitation-accept");
	assert.match(await guestPage.locator("body").innerText(), /Grace Hopper's account/, "the page names the account");
	await guestPage.getByRole("button", { name: /^Join .+ as admin$/ }).click();
	await guestPage.waitForURL(new RegExp(`/console/a/${accountId}/keys\\?joined=1$`));
	assert.match(await guestPage.locator("body").innerText(), /You joined .+ as admin\./);
	await guestPage.locator(".switcher summary").click();
	const accounts = guestPage.getByRole("list", { name: "Your accounts" });
	assert.equal(await accounts.getByRole("link").count(), 3, "both accounts, and a way to accept another invitation");
	assert.match(await accounts.innerText(), /admin/);
	assert.match(await accounts.innerText(), /owner/);
	await visit(guestPage, "account-switcher");
	await accounts.locator('a[href^="/console/a/"]:not([aria-current])').click();
	await guestPage.waitForURL(/\/console\/a\/acc_[a-z0-9]+\/keys$/);
	assert.ok(!guestPage.url().includes(accountId), "switched to the other account");
	await guest.close();
	page = first;

	// Enforced: the invitee's password (right, and proved) no longer signs them in; the console
	// sends them to single sign-on, and the provider brings them back signed in.
	await page.goto(`/console/a/${accountId}/sso`);
	await page.getByRole("button", { name: "Enforce single sign-on" }).click();
	await confirmIfAsked(page, PASSWORD, null, secret);
	assert.match(await page.locator("body").innerText(), /Single sign-on is enforced\./);
	await visit(page, "sso-enforced");
	const ssoContext = await browser.newContext({ baseURL: BASE, viewport: { width: 1280, height: 900 } });
	const ssoPage = await ssoContext.newPage();
	page = ssoPage;
	await ssoPage.goto("/console/sign-in");
	await ssoPage.getByLabel("Email").fill(invitee);
	await ssoPage.getByLabel("Password").fill(PASSWORD);
	await ssoPage.getByRole("button", { name: "Sign in", exact: true }).click();
	await ssoPage.getByText("Your organisation signs you in with single sign-on").waitFor();
	assert.equal(await ssoPage.getByLabel("Work email").inputValue(), invitee, "the address is carried over");
	await visit(ssoPage, "sign-in-sso-required");
	await ssoPage.getByRole("button", { name: "Continue with single sign-on" }).click();
	await ssoPage.waitForURL(new RegExp(`/console/a/${accountId}/keys$`));
	assert.ok(idp.signIns.includes(invitee), "the sign-in went through the provider");
	// A first-time person of the domain in the provider's admin group: a member at once, with the mapped role.
	await ssoContext.clearCookies();
	const lead = `lead-${Date.now()}@${journeyDomain}`;
	await ssoPage.goto("/console/sign-in");
	await ssoPage.getByRole("link", { name: "Sign in with single sign-on" }).click();
	await visit(ssoPage, "sign-in-sso");
	await ssoPage.getByLabel("Work email").fill(lead);
	await ssoPage.getByRole("button", { name: "Continue with single sign-on" }).click();
	await ssoPage.waitForURL(new RegExp(`/console/a/${accountId}/keys$`));
	await visit(ssoPage, "sso-signed-in");
	await ssoContext.close();
	page = first;
	await page.goto(`/console/a/${accountId}/members`);
	assert.equal(
		(await page.locator("tr", { hasText: lead }).locator('td[data-label="Role"]').innerText()).trim(),
		"admin",
		"the provider's group gave the mapped role",
	);

	await page.goto(`/console/a/${accountId}/members`);
	await page.getByRole("link", { name: "Remove Ada Invitee…" }).click();
	await page.getByRole("heading", { name: "Remove Ada Invitee?" }).waitFor();
	await visit(page, "member-remove-confirm");
	await page.getByRole("button", { name: "Remove Ada Invitee" }).click();
	await confirmIfAsked(page, PASSWORD, null, secret);
	await page.waitForURL(/done=removed$/);
	assert.match(await page.locator("body").innerText(), /Member removed/);

	// Sign out everywhere else: a second browser session of the same user ends.
	const other = await browser.newContext({ baseURL: BASE });
	const otherPage = await other.newPage();
	page = otherPage; // a failure below is reported from this page
	if (process.env.DEBUG_JOURNEY)
		otherPage.on("response", (r) => console.error("DEBUG", r.request().method(), r.url(), r.status()));
	await otherPage.goto("/console/sign-in");
	await otherPage.getByLabel("Email").fill(email);
	await otherPage.getByLabel("Password").fill(PASSWORD);
	await otherPage.getByRole("button", { name: "Sign in", exact: true }).click();
	await otherPage.waitForURL(/second-factor$/);
	// The authenticator comes first; a recovery code is behind "Use another way".
	assert.equal(await otherPage.getByLabel("Recovery code", { exact: true }).isVisible(), false);
	await otherPage.getByText("Use another way").click();
	await otherPage.getByLabel("Recovery code", { exact: true }).fill(codes[0]);
	await otherPage.getByRole("button", { name: "Use recovery code" }).click();
	await otherPage.waitForURL(/\/keys$/);
	page = first;
	await page.goto("/console/security");
	assert.ok((await page.locator("tbody tr").count()) >= 2, "both sessions are listed");
	// The sign-in is older than the proof window now: the console asks for the password, then finishes.
	await page.waitForTimeout(3500);
	await page.getByRole("button", { name: "Sign out everywhere else" }).click();
	assert.ok(
		await confirmIfAsked(page, PASSWORD, "reauthenticate", secret),
		"a stale session is asked to confirm it is you",
	);
	assert.match(await page.locator("body").innerText(), /Every other session is signed out/);
	await otherPage.goto("/console/security");
	await otherPage.waitForURL(/sign-in$/);
	// Lost authenticator: a recovery code retires it and the new one is set up at once.
	await page.goto("/console/security");
	await page.getByText("Lost your authenticator?").click();
	await page.locator("#replace-password").fill(PASSWORD);
	await page.getByLabel("One of your recovery codes").fill(codes[1]);
	await page.getByRole("button", { name: "Replace my authenticator" }).click();
	await page.waitForLoadState("load");
	const replacement = (await page.locator("#totp-secret").innerText()).trim();
	await visit(page, "replace-authenticator");
	await page.getByLabel("6-digit code from the app").fill(await freshTotp(replacement));
	await page.getByRole("button", { name: "Turn on two-factor" }).click();
	assert.equal(await page.locator("#recovery-codes code").count(), 10, "new recovery codes with the new app");

	// A password later found in a breach: the next sign-in marks it and the console asks to change it.
	breached.add(PASSWORD);
	await page.getByRole("button", { name: "Sign out" }).click();
	await page.waitForURL(/\/console\/sign-in$/);
	await page.getByLabel("Email").fill(email);
	await page.getByLabel("Password").fill(PASSWORD);
	await page.getByRole("button", { name: "Sign in", exact: true }).click();
	await page.waitForURL(/second-factor$/);
	await page.getByLabel("6-digit code").fill(await freshTotp(replacement));
	await page.getByRole("button", { name: "Verify", exact: true }).click();
	await page.waitForLoadState("load");
	await page.waitForTimeout(500); // the check runs after the sign-in's answer
	await page.goto("/console");
	await page.waitForURL(/\/console\/security$/);
	assert.match(await page.locator("body").innerText(), /appears in known data breaches/);
	await visit(page, "breached-password");
	const fresh = "a console journey passphrase nobody has";
	await page.getByLabel("Current password").fill(PASSWORD);
	await page.getByLabel("New password").fill(fresh);
	await page.getByRole("button", { name: "Change password" }).click();
	await page.waitForURL(/done=password/);
	assert.doesNotMatch(await page.locator("body").innerText(), /appears in known data breaches/);
	breached.delete(PASSWORD);

	// Email change: a fresh proof, a code to the new address, a notice to the old one.
	const newEmail = `journey-moved-${Date.now()}@example.com`;
	await page.waitForTimeout(3500);
	await page.getByLabel("New email address").fill(newEmail);
	await page.getByRole("button", { name: "Change email address" }).click();
	await confirmIfAsked(page, fresh, null, replacement);
	assert.match(await page.locator("body").innerText(), /We sent a code to/);
	const moved = await (await fetch(`${BASE}/v1/dev/outbox?to=${encodeURIComponent(newEmail)}`)).json();
	const code = /\n\n([a-z2-7]+)\n/.exec(moved.data[0]?.text ?? "")?.[1] ?? "";
	await page.getByLabel("Code sent to the new address").fill(code);
	await page.getByRole("button", { name: "Confirm the new address" }).click();
	await page.waitForURL(/done=email-changed/);
	assert.match(await page.locator("body").innerText(), new RegExp(newEmail.replace(/[.]/g, "\\.")));
	await visit(page, "email-change");
	const told = await (await fetch(`${BASE}/v1/dev/outbox?to=${encodeURIComponent(email)}`)).json();
	assert.ok(
		told.data.some((m) => m.subject.includes("being changed")),
		"the old address was told",
	);

	// Passkeys, with Chromium's virtual authenticator (DevTools protocol): add one from the security
	// page (after a fresh proof), then sign in with it alone.
	const devtools = await page.context().newCDPSession(page);
	await devtools.send("WebAuthn.enable");
	const { authenticatorId } = await devtools.send("WebAuthn.addVirtualAuthenticator", {
		options: {
			protocol: "ctap2",
			transport: "internal",
			hasResidentKey: true,
			hasUserVerification: true,
			isUserVerified: true,
			automaticPresenceSimulation: true,
		},
	});
	await page.goto("/console/security");
	await page.waitForTimeout(3500);
	await page.getByLabel("Name for a new passkey").fill("Journey laptop");
	await page.getByRole("button", { name: "Add a passkey" }).click();
	await confirmIfAsked(page, fresh, null, replacement);
	await page.getByRole("heading", { name: "Add a passkey" }).waitFor();
	await visit(page, "passkey-add");
	await page.getByRole("button", { name: "Create the passkey" }).click();
	await page.waitForURL(/done=passkey-added/);
	const passkeyRows = await page.getByRole("table", { name: "Your passkeys" }).innerText();
	assert.match(passkeyRows, /Journey laptop/);
	await visit(page, "security-passkeys");
	const { credentials } = await devtools.send("WebAuthn.getCredentials", { authenticatorId });
	assert.equal(credentials.length, 1, "the authenticator holds one passkey");
	assert.ok(credentials[0].isResidentCredential, "a discoverable credential: sign-in needs no email");
	await page.getByRole("button", { name: "Sign out", exact: true }).click();
	// The sign-in page asks for the passkey through the email field's autofill (conditional
	// mediation); the virtual authenticator answers it at once, so the sign-in finishes by itself.
	await page.waitForURL(/\/console\/a\/acc_[a-z0-9]+\/keys$/);
	await page.goto("/console/security");
	const lastUsed = await page.locator('td[data-label="Last used"]').first().innerText();
	assert.notEqual(lastUsed.trim(), "—", "the passkey's last use is shown");
	// A stale session proves itself with the passkey's button on the prompt.
	await page.waitForTimeout(3500);
	await page.getByRole("button", { name: "Sign out everywhere else" }).click();
	await page.getByRole("heading", { name: "Confirm it is you" }).waitFor();
	await visit(page, "reauthenticate-passkey");
	await page.getByRole("button", { name: "Confirm with a passkey" }).click();
	await page.waitForURL(/done=others/);

	assert.equal(cspErrors.length, 0, `CSP violations: ${cspErrors.join("; ")}`);

	// A phone, 390 px wide: every page fits without sideways scrolling (tables become cards).
	const phone = await browser.newContext({
		baseURL: BASE,
		viewport: { width: 390, height: 844 },
		storageState: await context.storageState(),
	});
	const small = await phone.newPage();
	page = small;
	for (const [path, name] of [
		[`/console/a/${accountId}/keys`, "keys"],
		[new URL(keyPage).pathname, "key-page"],
		[`/console/a/${accountId}/audit?requests=include`, "audit-log"],
		[`/console/a/${accountId}/members`, "members"],
		["/console/security", "security"],
		[`/console/a/${accountId}/report`, "security-report"],
		[`/console/a/${accountId}/settings`, "settings"],
		[`/console/a/${accountId}/lockdown`, "lockdown"],
		[`/console/a/${accountId}/domains`, "domains"],
		[`/console/a/${accountId}/sso`, "sso"],
		["/console/sign-in/sso", "sign-in-sso"],
		["/console/sign-in/second-factor", "second-factor"],
		["/console/sign-up", "sign-up"],
	]) {
		await small.goto(path);
		await visit(small, `${name}-390`);
		const overflow = await small.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
		assert.ok(overflow <= 0, `${name} scrolls sideways at 390 px by ${overflow} px`);
	}
	await phone.close();
	page = first;

	// The same forms without JavaScript: sign in and create a key.
	const noJs = await browser.newContext({ baseURL: BASE, javaScriptEnabled: false });
	const plain = await noJs.newPage();
	const plainEmail = `nojs-${Date.now()}@example.com`;
	await plain.goto("/console/sign-up");
	await plain.getByLabel("Your name").fill("No Script");
	await plain.getByLabel("Email").fill(plainEmail);
	await plain.getByLabel("Password").fill(PASSWORD);
	await plain.getByRole("button", { name: "Create account" }).click();
	await plain.waitForURL(/\/keys$/);
	await verifyEmailOn(plain, plainEmail);
	await plain.goto(plain.url().replace(/\/console\/security.*$/, "/console"));
	await plain.waitForURL(/\/keys$/);
	await plain.getByLabel("Name").fill("no-js key");
	await plain.getByLabel("Scopes").fill("reports:read");
	await plain.getByRole("button", { name: "Create key" }).click();
	assert.match((await plain.locator("#api-key-secret").innerText()).trim(), /^kw_test_/);

	// The API reference renders from this origin alone (the Worker serves the viewer, no CDN).
	const reference = await browser.newPage({ baseURL: BASE, viewport: { width: 1280, height: 900 } });
	page = reference;
	const elsewhere = [];
	reference.on("request", (r) => {
		const host = new URL(r.url()).hostname;
		if (host !== "localhost" && !r.url().startsWith("data:")) elsewhere.push(r.url());
	});
	await reference.goto("/docs");
	await reference.getByText("Liveness check (no authentication)").first().waitFor({ timeout: 30_000 });
	assert.match(await reference.locator("body").innerText(), /Keyward API[\s\S]*Authentication/);
	assert.deepEqual(
		elsewhere.filter((url) => !url.startsWith("https://fonts.scalar.com/")),
		[],
		"the reference loads nothing but its fonts from another host",
	);
	await reference.screenshot({ path: `${SHOTS}/api-reference.png` });
	await reference.close();
	page = first;

	// SCIM as Okta drives it, over HTTP against this same stack (issue #27).
	await scimOktaSequence({
		base: BASE,
		publishTxt: (name, value) => txtRecords.set(name, [value]),
		password: PASSWORD,
	});
	console.log("console journey: SCIM sequence (create, deactivate, reactivate, group to admin) passed");

	// SAML sign-in and an attacker's attempts on it, over HTTP against this same stack (issue #27).
	await samlSequence({
		base: BASE,
		publishTxt: (name, value) => txtRecords.set(name, [value]),
		password: PASSWORD,
	});
	console.log(
		"console journey: SAML sequence (sign-in; foreign key, foreign domain, replay, splice, wrap refused) passed",
	);

	// OIDC sign-in attacked over HTTP against this same stack and the same fake provider (issue #27).
	await oidcSequence({
		base: BASE,
		publishTxt: (name, value) => txtRecords.set(name, [value]),
		password: PASSWORD,
		idp,
	});
	console.log("console journey: OIDC attack sequence (login CSRF, replay, code injection, returnTo) refused");

	// A form posted from another site is refused (CSRF), signed in or not.
	const forged = await fetch(`${BASE}/console/sign-in`, {
		method: "POST",
		headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: "https://evil.example" },
		body: `email=${encodeURIComponent(email)}&password=x`,
	});
	assert.equal(forged.status, 403);
} catch (err) {
	failed = true;
	console.error(err);
	// Where it stopped: the page's URL and visible text, to see the failure without rerunning.
	if (page)
		console.error(
			`at ${page.url()}:\n${(
				await page
					.locator("body")
					.innerText()
					.catch(() => "")
			).slice(0, 1500)}`,
		);
} finally {
	await browser.close();
	await stack.stop();
	rangeServer.close();
	dohServer.close();
	idp.close();
}

console.table(checked);
if (violations.length) {
	failed = true;
	console.error(JSON.stringify(violations, null, 2));
}
if (failed) {
	console.error("console journey: FAILED");
	process.exitCode = 1;
} else {
	console.log(
		`console journey: passed; ${checked.length} pages checked with axe-core, none with serious or critical violations`,
	);
}
