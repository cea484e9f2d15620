/**
 * A new key's secret in the console (issue #21): post/redirect/get, so reloading the page that
 * shows it makes no second key and shows nothing; what waits between the POST and the GET is
 * ciphertext the server cannot read, taken once.
 */
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { UserSessions } from "../../src/durable/user-sessions";
import { SESSION_COOKIE } from "../../src/identity/sessions";
import { BASE } from "../support/app";
import { identityHarness } from "../support/identity";
import { verifyCode } from "../support/request";
import { parkKeySecret } from "../support/seed";

const h = identityHarness();

const visitor = (token: string, extra: Record<string, string> = {}) => ({
	Cookie: [`${SESSION_COOKIE}=${token}`, ...Object.entries(extra).map(([k, v]) => `${k}=${v}`)].join("; "),
	Origin: new URL(BASE).origin,
	"Content-Type": "application/x-www-form-urlencoded",
});

const createForm = new URLSearchParams({
	name: "billing",
	environment: "production",
	scopes: "invoices:read",
}).toString();

const secretIn = (page: string) => /id="api-key-secret"[^>]*>\s*(kw_[A-Za-z0-9_]+)\s*</.exec(page)?.[1] ?? null;

describe("console: a new key's secret, once", () => {
	it("two keys made at once (two tabs) each show their own secret", async () => {
		const u = await h.signupVerified();
		const post = (name: string) =>
			h.request(`/console/a/${u.accountId}/keys`, {
				method: "POST",
				headers: visitor(u.token),
				body: new URLSearchParams({ name, environment: "production", scopes: "invoices:read" }).toString(),
				redirect: "manual",
			});
		const [one, two] = await Promise.all([post("first"), post("second")]);
		const jar: Record<string, string> = {};
		for (const res of [one, two]) {
			const [, name = "", value = ""] =
				/(keyward_shown_once_[0-9a-f]+)=([^;]+)/.exec(res?.headers.get("set-cookie") ?? "") ?? [];
			jar[name] = value;
		}
		expect(Object.keys(jar)).toHaveLength(2);
		const secrets = [];
		for (const res of [one, two]) {
			const page = await h.request(res?.headers.get("location") ?? "", { headers: visitor(u.token, jar) });
			secrets.push(secretIn(await page.text()));
		}
		expect(secrets.every((s) => s?.startsWith("kw_live_"))).toBe(true);
		expect(new Set(secrets).size).toBe(2);
	});

	it("the POST redirects; the GET shows the secret once; a reload shows none and makes no second key", async () => {
		const u = await h.signupVerified();
		const posted = await h.request(`/console/a/${u.accountId}/keys`, {
			method: "POST",
			headers: visitor(u.token),
			body: createForm,
			redirect: "manual",
		});
		expect(posted.status).toBe(303);
		const location = posted.headers.get("location") ?? "";
		expect(location).toMatch(new RegExp(`^/console/a/${u.accountId}/new-key-secret\\?h=[0-9a-f]{12}$`));
		const [, name = "", cookie = ""] =
			/(keyward_shown_once_[0-9a-f]+)=([^;]+)/.exec(posted.headers.get("set-cookie") ?? "") ?? [];
		expect(cookie).not.toBe("");
		expect(posted.headers.get("set-cookie")).toMatch(/HttpOnly/i);
		expect(posted.headers.get("set-cookie")).toContain(`Path=/console/a/${u.accountId}/new-key-secret`);
		// Nothing of the secret in the redirect itself.
		expect(await posted.text()).not.toMatch(/kw_live_/);

		// While parked, the visitor's object holds ciphertext only.
		const parked = await runInDurableObject(
			env.USER_SESSIONS.get(env.USER_SESSIONS.idFromName(u.userId)),
			(_: UserSessions, state) => state.storage.sql.exec<{ sealed: string }>("SELECT sealed FROM handoffs").toArray(),
		);
		expect(parked).toHaveLength(1);

		const shown = await h.request(location, { headers: visitor(u.token, { [name]: cookie }) });
		expect(shown.status).toBe(200);
		expect(shown.headers.get("cache-control")).toBe("no-store");
		const secret = secretIn(await shown.text());
		expect(secret).toMatch(/^kw_live_/);
		expect(JSON.stringify(parked)).not.toContain(secret?.slice(8) ?? "");
		expect(await verifyCode(h, secret ?? "")).toBe("VALID");

		// A reload, even one that replays the cookie, shows no secret and creates nothing.
		const again = await h.request(location, { headers: visitor(u.token, { [name]: cookie }) });
		const page = await again.text();
		expect(secretIn(page)).toBeNull();
		expect(page).toContain("Secret already shown");
		const keys = await (
			await h.request(`/v1/accounts/${u.accountId}/keys`, { headers: { Authorization: `Bearer ${u.token}` } })
		).json<{ data: unknown[] }>();
		expect(keys.data).toHaveLength(1);
	});

	it("a parked secret is nobody else's: another member with the handle finds nothing", async () => {
		const u = await h.signupVerified();
		const other = await h.signupVerified();
		const posted = await h.request(`/console/a/${u.accountId}/keys`, {
			method: "POST",
			headers: visitor(u.token),
			body: createForm,
			redirect: "manual",
		});
		const location = posted.headers.get("location") ?? "";
		const [, name = "", cookie = ""] =
			/(keyward_shown_once_[0-9a-f]+)=([^;]+)/.exec(posted.headers.get("set-cookie") ?? "") ?? [];
		const query = location.slice(location.indexOf("?"));
		// The other user, in their own account, with the stolen handle.
		const res = await h.request(`/console/a/${other.accountId}/new-key-secret${query}`, {
			headers: visitor(other.token, { [name]: cookie }),
		});
		expect(secretIn(await res.text())).toBeNull();
		// The owner still gets it.
		const mine = await h.request(location, { headers: visitor(u.token, { [name]: cookie }) });
		expect(secretIn(await mine.text())).toMatch(/^kw_live_/);
	});
});

