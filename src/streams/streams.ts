/**
 * An account's log streams (issue #24): adding one (capped, and conditional on
 * the account and the caller in the same batch), pausing and resuming,
 * listing and removing. Each change a person makes is one conditional write on
 * the version read and on the caller's current role.
 *
 * A new stream starts at the archive's current chain head (`startAt: "now"`)
 * or at its first object (`"beginning"`), so the customer's copy is a
 * contiguous stretch of the chain that verifies on its own.
 */
import type { z } from "@hono/zod-openapi";
import { and, eq, sql } from "drizzle-orm";
import { accountLockedDown, grantLost, stillAllowed } from "../accounts/queries";
import { archivePrefix } from "../audit/chain";
import type { Database } from "../db";
import { logStreams } from "../db/schema";
import { auditChain } from "../durable/address";
import type { Env } from "../platform/env";
import { newId } from "../platform/ids";
import { ApiError } from "../problems";
import { sealSecret } from "../security/secret-box";
import { mintWebhookSecret } from "../security/secret-formats";
import { callableUrl } from "../security/webhook-url";
import { datadogIntakeUrl, type StreamType } from "./destinations";
import type { CreateLogStreamBody } from "./schemas";

/** Enough for a SIEM, a bucket and a spare: bounds what every archived batch fans out to. */
export const MAX_LOG_STREAMS_PER_ACCOUNT = 5;

export const logStreamSecretBinding = (streamId: string) => `log-stream:${streamId}`;

export type LogStreamRow = typeof logStreams.$inferSelect;

/** What a person asks for: the route's validated body, one type with its schema. Secrets are sealed and never read back out. */
export type LogStreamInput = z.infer<typeof CreateLogStreamBody>;

/** The destination's URL, its settings that are not secret, the secret, and whether Keyward made it (shown once). */
function destinationOf(input: LogStreamInput): {
	type: StreamType;
	url: string;
	config: Record<string, string>;
	secret: string;
	minted: boolean;
} {
	switch (input.type) {
		case "http":
			return input.auth === "hmac"
				? {
						type: "http",
						url: callableUrl(input.url),
						config: { auth: "hmac" },
						secret: mintWebhookSecret(),
						minted: true,
					}
				: { type: "http", url: callableUrl(input.url), config: { auth: "bearer" }, secret: input.token, minted: false };
		case "splunk-hec":
			return {
				type: "splunk-hec",
				url: callableUrl(input.url),
				config: input.index ? { index: input.index } : {},
				secret: input.token,
				minted: false,
			};
		case "datadog": {
			const site = input.site ?? "datadoghq.com";
			return { type: "datadog", url: datadogIntakeUrl(site), config: { site }, secret: input.apiKey, minted: false };
		}
		case "s3":
			return {
				type: "s3",
				url: callableUrl(input.endpoint),
				config: {
					bucket: input.bucket,
					region: input.region ?? "auto",
					prefix: input.prefix ?? "",
					accessKeyId: input.accessKeyId,
				},
				secret: input.secretAccessKey,
				minted: false,
			};
	}
}

export const publicLogStream = (row: LogStreamRow) => ({
	id: row.id,
	type: row.type,
	url: row.url,
	config: row.config,
	enabled: row.disabledAt === null,
	disabledAt: row.disabledAt?.toISOString() ?? null,
	disabledReason: row.disabledReason,
	status: streamStatus(row),
	cursor: {
		seq: row.cursorSeq,
		deliveredObjects: row.deliveredObjects,
		deliveredEvents: row.deliveredEvents,
		lastDeliveredAt: row.lastDeliveredAt?.toISOString() ?? null,
	},
	failures: row.failures,
	failingSince: row.failingSince?.toISOString() ?? null,
	lastError: row.lastError,
	nextAttemptAt: row.nextAttemptAt?.toISOString() ?? null,
	createdAt: row.createdAt.toISOString(),
	createdBy: row.createdBy,
});

export const streamStatus = (row: Pick<LogStreamRow, "disabledAt" | "failures">): "disabled" | "failing" | "healthy" =>
	row.disabledAt ? "disabled" : row.failures > 0 ? "failing" : "healthy";

/** A change that lost its conditional write: why, from the state that beat it. */
const changeLost = (db: Database, accountId: string, actorId: string, refused: string, otherwise: string) =>
	grantLost(db, accountId, actorId, "log-streams:manage", refused, new ApiError("conflict", { detail: otherwise }));

/**
 * Adds a stream with its secret sealed; returns the row and, for an HMAC-signed `http` stream, the
 * signing secret Keyward made (shown once). Count and insert are one batch: the row is deleted
 * again in the same transaction when it went over the cap, the account is locked down or the
 * caller lost the permission, so parallel creations make at most the cap.
 */
