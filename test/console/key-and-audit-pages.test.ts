/**
 * Issue #21: a page per key (usage by code, last use, audit events, settings), rotation and
 * revocation behind a page that names the key, member removal confirmed, specific success
 * messages and empty states; the audit log with security events by default, prefix filters,
 * names instead of ids, the full event per row and an export.
 */
import { env } from "cloudflare:test";
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDatabase } from "../../src/db";
import { memberships } from "../../src/db/schema";
import { SESSION_COOKIE } from "../../src/identity/sessions";
import { systemClock } from "../../src/platform/clock";
import { BASE, testApp } from "../support/app";
import { deliver, syntheticEvent } from "../support/audit";
import { as, createKey, jsonRequest } from "../support/request";
import { seedAccount } from "../support/seed";

const t = testApp();
const db = createDatabase(env.DB);

const visitor = (token: string, form?: Record<string, string>): RequestInit => ({
	method: form ? "POST" : "GET",
	headers: {
		Cookie: `${SESSION_COOKIE}=${token}`,
		Origin: new URL(BASE).origin,
		"Content-Type": "application/x-www-form-urlencoded",
	},
	...(form ? { body: new URLSearchParams(form).toString() } : {}),
});

/** The page's text with tags removed and entities decoded, for matching what a person reads. */
const textOf = async (res: Response) =>
	(await res.text())
		.replace(/<[^>]+>/g, " ")
		.replaceAll("&quot;", '"')
		.replaceAll("&#39;", "'")
		.replaceAll("&amp;", "&")
		.replace(/\s+/g, " ");

const keyStatus = async (token: string, accountId: string, keyId: string) =>
	(await (await t.request(`/v1/accounts/${accountId}/keys/${keyId}`, as(token))).json<{ key: { status: string } }>())
		.key.status;

