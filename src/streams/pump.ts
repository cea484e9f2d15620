/**
 * Copies an account's audit archive to one log stream (issue #24), in chain
 * order, at least once.
 *
 * 1. Take the stream's lease: one conditional write that succeeds only when no
 *    unexpired lease is held, the stream is enabled and its backoff is over.
 *    So one pump at a time sends, however many pokes arrive together.
 * 2. List the archive objects after the cursor, and check each against it: the
 *    next object must be seq + 1 and name the cursor's hash as `prev`. A gap or
 *    a broken link stops the stream (it never ships a chain that fails).
 * 3. Send one object; once the destination accepted every request for it, move
 *    the cursor to it in one conditional write on the lease and the old cursor.
 *
 * A crash between 2 and 3 leaves the cursor on the last object accepted and
 * the lease to expire, so the next pump resends that object under the same
 * `Keyward-Batch` id: at least once, and a receiver that keeps batch ids (or
 * S3, whose key is the seq) holds each object once. A failed send releases the
 * lease with a backoff (30 s doubling to an hour) that the caller waits out.
 */
import { and, eq, isNull, lt, or, sql } from "drizzle-orm";
import { archivePrefix, GENESIS, parseArchiveObject, seqFromKey, sha256Hex } from "../audit/chain";
import type { Database } from "../db";
import { logStreams } from "../db/schema";
import type { Clock } from "../platform/clock";
import type { Env } from "../platform/env";
import { openSecret } from "../security/secret-box";
import { webhookUrlProblem } from "../security/webhook-url";
import { type ArchiveBatch, requestsFor } from "./destinations";
import { type LogStreamRow, logStreamSecretBinding } from "./streams";

/** How long a pump may hold a stream; renewed by every object it delivers. */
export const LEASE_MS = 60_000;
/** Objects one pump sends before it hands over (the caller pokes again when there are more). */
export const MAX_OBJECTS_PER_PUMP = 25;
const SEND_TIMEOUT_MS = 10_000;
const MAX_BACKOFF_SECONDS = 3600;

export const streamBackoffSeconds = (failures: number): number =>
	Math.min(MAX_BACKOFF_SECONDS, 30 * 2 ** Math.max(0, failures - 1));

export interface PumpDeps {
	env: Pick<Env, "AUDIT_ARCHIVE" | "TOTP_ENCRYPTION_KEY">;
	db: Database;
	clock: Clock;
	/** The outside world; tests pass the local receiver's. */
	fetch?: typeof fetch;
	/** Fault injection for tests: runs after an object was accepted, before the cursor moves. */
	afterSend?: (seq: number) => void | Promise<void>;
}

export type PumpResult =
	| { status: "delivered"; objects: number; events: number; more: boolean }
	| { status: "idle" }
	| { status: "busy" }
	| { status: "waiting"; retryInSeconds: number }
	| { status: "stopped"; reason: "gone" | "disabled" }
	| { status: "failed"; objects: number; events: number; error: string; retryInSeconds: number };

export async function pumpLogStream(deps: PumpDeps, streamId: string): Promise<PumpResult> {
	const { db, clock } = deps;
	const now = clock.now();
	const token = crypto.randomUUID();
	const [stream] = await db
		.update(logStreams)
		.set({ leaseToken: token, leaseUntil: new Date(now.getTime() + LEASE_MS) })
		.where(
			and(
				eq(logStreams.id, streamId),
				isNull(logStreams.disabledAt),
				or(isNull(logStreams.leaseUntil), lt(logStreams.leaseUntil, now)),
				or(isNull(logStreams.nextAttemptAt), sql`${logStreams.nextAttemptAt} <= ${now.getTime()}`),
			),
		)
		.returning();
	if (!stream) return whyNot(db, streamId, now);

	let cursor = { seq: stream.cursorSeq, key: stream.cursorKey, hash: stream.cursorHash };
	let objects = 0;
	let events = 0;
	try {
		const secret = stream.secretSealed
			? new TextDecoder().decode(
					await openSecret(deps.env.TOTP_ENCRYPTION_KEY ?? "", stream.secretSealed, logStreamSecretBinding(stream.id)),
				)
			: null;
		const problem = webhookUrlProblem(stream.url);
		if (problem) throw new StreamError(`destination refused: ${problem}`);
		const { keys, more } = await keysAfter(deps, stream.accountId, cursor);
		for (const key of keys) {
			const batch = await readBatch(deps, key, cursor);
			for (const request of await requestsFor(stream, secret, batch, clock.now().getTime())) await send(deps, request);
			await deps.afterSend?.(batch.header.seq);
			const moved = await db
				.update(logStreams)
				.set({
					cursorSeq: batch.header.seq,
					cursorKey: key,
					cursorHash: batch.hash,
					deliveredObjects: sql`${logStreams.deliveredObjects} + 1`,
					deliveredEvents: sql`${logStreams.deliveredEvents} + ${batch.lines.length}`,
					lastDeliveredAt: clock.now(),
					leaseUntil: new Date(clock.now().getTime() + LEASE_MS),
					failures: 0,
					failingSince: null,
					lastError: null,
					nextAttemptAt: null,
				})
				.where(
					and(
						eq(logStreams.id, stream.id),
						eq(logStreams.leaseToken, token),
						eq(logStreams.cursorSeq, cursor.seq),
						// Paused (or its creator demoted, or the account deleted) meanwhile: nothing more goes out.
						isNull(logStreams.disabledAt),
					),
				)
				.returning({ id: logStreams.id });
			// The lease was lost (it expired and another pump took over), or the stream was removed or stopped.
			if (moved.length === 0) {
				await release(db, stream.id, token);
				return whyNot(db, stream.id, clock.now());
			}
			cursor = { seq: batch.header.seq, key, hash: batch.hash };
			objects++;
			events += batch.lines.length;
		}
		await release(db, stream.id, token);
		if (objects === 0) return { status: "idle" };
		return { status: "delivered", objects, events, more };
	} catch (err) {
		const error = err instanceof StreamError ? err.message : "internal error";
		// A pump that delivered before it failed reset the count with its last cursor write: this is the first failure since.
		const failures = objects > 0 ? 1 : stream.failures + 1;
		const retryInSeconds = streamBackoffSeconds(failures);
		await db
			.update(logStreams)
			.set({
				failures,
				failingSince: objects > 0 ? clock.now() : (stream.failingSince ?? now),
				lastError: error,
				nextAttemptAt: new Date(clock.now().getTime() + retryInSeconds * 1000),
				leaseToken: null,
				leaseUntil: null,
			})
			.where(and(eq(logStreams.id, stream.id), eq(logStreams.leaseToken, token)));
		return { status: "failed", objects, events, error, retryInSeconds };
	}
}

