import {
	createExecutionContext,
	createMessageBatch,
	env,
	getQueueResult,
	runInDurableObject,
	SELF,
} from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { accountGuard, auditChain } from "../../src/durable/address";
import worker from "../../src/index";

describe("the Worker entry", () => {
	it("serves HTTP through the real entry with every binding", async () => {
		const res = await SELF.fetch("https://keyward.test/health");
		expect(res.status).toBe(200);
		expect(res.headers.get("x-request-id")).toMatch(/^req_/);
	});

	it("reaches the Durable Objects, SQLite-backed: an account's and its audit stream's", async () => {
		const tablesOf = (stub: DurableObjectStub) =>
			runInDurableObject(stub, (_instance, state) =>
				state.storage.sql
					.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'")
					.toArray()
					.map((t) => t.name),
			);
		const archive = auditChain(env, "acc_test");
		expect(await archive.chainHead("acc_test")).toEqual({ seq: 0, hash: "genesis" });
		expect(await tablesOf(archive)).toEqual(expect.arrayContaining(["chain_head", "archived_events"]));
		expect(await accountGuard(env, "acc_test").memoryStats()).toMatchObject({ keys: 0, storedKeys: 0 });
		expect(await tablesOf(accountGuard(env, "acc_test"))).toEqual(expect.arrayContaining(["keys", "key_windows"]));
	});

	it("retries (never acks) messages of a queue it has no consumer for, so none are lost", async () => {
		const batch = createMessageBatch("keyward-unknown", [
			{ id: "m1", timestamp: new Date(), attempts: 1, body: { hello: "world" } },
		]);
		const ctx = createExecutionContext();
		await worker.queue(batch, env, ctx);
		const result = await getQueueResult(batch, ctx);
		expect(result.retryBatch.retry).toBe(true);
		expect(result.explicitAcks).toEqual([]);
	});
});