export async function addLogStream(
	deps: { env: Pick<Env, "AUDIT_CHAIN">; db: Database; sealingKey: string; now: Date },
	accountId: string,
	createdBy: string,
	input: LogStreamInput,
) {
	const { db, now } = deps;
	const id = newId("lgs");
	const destination = destinationOf(input);
	const start =
		input.startAt === "beginning"
			? { cursorSeq: 0, cursorHash: null, cursorKey: null }
			: await currentHead(deps.env, accountId, now);
	const row: LogStreamRow = {
		id,
		accountId,
		type: destination.type,
		url: destination.url,
		config: destination.config,
		secretSealed: await sealSecret(
			deps.sealingKey,
			new TextEncoder().encode(destination.secret),
			logStreamSecretBinding(id),
		),
		createdAt: now,
		createdBy,
		disabledAt: null,
		disabledReason: null,
		...start,
		deliveredObjects: 0,
		deliveredEvents: 0,
		lastDeliveredAt: null,
		leaseToken: null,
		leaseUntil: null,
		failures: 0,
		failingSince: null,
		lastError: null,
		nextAttemptAt: null,
		version: 0,
	};
	const overCap = sql`(SELECT COUNT(*) FROM ${logStreams} WHERE ${logStreams.accountId} = ${accountId}) > ${MAX_LOG_STREAMS_PER_ACCOUNT}`;
	const [, undone] = await db.batch([
		db.insert(logStreams).values(row),
		db
			.delete(logStreams)
			.where(
				and(
					eq(logStreams.id, id),
					sql`(${overCap} OR ${accountLockedDown(accountId)} OR NOT ${stillAllowed(accountId, createdBy, "log-streams:manage")})`,
				),
			)
			.returning({ id: logStreams.id }),
	]);
	if (undone.length > 0)
		await changeLost(
			db,
			accountId,
			createdBy,
			"no log stream can be added",
			`An account has at most ${MAX_LOG_STREAMS_PER_ACCOUNT} log streams`,
		);
	return { row, secret: destination.minted ? destination.secret : null };
}

/**
 * Where a stream that starts now begins: after the archive's current head. Later objects are
 * written at or after `now`, so the listing may start at the day before (a margin for clocks).
 */
async function currentHead(env: Pick<Env, "AUDIT_CHAIN">, accountId: string, now: Date) {
	const head = await auditChain(env, accountId).chainHead(accountId);
	if (head.seq === 0) return { cursorSeq: 0, cursorHash: null, cursorKey: null };
	const day = new Date(now.getTime() - 24 * 3600 * 1000).toISOString();
	const floor = `${archivePrefix(accountId)}${day.slice(0, 4)}/${day.slice(5, 7)}/${day.slice(8, 10)}/`;
	return { cursorSeq: head.seq, cursorHash: head.hash, cursorKey: floor };
}

/**
 * Pauses a stream or resumes it where its cursor stands (nothing is skipped). Resuming opens a
 * channel out of the account: refused during a lockdown, and the person who resumes it answers
 * for it from now on (it stops again if they are demoted). A resume also clears the backoff.
 */
export async function setLogStreamEnabled(
	deps: { db: Database; now: Date },
	accountId: string,
	actorId: string,
	streamId: string,
	enabled: boolean,
) {
	const { db, now } = deps;
	const stream = await findLogStream(db, accountId, streamId);
	const set: Partial<LogStreamRow> = { version: stream.version + 1 };
	const opens = enabled && stream.disabledAt !== null;
	if (opens)
		Object.assign(set, {
			disabledAt: null,
			disabledReason: null,
			failures: 0,
			failingSince: null,
			nextAttemptAt: null,
			// Whoever resumes it answers for it from now: a reported takeover's cleanup (creator, since) finds it.
			createdBy: actorId,
			createdAt: now,
		});
	if (!enabled && stream.disabledAt === null)
		Object.assign(set, { disabledAt: now, disabledReason: "paused by a person" });
	const [row] = await db
		.update(logStreams)
		.set(set)
		.where(
			and(
				eq(logStreams.id, stream.id),
				eq(logStreams.version, stream.version),
				stillAllowed(accountId, actorId, "log-streams:manage"),
				opens ? sql`NOT ${accountLockedDown(accountId)}` : undefined,
			),
		)
		.returning();
	if (!row)
		return changeLost(
			db,
			accountId,
			actorId,
			"no log stream can be resumed",
			"The log stream changed meanwhile; read it again and retry",
		);
	return { before: stream, after: row };
}

export const listLogStreams = (db: Database, accountId: string) =>
	db.select().from(logStreams).where(eq(logStreams.accountId, accountId)).orderBy(logStreams.createdAt);

export async function findLogStream(db: Database, accountId: string, streamId: string) {
	const stream = await db.query.logStreams.findFirst({
		where: and(eq(logStreams.accountId, accountId), eq(logStreams.id, streamId)),
	});
	if (!stream) throw new ApiError("not-found", { detail: "No such log stream" });
	return stream;
}

/** Removes a stream; a pump in flight finds it gone and stops. */
export async function removeLogStream(db: Database, accountId: string, streamId: string) {
	const stream = await findLogStream(db, accountId, streamId);
	await db.delete(logStreams).where(and(eq(logStreams.accountId, accountId), eq(logStreams.id, stream.id)));
	return stream;
}

/** Why streams stop when the person who added them no longer manages them (`accounts/members.ts`, offboarding). */
export const LOG_STREAM_CREATOR_LEFT = "the person who added it no longer manages log streams";
export const LOG_STREAM_ACCOUNT_DELETED = "the account was deleted";