describe("a page per key", () => {
	it("shows the key's label, its 24-hour usage by code, last use, security events and settings", async () => {
		const s = await seedAccount(systemClock);
		const owner = s.users.owner.token;
		const { key, secret } = await createKey(t, owner, s.accountId, {
			name: "billing-export",
			scopes: ["invoices:read"],
		});
		await t.request("/v1/keys/verify", jsonRequest("POST", { key: secret }));
		await t.request("/v1/keys/verify", jsonRequest("POST", { key: secret }));
		await t.request("/v1/keys/verify", jsonRequest("POST", { key: secret, requiredScopes: ["invoices:write"] }));
		await deliver([
			syntheticEvent(s.accountId, {
				action: "key.updated",
				actor: { type: "user", id: s.users.admin.id, ip: null, userAgent: null },
				target: { type: "key", id: key.id },
			}),
			syntheticEvent(s.accountId, { action: "http.request", target: { type: "key", id: key.id } }),
		]);

		const res = await t.request(`/console/a/${s.accountId}/keys/${key.id}`, visitor(owner));
		expect(res.status).toBe(200);
		const page = await textOf(res);
		expect(page).toContain("Key billing-export");
		expect(page).toContain(`${key.start}…${key.last4}`);
		expect(page).toMatch(/Requests 3 Refused 1/);
		expect(page).toMatch(/VALID 2/);
		expect(page).toMatch(/INSUFFICIENT_SCOPE 1/);
		expect(page).toContain("key.updated");
		expect(page).not.toContain("http.request"); // one row per request is not a security event
		expect(page).toContain("Save settings");
		expect(page).toContain("Rotate…");
		expect(page).toContain("Revoke…");
	});

	it("the list links each key to its page and carries no rotate or revoke forms", async () => {
		const s = await seedAccount(systemClock);
		const html = await (await t.request(`/console/a/${s.accountId}/keys`, visitor(s.users.owner.token))).text();
		expect(html).toContain(`href="/console/a/${s.accountId}/keys/${s.keyIds.owner}"`);
		expect(html).not.toMatch(/action="[^"]*\/(rotate|revoke)"/);
		expect(html).toContain('data-label="Scopes"'); // cells name their column: cards on a narrow screen
	});

	it("revokes only from the page that names the key, and says which key it revoked", async () => {
		const s = await seedAccount(systemClock);
		const owner = s.users.owner.token;
		const { key } = await createKey(t, owner, s.accountId, { name: "ci-deploy" });
		const base = `/console/a/${s.accountId}/keys/${key.id}`;

		const confirm = await textOf(await t.request(`${base}/revoke`, visitor(owner)));
		expect(confirm).toContain("Revoke key ci-deploy?");
		expect(confirm).toContain(`${key.start}…${key.last4}`);
		expect(await keyStatus(owner, s.accountId, key.id)).toBe("active"); // asking changed nothing

		const missingReason = await t.request(`${base}/revoke`, visitor(owner, { reason: "" }));
		expect(missingReason.status).toBe(400);
		expect(await textOf(missingReason)).toContain("Revoke key ci-deploy?");
		expect(await keyStatus(owner, s.accountId, key.id)).toBe("active");

		const done = await t.request(`${base}/revoke`, visitor(owner, { reason: "leaked in a CI log" }));
		expect(done.status).toBe(303);
		expect(done.headers.get("Location")).toBe(`${base}?done=revoked`);
		expect(await keyStatus(owner, s.accountId, key.id)).toBe("revoked");
		const after = await textOf(await t.request(`${base}?done=revoked`, visitor(owner)));
		expect(after).toContain('Key "ci-deploy" is revoked. Verify refuses it from now on.');
		expect(after).not.toContain("Revoke…");
	});

	it("rotates from the confirmation page, with the new secret shown once on the redirected page", async () => {
		const s = await seedAccount(systemClock);
		const owner = s.users.owner.token;
		const { key } = await createKey(t, owner, s.accountId, { name: "nightly-sync" });
		const base = `/console/a/${s.accountId}/keys/${key.id}`;
		const confirm = await textOf(await t.request(`${base}/rotate`, visitor(owner)));
		expect(confirm).toContain("Rotate key nightly-sync?");
		expect(confirm).toContain("0 to 168");

		const tooLong = await t.request(`${base}/rotate`, visitor(owner, { gracePeriodHours: "500" }));
		expect(tooLong.status).toBe(400);
		expect(await textOf(tooLong)).toContain("Rotate key nightly-sync?");

		const rotated = await t.request(`${base}/rotate`, visitor(owner, { gracePeriodHours: "1" }));
		expect(rotated.status).toBe(303);
		expect(rotated.headers.get("Location")).toMatch(/\/new-key-secret\?h=/);
		const list = await (await t.request(`/v1/accounts/${s.accountId}/keys/${key.id}`, as(owner))).json<{
			key: { rotatedTo: string | null };
		}>();
		expect(list.key.rotatedTo).toMatch(/^key_/);
	});

	it("saves settings with a message that names the key, and puts a bad value's message next to its field", async () => {
		const s = await seedAccount(systemClock);
		const owner = s.users.owner.token;
		const { key } = await createKey(t, owner, s.accountId, { name: "reports" });
		const base = `/console/a/${s.accountId}/keys/${key.id}`;
		const form = { name: "reports-eu", scopes: "data:read", ipAllowlist: "", rateLimit: "50", windowSeconds: "60" };

		const saved = await t.request(base, visitor(owner, form));
		expect(saved.status).toBe(303);
		expect(saved.headers.get("Location")).toBe(`${base}?done=saved`);
		expect(await textOf(await t.request(`${base}?done=saved`, visitor(owner)))).toContain(
			'Saved the settings of key "reports-eu".',
		);

		const bad = await t.request(base, visitor(owner, { ...form, windowSeconds: "0" }));
		expect(bad.status).toBe(400);
		const html = await bad.text();
		expect(html).toMatch(/id="windowSeconds"[^>]*aria-invalid="true"/);
		expect(html).toContain('id="windowSeconds-error"');
		const got = await (await t.request(`/v1/accounts/${s.accountId}/keys/${key.id}`, as(owner))).json<{
			key: { rateLimit: { windowSeconds: number } };
		}>();
		expect(got.key.rateLimit.windowSeconds).toBe(60);
	});

	it("a key's named limits, credits and customer are shown, and saving its settings keeps the limits", async () => {
		const s = await seedAccount(systemClock);
		const owner = s.users.owner.token;
		const limits = [
			{ name: "default", limit: 100, windowSeconds: 60 },
			{ name: "burst", limit: 5, windowSeconds: 1 },
		];
		const { key } = await createKey(t, owner, s.accountId, {
			name: "customer",
			rateLimits: limits,
			externalId: "cus_42",
			credits: { remaining: 40, refill: { amount: 40, interval: "monthly" } },
		});
		const base = `/console/a/${s.accountId}/keys/${key.id}`;
		const page = await textOf(await t.request(base, visitor(owner)));
		expect(page).toContain("100 requests per 60 s; burst: 5 requests per 1 s");
		expect(page).toContain("40 left, set to 40 monthly");
		expect(page).toContain("cus_42");
		expect(page).toContain("they are changed through the API and kept as they are here");
		// The form has no limit fields for this key; saving a new name leaves both limits in place.
		const saved = await t.request(
			base,
			visitor(owner, { name: "customer-eu", scopes: "data:read", ipAllowlist: "", namedLimits: "keep" }),
		);
		expect(saved.status).toBe(303);
		const got = await (await t.request(`/v1/accounts/${s.accountId}/keys/${key.id}`, as(owner))).json<{
			key: { name: string; rateLimits: unknown };
		}>();
		expect(got.key).toMatchObject({ name: "customer-eu", rateLimits: limits });
		// Disabled, the page says so.
		await t.request(`/v1/accounts/${s.accountId}/keys/${key.id}`, as(owner, "PATCH", { enabled: false }));
		expect(await textOf(await t.request(base, visitor(owner)))).toContain("verify answers DISABLED");
	});

	it("another account's key, or no key, is a 404 page, not another account's data", async () => {
		const a = await seedAccount(systemClock);
		const b = await seedAccount(systemClock);
		for (const path of [`/keys/${b.keyIds.owner}`, `/keys/${b.keyIds.owner}/revoke`, "/keys/key_nope/rotate"]) {
			const res = await t.request(`/console/a/${a.accountId}${path}`, visitor(a.users.owner.token));
			expect(res.status, path).toBe(404);
		}
	});
});

