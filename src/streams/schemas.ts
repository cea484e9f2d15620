/** The log stream shapes of the OpenAPI document (issue #24). */
import { z } from "@hono/zod-openapi";
import { AccountParams } from "../accounts/schemas";
import { Id, IssuedId, Timestamp } from "../routes/openapi-shared";
import { webhookUrlProblem } from "../security/webhook-url";
import { DATADOG_SITES, STREAM_TYPES } from "./destinations";

export const LogStreamParams = AccountParams.extend({
	streamId: Id("lgs").openapi({ description: "The log stream's id (`lgs_` and 16 characters)" }),
});

/** A destination URL, under the same SSRF guard as webhooks. */
const DestinationUrl = (description: string, example: string) =>
	z
		.string()
		.max(2048)
		.superRefine((value, ctx) => {
			const problem = webhookUrlProblem(value);
			if (problem) ctx.addIssue({ code: "custom", message: `The destination URL ${problem}` });
		})
		.openapi({
			description: `${description}: https:// only, at most 2048 characters; loopback, private, link-local, CGNAT and cloud-metadata hosts are refused`,
			example,
		});

/** A credential the customer gives: stored sealed, never shown again. Printable ASCII, no spaces. */
const Credential = (description: string, example: string, min = 8) =>
	z
		.string()
		.min(min)
		.max(512)
		.regex(/^[\x21-\x7e]+$/, { message: "Printable characters without spaces" })
		.openapi({
			description: `${description}; stored encrypted and never shown again. The example is made up.`,
			example,
		});

const StartAt = z
	.enum(["now", "beginning"])
	.optional()
	.openapi({
		description:
			"`now` (the default): from the archive's current end, so events archived after the stream was added; " +
			"`beginning`: the whole archive first",
		example: "now",
	});

const HttpBearer = z.strictObject({
	type: z.literal("http").openapi({ description: "NDJSON POSTs of each archive object", example: "http" }),
	url: DestinationUrl("Where batches are POSTed", "https://logs.example.com/keyward"),
	auth: z.literal("bearer").openapi({ description: "Send `Authorization: Bearer <token>`", example: "bearer" }),
	token: Credential("The bearer token your receiver expects", "example-receiver-token-1234", 16),
	startAt: StartAt,
});

const HttpHmac = z.strictObject({
	type: z.literal("http").openapi({ description: "NDJSON POSTs of each archive object", example: "http" }),
	url: DestinationUrl("Where batches are POSTed", "https://logs.example.com/keyward"),
	auth: z.literal("hmac").openapi({
		description:
			"Sign each batch with `Keyward-Signature`, as webhooks are; Keyward makes the secret and returns it once",
		example: "hmac",
	}),
	startAt: StartAt,
});

const SplunkHec = z.strictObject({
	type: z.literal("splunk-hec").openapi({ description: "Splunk's HTTP Event Collector", example: "splunk-hec" }),
	url: DestinationUrl("The collector's event endpoint", "https://splunk.example.com:8088/services/collector/event"),
	token: Credential("The HEC token, sent as `Authorization: Splunk <token>`", "00000000-0000-0000-0000-000000000000"),
	index: z
		.string()
		.regex(/^[a-z0-9_][a-z0-9_-]{0,79}$/, { message: "A Splunk index name" })
		.optional()
		.openapi({ description: "The index to write to; the token's default when left out", example: "security" }),
	startAt: StartAt,
});

const Datadog = z.strictObject({
	type: z.literal("datadog").openapi({ description: "Datadog's logs intake (API v2)", example: "datadog" }),
	site: z
		.enum(DATADOG_SITES)
		.optional()
		.openapi({ description: "Your Datadog site; `datadoghq.com` when left out", example: "datadoghq.eu" }),
	apiKey: Credential("A Datadog API key, sent as `DD-API-KEY`", "0123456789abcdef0123456789abcdef", 16),
	startAt: StartAt,
});

