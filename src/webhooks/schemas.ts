/** The webhook shapes of the OpenAPI document: endpoints, deliveries, the catalogue and the payload. */
import { z } from "@hono/zod-openapi";
import { AccountParams } from "../accounts/schemas";
import { Id, IssuedId, Timestamp } from "../routes/openapi-shared";
import { webhookUrlProblem } from "../security/webhook-url";
import { isSubscriptionPattern, TEST_EVENT, WEBHOOK_GROUPS } from "./catalogue";
import { MAX_SECRET_OVERLAP_SECONDS } from "./endpoints";

export const WebhookParams = AccountParams.extend({
	webhookId: Id("whk").openapi({ description: "The webhook's id (`whk_` and 16 characters)" }),
});

export const DeliveryParams = WebhookParams.extend({
	deliveryId: Id("dlv").openapi({ description: "The delivery's id (`dlv_` and 16 characters)" }),
});

export const WebhookUrl = z
	.string()
	.max(2048)
	.superRefine((value, ctx) => {
		const problem = webhookUrlProblem(value);
		if (problem) ctx.addIssue({ code: "custom", message: `The webhook URL ${problem}` });
	})
	.openapi({
		description:
			"Where deliveries are POSTed: https:// only, at most 2048 characters; loopback, private, link-local, CGNAT and " +
			"cloud-metadata hosts are refused",
		example: "https://hooks.example.com/keyward",
	});

const GROUPS = WEBHOOK_GROUPS.map((g) => `\`${g}.*\``).join(", ");

/** What an endpoint subscribes to: events by name, groups by prefix, or everything. */
export const Subscriptions = z
	.array(
		z.string().max(64).refine(isSubscriptionPattern, {
			message: "Not an event of GET /v1/webhook-events, a group such as `key.*`, or `*`",
		}),
	)
	.min(1)
	.max(64)
	.refine((events) => new Set(events).size === events.length, { message: "Each entry at most once" })
	.openapi({
		description:
			"What to deliver, at least one entry, each at most once: an event of `GET /v1/webhook-events` " +
			`(\`key.revoked\`), a group (${GROUPS}) or \`*\` for every event`,
		example: ["key.*", "alert.lockdown"],
	});

export const OverlapSeconds = z
	.number()
	.int()
	.min(0)
	.max(MAX_SECRET_OVERLAP_SECONDS)
	.openapi({
		description:
			`How long the old secret keeps signing beside the new one, in seconds (0 to ${MAX_SECRET_OVERLAP_SECONDS}, ` +
			"default 86400). During the overlap each delivery carries two `v1=` signatures; 0 retires the old secret at once",
		example: 3600,
	});

export const WebhookSchema = z
	.object({
		id: IssuedId("whk", "The webhook's id"),
		url: z
			.string()
			.openapi({ description: "Where deliveries are POSTed", example: "https://hooks.example.com/keyward" }),
		events: z.array(z.string()).openapi({
			description: "What it receives: event names, groups (`key.*`) or `*`",
			example: ["key.*", "alert.lockdown"],
		}),
		enabled: z.boolean().openapi({
			description: "False once disabled (by its failure budget, or by a person): nothing is queued to it then",
			example: true,
		}),
		disabledAt: Timestamp("When it was disabled; null while enabled", "2026-03-09T09:30:00.000Z").nullable(),
		disabledReason: z.string().nullable().openapi({
			description: "Why it was disabled; null while enabled",
			example: null,
		}),
		consecutiveFailures: z.number().int().openapi({
			description: "Deliveries in a row that ended failed, since the last success (the failure budget spent)",
			example: 0,
		}),
		failingSince: Timestamp(
			"When the first of those failures ended; null when the last delivery succeeded",
			"2026-03-08T09:30:00.000Z",
		).nullable(),
		previousSecretExpiresAt: Timestamp(
			"While a rotated secret still signs beside the new one, when it stops; null otherwise",
			"2026-03-03T09:30:00.000Z",
		).nullable(),
		createdAt: Timestamp("When it was added", "2026-03-02T09:30:00.000Z"),
		createdBy: IssuedId(
			"usr",
			"Who added it, or last turned it back on: it is disabled if they are demoted below admin",
		),
	})
	.openapi("Webhook", {
		description: "An endpoint that receives the account's events. Its secret is never shown again.",
	});

