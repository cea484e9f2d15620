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
import type { Clock } from "../platform/clock";
import type { Env } from "../platform/env";
import { openSecret } from "../security/secret-box";
import { webhookUrlProblem } from "../security/webhook-url";
import type { WebhookJob } from "./dispatch";
import { SIGNATURE_HEADER, signWebhookBody } from "./signature";

export const DELIVERY_TIMEOUT_MS = 10_000;
const MAX_BACKOFF_SECONDS = 3600;

export interface DeliveryDeps {
	env: Pick<Env, "TOTP_ENCRYPTION_KEY">;
	db: Database;
	clock: Clock;
	/** The outside world; tests pass a local receiver. */
	fetch?: typeof fetch;
}

/** 30 s, 60 s, 120 s … capped at an hour, with up to 20% jitter so failing receivers are not hit in lockstep. */
export function retryDelaySeconds(attempts: number, random = Math.random): number {
	const base = Math.min(MAX_BACKOFF_SECONDS, 30 * 2 ** Math.max(0, attempts - 1));
	return Math.round(base * (1 + 0.2 * random()));
}

type Attempt = { ok: true; status: number } | { ok: false; status: number | null; error: string; final?: boolean };

export const webhookSecretBinding = (webhookId: string) => `webhook:${webhookId}`;

async function attempt(job: WebhookJob, deps: DeliveryDeps): Promise<Attempt> {
	const hook = await deps.db.query.webhooks.findFirst({ where: eq(webhooks.id, job.webhookId) });
	if (!hook) return { ok: false, status: null, error: "webhook deleted", final: true };
	const problem = webhookUrlProblem(hook.url);
	if (problem) return { ok: false, status: null, error: `url refused: ${problem}`, final: true };
	const secret = new TextDecoder().decode(
		await openSecret(deps.env.TOTP_ENCRYPTION_KEY ?? "", hook.secretSealed, webhookSecretBinding(hook.id)),
	);
	const unix = Math.floor(deps.clock.now().getTime() / 1000);
	try {
		const res = await (deps.fetch ?? fetch)(hook.url, {
			method: "POST",
			headers: {
				"Content-Type": "application/json",
				"User-Agent": "Keyward-Webhooks/1",
				"Keyward-Delivery": job.deliveryId,
				"Keyward-Event": job.event,
				[SIGNATURE_HEADER]: await signWebhookBody(secret, job.body, unix),
			},
			body: job.body,
			redirect: "manual",
			signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
		});
		// The receiver's body is never read: it is untrusted and may be large.
		await res.body?.cancel();
		if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status };
		const error = res.status >= 300 && res.status < 400 ? "redirect not followed" : `receiver answered ${res.status}`;
		return { ok: false, status: res.status, error };
	} catch (err) {
		const timedOut = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
		return { ok: false, status: null, error: timedOut ? "timed out" : "could not connect" };
	}
}

function recordOutcome(deps: DeliveryDeps, job: WebhookJob, attempts: number, outcome: Attempt) {
	const status = outcome.ok ? "delivered" : outcome.final ? "failed" : "retrying";
	return (
		deps.db
			.update(webhookDeliveries)
			.set({
				status,
				attempts,
				lastStatusCode: outcome.status,
				lastError: outcome.ok ? null : outcome.error,
				updatedAt: deps.clock.now(),
			})
			// A late retry of a delivery that already succeeded must not turn it back into a failure.
			.where(and(eq(webhookDeliveries.id, job.deliveryId), ne(webhookDeliveries.status, "delivered")))
	);
}

export async function deliverWebhookBatch(batch: MessageBatch<WebhookJob>, deps: DeliveryDeps): Promise<void> {
	for (const message of batch.messages) {
		try {
			const outcome = await attempt(message.body, deps);
			await recordOutcome(deps, message.body, message.attempts, outcome);
			if (outcome.ok || outcome.final) message.ack();
			else message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
		} catch {
			// D1 or the secret failed, not the receiver: try again later, the row shows the last known state.
			message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
		}
	}
}

/** Deliveries that exhausted their retries: marked failed, then acknowledged. */
export async function failDeadWebhooks(batch: MessageBatch<WebhookJob>, deps: DeliveryDeps): Promise<void> {
	for (const message of batch.messages) {
		await deps.db
			.update(webhookDeliveries)
			.set({ status: "failed", lastError: "retries exhausted", updatedAt: deps.clock.now() })
			.where(and(eq(webhookDeliveries.id, message.body.deliveryId), ne(webhookDeliveries.status, "delivered")));
		message.ack();
	}
}
