import { describe, expect, it } from "vitest";
import { denialFor } from "../../sdk/src/request.js";
import { ManualClock } from "../../src/platform/clock";
import { RESERVED_SCOPES } from "../../src/security/scopes";
import { testApp } from "../support/app";
import { jsonRequest } from "../support/request";
import { seedAccount, seedKey } from "../support/seed";

/** What verify tells a stranger: nothing of a refused key's limit, and no trust in a claimed address. */
const clock = new ManualClock("2026-10-15T00:00:00Z");
const t = testApp({ clock });
const RATE_HEADERS = [
	"ratelimit",
	"ratelimit-policy",
	"x-ratelimit-limit",
	"x-ratelimit-remaining",
	"x-ratelimit-reset",
];

const verify = async (body: Record<string, unknown>, headers: Record<string, string> = {}) => {
	const res = await t.request("/v1/keys/verify", jsonRequest("POST", body, headers));
	const json = await res.json<{ code: string }>();
	return { code: json.code, rateHeaders: RATE_HEADERS.filter((h) => res.headers.has(h)) };
};

describe("verify discloses a key's limit only to its holder", () => {
	it("refused verdicts carry no rate-limit headers; VALID and RATE_LIMITED do", async () => {
		const s = await seedAccount(clock);
		const key = await seedKey(s.accountId, s.users.owner.id, ["data:read"], clock.now(), "staging", {
			ipAllowlist: ["192.0.2.0/24"],
			rateLimit: 1,
			windowSeconds: 60,
		});
		const inside = { "CF-Connecting-IP": "192.0.2.8" };
		const foreign = await verify({ key: key.secret }, { "CF-Connecting-IP": "203.0.113.1" });
		expect(foreign).toEqual({ code: "IP_NOT_ALLOWED", rateHeaders: [] });
		expect(await verify({ key: key.secret, requiredScopes: ["data:write"] }, inside)).toEqual({
			code: "INSUFFICIENT_SCOPE",
			rateHeaders: [],
		});
		expect((await verify({ key: key.secret }, inside)).rateHeaders).toEqual(RATE_HEADERS);
		expect(await verify({ key: key.secret }, inside)).toEqual({ code: "RATE_LIMITED", rateHeaders: RATE_HEADERS });
		const revoked = await seedKey(s.accountId, s.users.owner.id, ["data:read"], clock.now());
		await t.request(
			`/v1/accounts/${s.accountId}/keys/${revoked.id}/revoke`,
			jsonRequest("POST", { reason: "x" }, { Authorization: `Bearer ${s.users.owner.token}` }),
		);
		expect(await verify({ key: revoked.secret })).toEqual({ code: "REVOKED", rateHeaders: [] });
	});

	it("the SDK forwards a key's rate-limit headers to end clients only with RATE_LIMITED", () => {
		const sent = { RateLimit: '"key";r=7;t=30', "X-RateLimit-Remaining": "7" };
		for (const code of ["IP_NOT_ALLOWED", "INSUFFICIENT_SCOPE", "EXPIRED", "REVOKED", "NOT_FOUND"] as const) {
			expect(denialFor(code, sent).headers, code).not.toHaveProperty("RateLimit");
			expect(denialFor(code, sent).headers, code).not.toHaveProperty("X-RateLimit-Remaining");
		}
		expect(denialFor("RATE_LIMITED", sent).headers).toMatchObject(sent);
	});
});

describe("the body's ip counts only when the caller is the key's own service", () => {
	it("an anonymous caller is judged by its own address, whatever it claims", async () => {
		const s = await seedAccount(clock);
		const other = await seedAccount(clock);
		const key = await seedKey(s.accountId, s.users.owner.id, ["data:read"], clock.now(), "staging", {
			ipAllowlist: ["192.0.2.0/24"],
		});
		const root = await seedKey(s.accountId, s.users.admin.id, ["keys:verify"], clock.now());
		const rootByMember = await seedKey(s.accountId, s.users.member.id, ["keys:verify"], clock.now());
		const everyReserved = await seedKey(s.accountId, s.users.owner.id, ["*", "keys:read", "keys:write"], clock.now());
		const otherRoot = await seedKey(other.accountId, other.users.admin.id, ["keys:verify"], clock.now());
		const claim = { key: key.secret, ip: "192.0.2.5" };
		const from = (ip: string, bearer?: string) => ({
			"CF-Connecting-IP": ip,
			...(bearer ? { Authorization: `Bearer ${bearer}` } : {}),
		});
		expect((await verify(claim, from("203.0.113.5"))).code).toBe("IP_NOT_ALLOWED");
		expect((await verify({ key: key.secret }, from("192.0.2.7"))).code).toBe("VALID");
		expect((await verify(claim, from("203.0.113.5", root.secret))).code).toBe("VALID");
		// Not the key's own service: a member's root key, a key without keys:verify, another account's root key.
		expect((await verify(claim, from("203.0.113.5", rootByMember.secret))).code).toBe("IP_NOT_ALLOWED");
		expect((await verify(claim, from("203.0.113.5", everyReserved.secret))).code).toBe("IP_NOT_ALLOWED");
		expect((await verify(claim, from("203.0.113.5", otherRoot.secret))).code).toBe("IP_NOT_ALLOWED");
		expect((await verify(claim, from("203.0.113.5", s.users.owner.token))).code).toBe("IP_NOT_ALLOWED");
		expect(RESERVED_SCOPES).toContain("keys:verify");
	});

	it("a member cannot grant keys:verify (the power to satisfy every key's allowlist)", async () => {
		const s = await seedAccount(clock);
		const res = await t.request(
			`/v1/accounts/${s.accountId}/keys`,
			jsonRequest(
				"POST",
				{ name: "root", environment: "staging", scopes: ["keys:verify"] },
				{ Authorization: `Bearer ${s.users.member.token}` },
			),
		);
		expect(res.status).toBe(403);
	});
});
