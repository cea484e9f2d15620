/**
 * Issue #24, part 2: log streams. The archive is the real local R2 bucket
 * written by the real audit consumer; batches go over real HTTP to the
 * receiver the test configuration runs (Datadog's intake name leads there
 * too), and the copy is checked with the same function `npm run audit:verify
 * -- --file` runs.
 */
import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it, vi } from "vitest";
import { verifyLogStreamBatch, WebhookVerificationError } from "../../sdk/src/webhook";
import { archivePrefix, verifyCopy } from "../../src/audit/chain";
import type { AuditEvent } from "../../src/audit/event";
import { createDatabase } from "../../src/db";
import { logStreams } from "../../src/db/schema";
import { startSession } from "../../src/identity/sessions";
import { ManualClock } from "../../src/platform/clock";
import { newId } from "../../src/platform/ids";
import { handleQueueBatch } from "../../src/queues";
import { LEASE_MS, type PumpDeps, pumpLogStream } from "../../src/streams/pump";
import { testApp } from "../support/app";
import { expectProblem, jsonRequest } from "../support/request";
import { type SeededAccount, seedAccount } from "../support/seed";
import { archiveAndDispatch, auditCapture, capturingQueue, receiverBox } from "../support/webhooks";

const db = createDatabase(env.DB);

const event = (accountId: string, clock: ManualClock, n: number): AuditEvent => ({
	id: newId("evt"),
	time: clock.now().toISOString(),
	accountId,
	action: "key.created",
	outcome: "success",
	actor: { type: "user", id: "usr_streamtestuser00", ip: "203.0.113.7", userAgent: "test" },
	target: { type: "key", id: newId("key") },
	requestId: null,
	metadata: { n },
});

/** Archives `objects` objects of `perObject` events each in the account's chain (the real consumer); returns the pokes it queued. */
async function archiveObjects(accountId: string, clock: ManualClock, objects: number, perObject = 3) {
	const pokes: unknown[] = [];
	for (let o = 0; o < objects; o++) {
		const jobs = await archiveAndDispatch(
			Array.from({ length: perObject }, (_, i) => event(accountId, clock, o * perObject + i)),
			clock,
		);
		pokes.push(...jobs.filter((j) => "logStreamId" in (j as object)));
		clock.advance(1000);
	}
	return pokes;
}

/** The account's archive, object by object, straight from R2. */
async function archiveTexts(accountId: string): Promise<Map<number, string>> {
	const listing = await env.AUDIT_ARCHIVE.list({ prefix: archivePrefix(accountId) });
	const texts = new Map<number, string>();
	for (const o of listing.objects) {
		const text = await (await env.AUDIT_ARCHIVE.get(o.key))?.text();
		texts.set(Number(/(\d{12})\.ndjson$/.exec(o.key)?.[1]), text ?? "");
	}
	return texts;
}

async function setUp(clock: ManualClock) {
	const t = testApp({ clock });
	const s = await seedAccount(clock);
	const audit = auditCapture();
	const auth = { Authorization: `Bearer ${s.users.owner.token}` };
	const create = async (body: Record<string, unknown>, token = s.users.owner.token) =>
		t.request(
			`/v1/accounts/${s.accountId}/log-streams`,
			jsonRequest("POST", body, { Authorization: `Bearer ${token}` }),
			{ AUDIT_QUEUE: audit.queue },
		);
	return { t, s, audit, auth, create };
}

const pumpDeps = (clock: ManualClock, extra: Partial<PumpDeps> = {}): PumpDeps => ({ env, db, clock, ...extra });

const stored = async (id: string) => (await db.select().from(logStreams).where(eq(logStreams.id, id)))[0];

