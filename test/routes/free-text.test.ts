import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDatabase } from "../../src/db";
import { accounts } from "../../src/db/schema";
import { ManualClock } from "../../src/platform/clock";
import { testApp } from "../support/app";
import { expectProblem, jsonRequest } from "../support/request";
import { seedAccount } from "../support/seed";

const clock = new ManualClock("2026-10-01T00:00:00Z");
const t = testApp({ clock });
const db = createDatabase(env.DB);
const INJECTIONS = [
	"lone\ud800surrogate",
	"lrm\u200emark",
	"alm\u061cmark",
	"zero\u200bwidth",
	"bom\ufeffinside",
	"tag\u{e0041}char",

	"Acme\r\nBcc: attacker@example.com",
	"tab\there",
	"bell\u0007",
	"line\u2028sep",
	"rtl\u202eoverride",
	"nul\u0000",
];

describe("free text refuses control characters (one shared schema)", () => {
	it("names the field on every route that takes a name, reason or description", async () => {
		const s = await seedAccount(clock);
		const owner = { Authorization: `Bearer ${s.users.owner.token}`, "CF-Connecting-IP": "192.0.2.1" };
		const base = `/v1/accounts/${s.accountId}`;
		const cases: [string, string, (v: string) => unknown, string][] = [
			["PATCH", base, (v) => ({ name: v }), "name"],
			["POST", "/v1/accounts", (v) => ({ name: v }), "name"],
			["POST", `${base}/keys`, (v) => ({ name: v, environment: "staging", scopes: ["a:b"] }), "name"],
			["PATCH", `${base}/keys/${s.keyIds.owner}`, (v) => ({ name: v }), "name"],
			["POST", `${base}/keys/${s.keyIds.owner}/revoke`, (v) => ({ reason: v }), "reason"],
			["POST", `${base}/lockdown`, (v) => ({ reason: v, revokeSessions: false, revokeKeys: "none" }), "reason"],
			[
				"POST",
				"/v1/auth/signup",
				(v) => ({ email: "x@example.com", password: "a long enough password", name: v }),
				"name",
			],
		];
		for (const [method, path, body, field] of cases) {
			for (const value of INJECTIONS) {
				const problem = await expectProblem(await t.request(path, jsonRequest(method, body(value), owner)), 400);
				expect(
					problem.errors?.map((e) => e.path),
					`${method} ${path} ${JSON.stringify(value)}`,
				).toContain(field);
			}
		}
	});

	it("a name stored before the rule (a lone surrogate) does not freeze the account's settings", async () => {
		const s = await seedAccount(clock);
		await db.update(accounts).set({ name: "a\ud800b" }).where(eq(accounts.id, s.accountId));
		const res = await t.request(
			`/v1/accounts/${s.accountId}`,
			jsonRequest(
				"PATCH",
				{ settings: { rotationGraceHours: 12 } },
				{ Authorization: `Bearer ${s.users.owner.token}` },
			),
		);
		expect(res.status).toBe(200);
	});

	it("an email subject stays one line even for a name stored before the rule", async () => {
		const s = await seedAccount(clock);
		await db.update(accounts).set({ name: "Acme\r\nBcc: attacker@example.com" }).where(eq(accounts.id, s.accountId));
		const email = `invitee-${crypto.randomUUID()}@example.com`;
		const res = await t.request(
			`/v1/accounts/${s.accountId}/invitations`,
			jsonRequest("POST", { email, role: "member" }, { Authorization: `Bearer ${s.users.owner.token}` }),
		);
		expect(res.status).toBe(201);
		const outbox = await (await t.request(`/v1/dev/outbox?to=${encodeURIComponent(email)}`)).json<{
			data: { subject: string }[];
		}>();
		expect(outbox.data[0]?.subject).toContain("Acme Bcc");
		expect(outbox.data[0]?.subject).not.toMatch(/[\r\n]/);
	});
});
