/**
 * What sets a log stream's pump going (issue #24): a message `{logStreamId}`
 * on the outbound queue (the webhook queue, whose consumer sends both). The
 * audit consumer pokes an account's enabled streams once their events are
 * archived; the cron pokes every enabled stream, so a stream that backed off
 * past its queue retries, or missed a poke, catches up within one run.
 */
import { and, eq, isNull } from "drizzle-orm";
import type { Database } from "../db";
import { accounts, logStreams } from "../db/schema";
import type { Env } from "../platform/env";
import { type PumpDeps, pumpLogStream } from "./pump";

export interface LogStreamJob {
	logStreamId: string;
}

export const isLogStreamJob = (body: unknown): body is LogStreamJob =>
	typeof body === "object" && body !== null && typeof (body as LogStreamJob).logStreamId === "string";

/** A pump that found the stream's lease held retries this much later (the holder may have missed a new object). */
const BUSY_RETRY_SECONDS = 10;
/** Streams the cron pokes in one run, at most. */
const CRON_POKES = 1000;

const send = async (queue: Queue, ids: string[]) => {
	for (let i = 0; i < ids.length; i += 100)
		await queue.sendBatch(ids.slice(i, i + 100).map((logStreamId) => ({ body: { logStreamId } })));
	return ids.length;
};

/** Pokes the enabled streams of one account; one D1 read, and one queue message per stream. */
export async function pokeAccountLogStreams(
	deps: { env: Pick<Env, "WEBHOOK_QUEUE">; db: Database },
	accountId: string,
): Promise<number> {
	const rows = await deps.db
		.select({ id: logStreams.id })
		.from(logStreams)
		.where(and(eq(logStreams.accountId, accountId), isNull(logStreams.disabledAt)));
	return send(
		deps.env.WEBHOOK_QUEUE,
		rows.map((r) => r.id),
	);
}

/**
 * The cron's backstop: every enabled stream of an account that still exists, whatever its state.
 * (A deleted account's streams still receive its last events, `account.deleted` included, through
 * the audit consumer's poke; after that nothing is left to send, so the cron leaves them be.)
 */
export async function pokeAllLogStreams(db: Database, queue: Queue): Promise<number> {
	const rows = await db
		.select({ id: logStreams.id })
		.from(logStreams)
		.innerJoin(accounts, eq(accounts.id, logStreams.accountId))
		.where(isNull(logStreams.disabledAt))
		.limit(CRON_POKES);
	return send(
		queue,
		rows.map((r) => r.id),
	);
}

/** The queue consumer's part for stream jobs. */
export async function pumpLogStreamMessages(
	messages: readonly Message<LogStreamJob>[],
	deps: PumpDeps & { env: Pick<Env, "WEBHOOK_QUEUE"> },
): Promise<void> {
	for (const message of messages) {
		try {
			const result = await pumpLogStream(deps, message.body.logStreamId);
			if (result.status === "failed") message.retry({ delaySeconds: result.retryInSeconds });
			else if (result.status === "busy") message.retry({ delaySeconds: BUSY_RETRY_SECONDS });
			else {
				if (result.status === "delivered" && result.more)
					await deps.env.WEBHOOK_QUEUE.send({ logStreamId: message.body.logStreamId });
				message.ack();
			}
		} catch {
			// D1 failed, not the destination: try again later.
			message.retry({ delaySeconds: BUSY_RETRY_SECONDS });
		}
	}
}