describe("log streams: adding, reading, refusing", () => {
	it("adds each destination, returns a secret only for an HMAC-signed stream, and never stores or echoes a credential", async () => {
		const clock = new ManualClock(new Date("2026-12-01T10:00:00Z"));
		const { t, s, create, auth, audit } = await setUp(clock);
		// Room for one stream of each kind: the seeded account's own paused stream goes.
		await db.delete(logStreams).where(eq(logStreams.id, s.logStreamId));
		const credentials = {
			bearer: "receiver-bearer-token-0123456789",
			splunk: "11111111-2222-3333-4444-555555555555",
			datadog: "0123456789abcdef0123456789abcdef",
			s3: "s3-secret-access-key-abcdefghijklmnop",
		};
		const bodies = [
			{ type: "http", url: "https://logs.example.com/in", auth: "bearer", token: credentials.bearer },
			{ type: "http", url: "https://logs.example.com/in", auth: "hmac" },
			{
				type: "splunk-hec",
				url: "https://splunk.example.com:8088/services/collector/event",
				token: credentials.splunk,
			},
			{ type: "datadog", site: "datadoghq.eu", apiKey: credentials.datadog },
			{
				type: "s3",
				endpoint: "https://s3.eu-west-1.amazonaws.com",
				bucket: "acme-audit",
				region: "eu-west-1",
				prefix: "keyward/",
				accessKeyId: "AKIAEXAMPLEKEY01",
				secretAccessKey: credentials.s3,
			},
		];
		const secrets: (string | null)[] = [];
		for (const body of bodies) {
			const res = await create(body);
			expect(res.status, JSON.stringify(body)).toBe(201);
			const text = await res.text();
			for (const credential of Object.values(credentials)) expect(text).not.toContain(credential);
			secrets.push(JSON.parse(text).secret);
		}
		expect(secrets.map((x) => x !== null)).toEqual([false, true, false, false, false]);
		expect(secrets[1]).toMatch(/^whsec_/);

		const list = await t.request(`/v1/accounts/${s.accountId}/log-streams`, { headers: auth });
		const listed = await list.text();
		for (const credential of [...Object.values(credentials), secrets[1] ?? "x"])
			expect(listed).not.toContain(credential);
		const { data } = JSON.parse(listed) as { data: { id: string; type: string; url: string; status: string }[] };
		expect(data.map((d) => d.type)).toEqual(["http", "http", "splunk-hec", "datadog", "s3"]);
		expect(data[3]?.url).toBe("https://http-intake.logs.datadoghq.eu/api/v2/logs");
		expect(data.every((d) => d.status === "healthy")).toBe(true);

		const rows = await db.select().from(logStreams).where(eq(logStreams.accountId, s.accountId));
		const dump = JSON.stringify(rows);
		for (const credential of [...Object.values(credentials), secrets[1] ?? "x"]) expect(dump).not.toContain(credential);
		// The audit trail names the host only, never the path or a credential.
		const created = audit.events().filter((e) => e.action === "log_stream.created");
		expect(created).toHaveLength(5);
		expect(JSON.stringify(created)).not.toContain("/in");
		for (const credential of Object.values(credentials)) expect(JSON.stringify(created)).not.toContain(credential);
	});

	it("names every bad field, and refuses private, loopback and metadata destinations for every type", async () => {
		const clock = new ManualClock(new Date("2026-12-01T10:00:00Z"));
		const { create } = await setUp(clock);
		const cases: [Record<string, unknown>, string[]][] = [
			[{ type: "http", url: "https://127.0.0.1/x", auth: "bearer", token: "short" }, ["url", "token"]],
			[{ type: "http", url: "http://logs.example.com/x", auth: "hmac", extra: 1 }, ["url", "extra"]],
			[{ type: "splunk-hec", url: "https://169.254.169.254/services/collector", token: "x y" }, ["url", "token"]],
			[{ type: "datadog", site: "evil.example.com", apiKey: "0123456789abcdef" }, ["site"]],
			[
				{
					type: "s3",
					endpoint: "https://10.0.0.5",
					bucket: "UPPER",
					prefix: "../",
					accessKeyId: "a b",
					secretAccessKey: "s3-secret-access-key-abcdefghijklmnop",
				},
				["endpoint", "bucket", "prefix", "accessKeyId"],
			],
			[{ type: "ftp", url: "https://logs.example.com" }, ["type"]],
			[{ type: "http", url: "https://localhost/x", auth: "hmac", startAt: "yesterday" }, ["url", "startAt"]],
		];
		for (const [body, fields] of cases) {
			const problem = await expectProblem(await create(body), 400);
			const named = new Set((problem.errors ?? []).map((e) => e.path));
			for (const field of fields) expect(named, `${JSON.stringify(body)} names ${field}`).toContain(field);
		}
		expect(await db.select().from(logStreams)).not.toContainEqual(expect.objectContaining({ url: "https://10.0.0.5" }));
	});

	it("makes at most five streams (the seeded one and four more) under a burst of thirty parallel creations", async () => {
		const clock = new ManualClock(new Date("2026-12-01T10:00:00Z"));
		const { create, s } = await setUp(clock);
		const results = await Promise.all(
			Array.from({ length: 30 }, () => create({ type: "http", url: "https://logs.example.com/in", auth: "hmac" })),
		);
		expect(results.filter((r) => r.status === 201)).toHaveLength(4);
		expect(results.filter((r) => r.status === 409)).toHaveLength(26);
		expect(await db.select().from(logStreams).where(eq(logStreams.accountId, s.accountId))).toHaveLength(5);
	});
});

