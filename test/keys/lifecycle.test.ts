import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDatabase } from "../../src/db";
import { apiKeys } from "../../src/db/schema";
import { accountGuard } from "../../src/durable/address";
import { recordFromRow } from "../../src/durable/key-store";
import { ManualClock } from "../../src/platform/clock";
import { testApp } from "../support/app";
import { accountObjectsFailing, d1FailingInBatch } from "../support/faults";
import { bearer, expectProblem, jsonRequest, verifyCode } from "../support/request";
import { seedAccount, seedKey } from "../support/seed";

const clock = new ManualClock("2026-10-01T00:00:00Z");
const t = testApp({ clock });
const db = createDatabase(env.DB);
const verify = (secret: string) => verifyCode(t, secret);
const row = async (id: string) => db.query.apiKeys.findFirst({ where: eq(apiKeys.id, id) });

describe("revocation cannot be lost", () => {
	it("a revocation D1 holds but the object never heard of is pushed again by a repeat call", async () => {
		const s = await seedAccount(clock);
		const key = await seedKey(s.accountId, s.users.owner.id, ["data:read"], clock.now());
		expect(await verify(key.secret)).toBe("VALID"); // the object holds the live record now
		// The state the old route could leave: D1 revoked, the push to the object lost.
		await db.update(apiKeys).set({ revokedAt: clock.now(), revokedReason: "lost" }).where(eq(apiKeys.id, key.id));
		expect(await verify(key.secret)).toBe("VALID");
		const res = await t.request(
			`/v1/accounts/${s.accountId}/keys/${key.id}/revoke`,
			jsonRequest("POST", { reason: "again" }, bearer(s.users.owner.token)),
		);
		expect(res.status).toBe(200);
		expect((await res.json<{ key: { revokedReason: string } }>()).key.revokedReason).toBe("lost");
		expect(await verify(key.secret)).toBe("REVOKED");
	});

	it("when the object cannot be told, nothing is written, the answer is 503, and a retry converges", async () => {
		const s = await seedAccount(clock);
		const key = await seedKey(s.accountId, s.users.owner.id, ["data:read"], clock.now());
		const path = `/v1/accounts/${s.accountId}/keys/${key.id}/revoke`;
		const init = () => jsonRequest("POST", { reason: "leaked" }, bearer(s.users.owner.token));
		const failed = await t.request(path, init(), { ACCOUNT_GUARD: accountObjectsFailing(["upsertKeys"]) });
		await expectProblem(failed, 503);
		expect((await row(key.id))?.revokedAt).toBeNull();
		expect((await t.request(path, init())).status).toBe(200);
		expect((await row(key.id))?.revokedAt).not.toBeNull();
		expect(await verify(key.secret)).toBe("REVOKED");
	});

	it("when D1 fails after the object, verify already refuses, and a retry finishes the write", async () => {
		const s = await seedAccount(clock);
		const key = await seedKey(s.accountId, s.users.owner.id, ["data:read"], clock.now());
		expect(await verify(key.secret)).toBe("VALID");
		const path = `/v1/accounts/${s.accountId}/keys/${key.id}/revoke`;
		const init = () => jsonRequest("POST", { reason: "leaked" }, bearer(s.users.owner.token));
		await expectProblem(await t.request(path, init(), { DB: d1FailingInBatch() }), 503);
		expect((await row(key.id))?.revokedAt).toBeNull();
		expect(await verify(key.secret)).toBe("REVOKED");
		expect((await t.request(path, init())).status).toBe(200);
		expect((await row(key.id))?.revokedAt).not.toBeNull();
		expect(await verify(key.secret)).toBe("REVOKED");
	});

	it("a late push of an older record does not bring a revoked key back, nor lengthen an expiry", async () => {
		const s = await seedAccount(clock);
		const key = await seedKey(s.accountId, s.users.owner.id, ["data:read"], clock.now());
		const before = await row(key.id);
		if (!before) throw new Error("seeded key missing");
		const res = await t.request(
			`/v1/accounts/${s.accountId}/keys/${key.id}/revoke`,
			jsonRequest("POST", { reason: "leaked" }, bearer(s.users.owner.token)),
		);
		expect(res.status).toBe(200);
		// An update that read the key before the revocation pushes its (unrevoked) record last.
		await accountGuard(env, s.accountId).upsertKeys([
			{ ...recordFromRow(before), version: before.version + 5, expiresAt: before.expiresAt.getTime() + 1e9 },
		]);
		expect(await verify(key.secret)).toBe("REVOKED");
	});
});