describe("members: removal confirmed, messages that say what happened", () => {
	it("asks on a page that names the person, then removes and says so", async () => {
		const s = await seedAccount(systemClock);
		const owner = s.users.owner.token;
		const base = `/console/a/${s.accountId}/members`;
		const list = await (await t.request(base, visitor(owner))).text();
		expect(list).not.toMatch(/action="[^"]*\/remove"/); // no one-click removal from the list
		expect(list).toContain(`href="${base}/${s.users.member.id}/remove"`);

		const confirm = await textOf(await t.request(`${base}/${s.users.member.id}/remove`, visitor(owner)));
		expect(confirm).toMatch(/Remove .+\?/);
		expect(confirm).toContain(s.users.member.email);
		const stillThere = await db.query.memberships.findFirst({
			where: and(eq(memberships.accountId, s.accountId), eq(memberships.userId, s.users.member.id)),
		});
		expect(stillThere).toBeDefined();

		const removed = await t.request(`${base}/${s.users.member.id}/remove`, visitor(owner, {}));
		expect(removed.status).toBe(303);
		expect(removed.headers.get("Location")).toBe(`${base}?done=removed`);
		expect(await textOf(await t.request(`${base}?done=removed`, visitor(owner)))).toContain(
			"Member removed. Their access ended",
		);
		const gone = await db.query.memberships.findFirst({
			where: and(eq(memberships.accountId, s.accountId), eq(memberships.userId, s.users.member.id)),
		});
		expect(gone).toBeUndefined();
	});
});