describe("log streams: delivery", () => {
	async function httpStream(clock: ManualClock, startAt?: "beginning") {
		const setup = await setUp(clock);
		const box = receiverBox();
		const res = await setup.create({ type: "http", url: box.url, auth: "hmac", ...(startAt ? { startAt } : {}) });
		expect(res.status).toBe(201);
		const { logStream, secret } = await res.json<{ logStream: { id: string }; secret: string }>();
		return { ...setup, box, streamId: logStream.id, secret };
	}

	it("starts at the archive's end, sends each later object in order, signed, and the copy verifies against the archive", async () => {
		const clock = new ManualClock(new Date("2026-12-01T10:00:00Z"));
		const { s } = await setUp(clock);
		// Two objects before the stream exists: not sent to a stream that starts now.
		await archiveObjects(s.accountId, clock, 2);
		const box = receiverBox();
		const t = testApp({ clock });
		const audit = auditCapture();
		const res = await t.request(
			`/v1/accounts/${s.accountId}/log-streams`,
			jsonRequest(
				"POST",
				{ type: "http", url: box.url, auth: "hmac" },
				{ Authorization: `Bearer ${s.users.owner.token}` },
			),
			{ AUDIT_QUEUE: audit.queue },
		);
		const { logStream, secret } = await res.json<{ logStream: { id: string }; secret: string }>();
		const pokes = await archiveObjects(s.accountId, clock, 3);
		// The audit consumer poked the stream once per archived batch.
		expect(pokes).toEqual(Array.from({ length: 3 }, () => ({ logStreamId: logStream.id })));

		const result = await pumpLogStream(pumpDeps(clock), logStream.id);
		expect(result).toEqual({ status: "delivered", objects: 3, events: 9, more: false });
		const calls = await box.calls();
		expect(calls).toHaveLength(3);
		const archive = await archiveTexts(s.accountId);
		expect(calls.map((c) => c.body)).toEqual([3, 4, 5].map((seq) => archive.get(seq)));
		for (const [i, call] of calls.entries()) {
			expect(call.headers["content-type"]).toBe("application/x-ndjson");
			expect(call.headers["keyward-batch"]).toBe(`${logStream.id}:${i + 3}`);
			expect(call.headers["keyward-chain"]).toMatch(new RegExp(`^seq=${i + 3};prev=[0-9a-f]{64};hash=[0-9a-f]{64}$`));
			const lines = await verifyLogStreamBatch(secret, call.headers, call.body, { toleranceSeconds: 10 ** 9 });
			expect(lines).toHaveLength(4);
			await expect(
				verifyLogStreamBatch(secret, call.headers, call.body.replace('"n":', '"n":1'), { toleranceSeconds: 10 ** 9 }),
			).rejects.toThrow(WebhookVerificationError);
		}
		const report = await verifyCopy(calls.map((c) => c.body).join(""), s.accountId);
		expect(report).toMatchObject({ ok: true, objects: 3, events: 9, duplicates: 0, first: { seq: 3 } });
		// The copy's first link is the archive's object 2: the customer can tie it to what they held.
		expect(report.first?.prev).toMatch(/^[0-9a-f]{64}$/);
		const row = await stored(logStream.id);
		expect(row).toMatchObject({ cursorSeq: 5, deliveredObjects: 3, deliveredEvents: 9, failures: 0, leaseToken: null });
		expect(await pumpLogStream(pumpDeps(clock), logStream.id)).toEqual({ status: "idle" });
	});

	it("with startAt beginning, copies the whole chain from its genesis", async () => {
		const clock = new ManualClock(new Date("2026-12-01T10:00:00Z"));
		const { s, box, streamId } = await httpStream(clock, "beginning");
		await archiveObjects(s.accountId, clock, 2);
		await pumpLogStream(pumpDeps(clock), streamId);
		const report = await verifyCopy((await box.calls()).map((c) => c.body).join(""), s.accountId);
		expect(report).toMatchObject({ ok: true, objects: 2, first: { seq: 1, prev: "genesis" } });
	});

	it("backs off after a failure, waits it out, and resumes where it stopped", async () => {
		const clock = new ManualClock(new Date("2026-12-01T10:00:00Z"));
		const { s, box, streamId, t, auth } = await httpStream(clock);
		await archiveObjects(s.accountId, clock, 2);
		await box.answer(200, 503);
		const failed = await pumpLogStream(pumpDeps(clock), streamId);
		expect(failed).toMatchObject({
			status: "failed",
			objects: 1,
			error: "the destination answered 503",
			retryInSeconds: 30,
		});
		const view = await (
			await t.request(`/v1/accounts/${s.accountId}/log-streams/${streamId}`, { headers: auth })
		).json<{
			logStream: { status: string; failures: number; lastError: string; cursor: { seq: number } };
		}>();
		expect(view.logStream).toMatchObject({ status: "failing", failures: 1, lastError: "the destination answered 503" });
		expect(view.logStream.cursor.seq).toBe(1);
		// The security report names it.
		const report = await (await t.request(`/v1/accounts/${s.accountId}/security-report`, { headers: auth })).json<{
			checks: { id: string; status: string; items: string[] }[];
			logStreams: { id: string; status: string; lastError: string }[];
		}>();
		// The seeded paused stream is named too: a stopped stream delivers nothing either.
		expect(report.checks.find((c) => c.id === "log_streams_failing")).toMatchObject({
			status: "warn",
			items: [s.logStreamId, streamId],
		});
		expect(report.logStreams).toEqual([
			expect.objectContaining({ id: s.logStreamId, status: "disabled", lastError: "paused by a person" }),
			expect.objectContaining({ id: streamId, status: "failing", lastError: "the destination answered 503" }),
		]);

		expect(await pumpLogStream(pumpDeps(clock), streamId)).toEqual({ status: "waiting", retryInSeconds: 30 });
		await box.answer(500);
		clock.advance(31_000);
		expect(await pumpLogStream(pumpDeps(clock), streamId)).toMatchObject({ status: "failed", retryInSeconds: 60 });
		clock.advance(61_000);
		expect(await pumpLogStream(pumpDeps(clock), streamId)).toMatchObject({ status: "delivered", objects: 1 });
		// Progress and then a failure in one pump: the count starts again at one, not where it stood before.
		await db.update(logStreams).set({ failures: 5 }).where(eq(logStreams.id, streamId));
		await archiveObjects(s.accountId, clock, 2);
		await box.answer(200, 500);
		expect(await pumpLogStream(pumpDeps(clock), streamId)).toMatchObject({
			status: "failed",
			objects: 1,
			retryInSeconds: 30,
		});
		expect(await stored(streamId)).toMatchObject({ failures: 1, cursorSeq: 3 });
		clock.advance(31_000);
		expect(await pumpLogStream(pumpDeps(clock), streamId)).toMatchObject({ status: "delivered", objects: 1 });
		expect(await stored(streamId)).toMatchObject({
			failures: 0,
			failingSince: null,
			lastError: null,
			nextAttemptAt: null,
			cursorSeq: 4,
		});
		const bodies = (await box.calls()).map((c) => c.body);
		// Object 2 was tried three times and object 4 twice; the receiver accepted each once (the others were refusals).
		expect(bodies).toHaveLength(7);
		const report2 = await verifyCopy([0, 3, 4, 6].map((i) => bodies[i]).join(""), s.accountId);
		expect(report2).toMatchObject({ ok: true, objects: 4 });
	});

	it("survives the consumer crashing mid-batch: the copy, deduplicated by Keyward-Batch, is the archive, nothing lost or doubled", async () => {
		const clock = new ManualClock(new Date("2026-12-01T10:00:00Z"));
		const { s, box, streamId } = await httpStream(clock, "beginning");
		await archiveObjects(s.accountId, clock, 6, 4);
		// Object 3 is accepted by the receiver, then the consumer stalls for good (an evicted isolate)
		// before the cursor moves: its lease stays until it expires.
		let wake = () => {};
		const stall = new Promise<void>((resolve) => {
			wake = resolve;
		});
		const zombie = pumpLogStream(pumpDeps(clock, { afterSend: (seq) => (seq === 3 ? stall : undefined) }), streamId);
		await vi.waitFor(async () => expect(await box.calls()).toHaveLength(3), { timeout: 10_000 });
		expect(await stored(streamId)).toMatchObject({ cursorSeq: 2 });
		expect(await pumpLogStream(pumpDeps(clock), streamId)).toEqual({ status: "busy" });
		clock.advance(LEASE_MS + 1000);
		expect(await pumpLogStream(pumpDeps(clock), streamId)).toMatchObject({ status: "delivered", objects: 4 });
		// The stalled pump wakes up after the takeover: its cursor write is on a lease it lost.
		wake();
		expect(await zombie).toEqual({ status: "busy" });
		expect(await stored(streamId)).toMatchObject({ cursorSeq: 6, deliveredObjects: 6 });

		const calls = await box.calls();
		expect(calls.map((c) => c.headers["keyward-batch"])).toEqual(
			[1, 2, 3, 3, 4, 5, 6].map((seq) => `${streamId}:${seq}`),
		);
		const byBatch = new Map(calls.map((c) => [c.headers["keyward-batch"], c.body]));
		const archive = await archiveTexts(s.accountId);
		expect([...byBatch.values()]).toEqual([1, 2, 3, 4, 5, 6].map((seq) => archive.get(seq)));
		// Verifying the raw copy (resend included) counts the resend once.
		const report = await verifyCopy(calls.map((c) => c.body).join(""), s.accountId);
		expect(report).toMatchObject({ ok: true, objects: 6, events: 24, duplicates: 1 });
	});

	it("one pump at a time: a burst of ten pumps sends each object once", async () => {
		const clock = new ManualClock(new Date("2026-12-01T10:00:00Z"));
		const { s, box, streamId } = await httpStream(clock, "beginning");
		await archiveObjects(s.accountId, clock, 4);
		const results = await Promise.all(Array.from({ length: 10 }, () => pumpLogStream(pumpDeps(clock), streamId)));
		expect(results.filter((r) => r.status === "delivered")).toHaveLength(1);
		expect(results.filter((r) => r.status === "delivered" || r.status === "busy" || r.status === "idle")).toHaveLength(
			10,
		);
		const batches = (await box.calls()).map((c) => c.headers["keyward-batch"]);
		expect(batches).toEqual([1, 2, 3, 4].map((seq) => `${streamId}:${seq}`));
	});

	it("never ships past a broken chain: an edited archive object stops the stream", async () => {
		const clock = new ManualClock(new Date("2026-12-01T10:00:00Z"));
		const { s, box, streamId } = await httpStream(clock, "beginning");
		await archiveObjects(s.accountId, clock, 3);
		const listing = await env.AUDIT_ARCHIVE.list({ prefix: archivePrefix(s.accountId) });
		const second = listing.objects[1]?.key ?? "";
		const text = (await (await env.AUDIT_ARCHIVE.get(second))?.text()) ?? "";
		await env.AUDIT_ARCHIVE.put(second, text.replace('"n":3', '"n":333'));
		const result = await pumpLogStream(pumpDeps(clock), streamId);
		// Object 2 itself still links to 1; object 3 names the hash 2 had before the edit.
		expect(result).toMatchObject({ status: "failed", objects: 2 });
		expect(result.status === "failed" && result.error).toContain("chain is broken at seq 3");
		expect((await box.calls()).map((c) => c.headers["keyward-batch"])).toEqual([`${streamId}:1`, `${streamId}:2`]);
	});

	it("formats for Splunk HEC, Datadog and S3, each carrying the exact lines, and each copy verifies", async () => {
		const clock = new ManualClock(new Date("2026-12-01T10:00:00Z"));
		const { s, create } = await setUp(clock);
		const splunkBox = receiverBox();
		const s3Box = receiverBox();
		const made = async (body: Record<string, unknown>) =>
			(await (await create({ ...body, startAt: "beginning" })).json<{ logStream: { id: string } }>()).logStream.id;
		const splunk = await made({
			type: "splunk-hec",
			url: splunkBox.url,
			token: "hec-token-0123456789",
			index: "security",
		});
		const datadog = await made({ type: "datadog", apiKey: "0123456789abcdef0123456789abcdef" });
		const s3 = await made({
			type: "s3",
			endpoint: s3Box.url,
			bucket: "acme-audit",
			region: "eu-west-1",
			prefix: "keyward/",
			accessKeyId: "AKIAEXAMPLEKEY01",
			secretAccessKey: "s3-secret-access-key-abcdefghijklmnop",
		});
		await archiveObjects(s.accountId, clock, 2);
		for (const id of [splunk, datadog, s3])
			expect(await pumpLogStream(pumpDeps(clock), id)).toMatchObject({ status: "delivered", objects: 2 });
		const archive = await archiveTexts(s.accountId);
		const wholeArchive = [1, 2].map((seq) => archive.get(seq)).join("");

		const hec = await splunkBox.calls();
		expect(hec.map((c) => c.headers.authorization)).toEqual([
			"Splunk hec-token-0123456789",
			"Splunk hec-token-0123456789",
		]);
		const hecEvents = hec.flatMap((c) => c.body.split("\n").map((l) => JSON.parse(l)));
		expect(hecEvents[0]).toMatchObject({
			sourcetype: "keyward:chain",
			index: "security",
			fields: { keyward_seq: "1" },
		});
		expect(hecEvents[1]).toMatchObject({ sourcetype: "keyward:audit", source: `keyward:${s.accountId}` });
		expect(hecEvents.map((e) => `${e.event}\n`).join("")).toBe(wholeArchive);

		const dd = (await receiverBox("datadog").calls()).filter((c) => c.body.includes(`keyward_account:${s.accountId}`));
		expect(dd.map((c) => c.path)).toEqual(["/r/datadog/api/v2/logs", "/r/datadog/api/v2/logs"]);
		expect(dd[0]?.headers["dd-api-key"]).toBe("0123456789abcdef0123456789abcdef");
		const logs = dd.flatMap((c) => JSON.parse(c.body) as { message: string; ddsource: string }[]);
		expect(logs.every((l) => l.ddsource === "keyward")).toBe(true);
		expect(logs.map((l) => `${l.message}\n`).join("")).toBe(wholeArchive);

		const puts = await s3Box.calls();
		expect(puts.map((c) => [c.method, c.path.replace(/^\/r\/[^/]+/, "")])).toEqual([
			["PUT", `/acme-audit/keyward/${s.accountId}/000000000001.ndjson`],
			["PUT", `/acme-audit/keyward/${s.accountId}/000000000002.ndjson`],
		]);
		expect(puts[0]?.headers.authorization).toMatch(
			/^AWS4-HMAC-SHA256 Credential=AKIAEXAMPLEKEY01\/\d{8}\/eu-west-1\/s3\/aws4_request, SignedHeaders=.*, Signature=[0-9a-f]{64}$/,
		);
		expect(puts[0]?.headers["x-amz-content-sha256"]).toMatch(/^[0-9a-f]{64}$/);
		expect(puts.map((c) => c.body).join("")).toBe(wholeArchive);
		for (const copy of [hecEvents.map((e) => `${e.event}\n`).join(""), puts.map((c) => c.body).join("")])
			expect(await verifyCopy(copy, s.accountId)).toMatchObject({ ok: true, objects: 2 });
	});

	it("runs from the queue: pokes deliver, a busy stream retries, a failing one retries after its backoff, a dead poke is acked", async () => {
		const clock = new ManualClock(new Date("2026-12-01T10:00:00Z"));
		const { s, box, streamId } = await httpStream(clock, "beginning");
		await archiveObjects(s.accountId, clock, 1);
		const run = async (queue: string) => {
			const batch = createMessageBatch(queue, [
				{ id: crypto.randomUUID(), timestamp: new Date(), attempts: 1, body: { logStreamId: streamId } },
			]);
			const ctx = createExecutionContext();
			await handleQueueBatch(batch as MessageBatch, env, ctx, { clock });
			return getQueueResult(batch, ctx);
		};
		expect(await run("keyward-webhooks")).toMatchObject({ explicitAcks: [expect.any(String)], retryMessages: [] });
		expect(await box.calls()).toHaveLength(1);

		await db
			.update(logStreams)
			.set({ leaseToken: "other", leaseUntil: new Date(clock.now().getTime() + LEASE_MS) })
			.where(eq(logStreams.id, streamId));
		// (The test harness does not report a retry's delay; the row shows which path it took.)
		expect((await run("keyward-webhooks")).retryMessages).toHaveLength(1);
		expect(await stored(streamId)).toMatchObject({ failures: 0, cursorSeq: 1 });
		await db.update(logStreams).set({ leaseToken: null, leaseUntil: null }).where(eq(logStreams.id, streamId));

		await archiveObjects(s.accountId, clock, 1);
		await box.answer(500);
		expect((await run("keyward-webhooks")).retryMessages).toHaveLength(1);
		expect(await stored(streamId)).toMatchObject({
			failures: 1,
			nextAttemptAt: new Date(clock.now().getTime() + 30_000),
		});
		expect((await run("keyward-webhooks-dlq")).explicitAcks).toHaveLength(1);
	});
});

