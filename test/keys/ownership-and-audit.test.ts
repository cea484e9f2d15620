import { describe, expect, it } from "vitest";
import { ManualClock } from "../../src/platform/clock";
import { testApp } from "../support/app";
import { observedQueue } from "../support/audit";
import { bearer, expectProblem, jsonRequest } from "../support/request";
import { seedAccount, seedKey } from "../support/seed";

const clock = new ManualClock("2026-09-15T00:00:00Z");
const t = testApp({ clock });
describe("a member and another member's key", () => {
	it("may read it (metadata) but not update, rotate or revoke it", async () => {
		const s = await seedAccount(clock);
		const other = await seedKey(s.accountId, s.users.admin.id, ["data:read"], clock.now());
		const base = `/v1/accounts/${s.accountId}/keys/${other.id}`;
		const auth = bearer(s.users.member.token);
		expect((await t.request(base, { headers: auth })).status).toBe(200);
		await expectProblem(await t.request(base, jsonRequest("PATCH", { name: "mine now" }, auth)), 403, "forbidden");
		await expectProblem(await t.request(`${base}/rotate`, jsonRequest("POST", {}, auth)), 403, "forbidden");
		await expectProblem(
			await t.request(`${base}/revoke`, jsonRequest("POST", { reason: "x" }, auth)),
			403,
			"forbidden",
		);
		const after = await (await t.request(base, { headers: auth })).json<{ key: { name: string; status: string } }>();
		expect(after.key).toMatchObject({ status: "active" });
		expect(after.key.name).not.toBe("mine now");
	});
});

describe("verify in the audit trail", () => {
	it("records the key and the verdict on the request's event, in the key's account trail", async () => {
		const s = await seedAccount(clock);
		const key = await seedKey(s.accountId, s.users.owner.id, ["data:read"], clock.now());
		const audit = observedQueue();
		const verify = (body: unknown) =>
			t.request("/v1/keys/verify", jsonRequest("POST", body), { AUDIT_QUEUE: audit.queue });

		await verify({ key: key.secret, requiredScopes: ["data:read"] });
		await verify({ key: key.secret, requiredScopes: ["data:write"] });
		await verify({ key: `${key.secret.slice(0, -1)}x` });

		const events = audit.sent.filter((e) => e.action === "http.request");
		expect(events.map((e) => [e.accountId, e.metadata.keyId, e.metadata.verdict])).toEqual([
			[s.accountId, key.id, "VALID"],
			[s.accountId, key.id, "INSUFFICIENT_SCOPE"],
			// A key that does not exist names no account: its request stays in the system stream.
			["system", undefined, undefined],
		]);
		expect(typeof events[0]?.metadata.decidedAt).toBe("number");
		expect(JSON.stringify(events)).not.toContain(key.secret);
	});
});
