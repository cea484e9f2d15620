/**
 * Webhook endpoints of an account: adding one (capped, and conditional on the
 * account and the caller in the same batch), changing, rotating its secret,
 * listing, removing, and the recent deliveries of one. Each change a person
 * makes is one conditional write on the version read and on the caller's
 * current role.
 */
import { and, desc, eq, sql } from "drizzle-orm";
import { accountLockedDown, grantLost, stillAllowed } from "../accounts/queries";
import type { Database } from "../db";
import { webhookDeliveries, webhooks } from "../db/schema";
import { newId } from "../platform/ids";
import { ApiError } from "../problems";
import { sealSecret } from "../security/secret-box";
import { callableUrl } from "../security/webhook-url";
import { webhookSecretBinding } from "./deliver";
import { newWebhookSecret } from "./signature";

/** Enough endpoints for any real setup; bounds the fan-out of every alert. */
export const MAX_WEBHOOKS_PER_ACCOUNT = 10;
export const RECENT_DELIVERIES = 50;

/** How long the old secret keeps signing after a rotation, at most: receivers roll over within a day. */
export const MAX_SECRET_OVERLAP_SECONDS = 86_400;

type WebhookRow = typeof webhooks.$inferSelect;

export const publicWebhook = (row: WebhookRow, now: Date) => ({
	id: row.id,
	url: row.url,
	events: row.events,
	enabled: row.disabledAt === null,
	disabledAt: row.disabledAt?.toISOString() ?? null,
	disabledReason: row.disabledReason,
	consecutiveFailures: row.consecutiveFailures,
	failingSince: row.failingSince?.toISOString() ?? null,
	previousSecretExpiresAt:
		row.previousSecretExpiresAt && row.previousSecretExpiresAt > now ? row.previousSecretExpiresAt.toISOString() : null,
	createdAt: row.createdAt.toISOString(),
	createdBy: row.createdBy,
});

/** A change that lost its conditional write: why, from the state that beat it. */
const changeLost = (db: Database, accountId: string, actorId: string, refused: string) =>
	grantLost(
		db,
		accountId,
		actorId,
		"webhooks:manage",
		refused,
		new ApiError("conflict", { detail: "The webhook changed meanwhile; read it again and retry" }),
	);

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
	events: string[],
) {
	const { db } = deps;
	const id = newId("whk");
	const secret = newWebhookSecret();
	const row: WebhookRow = {
		id,
		accountId,
		// Stored as it will be called (the attacker round on log streams: a look-alike Unicode host was shown as typed).
		url: callableUrl(url),
		events,
		secretSealed: await sealSecret(deps.sealingKey, new TextEncoder().encode(secret), webhookSecretBinding(id)),
		createdAt: deps.now,
		createdBy,
		previousSecretSealed: null,
		previousSecretExpiresAt: null,
		disabledAt: null,
		disabledReason: null,
		consecutiveFailures: 0,
		failingSince: null,
		version: 0,
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

export interface WebhookChange {
	events?: string[];
	/** `true` turns a disabled endpoint back on with a fresh failure budget; `false` pauses it. */
	enabled?: boolean;
}

/**
 * Changes an endpoint's events or turns it off or on. Turning it on is refused
 * during a lockdown, like adding one: it opens a channel out of the account.
 */
export async function updateWebhook(
	deps: { db: Database; now: Date },
	accountId: string,
	actorId: string,
	webhookId: string,
	change: WebhookChange,
) {
	const { db, now } = deps;
	const hook = await findWebhook(db, accountId, webhookId);
	const set: Partial<WebhookRow> = { version: hook.version + 1 };
	if (change.events) set.events = change.events;
	// Whoever turns it back on answers for it from now on (it stops again if they are demoted).
	if (change.enabled === true && hook.disabledAt !== null)
		Object.assign(set, {
			disabledAt: null,
			disabledReason: null,
			consecutiveFailures: 0,
			failingSince: null,
			createdBy: actorId,
		});
	if (change.enabled === false && hook.disabledAt === null)
		Object.assign(set, { disabledAt: now, disabledReason: "disabled by a person" });
	const opens = change.enabled === true && hook.disabledAt !== null;
	const [row] = await db
		.update(webhooks)
		.set(set)
		.where(
			and(
				eq(webhooks.id, hook.id),
				eq(webhooks.version, hook.version),
				stillAllowed(accountId, actorId, "webhooks:manage"),
				opens ? sql`NOT ${accountLockedDown(accountId)}` : undefined,
			),
		)
		.returning();
	if (!row) return changeLost(db, accountId, actorId, "no webhook can be enabled");
	return { before: hook, after: row };
}

/**
 * A new signing secret, returned once. The old one keeps signing beside it (a
 * second `v1=`) for `overlapSeconds`, so receivers can switch without losing a
 * delivery; 0 retires it at once (a leaked secret).
 */
export async function rotateWebhookSecret(
	deps: { db: Database; sealingKey: string; now: Date },
	accountId: string,
	actorId: string,
	webhookId: string,
	overlapSeconds: number,
) {
	const { db, now } = deps;
	const hook = await findWebhook(db, accountId, webhookId);
	const secret = newWebhookSecret();
	const [row] = await db
		.update(webhooks)
		.set({
			secretSealed: await sealSecret(deps.sealingKey, new TextEncoder().encode(secret), webhookSecretBinding(hook.id)),
			previousSecretSealed: overlapSeconds > 0 ? hook.secretSealed : null,
			previousSecretExpiresAt: overlapSeconds > 0 ? new Date(now.getTime() + overlapSeconds * 1000) : null,
			version: hook.version + 1,
		})
		.where(
			and(
				eq(webhooks.id, hook.id),
				eq(webhooks.version, hook.version),
				stillAllowed(accountId, actorId, "webhooks:manage"),
			),
		)
		.returning();
	if (!row) return changeLost(db, accountId, actorId, "no webhook secret can be rotated");
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
	return rows.map(publicDelivery);
}

export const publicDelivery = (r: typeof webhookDeliveries.$inferSelect) => ({
	id: r.id,
	event: r.event,
	eventId: r.eventId,
	redeliveryOf: r.redeliveryOf,
	status: r.status,
	attempts: r.attempts,
	lastStatusCode: r.lastStatusCode,
	lastError: r.lastError,
	createdAt: r.createdAt.toISOString(),
	updatedAt: r.updatedAt.toISOString(),
});