describe("log streams: who may keep one", () => {
	it("a demotion below admin stops the streams the person added; an admin who resumes one answers for it, and the cursor is kept", async () => {
		const clock = new ManualClock(new Date("2026-12-01T10:00:00Z"));
		const { s, t, create, audit } = await setUp(clock);
		const box = receiverBox();
		const res = await create({ type: "http", url: box.url, auth: "hmac", startAt: "beginning" }, s.users.admin.token);
		const streamId = (await res.json<{ logStream: { id: string } }>()).logStream.id;
		await archiveObjects(s.accountId, clock, 1);
		await pumpLogStream(pumpDeps(clock), streamId);

		const owner = { Authorization: `Bearer ${s.users.owner.token}` };
		const demote = await t.request(
			`/v1/accounts/${s.accountId}/members/${s.users.admin.id}`,
			jsonRequest("PATCH", { role: "member" }, owner),
			{ AUDIT_QUEUE: audit.queue },
		);
		expect(demote.status).toBe(200);
		expect(await stored(streamId)).toMatchObject({
			disabledReason: expect.stringContaining("no longer manages"),
			cursorSeq: 1,
		});
		expect(
			audit
				.events()
				.filter((e) => e.action === "log_stream.disabled")
				.map((e) => e.target?.id),
		).toEqual([streamId]);
		await archiveObjects(s.accountId, clock, 1);
		expect(await pumpLogStream(pumpDeps(clock), streamId)).toEqual({ status: "stopped", reason: "disabled" });

		const resume = await t.request(
			`/v1/accounts/${s.accountId}/log-streams/${streamId}`,
			jsonRequest("PATCH", { enabled: true }, owner),
		);
		expect(resume.status).toBe(200);
		expect(await stored(streamId)).toMatchObject({ createdBy: s.users.owner.id, disabledAt: null });
		expect(await pumpLogStream(pumpDeps(clock), streamId)).toMatchObject({ status: "delivered", objects: 1 });
		expect(await verifyCopy((await box.calls()).map((c) => c.body).join(""), s.accountId)).toMatchObject({
			ok: true,
			objects: 2,
		});
	});

	it("removing a member stops their streams too", async () => {
		const clock = new ManualClock(new Date("2026-12-01T10:00:00Z"));
		const { s, t, create } = await setUp(clock);
		const res = await create({ type: "http", url: "https://logs.example.com/x", auth: "hmac" }, s.users.admin.token);
		const streamId = (await res.json<{ logStream: { id: string } }>()).logStream.id;
		const removed = await t.request(`/v1/accounts/${s.accountId}/members/${s.users.admin.id}`, {
			method: "DELETE",
			headers: { Authorization: `Bearer ${s.users.owner.token}` },
		});
		expect(removed.status).toBe(204);
		expect(await stored(streamId)).toMatchObject({ disabledAt: expect.any(Date) });
	});

	it("deleting a stream stops it at once; a pump in flight finds it gone", async () => {
		const clock = new ManualClock(new Date("2026-12-01T10:00:00Z"));
		const { s, t, create } = await setUp(clock);
		const streamId = (
			await (
				await create({ type: "http", url: "https://logs.example.com/x", auth: "hmac" })
			).json<{
				logStream: { id: string };
			}>()
		).logStream.id;
		const del = await t.request(`/v1/accounts/${s.accountId}/log-streams/${streamId}`, {
			method: "DELETE",
			headers: { Authorization: `Bearer ${s.users.owner.token}` },
		});
		expect(del.status).toBe(204);
		expect(await pumpLogStream(pumpDeps(clock), streamId)).toEqual({ status: "stopped", reason: "gone" });
	});
});