describe("audit log: security events by default, prefixes, names, full events, export", () => {
	async function seededTrail() {
		const s = await seedAccount(systemClock);
		const actor = { type: "user" as const, id: s.users.admin.id, ip: "203.0.113.7", userAgent: null };
		const events = [
			syntheticEvent(s.accountId, { action: "key.created", actor, target: { type: "key", id: s.keyIds.owner } }),
			syntheticEvent(s.accountId, { action: "key.revoked", actor, target: { type: "key", id: s.keyIds.owner } }),
			syntheticEvent(s.accountId, { action: "member.invited", actor, target: null }),
			syntheticEvent(s.accountId, { action: "http.request", actor, target: null }),
			syntheticEvent(s.accountId, { action: "key.verified", actor, target: { type: "key", id: s.keyIds.owner } }),
		];
		await deliver(events);
		return { s, events };
	}
	const actionsOf = async (res: Response) =>
		(await res.json<{ data: { action: string }[] }>()).data.map((e) => e.action);

	it("the API filters by an action prefix (key. or key.*) and can leave out per-request events", async () => {
		const { s } = await seededTrail();
		const base = `/v1/accounts/${s.accountId}/audit-events`;
		const owner = s.users.owner.token;
		for (const prefix of ["key.", "key.*"]) {
			const res = await t.request(`${base}?action=${encodeURIComponent(prefix)}`, as(owner));
			expect(res.status, prefix).toBe(200);
			expect((await actionsOf(res)).sort(), prefix).toEqual(["key.created", "key.revoked", "key.verified"]);
		}
		expect((await actionsOf(await t.request(`${base}?action=key.&requests=exclude`, as(owner)))).sort()).toEqual([
			"key.created",
			"key.revoked",
		]);
		expect((await actionsOf(await t.request(`${base}?requests=exclude`, as(owner)))).sort()).toEqual([
			"key.created",
			"key.revoked",
			"member.invited",
		]);
		expect(await actionsOf(await t.request(base, as(owner)))).toHaveLength(5); // the default keeps every event

		for (const bad of ["nope.", "key", "key.%", "key_.", "requests"]) {
			const query = bad === "requests" ? "requests=maybe" : `action=${encodeURIComponent(bad)}`;
			const res = await t.request(`${base}?${query}`, as(owner));
			expect(res.status, bad).toBe(400);
			const problem = await res.json<{ errors: { path: string; message: string }[] }>();
			expect(
				problem.errors.map((e) => e.path),
				bad,
			).toEqual([bad === "requests" ? "requests" : "action"]);
		}
	});

	it("the page shows security events by default, names actors and targets, and opens each event", async () => {
		const { s } = await seededTrail();
		const page = `/console/a/${s.accountId}/audit`;
		const html = await (await t.request(page, visitor(s.users.owner.token))).text();
		const text = await textOf(new Response(html));
		expect(text).toContain("key.revoked");
		expect(text).toContain("member.invited");
		const rows = await textOf(new Response(html.slice(html.indexOf("<tbody>"), html.indexOf("</tbody>"))));
		expect(rows).toContain("key.revoked");
		expect(rows).not.toMatch(/<code>http\.request|http\.request|key\.verified/);
		expect(text).toContain(s.users.admin.email); // the actor by name and email, not usr_…
		expect(html).toContain(`href="/console/a/${s.accountId}/keys/${s.keyIds.owner}"`); // the target key, linked
		expect(html).toContain("<details>");
		expect(html).toContain("&quot;requestId&quot;");

		const withRequests = await (await t.request(`${page}?requests=include`, visitor(s.users.owner.token))).text();
		expect(withRequests.slice(withRequests.indexOf("<tbody>"))).toContain("<code>http.request</code>");
		const prefixHtml = await (await t.request(`${page}?action=member.`, visitor(s.users.owner.token))).text();
		const prefix = await textOf(new Response(prefixHtml.slice(prefixHtml.indexOf("<tbody>"))));
		expect(prefix).toContain("member.invited");
		expect(prefix).not.toContain("key.revoked");
	});

	it("says what to do when there are no events, and exports the archive as a download", async () => {
		const s = await seedAccount(systemClock);
		const empty = await textOf(await t.request(`/console/a/${s.accountId}/audit`, visitor(s.users.owner.token)));
		expect(empty).toContain("No security events yet.");
		const filtered = await textOf(
			await t.request(`/console/a/${s.accountId}/audit?action=webhook.`, visitor(s.users.owner.token)),
		);
		expect(filtered).toContain("No events match these filters.");

		const exported = await t.request(`/console/a/${s.accountId}/audit/export`, visitor(s.users.owner.token));
		expect(exported.status).toBe(200);
		expect(exported.headers.get("Content-Type")).toBe("application/x-ndjson; charset=utf-8");
		expect(exported.headers.get("Content-Disposition")).toMatch(
			new RegExp(`^attachment; filename="keyward-audit-${s.accountId}-\\d{4}-\\d{2}-\\d{2}\\.ndjson"$`),
		);
		await exported.text();
		// A member holds no audit:read: the API's 403 comes back as a page, not a file.
		const memberCannot = await t.request(`/console/a/${s.accountId}/audit/export`, visitor(s.users.member.token));
		expect(memberCannot.status).toBe(403);
		expect(memberCannot.headers.get("Content-Disposition")).toBeNull();
		expect(await textOf(memberCannot)).toContain("Export failed");
	});

	it("the security page offers a download of everything Keyward holds about the visitor (issue #26)", async () => {
		const s = await seedAccount(systemClock);
		const page = await textOf(await t.request("/console/security", visitor(s.users.member.token)));
		expect(page).toContain("Download your data (JSON)");
		const file = await t.request("/console/security/export", visitor(s.users.member.token));
		expect(file.status).toBe(200);
		expect(file.headers.get("Content-Disposition")).toBe('attachment; filename="keyward-my-data.json"');
		const doc = JSON.parse(await file.text()) as { format: string; user: { email: string } };
		expect(doc).toMatchObject({ format: "keyward.personal-data-export", user: { email: s.users.member.email } });
	});
});