/**
 * The next archive objects after the cursor, at most MAX_OBJECTS_PER_PUMP. A stream that started
 * "now" lists from the day before its start, so objects up to its first seq are passed over.
 */
async function keysAfter(deps: PumpDeps, accountId: string, cursor: { seq: number; key: string | null }) {
	const keys: string[] = [];
	let startAfter = cursor.key ?? undefined;
	for (;;) {
		const page = await deps.env.AUDIT_ARCHIVE.list({
			prefix: archivePrefix(accountId),
			...(startAfter ? { startAfter } : {}),
			limit: 100,
		});
		for (const object of page.objects) if ((seqFromKey(object.key) ?? 0) > cursor.seq) keys.push(object.key);
		if (keys.length > MAX_OBJECTS_PER_PUMP) return { keys: keys.slice(0, MAX_OBJECTS_PER_PUMP), more: true };
		if (!page.truncated || page.objects.length === 0) return { keys, more: false };
		startAfter = page.objects.at(-1)?.key;
	}
}

/** A failure the stream's owner can act on; its message is shown as `lastError`. */
class StreamError extends Error {}

async function readBatch(
	deps: PumpDeps,
	key: string,
	cursor: { seq: number; hash: string | null },
): Promise<ArchiveBatch> {
	const object = await deps.env.AUDIT_ARCHIVE.get(key);
	if (!object) throw new StreamError(`archive object ${key} is missing`);
	const bytes = new Uint8Array(await object.arrayBuffer());
	const text = new TextDecoder().decode(bytes);
	const parsed = parseArchiveObject(text);
	if (!parsed) throw new StreamError(`archive object ${key} has no chain header`);
	const { header, lines } = parsed;
	if (header.seq !== cursor.seq + 1)
		throw new StreamError(`the archive skips from seq ${cursor.seq} to ${header.seq}; nothing past it is sent`);
	const prev = cursor.seq === 0 ? GENESIS : cursor.hash;
	if (header.prev !== prev || header.count !== lines.length)
		throw new StreamError(`the archive's chain is broken at seq ${header.seq}; nothing past it is sent`);
	return { key, text, header, lines, hash: await sha256Hex(bytes) };
}

async function send(deps: PumpDeps, request: { url: string; init: RequestInit }): Promise<void> {
	let res: Response;
	try {
		res = await (deps.fetch ?? fetch)(request.url, {
			...request.init,
			redirect: "manual",
			signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
		});
	} catch (err) {
		const timedOut = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
		throw new StreamError(timedOut ? "the destination timed out" : "could not connect to the destination");
	}
	// The destination's body is never read: it is untrusted and may be large.
	await res.body?.cancel();
	if (res.status >= 300 && res.status < 400) throw new StreamError("the destination redirected (not followed)");
	if (res.status < 200 || res.status >= 300) throw new StreamError(`the destination answered ${res.status}`);
}

const release = (db: Database, streamId: string, token: string) =>
	db
		.update(logStreams)
		.set({ leaseToken: null, leaseUntil: null })
		.where(and(eq(logStreams.id, streamId), eq(logStreams.leaseToken, token)));

async function whyNot(db: Database, streamId: string, now: Date): Promise<PumpResult> {
	const row: LogStreamRow | undefined = await db.query.logStreams.findFirst({ where: eq(logStreams.id, streamId) });
	if (!row) return { status: "stopped", reason: "gone" };
	if (row.disabledAt) return { status: "stopped", reason: "disabled" };
	if (row.nextAttemptAt && row.nextAttemptAt > now)
		return { status: "waiting", retryInSeconds: Math.ceil((row.nextAttemptAt.getTime() - now.getTime()) / 1000) };
	return { status: "busy" };
}