describe("audit:verify --file", () => {
	const header = (seq: number, prev: string, count: number) =>
		JSON.stringify({ kind: "keyward.audit.chain", version: 1, stream: "acc_x", seq, prev, count });

	it("finds a gap, an edit, a reordering and a truncation in a copy", async () => {
		const clock = new ManualClock(new Date("2026-12-01T10:00:00Z"));
		const s: SeededAccount = await seedAccount(clock);
		await archiveObjects(s.accountId, clock, 3, 2);
		const archive = await archiveTexts(s.accountId);
		const [a = "", b = "", c = ""] = [1, 2, 3].map((seq) => archive.get(seq) ?? "");
		expect(await verifyCopy(`${a}${b}${c}`, s.accountId)).toMatchObject({ ok: true, objects: 3, events: 6 });
		expect(await verifyCopy(`${a}${c}`, s.accountId)).toMatchObject({ ok: false, problem: { kind: "gap", seq: 3 } });
		expect(await verifyCopy(`${a}${b.replace('"n":2', '"n":9')}${c}`, s.accountId)).toMatchObject({
			ok: false,
			problem: { kind: "edited", seq: 2 },
		});
		expect(await verifyCopy(`${a}${c}${b}`, s.accountId)).toMatchObject({ ok: false, problem: { kind: "gap" } });
		expect(await verifyCopy(`${a}${b}${a}`, s.accountId)).toMatchObject({ ok: false, problem: { kind: "reordered" } });
		const cut = b.split("\n").slice(0, 2).join("\n");
		expect(await verifyCopy(`${a}${cut}\n${c}`, s.accountId)).toMatchObject({
			ok: false,
			problem: { kind: "truncated" },
		});
		expect(await verifyCopy(`${a}${b}`, "acc_other")).toMatchObject({ ok: false, problem: { kind: "malformed" } });
		expect(await verifyCopy(`${header(1, "beef", 0)}\n`)).toMatchObject({
			ok: false,
			problem: { kind: "edited", seq: 1 },
		});
	});
});

