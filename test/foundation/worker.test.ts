import {
	createExecutionContext,
	createMessageBatch,
	env,
	getQueueResult,
	runInDurableObject,
	SELF,
} from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";

describe("the Worker entry", () => {
	it("serves HTTP through the real entry with every binding", async () => {
		const res = await SELF.fetch("https://keyward.test/health");
		expect(res.status).toBe(200);
		expect(res.headers.get("x-request-id")).toMatch(/^req_/);
	});

	it("reaches the per-account Durable Object, SQLite-backed", async () => {
		const stub = env.ACCOUNT_DO.get(env.ACCOUNT_DO.idFromName("acc_test"));
		expect(await stub.chainHead("acc_test")).toEqual({ seq: 0, hash: "genesis" });
		const tables = await runInDurableObject(stub, (_instance, state) =>
			state.storage.sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'").toArray(),
		);
		expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(["chain_head", "archived_events"]));
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
