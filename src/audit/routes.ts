import { z } from "@hono/zod-openapi";
import { AccountParams } from "../accounts/schemas";
import type { Database } from "../db";
import type { App } from "../platform/app-env";
import { openEvents } from "../privacy/events";
import { ApiError } from "../problems";
import { accountRoute } from "../routes/account-route";
import { Id, IssuedId, jsonContent, NextCursor, problemResponses, Timestamp } from "../routes/openapi-shared";
import { CursorQuery, LimitQuery } from "../routes/pagination";
import { archivePrefix, parseArchiveObject } from "./chain";
import { AUDIT_ACTIONS, type AuditEvent, publicAuditEvent } from "./event";
import { maskPersonalData, unmaskedRead } from "./masking";
import { listAuditEvents } from "./queries";

const DAY_MS = 24 * 3600 * 1000;
/** A keyset cursor after the example event (2026-03-02T09:14:07.512Z), as `encodeKeysetCursor` writes it. */
const EVENT_CURSOR_EXAMPLE = "eyJ0IjoxNzcyNDQyODQ3NTEyLCJpZCI6ImV2dF80bXo3a3EyeGg1d2Qzdm5hIn0";
const MAX_EXPORT_DAYS = 366;

export const AuditEventSchema = z
	.object({
		id: IssuedId("evt", "The event's id"),
		time: Timestamp("When it happened", "2026-03-02T09:30:00.000Z"),
		action: z.enum(AUDIT_ACTIONS).openapi({
			description:
				"What happened: `http.request` (every request to the API), or a named action such as `auth.login.failed`, " +
				"`key.created`, `key.revoked`, `member.role_changed` or `account.lockdown`",
			example: "key.created",
		}),
		outcome: z.enum(["success", "failure"]).openapi({
			description: "`success`, or `failure` for a refused or failed attempt",
			example: "success",
		}),
		actor: z
			.object({
				type: z.enum(["user", "key", "system"]).openapi({
					description:
						"`user` (a person; `id` is null when they were not signed in), `key` (an API key) or `system` " +
						"(scheduled work such as the sweeps)",
					example: "user",
				}),
				id: z.string().nullable().openapi({
					description: "The user's or key's id; null for the system or an anonymous request",
					example: "usr_7hd2kq5xm3wz6vpa",
				}),
				ip: z
					.string()
					.nullable()
					.openapi({ description: "The client address; null when unknown", example: "203.0.113.7" }),
				userAgent: z.string().nullable().openapi({
					description: "The client's User-Agent (first 256 characters); null when none was sent",
					example: "curl/8.7.1",
				}),
			})
			.openapi({ description: "Who did it" }),
		target: z
			.object({
				type: z.string().openapi({
					description: "What kind of thing: `key`, `user`, `session`, `account`, `invitation`, `webhook`, …",
					example: "key",
				}),
				id: z.string().openapi({ description: "Its id", example: "key_5tm2xq7kwz3dh4na" }),
			})
			.nullable()
			.openapi({ description: "What it was done to; null when nothing in particular" }),
		requestId: z.string().nullable().openapi({
			description: "The request that caused it (its `X-Request-Id`); null for scheduled work",
			example: "req_6f1c2d9a8b7e4c3fa2d15e0b9c8a7f64",
		}),
		metadata: z.record(z.string(), z.unknown()).openapi({
			description:
				"The action's details (changed fields, a key's scopes and last 4 characters, a request's method and " +
				"status, …). Never a secret, password, code or token.",
			example: {
				environment: "production",
				scopes: ["orders:read", "orders:write"],
				expiresAt: "2026-05-31T09:30:00.000Z",
				last4: "Xy9Z",
			},
		}),
	})
	.openapi("AuditEvent", { description: "One entry of the account's audit trail" });

const isoTime = z.iso.datetime({ offset: true }).transform((s) => new Date(s));
const ISO_TIME = "an ISO 8601 date and time with `Z` or an offset";

/** `key.` or `key.*`: every action under a family that exists (`key.created`, `key.revoked`, …). */
const ActionPrefix = z
	.string()
	.regex(/^[a-z_]+(\.[a-z_]+)*\.\*?$/)
	.transform((s) => s.replace(/\*$/, ""))
	.refine((prefix) => AUDIT_ACTIONS.some((a) => a.startsWith(prefix)), "No audit action starts with this prefix");

export const listAuditEventsRoute = accountRoute("audit:read", {
	method: "get",
	path: "/v1/accounts/{accountId}/audit-events",
	tags: ["Audit"],
	summary: "Audit events of the account, newest first",
	request: {
		params: AccountParams,
		query: z.strictObject({
			action: z
				.union([z.enum(AUDIT_ACTIONS), ActionPrefix], {
					error: "Must be an audit action (key.revoked) or a prefix ending in a dot (key. or key.*)",
				})
				.optional()
				.openapi({
					description:
						"Only events of this action (`key.revoked`), or of every action under a prefix ending in a dot " +
						"(`key.` or `key.*`: key.created, key.rotated, key.revoked, …). A prefix no action starts with is a 400.",
					example: "key.",
				}),
			requests: z
				.enum(["include", "exclude"])
				.default("include")
				.openapi({
					description:
						"`exclude` leaves out the one-per-request events (`http.request`, `key.verified`), for a log of " +
						"security events only; `include` (the default) keeps every event",
					example: "exclude",
				}),
			actorId: z
				.union([Id("usr"), Id("key"), z.literal("system")])
				.optional()
				.openapi({
					description: "Only events by this actor: a user id, a key id, or `system`",
					example: "usr_7hd2kq5xm3wz6vpa",
				}),
			keyId: Id("key")
				.optional()
				.openapi({ description: "Only events about this key: as their target, in their metadata, or as the actor" }),
			since: isoTime
				.optional()
				.openapi({ description: `Only events at or after this time: ${ISO_TIME}`, example: "2026-03-01T00:00:00Z" }),
			until: isoTime
				.optional()
				.openapi({ description: `Only events at or before this time: ${ISO_TIME}`, example: "2026-03-02T23:59:59Z" }),
			limit: LimitQuery,
			cursor: CursorQuery(EVENT_CURSOR_EXAMPLE),
		}),
	},
	responses: {
		200: jsonContent(
			z.object({
				data: z.array(AuditEventSchema).openapi({ description: "The events, newest first" }),
				nextCursor: NextCursor(EVENT_CURSOR_EXAMPLE),
			}),
			"A page of events",
		),
		...problemResponses(400, 401, 403, 404),
	},
});