describe("erasure from the security page (issue #26)", () => {
	it("asks for a confirmation, names the accounts an owner must hand over first, then erases and signs the browser out", async () => {
		const s = await seedAccount(systemClock);
		const page = await textOf(await t.request("/console/security", visitor(s.users.member.token)));
		expect(page).toContain("Erase my account");

		const unconfirmed = await t.request("/console/security/erase", visitor(s.users.member.token, {}));
		expect(unconfirmed.status).toBe(400);
		expect(await textOf(unconfirmed)).toContain("Tick the box to confirm");

		const owner = await t.request("/console/security/erase", visitor(s.users.owner.token, { confirm: "on" }));
		expect(owner.status).toBe(409);
		expect(await textOf(owner)).toMatch(/You own “[^”]+” alone and it has \d+ members/);
		expect((await t.request("/v1/me", as(s.users.owner.token))).status).toBe(200);

		const done = await t.request("/console/security/erase", visitor(s.users.member.token, { confirm: "on" }));
		expect(done.status).toBe(303);
		expect(done.headers.get("Location")).toBe("/console/sign-in?erased=1");
		expect(done.headers.get("Set-Cookie")).toMatch(/Max-Age=0/i);
		expect((await t.request("/v1/me", as(s.users.member.token))).status).toBe(401);
		expect(await textOf(await t.request("/console/sign-in?erased=1"))).toContain("Your account has been erased");
	});
});

