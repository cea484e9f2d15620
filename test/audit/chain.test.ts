import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { verifyChain } from "../../src/audit/chain";
import { auditChain } from "../../src/durable/address";
import { listArchive, syntheticEvent, uniqueAccount } from "../support/audit";

async function archiveObjects(stream: string, count: number) {
	const stub = auditChain(env, stream);
	for (let i = 0; i < count; i++) {
		const events = [syntheticEvent(stream), syntheticEvent(stream)];
		await stub.appendToArchive(
			stream,
			events.map((e) => ({ id: e.id, line: JSON.stringify(e) })),
		);
	}
	return { stub, head: await stub.chainHead(stream) };
}

describe("archive hash chain", () => {
	it("an untouched archive verifies, and matches the Durable Object's head", async () => {
		const stream = uniqueAccount();
		const { head } = await archiveObjects(stream, 4);
		const report = await verifyChain(stream, await listArchive(stream), head);
		expect(report).toMatchObject({ ok: true, objects: 4, events: 8, head });
	});

	it("reports an edited object at that object", async () => {
		const stream = uniqueAccount();
		const { head } = await archiveObjects(stream, 4);
		const objects = await listArchive(stream);
		const victim = objects[1];
		if (!victim) throw new Error("no object");
		const text = new TextDecoder().decode(victim.bytes).replace('"key.created"', '"key.updated"');
		await env.AUDIT_ARCHIVE.put(victim.key, text);
		const report = await verifyChain(stream, await listArchive(stream), head);
		expect(report.ok).toBe(false);
		expect(report.problem).toMatchObject({ kind: "edited", key: victim.key });
	});

	it("reports an edit to the newest object against the chain head", async () => {
		const stream = uniqueAccount();
		const { head } = await archiveObjects(stream, 3);
		const objects = await listArchive(stream);
		const newest = objects[2];
		if (!newest) throw new Error("no object");
		await env.AUDIT_ARCHIVE.put(
			newest.key,
			`${new TextDecoder().decode(newest.bytes)}`.replace("203.0.113.9", "203.0.113.8"),
		);
		const report = await verifyChain(stream, await listArchive(stream), head);
		expect(report.problem).toMatchObject({ kind: "edited", key: newest.key });
	});

	it("reports a deleted object as a gap where it was", async () => {
		const stream = uniqueAccount();
		const { head } = await archiveObjects(stream, 4);
		const objects = await listArchive(stream);
		await env.AUDIT_ARCHIVE.delete(objects[2]?.key ?? "");
		const report = await verifyChain(stream, await listArchive(stream), head);
		expect(report.problem).toMatchObject({ kind: "gap", key: objects[3]?.key });
	});

	it("reports two swapped objects as reordered", async () => {
		const stream = uniqueAccount();
		const { head } = await archiveObjects(stream, 4);
		const [, a, b] = await listArchive(stream);
		if (!a || !b) throw new Error("no objects");
		await env.AUDIT_ARCHIVE.put(a.key, b.bytes);
		await env.AUDIT_ARCHIVE.put(b.key, a.bytes);
		const report = await verifyChain(stream, await listArchive(stream), head);
		expect(report.problem).toMatchObject({ kind: "reordered", key: a.key });
	});

	it("reports objects forged past the chain head", async () => {
		const stream = uniqueAccount();
		const { head } = await archiveObjects(stream, 2);
		await archiveObjects(stream, 1); // a third object the recorded head does not know of
		const report = await verifyChain(stream, await listArchive(stream), head);
		expect(report.problem).toMatchObject({ kind: "gap" });
	});

	it("never forks under concurrent appends", async () => {
		const stream = uniqueAccount();
		const stub = auditChain(env, stream);
		await Promise.all(
			Array.from({ length: 10 }, () => {
				const e = syntheticEvent(stream);
				return stub.appendToArchive(stream, [{ id: e.id, line: JSON.stringify(e) }]);
			}),
		);
		const head = await stub.chainHead(stream);
		expect(head.seq).toBe(10);
		expect(await verifyChain(stream, await listArchive(stream), head)).toMatchObject({ ok: true, objects: 10 });
		const rows = await runInDurableObject(stub, (_i, state) =>
			state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM archived_events").one(),
		);
		expect(rows.n).toBe(10);
	});
});