describe("console: a leaked key's successor, revealed once", () => {
	it("the key page offers the parked secret; the POST shows it once through the same hand-off; a second reveal finds none", async () => {
		const u = await h.signupVerified();
		const created = await h.request(`/v1/accounts/${u.accountId}/keys`, {
			method: "POST",
			headers: { Authorization: `Bearer ${u.token}`, "Content-Type": "application/json" },
			body: JSON.stringify({ name: "deploy", environment: "production", scopes: ["invoices:read"] }),
		});
		const { key, secret: parkedSecret } = await created.json<{ key: { id: string }; secret: string }>();
		// As a leak's rotation leaves it: the secret sealed on the row (here the key's own, to check it comes back).
		await parkKeySecret(key.id, new Date(Date.parse("2026-06-08T12:00:00Z")), parkedSecret);
		const pagePath = `/console/a/${u.accountId}/keys/${key.id}`;
		const page = await (await h.request(pagePath, { headers: visitor(u.token) })).text();
		expect(page).toContain("A new secret is waiting");
		expect(page).not.toContain(parkedSecret);

		const posted = await h.request(`${pagePath}/reveal-secret`, {
			method: "POST",
			headers: visitor(u.token),
			body: "",
			redirect: "manual",
		});
		expect(posted.status).toBe(303);
		const [, name = "", cookie = ""] =
			/(keyward_shown_once_[0-9a-f]+)=([^;]+)/.exec(posted.headers.get("set-cookie") ?? "") ?? [];
		const shown = await h.request(posted.headers.get("location") ?? "", {
			headers: visitor(u.token, { [name]: cookie }),
		});
		expect(secretIn(await shown.text())).toBe(parkedSecret);

		const after = await (await h.request(pagePath, { headers: visitor(u.token) })).text();
		expect(after).not.toContain("A new secret is waiting");
		const again = await h.request(`${pagePath}/reveal-secret`, { method: "POST", headers: visitor(u.token), body: "" });
		const text = await again.text();
		expect(text).toContain("no secret waiting");
		expect(text).not.toContain(parkedSecret);
	});
});