const S3 = z.strictObject({
	type: z.literal("s3").openapi({ description: "Objects in your S3-compatible bucket", example: "s3" }),
	endpoint: DestinationUrl(
		"The bucket service's endpoint (path-style requests; no query or fragment)",
		"https://s3.eu-west-1.amazonaws.com",
	).refine(
		(value) => {
			try {
				const url = new URL(value);
				return url.search === "" && url.hash === "" && !value.includes("?") && !value.includes("#");
			} catch {
				return true; // the URL check above names it
			}
		},
		{ message: "An endpoint has no query or fragment: the bucket and object key are appended to its path" },
	),
	bucket: z
		.string()
		.regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, { message: "An S3 bucket name (3 to 63 of a-z, 0-9, '.', '-')" })
		.openapi({ description: "The bucket", example: "acme-keyward-audit" }),
	region: z
		.string()
		.regex(/^[a-z0-9-]{1,32}$/, { message: "A region such as eu-west-1 or auto" })
		.optional()
		.openapi({ description: "The signing region; `auto` when left out (R2)", example: "eu-west-1" }),
	prefix: z
		.string()
		.max(200)
		.regex(/^(?:[A-Za-z0-9_.=-]+\/)*$/, { message: "Folder names ending in '/', of A-Z, a-z, 0-9, '_', '.', '=', '-'" })
		.refine((p) => !p.split("/").some((part) => part === "." || part === ".."), { message: "No '.' or '..' folders" })
		.optional()
		.openapi({
			description: "Where in the bucket: objects go to `{prefix}{accountId}/{seq}.ndjson`",
			example: "keyward/",
		}),
	accessKeyId: z
		.string()
		.regex(/^[A-Za-z0-9]{8,128}$/, { message: "An access key id (8 to 128 letters and digits)" })
		.openapi({ description: "The access key id (not secret; shown in the stream)", example: "AKIAIOSFODNN7EXAMPLE" }),
	secretAccessKey: Credential("The secret access key", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", 16),
	startAt: StartAt,
});

export const CreateLogStreamBody = z
	.discriminatedUnion("type", [z.discriminatedUnion("auth", [HttpBearer, HttpHmac]), SplunkHec, Datadog, S3])
	.openapi("LogStreamCreate", {
		description: `A destination: \`type\` is one of ${STREAM_TYPES.map((t) => `\`${t}\``).join(", ")}`,
		example: { type: "http", url: "https://logs.example.com/keyward", auth: "hmac" },
	});

export const UpdateLogStreamBody = z.strictObject({
	enabled: z.boolean().openapi({
		description:
			"`false` pauses the stream; `true` resumes it where its cursor stands, with a fresh backoff (refused during a lockdown)",
		example: true,
	}),
});

export const LogStreamSchema = z
	.object({
		id: IssuedId("lgs", "The log stream's id"),
		type: z.enum(STREAM_TYPES).openapi({ description: "The destination's kind", example: "http" }),
		url: z.string().openapi({
			description: "Where batches go (for `s3`, the endpoint)",
			example: "https://logs.example.com/keyward",
		}),
		config: z.record(z.string(), z.string()).openapi({
			description:
				"The destination's settings that are not secret: `auth` (http), `index` (splunk-hec), `site` (datadog), " +
				"`bucket`, `region`, `prefix` and `accessKeyId` (s3)",
			example: { auth: "hmac" },
		}),
		enabled: z.boolean().openapi({ description: "False while paused or stopped", example: true }),
		disabledAt: Timestamp("When it was paused or stopped; null while enabled", "2026-03-09T09:30:00.000Z").nullable(),
		disabledReason: z
			.string()
			.nullable()
			.openapi({ description: "Why it was paused or stopped; null while enabled", example: null }),
		status: z.enum(["healthy", "failing", "disabled"]).openapi({
			description: "`failing` while its last attempt failed (it backs off and retries), `disabled` while paused",
			example: "healthy",
		}),
		cursor: z
			.object({
				seq: z.number().int().openapi({
					description: "The last archive object delivered (its chain seq; 0 before the first)",
					example: 42,
				}),
				deliveredObjects: z
					.number()
					.int()
					.openapi({ description: "Objects delivered since it was added", example: 12 }),
				deliveredEvents: z.number().int().openapi({ description: "Events in those objects", example: 311 }),
				lastDeliveredAt: Timestamp(
					"When the destination last accepted an object; null before the first",
					"2026-03-02T09:31:00.000Z",
				).nullable(),
			})
			.openapi({ description: "How far the copy has got" }),
		failures: z.number().int().openapi({ description: "Failed attempts in a row", example: 0 }),
		failingSince: Timestamp(
			"When the first of those failed; null while healthy",
			"2026-03-08T09:30:00.000Z",
		).nullable(),
		lastError: z.string().nullable().openapi({
			description:
				"Why the last attempt failed (`the destination answered 500`, `the destination timed out`, a broken archive chain, …)",
			example: null,
		}),
		nextAttemptAt: Timestamp(
			"While backing off, when the next attempt may start; null otherwise",
			"2026-03-08T09:31:00.000Z",
		).nullable(),
		createdAt: Timestamp(
			"When it was added, or last resumed (the resumer answers for it from then on)",
			"2026-03-02T09:30:00.000Z",
		),
		createdBy: IssuedId("usr", "Who added it, or last resumed it: it stops if they are demoted below admin or removed"),
	})
	.openapi("LogStream", {
		description: "A copy of the account's audit archive, kept at a destination of the account's",
	});

export const StreamSecretField = z
	.string()
	.nullable()
	.openapi({
		description:
			"For an `http` stream with `auth: hmac`, the signing secret, shown only here (`Keyward-Signature` as for webhooks); " +
			"null for every other stream. The example is made up.",
		example: "whsec_exampleexampleexampleexampleexampleexampleexampleexa",
	});