describe("DEV_OUTBOUND_ALIASES", () => {
	it("sends an aliased host's requests to the local origin in development, and is ignored in staging and production", async () => {
		const { outboundFetch } = await import("../../src/platform/dev-outbound");
		const aliases = "logs.bench.example=https://receiver.hooks-test.example";
		for (const environment of ["staging", "production"] as const)
			expect(outboundFetch({ ENVIRONMENT: environment, DEV_OUTBOUND_ALIASES: aliases })).toBeUndefined();
		expect(outboundFetch({ ENVIRONMENT: "development" })).toBeUndefined();
		const aliased = outboundFetch({ ENVIRONMENT: "development", DEV_OUTBOUND_ALIASES: aliases });
		const box = receiverBox();
		const path = new URL(box.url).pathname;
		const res = await aliased?.(`https://logs.bench.example${path}/x?y=1`, { method: "POST", body: "line\n" });
		expect(res?.status).toBe(200);
		expect((await box.calls()).map((c) => [c.method, c.path, c.body])).toEqual([["POST", `${path}/x?y=1`, "line\n"]]);
	});
});

describe("the cron's backstop", () => {
	it("pokes every enabled stream of a live account, and neither paused streams nor those of a deleted account", async () => {
		const { pokeAllLogStreams } = await import("../../src/streams/poke");
		const { accounts } = await import("../../src/db/schema");
		const clock = new ManualClock(new Date("2026-12-01T10:00:00Z"));
		const live = await setUp(clock);
		const gone = await setUp(clock);
		const made = async (setup: Awaited<ReturnType<typeof setUp>>) =>
			(
				await (
					await setup.create({ type: "http", url: "https://logs.example.com/x", auth: "hmac" })
				).json<{
					logStream: { id: string };
				}>()
			).logStream.id;
		const liveStream = await made(live);
		const goneStream = await made(gone);
		await db.delete(accounts).where(eq(accounts.id, gone.s.accountId));
		const captured = capturingQueue<{ logStreamId: string }>();
		await pokeAllLogStreams(db, captured.queue);
		const poked = captured.bodies.map((b) => b.logStreamId);
		expect(poked).toContain(liveStream);
		expect(poked).not.toContain(goneStream);
		// The seeded streams are paused.
		expect(poked).not.toContain(live.s.logStreamId);
	});
});

