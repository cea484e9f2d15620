import { describe, expect, it } from "vitest";
import { ManualClock } from "../../src/platform/clock";
import { testApp } from "../support/app";
import { observedQueue, storedInAccountObject } from "../support/audit";
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
	it("the key's account object stores the request's event with the key and the verdict; the Worker sends none", async () => {
		const s = await seedAccount(clock);
		const key = await seedKey(s.accountId, s.users.owner.id, ["data:read"], clock.now());
		const audit = observedQueue();
		const verify = (body: unknown) =>
			t.request("/v1/keys/verify", jsonRequest("POST", body, { "CF-Connecting-IP": "203.0.113.5" }), {
				AUDIT_QUEUE: audit.queue,
			});

		const answers = [
			await verify({ key: key.secret, requiredScopes: ["data:read"] }),
			await verify({ key: key.secret, requiredScopes: ["data:write"] }),
		];
		// A different last character, whatever the real one is: a key that fails its checksum.
		await verify({ key: `${key.secret.slice(0, -1)}${key.secret.endsWith("x") ? "y" : "x"}` });

		const stored = await storedInAccountObject(s.accountId);
		expect(stored.map((e) => [e.action, e.accountId, e.outcome, e.metadata.keyId, e.metadata.verdict])).toEqual([
			["http.request", s.accountId, "success", key.id, "VALID"],
			["http.request", s.accountId, "success", key.id, "INSUFFICIENT_SCOPE"],
		]);
		expect(stored.map((e) => e.requestId)).toEqual(answers.map((r) => r.headers.get("x-request-id")));
		expect(stored[0]).toMatchObject({
			actor: { type: "user", id: null, ip: "203.0.113.5" },
			metadata: { method: "POST", route: "/v1/keys/verify", path: "/v1/keys/verify", status: 200 },
		});
		expect(typeof stored[0]?.metadata.decidedAt).toBe("number");
		// From the Worker, only the made-up key's request: it names no account and stays in the system stream.
		const sent = audit.sent.filter((e) => e.action === "http.request");
		expect(sent.map((e) => [e.accountId, e.metadata.keyId, e.metadata.verdict])).toEqual([
			["system", undefined, undefined],
		]);
		expect(JSON.stringify([...stored, ...sent])).not.toContain(key.secret);
	});
});

describe("telling keys apart (issue #21)", () => {
	it("each key shows its last 4 characters in the list and in its audit events; a successor has its own", async () => {
		const s = await seedAccount(clock);
		const audit = observedQueue();
		const vars = { AUDIT_QUEUE: audit.queue };
		const auth = bearer(s.users.owner.token);
		const base = `/v1/accounts/${s.accountId}/keys`;
		const create = async (name: string) =>
			(
				await t.request(
					base,
					jsonRequest("POST", { name, environment: "production", scopes: ["data:read"] }, auth),
					vars,
				)
			).json<{ key: { id: string; start: string; last4: string }; secret: string }>();
		const a = await create("billing");
		const b = await create("search");
		expect(a.key.start).toBe(b.key.start); // the same account part: the start alone cannot tell them apart
		expect(a.key.last4).toBe(a.secret.slice(-4));
		expect(b.key.last4).toBe(b.secret.slice(-4));
		const rotated = await (await t.request(`${base}/${a.key.id}/rotate`, jsonRequest("POST", {}, auth), vars)).json<{
			key: { id: string; last4: string };
			secret: string;
		}>();
		expect(rotated.key.last4).toBe(rotated.secret.slice(-4));
		const listed = await (await t.request(base, { headers: auth })).json<{ data: { id: string; last4: string }[] }>();
		const byId = new Map(listed.data.map((k) => [k.id, k.last4]));
		expect([byId.get(a.key.id), byId.get(b.key.id), byId.get(rotated.key.id)]).toEqual([
			a.key.last4,
			b.key.last4,
			rotated.key.last4,
		]);
		const events = audit.sent.filter((e) => e.action.startsWith("key."));
		expect(events.map((e) => [e.action, e.metadata.last4])).toEqual([
			["key.created", a.key.last4],
			["key.created", b.key.last4],
			["key.rotated", a.key.last4],
		]);
		expect(events[2]?.metadata.successorLast4).toBe(rotated.key.last4);
		// Four characters of the checksum, never the secret.
		expect(JSON.stringify(events)).not.toContain(a.secret.slice(8, -6));
	});
});
