/**
 * The SDK's client against the real app: the key routes and verify.
 */
import { describe, expect, it } from "vitest";
import { createKeywardClient, KeywardError, KeywardPathError } from "../../sdk/src/index.js";
import { ManualClock } from "../../src/platform/clock";
import { testApp } from "../support/app";
import { seedAccount } from "../support/seed";
import { sdkClient } from "./helpers";

const createKeywardClientSpy = (token: string, sent: string[]) =>
	createKeywardClient({
		baseUrl: "https://keyward.test",
		token,
		fetch: async (request) => {
			sent.push(request.url);
			return new Response(null, { status: 500 });
		},
	});

const clock = new ManualClock("2026-09-01T00:00:00Z");
const t = testApp({ clock, log: () => {} });
const kw = (token?: string) => sdkClient(t.app, token ? { token } : {});

describe("SDK client: API keys and verify", () => {
	it("refuses an empty or dot-segment path parameter before sending, so '..' cannot reach another route", async () => {
		const s = await seedAccount(clock);
		const sent: string[] = [];
		const client = sdkClient(t.app, { token: s.users.member.token });
		const spy = createKeywardClientSpy(s.users.member.token, sent);
		for (const keyId of ["..", ".", ""]) {
			await expect(client.keys.get({ accountId: s.accountId, keyId })).rejects.toBeInstanceOf(KeywardPathError);
			await expect(spy.keys.revoke({ accountId: s.accountId, keyId, body: { reason: "x" } })).rejects.toThrow(
				/path parameter/,
			);
		}
		expect(sent).toEqual([]);
		// An escaped slash stays inside its segment, where the id check refuses it.
		await expect(client.keys.get({ accountId: s.accountId, keyId: "../keys" })).rejects.toMatchObject({ status: 400 });
	});

	it("create, list, get with usage, update, rotate, revoke; verify through both methods", async () => {
		const s = await seedAccount(clock);
		const keys = kw(s.users.member.token).keys;
		const accountId = s.accountId;
		const { key, secret } = await keys.create({
			accountId,
			body: { name: "billing", environment: "staging", scopes: ["invoices:read"] },
		});
		expect(secret).toMatch(/^kw_test_/);

		const verdict = await kw().verify({ key: secret, requiredScopes: ["invoices:read"] });
		expect(verdict).toMatchObject({ valid: true, code: "VALID", keyId: key.id, accountId });
		expect(await kw().keys.verify({ body: { key: secret, requiredScopes: ["invoices:write"] } })).toEqual({
			valid: false,
			code: "INSUFFICIENT_SCOPE",
		});

		const listed = await keys.list({ accountId, query: { createdBy: s.users.member.id, limit: 10 } });
		expect(listed.data.map((k) => k.id).sort()).toEqual([key.id, s.keyIds.member].sort());
		expect(listed.nextCursor).toBeNull();
		const got = await keys.get({ accountId, keyId: key.id });
		expect(got.key.id).toBe(key.id);
		expect(got.usage).toMatchObject({ requests24h: expect.any(Number) });

		const updated = await keys.update({ accountId, keyId: key.id, body: { name: "billing-2" } });
		expect(updated.key.name).toBe("billing-2");
		const rotated = await keys.rotate({ accountId, keyId: key.id, body: { gracePeriodHours: 1 } });
		expect(rotated.previous.id).toBe(key.id);
		expect(rotated.secret).not.toBe(secret);

		const revoked = await keys.revoke({ accountId, keyId: rotated.key.id, body: { reason: "done" } });
		expect(revoked.key.status).toBe("revoked");
		// Revoking again answers the same (API.md §5), which is why the client may retry it.
		expect((await keys.revoke({ accountId, keyId: rotated.key.id, body: { reason: "done" } })).key.status).toBe(
			"revoked",
		);
		expect((await kw().verify({ key: rotated.secret })).code).toBe("REVOKED");
	});

	it("a problem is thrown as a KeywardError carrying the RFC 9457 document", async () => {
		const s = await seedAccount(clock);
		const err = await kw(s.users.readonly.token)
			.keys.create({ accountId: s.accountId, body: { name: "x", environment: "ci", scopes: ["a:b"] } })
			.catch((e: unknown) => e);
		expect(err).toBeInstanceOf(KeywardError);
		const problem = (err as KeywardError).problem;
		expect(problem).toMatchObject({ type: "https://keyward.dev/problems/forbidden", status: 403 });
		expect(problem.requestId).toMatch(/^req_/);
		expect((err as KeywardError).is("forbidden")).toBe(true);

		const invalid = await kw(s.users.owner.token)
			.keys.create({
				accountId: s.accountId,
				body: { name: "", environment: "production", scopes: ["*"] },
			})
			.then(() => null)
			.catch((e: KeywardError) => e);
		if (!invalid) throw new Error("expected a problem");
		expect(invalid.status).toBe(400);
		expect(invalid.problem.errors?.map((e) => e.path)).toEqual(expect.arrayContaining(["name"]));
	});
});