export const DeliverySchema = z
	.object({
		id: IssuedId("dlv", "The delivery's id (the `Keyward-Delivery` header)"),
		event: z.string().openapi({ description: "The event delivered", example: "key.revoked" }),
		eventId: z.string().nullable().openapi({
			description: "The payload's `id`: the audit event's id, the same on every endpoint and every redelivery",
			example: "evt_mfrggzdfmztwq2lk",
		}),
		redeliveryOf: z.string().nullable().openapi({
			description: "On a redelivery, the delivery it repeats; null otherwise",
			example: null,
		}),
		status: z.enum(["pending", "delivered", "retrying", "failed"]).openapi({
			description:
				"`pending` (queued), `delivered` (the endpoint answered 2xx), `retrying` (the last attempt failed; it " +
				"will be tried again later) or `failed` (given up: retries used up, the webhook removed or disabled, or its URL refused)",
			example: "delivered",
		}),
		attempts: z.number().int().openapi({ description: "Attempts made so far", example: 1 }),
		lastStatusCode: z.number().int().nullable().openapi({
			description: "The HTTP status of the last attempt; null before the first, or when no answer came",
			example: 200,
		}),
		lastError: z
			.string()
			.nullable()
			.openapi({
				description:
					"Why the last attempt failed (`receiver answered 500`, `timed out`, `could not connect`, `redirect not " +
					"followed`, …); null when it did not",
				example: null,
			}),
		createdAt: Timestamp("When the event was queued for this endpoint", "2026-03-02T09:30:00.000Z"),
		updatedAt: Timestamp("When the delivery last changed", "2026-03-02T09:30:02.000Z"),
	})
	.openapi("WebhookDelivery", { description: "One event sent, or to be sent, to one endpoint" });

export const CatalogueEntry = z
	.object({
		name: z
			.string()
			.openapi({ description: "The event's name, as in `type` and `Keyward-Event`", example: "key.revoked" }),
		group: z.string().openapi({ description: "Its group: subscribe to all of them with `<group>.*`", example: "key" }),
		description: z.string().openapi({ description: "When it is sent", example: "An API key was revoked" }),
		subscribable: z.boolean().openapi({
			description: `False only for \`${TEST_EVENT}\`, which is sent by the test route to one endpoint`,
			example: true,
		}),
	})
	.openapi("WebhookEventType", { description: "An event an endpoint can receive" });

/** The body of every delivery (the OpenAPI document's `webhooks` section names each event with it). */
export const WebhookPayload = z
	.object({
		id: z.string().openapi({
			description: "The event's id (the audit event's); the same on every endpoint and redelivery: deduplicate by it",
			example: "evt_mfrggzdfmztwq2lk",
		}),
		type: z.string().openapi({ description: "The event's name", example: "key.revoked" }),
		createdAt: Timestamp("When it happened", "2026-03-02T09:30:00.000Z"),
		accountId: IssuedId("acc", "The account it happened in"),
		data: z.record(z.string(), z.any()).openapi({
			description: "The audit event's metadata: never a secret, password, code or token",
			example: { keyId: "key_mfrggzdfmztwq2lk", reason: "rotated out" },
		}),
		outcome: z.enum(["success", "failure"]).optional().openapi({
			description: "Whether the action succeeded (absent on `webhook.test`)",
			example: "success",
		}),
		actor: z
			.object({
				type: z.enum(["user", "key", "system"]).openapi({ description: "Who acted", example: "user" }),
				id: z.string().nullable().openapi({ description: "Their id", example: "usr_mfrggzdfmztwq2lk" }),
				ip: z.string().nullable().openapi({ description: "Their IP address", example: "203.0.113.7" }),
				userAgent: z.string().nullable().openapi({ description: "Their user agent", example: "curl/8.5" }),
			})
			.optional()
			.openapi({ description: "Who acted, as in the audit trail (absent on `webhook.test`)" }),
		target: z
			.object({
				type: z.string().openapi({ description: "What was acted on", example: "key" }),
				id: z.string().openapi({ description: "Its id", example: "key_mfrggzdfmztwq2lk" }),
			})
			.nullable()
			.optional()
			.openapi({ description: "What was acted on, as in the audit trail" }),
		requestId: z.string().nullable().optional().openapi({
			description: "The request that did it; null for the system's own actions",
			example: "req_3f2a",
		}),
	})
	.openapi("WebhookPayload", {
		description:
			'A delivery\'s JSON body, signed in `Keyward-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">` ' +
			"(two `v1=` while a rotated secret overlaps)",
	});
