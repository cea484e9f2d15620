/**
 * Verify's audit events are stored by the key's account object in the verify
 * call and sent by its alarm (issue #20): no send from the Worker, nothing
 * lost when the object is reset, nothing sent twice, and a refused send kept
 * for a later alarm.
 */
import { abortAllDurableObjects, env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { inArray } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { eventsOf } from "../../src/audit/packets";
import { createDatabase } from "../../src/db";
import { auditEvents } from "../../src/db/schema";
import type { AccountGuard } from "../../src/durable/account-guard";
import { PendingAuditEvents } from "../../src/durable/event-store";
import { ManualClock } from "../../src/platform/clock";
import { testApp } from "../support/app";
import { observedQueue, storedInAccountObject, syntheticEvent } from "../support/audit";
import { jsonRequest } from "../support/request";
import { seedAccount, seedKey } from "../support/seed";

const clock = new ManualClock("2026-10-01T00:00:00Z");
const t = testApp({ clock });
const guardOf = (accountId: string) => env.ACCOUNT_GUARD.get(env.ACCOUNT_GUARD.idFromName(accountId));

async function accountWithVerifies(n: number) {
	const s = await seedAccount(clock);
	const key = await seedKey(s.accountId, s.users.owner.id, ["data:read"], clock.now());
	const worker = observedQueue();
	// A burst: the object decides each verify alone, and each stores its own event.
	const answers = await Promise.all(
		Array.from({ length: n }, (_, i) =>
			t.request(
				"/v1/keys/verify",
				jsonRequest("POST", { key: key.secret, requiredScopes: i % 2 ? ["data:write"] : [] }),
				{ AUDIT_QUEUE: worker.queue },
			),
		),
	);
	const requestIds = answers.map((r) => r.headers.get("x-request-id"));
	return { s, key, worker, requestIds };
}

/** Runs the object's alarm with its own queue binding swapped for `queue` (a refusing one, say). */
async function alarmSendingTo(guard: AccountGuard, queue: Queue): Promise<void> {
	const own = guard as unknown as { env: Record<string, unknown> };
	const real = own.env;
	own.env = { ...real, AUDIT_QUEUE: queue };
	try {
		await guard.alarm();
	} finally {
		own.env = real;
	}
}

describe("verify's events, stored by the account's object", () => {
	it("a burst of 120 verifies stores 120 events, one per request, and the Worker sends none of them", async () => {
		const { s, key, worker, requestIds } = await accountWithVerifies(120);
		const stored = await storedInAccountObject(s.accountId);
		expect(stored).toHaveLength(120);
		expect(new Set(stored.map((e) => e.requestId))).toEqual(new Set(requestIds));
		expect(new Set(stored.map((e) => e.id)).size).toBe(120);
		expect(stored.every((e) => e.accountId === s.accountId && e.metadata.keyId === key.id)).toBe(true);
		expect(worker.sent.filter((e) => e.action === "http.request")).toEqual([]);
		// Events share rows (storage bills each row written): 120 events in about 5 rows, not 120.
		const rows = await runInDurableObject(
			guardOf(s.accountId),
			(_: AccountGuard, state) =>
				state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM audit_pending").one().n,
		);
		expect(rows).toBeLessThanOrEqual(6);
		// The alarm that sends them is set.
		const alarm = await runInDurableObject(guardOf(s.accountId), (_: AccountGuard, state) => state.storage.getAlarm());
		expect(alarm).not.toBeNull();
	});

	it("500 waiting events are due at once; fewer wait for the delay", async () => {
		const s = await seedAccount(clock);
		const key = await seedKey(s.accountId, s.users.owner.id, [], clock.now());
		const verifyOnce = () => t.request("/v1/keys/verify", jsonRequest("POST", { key: key.secret }));
		const alarmAfterVerify = async (waiting: number) => {
			await runInDurableObject(guardOf(s.accountId), async (guard: AccountGuard, state) => {
				await state.storage.deleteAlarm();
				for (let i = guard.events.count; i < waiting; i++) guard.events.add(syntheticEvent(s.accountId));
			});
			// A fresh object instance reads its alarm from storage rather than from memory.
			await abortAllDurableObjects();
			await verifyOnce();
			// (A stub from before the reset is broken: ask a new one.)
			return runInDurableObject(guardOf(s.accountId), (_: AccountGuard, state) => state.storage.getAlarm());
		};
		expect((await alarmAfterVerify(10)) ?? 0).toBeGreaterThan(Date.now() + 25_000);
		expect((await alarmAfterVerify(499)) ?? Number.POSITIVE_INFINITY).toBeLessThanOrEqual(Date.now());
	});

	it("events that arrive while the alarm's send awaits the queue wait for the delay; a backlog past one send goes at once", async () => {
		const s = await seedAccount(clock);
		// The alarm that follows a send, when `arriving` events come in while the send awaits the queue
		// and `waiting` were stored before it.
		const alarmAfterSend = (waiting: number, arriving: number) =>
			runInDurableObject(guardOf(s.accountId), async (guard: AccountGuard, state) => {
				await state.storage.deleteAlarm();
				for (let i = guard.events.count; i < waiting; i++) guard.events.add(syntheticEvent(s.accountId));
				const real = observedQueue();
				const arrivals = {
					async sendBatch(messages: Iterable<MessageSendRequest<unknown>>) {
						await real.queue.sendBatch(messages);
						for (let i = 0; i < arriving; i++) guard.events.add(syntheticEvent(s.accountId));
						arriving = 0;
					},
				} as unknown as Queue;
				await alarmSendingTo(guard, arrivals);
				return { pending: guard.events.count, sent: real.sent.length, alarm: await state.storage.getAlarm() };
			});
		// A few arrivals under load: the delay (10 min in the tests), not another alarm at once.
		const few = await alarmAfterSend(300, 7);
		expect(few).toMatchObject({ pending: 7, sent: 300 });
		expect(few.alarm ?? 0).toBeGreaterThan(Date.now() + 25_000);
		// As many as EVENTS_SEND_AT arrived meanwhile (the 7 above went first): at once.
		const many = await alarmAfterSend(0, 500);
		expect(many).toMatchObject({ pending: 500, sent: 7 });
		expect(many.alarm ?? Number.POSITIVE_INFINITY).toBeLessThanOrEqual(Date.now());
		// A send stopped at its most (1,000 events) left older events behind: at once, arrivals or not.
		const backlog = await alarmAfterSend(1_200, 0);
		expect(backlog.sent).toBeGreaterThanOrEqual(1_000);
		expect(backlog.sent).toBeLessThan(1_200);
		expect(backlog.pending).toBe(1_200 - backlog.sent);
		expect(backlog.alarm ?? Number.POSITIVE_INFINITY).toBeLessThanOrEqual(Date.now());
	});

	it("are stored before the answer: resetting every object right after loses none", async () => {
		const { s, requestIds } = await accountWithVerifies(30);
		await abortAllDurableObjects();
		const stored = await storedInAccountObject(s.accountId);
		expect(stored.map((e) => e.requestId).sort()).toEqual([...requestIds].sort());
	});

	it("a send packs them many to a message and deletes exactly what the queue accepted; nothing goes twice", async () => {
		const { s } = await accountWithVerifies(150);
		const queue = observedQueue();
		const calls: number[] = [];
		const counting = {
			sendBatch: async (messages: Iterable<MessageSendRequest<unknown>>) => {
				const list = [...messages];
				calls.push(list.length);
				await queue.queue.sendBatch(list);
			},
		} as unknown as Queue;
		const sent = await runInDurableObject(guardOf(s.accountId), (guard: AccountGuard) => guard.events.send(counting));
		expect(sent).toEqual({ sent: 150, more: false });
		expect(queue.sent).toHaveLength(150);
		expect(new Set(queue.sent.map((e) => e.id)).size).toBe(150);
		expect(calls).toHaveLength(1);
		expect(calls[0]).toBeLessThan(10); // 150 events in a handful of messages, not 150
		expect(await storedInAccountObject(s.accountId)).toEqual([]);
		// A second send finds nothing to send.
		expect(
			await runInDurableObject(guardOf(s.accountId), (guard: AccountGuard) => guard.events.send(counting)),
		).toEqual({ sent: 0, more: false });
		expect(queue.sent).toHaveLength(150);
	});

	it("a send refused part-way deletes only rows whose every event went; the rest go on the next send", async () => {
		const s = await seedAccount(clock);
		const events = Array.from({ length: 200 }, () =>
			syntheticEvent(s.accountId, { action: "http.request", metadata: { padding: "x".repeat(3000) } }),
		);
		const accepted: string[] = [];
		let calls = 0;
		const refusingSecond = {
			sendBatch: async (messages: Iterable<MessageSendRequest<unknown>>) => {
				if (++calls === 2) throw new Error("queue unavailable");
				for (const m of messages) accepted.push(...(eventsOf(m.body) ?? []).map((e) => e.id));
			},
		} as unknown as Queue;
		const result = await runInDurableObject(guardOf(s.accountId), async (_: AccountGuard, state) => {
			const store = new PendingAuditEvents(state.storage.sql);
			for (const event of events) store.add(event);
			const first = await store.send(refusingSecond).catch(() => "refused");
			const left = store.count;
			const second = await store.send(refusingSecond);
			return { first, left, second, after: store.count };
		});
		expect(result.first).toBe("refused");
		// The first part (under 240 KB: about 70 of these 3 KB events) went; whole rows of it were deleted.
		const firstPart = accepted.length - result.second.sent;
		expect(firstPart).toBeGreaterThan(0);
		expect(result.left).toBe(200 - Math.floor(firstPart / 25) * 25);
		expect(result.after).toBe(0);
		// Every event went; only the row split across the refused send went twice (the consumer keeps one).
		expect(new Set(accepted)).toEqual(new Set(events.map((e) => e.id)));
		expect(accepted.length - 200).toBe(firstPart % 25);
	});

	it("a refused send keeps every event and sets the alarm to try again later", async () => {
		const { s } = await accountWithVerifies(10);
		const refusing = observedQueue({ fail: true });
		const outcome = await runInDurableObject(guardOf(s.accountId), async (guard: AccountGuard, state) => {
			await alarmSendingTo(guard, refusing.queue);
			return { pending: guard.events.count, alarm: await state.storage.getAlarm() };
		});
		expect(outcome.pending).toBe(10);
		expect(outcome.alarm ?? 0).toBeGreaterThan(Date.now());
		expect((await storedInAccountObject(s.accountId)).length).toBe(10);
	});

	it("after a refused send, a burst of verifies does not pull the next try earlier than its backoff", async () => {
		const s = await seedAccount(clock);
		const key = await seedKey(s.accountId, s.users.owner.id, [], clock.now());
		await t.request("/v1/keys/verify", jsonRequest("POST", { key: key.secret }));
		const refusing = observedQueue({ fail: true });
		const retryAt = await runInDurableObject(guardOf(s.accountId), async (guard: AccountGuard, state) => {
			for (let i = guard.events.count; i < 499; i++) guard.events.add(syntheticEvent(s.accountId));
			await alarmSendingTo(guard, refusing.queue);
			return state.storage.getAlarm();
		});
		expect(retryAt ?? 0).toBeGreaterThan(Date.now() + 1000);
		// The 500th event would be due at once, but the queue just refused: the backoff holds.
		await t.request("/v1/keys/verify", jsonRequest("POST", { key: key.secret }));
		const after = await runInDurableObject(guardOf(s.accountId), (_: AccountGuard, state) => state.storage.getAlarm());
		expect(after).toBe(retryAt);
	});

	it("past its cap the object stores no more, and the Worker records the request itself", async () => {
		const s = await seedAccount(clock);
		const key = await seedKey(s.accountId, s.users.owner.id, [], clock.now());
		await runInDurableObject(guardOf(s.accountId), (guard: AccountGuard) => {
			guard.eventsStoredMax = 3;
		});
		const worker = observedQueue();
		const ids: (string | null)[] = [];
		for (let i = 0; i < 5; i++) {
			const res = await t.request("/v1/keys/verify", jsonRequest("POST", { key: key.secret }), {
				AUDIT_QUEUE: worker.queue,
			});
			ids.push(res.headers.get("x-request-id"));
		}
		const stored = (await storedInAccountObject(s.accountId)).map((e) => e.requestId);
		const sent = worker.sent.filter((e) => e.action === "http.request").map((e) => e.requestId);
		expect(stored).toEqual(ids.slice(0, 3));
		expect(sent).toEqual(ids.slice(3));
		expect(worker.sent.filter((e) => e.action === "http.request").every((e) => e.accountId === s.accountId)).toBe(true);
	});

	it("the alarm sends them through the real queue to the consumer, which indexes each once", async () => {
		const { s } = await accountWithVerifies(12);
		const ids = (await storedInAccountObject(s.accountId)).map((e) => e.id);
		expect(await runDurableObjectAlarm(guardOf(s.accountId))).toBe(true);
		expect(await storedInAccountObject(s.accountId)).toEqual([]);
		const db = createDatabase(env.DB);
		let indexed: string[] = [];
		for (let waited = 0; waited < 20_000 && indexed.length < ids.length; waited += 250) {
			await new Promise((resolve) => setTimeout(resolve, 250));
			indexed = (await db.select({ id: auditEvents.id }).from(auditEvents).where(inArray(auditEvents.id, ids))).map(
				(r) => r.id,
			);
		}
		expect(indexed.sort()).toEqual([...ids].sort());
	});
});
