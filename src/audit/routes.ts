import { z } from "@hono/zod-openapi";
import { AccountParams } from "../accounts/schemas";
import type { App } from "../platform/app-env";
import { ApiError } from "../problems";
import { accountRoute } from "../routes/account-route";
import { Id, jsonContent, problemResponses } from "../routes/openapi-shared";
import { archivePrefix, parseArchiveObject } from "./chain";
import { AUDIT_ACTIONS, type AuditEvent, publicAuditEvent } from "./event";
import { listAuditEvents } from "./queries";

const DAY_MS = 24 * 3600 * 1000;
const MAX_EXPORT_DAYS = 366;

export const AuditEventSchema = z
	.object({
		id: z.string(),
		time: z.string().openapi({ format: "date-time" }),
		action: z.enum(AUDIT_ACTIONS),
		outcome: z.enum(["success", "failure"]),
		actor: z.object({
			type: z.enum(["user", "key", "system"]),
			id: z.string().nullable(),
			ip: z.string().nullable(),
			userAgent: z.string().nullable(),
		}),
		target: z.object({ type: z.string(), id: z.string() }).nullable(),
		requestId: z.string().nullable(),
		metadata: z.record(z.string(), z.unknown()),
	})
	.openapi("AuditEvent");

const isoTime = z.iso.datetime({ offset: true }).transform((s) => new Date(s));

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
				.optional(),
			requests: z.enum(["include", "exclude"]).default("include"),
			actorId: z.union([Id("usr"), Id("key"), z.literal("system")]).optional(),
			keyId: Id("key").optional(),
			since: isoTime.optional(),
			until: isoTime.optional(),
			limit: z.coerce.number().int().min(1).max(100).default(50),
			cursor: z.string().min(1).max(200).optional(),
		}),
	},
	responses: {
		200: jsonContent(
			z.object({ data: z.array(AuditEventSchema), nextCursor: z.string().nullable() }),
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
		query: z.strictObject({ since: isoTime.optional(), until: isoTime.optional() }),
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
		return c.json(await listAuditEvents(c.get("services").db, accountId, q), 200);
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
		void streamArchive(c.env.AUDIT_ARCHIVE, accountId, since, until, writable);
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
	bucket: R2Bucket,
	accountId: string,
	since: Date,
	until: Date,
	writable: WritableStream<Uint8Array>,
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
				const lines = parsed.lines
					.map((line) => JSON.parse(line) as AuditEvent)
					.filter((e) => {
						const t = new Date(e.time);
						return t >= since && t <= until;
					})
					.map((e) => `${JSON.stringify(publicAuditEvent(e))}\n`);
				if (lines.length > 0) await writer.write(encoder.encode(lines.join("")));
			}
			cursor = page.truncated ? page.cursor : undefined;
		} while (cursor);
		await writer.close();
	} catch (err) {
		await writer.abort(err);
	}
}