describe("numeric fields show their range before they are broken, and a broken one says so plainly", () => {
	it("settings: the range under each number, the API's plain message next to a bad one, a specific success", async () => {
		const s = await seedAccount(systemClock);
		const page = `/console/a/${s.accountId}/settings`;
		const html = await (await t.request(page, visitor(s.users.owner.token))).text();
		expect(html).toMatch(/id="sessionIdleMinutes-hint"[^>]*>5 to 1,440</);
		expect(html).toMatch(/id="sessionIdleMinutes"[^>]*aria-describedby="sessionIdleMinutes-hint"/);

		const bad = await t.request(page, visitor(s.users.owner.token, { name: "Seeded", sessionIdleMinutes: "1" }));
		expect(bad.status).toBe(400);
		const text = await textOf(bad);
		expect(text).toContain("Must be 5 or more");
		expect(text).not.toMatch(/Too small|expected number|>=/);

		const saved = await t.request(page, visitor(s.users.owner.token, { name: "Seeded", sessionIdleMinutes: "30" }));
		expect(saved.status).toBe(303);
		expect(await textOf(await t.request(`${page}?done=1`, visitor(s.users.owner.token)))).toContain(
			"Saved the account's settings.",
		);
	});

	it("settings: the archive's retention, empty for keep; a bad value is named, not taken as keep", async () => {
		const s = await seedAccount(systemClock);
		const page = `/console/a/${s.accountId}/settings`;
		const owner = s.users.owner.token;
		const html = await (await t.request(page, visitor(owner))).text();
		expect(html).toMatch(/id="archiveRetentionYears-hint"[^>]*>1 to 100, or empty/);
		expect(html).toMatch(/id="archiveRetentionYears"[^>]*value=""/);
		const stored = async () =>
			(
				await (
					await t.request(`/v1/accounts/${s.accountId}`, { headers: { Authorization: `Bearer ${owner}` } })
				).json<{
					account: { settings: { archiveRetentionYears: number | null } };
				}>()
			).account.settings.archiveRetentionYears;
		expect((await t.request(page, visitor(owner, { name: "Seeded", archiveRetentionYears: "7" }))).status).toBe(303);
		expect(await stored()).toBe(7);
		const bad = await t.request(page, visitor(owner, { name: "Seeded", archiveRetentionYears: "seven" }));
		expect(bad.status).toBe(400);
		expect(await textOf(bad)).toContain("Must be 1 or more");
		expect(await stored()).toBe(7);
		expect((await t.request(page, visitor(owner, { name: "Seeded", archiveRetentionYears: "" }))).status).toBe(303);
		expect(await stored()).toBeNull();
	});
});

describe("the second-factor step", () => {
	it("offers the authenticator first, with recovery and email codes behind 'Use another way'", async () => {
		const html = await (await t.request("/console/sign-in/second-factor")).text();
		const app = html.indexOf("Authenticator app");
		const other = html.indexOf("<details");
		expect(app).toBeGreaterThan(0);
		expect(other).toBeGreaterThan(app);
		expect(html.slice(other)).toMatch(/^<details class="card"><summary>Use another way<\/summary>/);
		expect(html.indexOf("Recovery code")).toBeGreaterThan(other);
		expect(html.indexOf("Email me a code")).toBeGreaterThan(other);

		// A failed recovery code comes back with the other ways open, so the visitor sees the message.
		const failed = await t.request("/console/sign-in/second-factor", {
			method: "POST",
			headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: new URL(BASE).origin },
			body: "method=recovery_code&code=abcd-efgh",
		});
		expect(failed.status).toBeGreaterThanOrEqual(400);
		expect(await failed.text()).toMatch(/<details class="card" open="">/);
	});
});

describe("a success message comes only from the page's own table", () => {
	it("?done= with a prototype's name (constructor, toString) shows no message", async () => {
		const s = await seedAccount(systemClock);
		const owner = s.users.owner.token;
		for (const path of [
			`/console/a/${s.accountId}/members?done=constructor`,
			`/console/a/${s.accountId}/keys/${s.keyIds.owner}?done=toString`,
			"/console/security?done=constructor",
		]) {
			const res = await t.request(path, visitor(owner));
			expect(res.status, path).toBe(200);
			const html = await res.text();
			expect(html, path).not.toContain('class="notice ok"');
			expect(html, path).not.toContain("[object");
		}
	});
});
