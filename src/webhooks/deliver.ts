/**
 * The webhook queue's consumer: signs and posts each delivery, records the
 * outcome on its row, and retries failures with exponential backoff. After
 * the queue's `max_retries` the message goes to the dead-letter queue, whose
 * consumer marks the delivery `failed` for the account to see.
 *
 * Outbound safety: the URL is checked again at send time (an old row may
 * predate a rule), redirects are never followed (a 3xx is a failure, so a
 * receiver cannot bounce us to an internal address), and every attempt has a
 * timeout.
 */
import { and, eq, ne } from "drizzle-orm";
import type { Database } from "../db";
import { webhookDeliveries, webhooks } from "../db/schema";
import type { Mailer } from "../mail";
import type { Clock } from "../platform/clock";
import type { Env } from "../platform/env";
import { openSecret } from "../security/secret-box";
import { webhookUrlProblem } from "../security/webhook-url";
import { disabledEvent, emailOwnerOfDisabled, recordDisabled, restoreBudget, spendBudget } from "./budget";
import { TEST_EVENT } from "./catalogue";
import type { WebhookJob } from "./dispatch";
import { SIGNATURE_HEADER, signWebhookBody } from "./signature";

export const DELIVERY_TIMEOUT_MS = 10_000;
const MAX_BACKOFF_SECONDS = 3600;

export interface DeliveryDeps {
	env: Pick<Env, "TOTP_ENCRYPTION_KEY">;
	db: Database;
	clock: Clock;
	/** Tells an owner their endpoint was disabled. */
	mailer: Mailer;
	/** The outside world; tests pass a local receiver. */
	fetch?: typeof fetch;
	log?: (line: string) => void;
}

/** 30 s, 60 s, 120 s … capped at an hour, with up to 20% jitter so failing receivers are not hit in lockstep. */
export function retryDelaySeconds(attempts: number, random = Math.random): number {
	const base = Math.min(MAX_BACKOFF_SECONDS, 30 * 2 ** Math.max(0, attempts - 1));
	return Math.round(base * (1 + 0.2 * random()));
}

type Attempt =
	| { ok: true; status: number }
	| { ok: false; status: number | null; error: string; final?: boolean }
	/** A repeat of a delivery that already succeeded (a retried audit batch queued it twice): not sent again. */
	| { skip: true };

export const webhookSecretBinding = (webhookId: string) => `webhook:${webhookId}`;

type Hook = typeof webhooks.$inferSelect;

/** The live secrets, current first: the previous one too while its overlap lasts. */
async function signingSecrets(deps: DeliveryDeps, hook: Hook): Promise<string[]> {
	const open = async (sealed: string) =>
		new TextDecoder().decode(
			await openSecret(deps.env.TOTP_ENCRYPTION_KEY ?? "", sealed, webhookSecretBinding(hook.id)),
		);
	const secrets = [await open(hook.secretSealed)];
	const overlapping = hook.previousSecretExpiresAt && hook.previousSecretExpiresAt > deps.clock.now();
	if (hook.previousSecretSealed && overlapping) secrets.push(await open(hook.previousSecretSealed));
	return secrets;
}

async function attempt(job: WebhookJob, deps: DeliveryDeps): Promise<{ outcome: Attempt; hook: Hook | null }> {
	const [found] = await deps.db
		.select({ status: webhookDeliveries.status, hook: webhooks })
		.from(webhookDeliveries)
		.leftJoin(webhooks, eq(webhooks.id, webhookDeliveries.webhookId))
		.where(eq(webhookDeliveries.id, job.deliveryId));
	if (found?.status === "delivered") return { outcome: { skip: true }, hook: null };
	const hook = found?.hook ?? null;
	const final = (error: string) => ({ outcome: { ok: false, status: null, error, final: true } as const, hook });
	if (!found) return final("delivery no longer kept");
	if (!hook) return final("webhook deleted");
	if (hook.disabledAt && job.event !== TEST_EVENT) return final("webhook disabled");
	const problem = webhookUrlProblem(hook.url);
	if (problem) return final(`url refused: ${problem}`);
	const unix = Math.floor(deps.clock.now().getTime() / 1000);
	const signature = await signWebhookBody(await signingSecrets(deps, hook), job.body, unix);
	try {
		const res = await (deps.fetch ?? fetch)(hook.url, {
			method: "POST",
			headers: {
				"Content-Type": "application/json",
				"User-Agent": "Keyward-Webhooks/1",
				"Keyward-Delivery": job.deliveryId,
				"Keyward-Event": job.event,
				[SIGNATURE_HEADER]: signature,
			},
			body: job.body,
			redirect: "manual",
			signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
		});
		// The receiver's body is never read: it is untrusted and may be large.
		await res.body?.cancel();
		if (res.status >= 200 && res.status < 300) return { outcome: { ok: true, status: res.status }, hook };
		const error = res.status >= 300 && res.status < 400 ? "redirect not followed" : `receiver answered ${res.status}`;
		return { outcome: { ok: false, status: res.status, error }, hook };
	} catch (err) {
		const timedOut = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
		return { outcome: { ok: false, status: null, error: timedOut ? "timed out" : "could not connect" }, hook };
	}
}

