// A log stream end to end (issue #24): requests to an account's routes each
// record one http.request event in the account's trail; the audit queue's
// consumer archives them to R2 and pokes the account's stream; the stream's
// pump reads the archive in order and POSTs each object as NDJSON to a real
// HTTP receiver in this process. Timed from the first request until every
// request's event is at the receiver; then the copy is checked: nothing lost,
// nothing doubled once resends are dropped by Keyward-Batch, and the copy's
// chain verifies (the function `npm run audit:verify -- --file` runs).
//
// Its own `wrangler dev` (the receiver's name is aliased to it through the
// development-only DEV_OUTBOUND_ALIASES; the SSRF guard sees the public name).
import { setTimeout as sleep } from "node:timers/promises";
import { startReceiver } from "../test/support/receiver-server.mjs";
import { json, signUpVerified, startStack } from "./stack.mjs";

const RECEIVER_HOST = "receiver.hooks-test.example";

export async function streamScenario({ port, state, events, drive, deadlineMs }) {
	const receiver = await startReceiver();
	const stack = await startStack({
		port,
		state,
		vars: { DEV_OUTBOUND_ALIASES: `${RECEIVER_HOST}=${receiver.origin}` },
	});
	try {
		const { send, served } = stack;
		const { session, account } = await signUpVerified(send, {
			email: `bench-stream-${Date.now()}@example.com`,
			password: "bench passphrase that is long",
			name: "Bench",
		});
		const auth = { Authorization: `Bearer ${session.token}` };
		const created = await send(
			`/v1/accounts/${account.id}/log-streams`,
			json(
				{ type: "http", url: `https://${RECEIVER_HOST}/r/bench`, auth: "bearer", token: "bench-receiver-token-123" },
				auth,
			),
		);
		if (created.status !== 201) throw new Error(`stream creation failed: ${created.status} ${created.text}`);
		const streamId = created.json().logStream.id;

		const before = served.length;
		const started = performance.now();
		const load = await drive(events, () => send(`/v1/accounts/${account.id}/members`, { headers: auth }));
		const loadIds = new Set(served.slice(before, before + load.requests));
		const loadDone = performance.now();

		let calls = [];
		let seen = new Set();
		while (performance.now() - started < deadlineMs) {
			calls = await (await fetch(`${receiver.origin}/__calls/bench`)).json();
			seen = new Set(
				calls.flatMap((c) =>
					c.body
						.split("\n")
						.filter((l) => l && !l.startsWith('{"kind"'))
						.map((l) => JSON.parse(l).requestId),
				),
			);
			if ([...loadIds].every((id) => seen.has(id))) break;
			await sleep(250);
		}
		const seconds = (performance.now() - started) / 1000;
		const { verifyCopy } = await import("../src/audit/chain.ts");
		const byBatch = new Map(calls.map((c) => [c.headers["keyward-batch"], c.body]));
		const copy = [...byBatch.values()].join("");
		const report = await verifyCopy(copy, account.id);
		// Doubled is one event (by its id) delivered twice, not two events of one request: an
		// owner's member list records http.request and audit.read (issue #26) under one request id.
		const counts = new Map();
		for (const body of byBatch.values())
			for (const line of body.split("\n").filter((l) => l && !l.startsWith('{"kind"'))) {
				const event = JSON.parse(line);
				if (loadIds.has(event.requestId)) counts.set(event.id, (counts.get(event.id) ?? 0) + 1);
			}
		const stream = (await send(`/v1/accounts/${account.id}/log-streams/${streamId}`, { headers: auth })).json()
			.logStream;

		// Catch-up: a second stream added now with startAt "beginning" copies the whole archive; timed
		// until it holds every event of the load. This is the pump's own pace (no producer to wait for):
		// 25 objects a pump, then it pokes itself again through the queue.
		const catchUpStarted = performance.now();
		const second = await send(
			`/v1/accounts/${account.id}/log-streams`,
			json(
				{
					type: "http",
					url: `https://${RECEIVER_HOST}/r/bench-catch-up`,
					auth: "bearer",
					token: "bench-receiver-token-123",
					startAt: "beginning",
				},
				auth,
			),
		);
		if (second.status !== 201) throw new Error(`second stream failed: ${second.status} ${second.text}`);
		// Its creation is itself an audited request: archiving that event pokes the new stream.
		let caughtUp = 0;
		while (performance.now() - catchUpStarted < deadlineMs) {
			const got = await (await fetch(`${receiver.origin}/__calls/bench-catch-up`)).json();
			const ids = new Set(
				got.flatMap((c) =>
					c.body
						.split("\n")
						.filter((l) => l && !l.startsWith('{"kind"'))
						.map((l) => JSON.parse(l).requestId),
				),
			);
			caughtUp = [...loadIds].filter((id) => ids.has(id)).length;
			if (caughtUp === loadIds.size) break;
			await sleep(250);
		}
		const catchUpSeconds = (performance.now() - catchUpStarted) / 1000;
		return {
			scenario: "log-stream (http, end to end)",
			events: loadIds.size,
			seconds: +seconds.toFixed(2),
			eventsPerSecond: Math.round(loadIds.size / seconds),
			producerRps: load.rps,
			drainSeconds: +((performance.now() - loadDone) / 1000).toFixed(2),
			lost: [...loadIds].filter((id) => !seen.has(id)).length,
			loadEvents: counts.size,
			duplicated: [...counts.values()].filter((n) => n > 1).length,
			resentBatches: calls.length - byBatch.size,
			batches: byBatch.size,
			eventsPerBatch: +(report.events / Math.max(1, byBatch.size)).toFixed(1),
			copyVerifies: report.ok,
			streamStatus: stream.status,
			catchUpSeconds: +catchUpSeconds.toFixed(2),
			catchUpEventsPerSecond: Math.round(caughtUp / catchUpSeconds),
			catchUpComplete: caughtUp === loadIds.size,
		};
	} finally {
		await stack.stop();
		await receiver.close();
	}
}