describe("log streams: the attacker round's findings", () => {
	it("deleting the account stops its streams", async () => {
		const clock = new ManualClock(new Date("2026-12-01T10:00:00Z"));
		const { s, create } = await setUp(clock);
		const res = await create({ type: "http", url: "https://logs.example.com/x", auth: "hmac" });
		const streamId = (await res.json<{ logStream: { id: string } }>()).logStream.id;
		const { deleteAccount } = await import("../../src/accounts/offboarding");
		await deleteAccount(env, db, s.accountId, clock.now());
		expect(await stored(streamId)).toMatchObject({ disabledReason: "the account was deleted" });
		expect(await pumpLogStream(pumpDeps(clock), streamId)).toEqual({ status: "stopped", reason: "disabled" });
	});

	it("a pause stops a pump in flight after the object it is sending", async () => {
		const clock = new ManualClock(new Date("2026-12-01T10:00:00Z"));
		const { s, box, streamId } = await (async () => {
			const setup = await setUp(clock);
			const b = receiverBox();
			const r = await setup.create({ type: "http", url: b.url, auth: "hmac", startAt: "beginning" });
			return { ...setup, box: b, streamId: (await r.json<{ logStream: { id: string } }>()).logStream.id };
		})();
		await archiveObjects(s.accountId, clock, 3);
		const pause = async () =>
			void (await db.update(logStreams).set({ disabledAt: clock.now() }).where(eq(logStreams.id, streamId)));
		const result = await pumpLogStream(
			pumpDeps(clock, { afterSend: (seq) => (seq === 1 ? pause() : undefined) }),
			streamId,
		);
		expect(result).toEqual({ status: "stopped", reason: "disabled" });
		expect(await box.calls()).toHaveLength(1);
		// The object in flight was not counted: a resume sends it again (at least once).
		expect(await stored(streamId)).toMatchObject({ cursorSeq: 0, leaseToken: null });
	});

	it("a stream an intruder resumed goes with the takeover's cleanup", async () => {
		const clock = new ManualClock(new Date("2026-12-01T10:00:00Z"));
		const { s, t } = await setUp(clock);
		clock.advance(3600_000);
		const since = clock.now();
		// The seeded stream is paused and was added by the owner long before; the intruder (holding the admin's session) resumes it.
		const admin = await startSession(
			env,
			db,
			s.users.admin.id,
			{ ip: null, userAgent: "intruder", country: null },
			clock.now(),
		);
		const resumed = await t.request(
			`/v1/accounts/${s.accountId}/log-streams/${s.logStreamId}`,
			jsonRequest("PATCH", { enabled: true }, { Authorization: `Bearer ${admin.token}` }),
		);
		expect(resumed.status).toBe(200);
		const { undoSetUpSince } = await import("../../src/accounts/claim");
		const undone = await undoSetUpSince(env, db, s.users.admin.id, since, clock.now());
		expect(undone).toMatchObject({ logStreamsDeleted: 1 });
		expect(await stored(s.logStreamId)).toBeUndefined();
	});

	it("stores the URL as parsed, and refuses an S3 endpoint with a query or fragment", async () => {
		const clock = new ManualClock(new Date("2026-12-01T10:00:00Z"));
		const { create } = await setUp(clock);
		for (const [typed, expected] of [
			["https:logs.example.com/in", "https://logs.example.com/in"],
			["https://@logs.example.com/in", "https://logs.example.com/in"],
			["https://lögs.example.com/in", "https://xn--lgs-sna.example.com/in"],
		]) {
			const res = await create({ type: "http", url: typed, auth: "hmac" });
			expect(res.status, typed).toBe(201);
			expect((await res.json<{ logStream: { url: string } }>()).logStream.url).toBe(expected);
		}
		// Webhooks store their URL the same way (one mechanism, src/security/webhook-url.ts callableUrl).
		const { t, s } = await setUp(clock);
		const hook = await t.request(
			`/v1/accounts/${s.accountId}/webhooks`,
			jsonRequest(
				"POST",
				{ url: "https:lögs.example.com/in", events: ["key.*"] },
				{ Authorization: `Bearer ${s.users.owner.token}` },
			),
		);
		expect(hook.status).toBe(201);
		expect((await hook.json<{ webhook: { url: string } }>()).webhook.url).toBe("https://xn--lgs-sna.example.com/in");
		for (const endpoint of ["https://s3.example.com/?x=", "https://s3.example.com/#", "https://s3.example.com?"]) {
			const problem = await expectProblem(
				await create({
					type: "s3",
					endpoint,
					bucket: "acme-audit",
					accessKeyId: "AKIAEXAMPLEKEY01",
					secretAccessKey: "s3-secret-access-key-abcdefghijklmnop",
				}),
				400,
			);
			expect(
				problem.errors?.map((e) => e.path),
				endpoint,
			).toContain("endpoint");
		}
	});
});