const deliveryUpdate = (deps: DeliveryDeps, deliveryId: string, set: Partial<typeof webhookDeliveries.$inferInsert>) =>
	deps.db
		.update(webhookDeliveries)
		.set({ ...set, updatedAt: deps.clock.now() })
		// A late retry of a delivery that already succeeded must not turn it back into a failure.
		.where(and(eq(webhookDeliveries.id, deliveryId), ne(webhookDeliveries.status, "delivered")));

/**
 * Records one attempt on the delivery's row and, when it was the delivery's
 * last (a success, or a failure that will not be retried), counts it against
 * the endpoint's failure budget in the same batch.
 */
async function recordOutcome(
	deps: DeliveryDeps,
	job: WebhookJob,
	attempts: number,
	outcome: Exclude<Attempt, { skip: true }>,
	hook: { id: string; accountId: string; url: string } | null,
) {
	const status = outcome.ok ? "delivered" : outcome.final ? "failed" : "retrying";
	const update = deliveryUpdate(deps, job.deliveryId, {
		status,
		attempts,
		lastStatusCode: outcome.status,
		lastError: outcome.ok ? null : outcome.error,
	});
	const ends = status !== "retrying";
	if (!hook || !ends || job.event === TEST_EVENT) return void (await update);
	await settle(deps, hook, outcome.ok, update);
}

/** The delivery's last word and its count against the budget, in one batch; the owner hears of a disable. */
async function settle(
	deps: DeliveryDeps,
	hook: { id: string; accountId: string; url: string },
	ok: boolean,
	update: ReturnType<typeof deliveryUpdate>,
) {
	const now = deps.clock.now();
	if (ok) return void (await deps.db.batch([update, restoreBudget(deps.db, hook.id)]));
	const { count, disable } = spendBudget(deps.db, hook.id, now);
	const event = await disabledEvent(hook, now);
	const [, , disabled] = await deps.db.batch([update, count, disable, recordDisabled(deps.db, event, hook.id, now)]);
	if (disabled.length === 0) return;
	await emailOwnerOfDisabled(deps, hook).catch((reason) => {
		const log = deps.log ?? ((line: string) => console.error(line));
		const error = reason instanceof Error ? reason.name : "unknown";
		log(JSON.stringify({ level: "error", msg: "webhook disable email failed", webhookId: hook.id, error }));
	});
}

export async function deliverWebhookBatch(batch: MessageBatch<WebhookJob>, deps: DeliveryDeps): Promise<void> {
	for (const message of batch.messages) {
		try {
			const tried = await attempt(message.body, deps);
			const { hook } = tried;
			if ("skip" in tried.outcome) {
				message.ack();
				continue;
			}
			// A test is tried once: a failure is its answer, not something to retry.
			const outcome =
				!tried.outcome.ok && message.body.event === TEST_EVENT ? { ...tried.outcome, final: true } : tried.outcome;
			await recordOutcome(deps, message.body, message.attempts, outcome, hook);
			if (outcome.ok || outcome.final) message.ack();
			else message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
		} catch {
			// D1 or the secret failed, not the receiver: try again later, the row shows the last known state.
			message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
		}
	}
}

/** Deliveries that exhausted their retries: marked failed and counted against the budget, then acknowledged. */
export async function failDeadWebhooks(batch: MessageBatch<WebhookJob>, deps: DeliveryDeps): Promise<void> {
	for (const message of batch.messages) {
		const job = message.body;
		const update = deliveryUpdate(deps, job.deliveryId, { status: "failed", lastError: "retries exhausted" });
		const hook = await deps.db.query.webhooks.findFirst({ where: eq(webhooks.id, job.webhookId) });
		if (hook && job.event !== TEST_EVENT) await settle(deps, hook, false, update);
		else await update;
		message.ack();
	}
}