export const exportAuditEventsRoute = accountRoute("audit:read", {
	method: "get",
	path: "/v1/accounts/{accountId}/audit-events/export",
	tags: ["Audit"],
	summary: "Archived audit events as NDJSON, oldest first, read from the tamper-evident archive",
	request: {
		params: AccountParams,
		query: z.strictObject({
			since: isoTime.optional().openapi({
				description: `The start of the range (${ISO_TIME}); default 30 days before \`until\``,
				example: "2026-02-01T00:00:00Z",
			}),
			until: isoTime.optional().openapi({
				description: `The end of the range (${ISO_TIME}); default now. At most 366 days after \`since\`.`,
				example: "2026-03-01T00:00:00Z",
			}),
		}),
	},
	responses: {
		200: {
			description: "One event per line (default range: the last 30 days; at most 366 days)",
			content: { "application/x-ndjson": { schema: z.string() } },
		},
		...problemResponses(400, 401, 403, 404),
	},
});

export function registerAuditEvents(app: App) {
	app.openapi(listAuditEventsRoute, async (c) => {
		const { accountId } = c.req.valid("param");
		const q = c.req.valid("query");
		const page = await listAuditEvents(c.get("services").db, c.env.PII_WRAPPING_KEY ?? "", accountId, q);
		if (!unmaskedRead(c, accountId, "audit-events", page.data.length)) page.data = maskPersonalData(page.data);
		return c.json(page, 200);
	});

	app.openapi(exportAuditEventsRoute, async (c) => {
		const { accountId } = c.req.valid("param");
		const q = c.req.valid("query");
		const until = q.until ?? c.get("services").clock.now();
		const since = q.since ?? new Date(until.getTime() - 30 * DAY_MS);
		if (since > until || until.getTime() - since.getTime() > MAX_EXPORT_DAYS * DAY_MS) {
			throw new ApiError("validation", {
				detail: `since must be before until, at most ${MAX_EXPORT_DAYS} days apart`,
				errors: [{ path: "since", message: "Out of range" }],
			});
		}
		const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
		// Not waitUntil: the runtime keeps the request alive while its body streams, and waiting
		// on the pump before the body is read would deadlock on the stream's backpressure.
		const whole = unmaskedRead(c, accountId, "audit-export", null);
		void streamArchive(
			{ bucket: c.env.AUDIT_ARCHIVE, db: c.get("services").db, wrappingKey: c.env.PII_WRAPPING_KEY ?? "" },
			accountId,
			since,
			until,
			writable,
			whole,
		);
		return new Response(readable, {
			status: 200,
			headers: { "Content-Type": "application/x-ndjson; charset=utf-8", "Cache-Control": "no-store" },
		}) as never;
	});
}

/**
 * Objects are dated by their archive write, which is never before the events
 * they hold, so listing starts at the `since` day and reads to the end.
 */
async function streamArchive(
	{ bucket, db, wrappingKey }: { bucket: R2Bucket; db: Database; wrappingKey: string },
	accountId: string,
	since: Date,
	until: Date,
	writable: WritableStream<Uint8Array>,
	whole: boolean,
): Promise<void> {
	const writer = writable.getWriter();
	const encoder = new TextEncoder();
	const prefix = archivePrefix(accountId);
	const day = since.toISOString();
	let cursor: string | undefined;
	try {
		do {
			const page = await bucket.list({
				prefix,
				cursor,
				startAfter: cursor ? undefined : `${prefix}${day.slice(0, 4)}/${day.slice(5, 7)}/${day.slice(8, 10)}/`,
			});
			for (const object of page.objects) {
				const body = await bucket.get(object.key);
				const parsed = body ? parseArchiveObject(await body.text()) : null;
				if (!parsed) continue;
				const inRange = parsed.lines
					.map((line) => JSON.parse(line) as AuditEvent)
					.filter((e) => {
						const t = new Date(e.time);
						return t >= since && t <= until;
					});
				const lines = (await openEvents(db, wrappingKey, inRange))
					.map((e) => publicAuditEvent(e))
					.map((e) => `${JSON.stringify(whole ? e : maskPersonalData(e))}\n`);
				if (lines.length > 0) await writer.write(encoder.encode(lines.join("")));
			}
			cursor = page.truncated ? page.cursor : undefined;
		} while (cursor);
		await writer.close();
	} catch (err) {
		await writer.abort(err);
	}
}
