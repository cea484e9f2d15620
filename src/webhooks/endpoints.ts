/**
 * Webhook endpoints of an account: adding one (capped, and conditional on the
 * account and the caller in the same batch), listing, removing, and the recent
 * deliveries of one.
 */
import { and, desc, eq, sql } from "drizzle-orm";
import { accountLockedDown, grantLost, stillAllowed } from "../accounts/queries";
import type { Database } from "../db";
import { webhookDeliveries, webhooks } from "../db/schema";
import { newId } from "../platform/ids";
import { ApiError } from "../problems";
import { sealSecret } from "../security/secret-box";
import { webhookSecretBinding } from "./deliver";
import type { WebhookEvent } from "./dispatch";
import { newWebhookSecret } from "./signature";

/** Enough endpoints for any real setup; bounds the fan-out of every alert. */
export const MAX_WEBHOOKS_PER_ACCOUNT = 10;
export const RECENT_DELIVERIES = 50;

export const publicWebhook = (row: typeof webhooks.$inferSelect) => ({
	id: row.id,
	url: row.url,
	events: row.events as WebhookEvent[],
	createdAt: row.createdAt.toISOString(),
	createdBy: row.createdBy,
});

/**
 * Adds an endpoint with a new signing secret (returned once, stored sealed). Count and insert are
 * one batch: the row is deleted again in the same transaction when it went over the cap or the
 * account is locked down, so 30 parallel creations make at most the cap.
 */
export async function addWebhook(
	deps: { db: Database; sealingKey: string; now: Date },
	accountId: string,
	createdBy: string,
	url: string,
	events: WebhookEvent[],
) {
	const { db } = deps;
	const id = newId("whk");
	const secret = newWebhookSecret();
	const row = {
		id,
		accountId,
		url,
		events,
		secretSealed: await sealSecret(deps.sealingKey, new TextEncoder().encode(secret), webhookSecretBinding(id)),
		createdAt: deps.now,
		createdBy,
	};
	const overCap = sql`(SELECT COUNT(*) FROM ${webhooks} WHERE ${webhooks.accountId} = ${accountId}) > ${MAX_WEBHOOKS_PER_ACCOUNT}`;
	const [, undone] = await db.batch([
		db.insert(webhooks).values(row),
		db
			.delete(webhooks)
			.where(
				and(
					eq(webhooks.id, id),
					sql`(${overCap} OR ${accountLockedDown(accountId)} OR NOT ${stillAllowed(accountId, createdBy, "webhooks:manage")})`,
				),
			)
			.returning({ id: webhooks.id }),
	]);
	if (undone.length > 0)
		await grantLost(
			db,
			accountId,
			createdBy,
			"webhooks:manage",
			"no webhook can be added",
			new ApiError("conflict", { detail: `An account has at most ${MAX_WEBHOOKS_PER_ACCOUNT} webhooks` }),
		);
	return { row, secret };
}

export const listWebhooks = (db: Database, accountId: string) =>
	db.select().from(webhooks).where(eq(webhooks.accountId, accountId)).orderBy(webhooks.createdAt);

export async function findWebhook(db: Database, accountId: string, webhookId: string) {
	const hook = await db.query.webhooks.findFirst({
		where: and(eq(webhooks.accountId, accountId), eq(webhooks.id, webhookId)),
	});
	if (!hook) throw new ApiError("not-found", { detail: "No such webhook" });
	return hook;
}

/** Removes an endpoint; its pending deliveries are dropped when they come up (`deliver.ts`). */
export async function removeWebhook(db: Database, accountId: string, webhookId: string) {
	const hook = await findWebhook(db, accountId, webhookId);
	await db.delete(webhooks).where(and(eq(webhooks.accountId, accountId), eq(webhooks.id, hook.id)));
	return hook;
}

export async function recentDeliveries(db: Database, accountId: string, webhookId: string) {
	await findWebhook(db, accountId, webhookId);
	const rows = await db
		.select()
		.from(webhookDeliveries)
		.where(and(eq(webhookDeliveries.accountId, accountId), eq(webhookDeliveries.webhookId, webhookId)))
		.orderBy(desc(webhookDeliveries.createdAt))
		.limit(RECENT_DELIVERIES);
	return rows.map((r) => ({
		id: r.id,
		event: r.event,
		status: r.status,
		attempts: r.attempts,
		lastStatusCode: r.lastStatusCode,
		lastError: r.lastError,
		createdAt: r.createdAt.toISOString(),
		updatedAt: r.updatedAt.toISOString(),
	}));
}
