import { z } from "@hono/zod-openapi";
import { AccountParams } from "../accounts/schemas";
import { callerMembership } from "../middleware/authorize";
import type { App } from "../platform/app-env";
import { accountRoute } from "../routes/account-route";
import { jsonBody, jsonContent, problemResponses } from "../routes/openapi-shared";
import {
	CreateLogStreamBody,
	LogStreamParams,
	LogStreamSchema,
	StreamSecretField,
	UpdateLogStreamBody,
} from "./schemas";
import {
	addLogStream,
	findLogStream,
	listLogStreams,
	MAX_LOG_STREAMS_PER_ACCOUNT,
	publicLogStream,
	removeLogStream,
	setLogStreamEnabled,
} from "./streams";

export const createLogStreamRoute = accountRoute(
	"log-streams:manage",
	{
		method: "post",
		path: "/v1/accounts/{accountId}/log-streams",
		tags: ["Log streams"],
		summary: `Copy the account's audit archive to a SIEM or bucket (at most ${MAX_LOG_STREAMS_PER_ACCOUNT} streams)`,
		description:
			"Batches are archive objects, in chain order, at least once: each carries its chain header and " +
			"`Keyward-Batch: <stream>:<seq>` (deduplicate resends by it), so the copy verifies with " +
			"`npm run audit:verify -- --file <ndjson>`. The destination's credentials are stored encrypted and never returned.",
		request: { params: AccountParams, body: jsonBody(CreateLogStreamBody) },
		responses: {
			201: jsonContent(
				z.object({ logStream: LogStreamSchema, secret: StreamSecretField }),
				"Added; for an HMAC-signed stream, store the secret now",
			),
			...problemResponses(400, 401, 403, 404, 409, 413, 415, 423),
		},
	},
	// A stream is a channel out of the account carrying every event: not for a stolen session.
	{ grants: "webhook", reauthenticate: "add a log stream" },
);

export const listLogStreamsRoute = accountRoute("log-streams:manage", {
	method: "get",
	path: "/v1/accounts/{accountId}/log-streams",
	tags: ["Log streams"],
	summary: "The account's log streams, with how far each has got and whether it is failing (never their secrets)",
	request: { params: AccountParams },
	responses: {
		200: jsonContent(
			z.object({ data: z.array(LogStreamSchema).openapi({ description: "The streams, oldest first" }) }),
			"Log streams",
		),
		...problemResponses(401, 403, 404),
	},
});

export const getLogStreamRoute = accountRoute("log-streams:manage", {
	method: "get",
	path: "/v1/accounts/{accountId}/log-streams/{streamId}",
	tags: ["Log streams"],
	summary: "One log stream, with its cursor and its last error",
	request: { params: LogStreamParams },
	responses: {
		200: jsonContent(z.object({ logStream: LogStreamSchema }), "The log stream"),
		...problemResponses(401, 403, 404),
	},
});

export const updateLogStreamRoute = accountRoute(
	"log-streams:manage",
	{
		method: "patch",
		path: "/v1/accounts/{accountId}/log-streams/{streamId}",
		tags: ["Log streams"],
		summary: "Pause a log stream, or resume it where it stopped",
		request: { params: LogStreamParams, body: jsonBody(UpdateLogStreamBody) },
		responses: {
			200: jsonContent(z.object({ logStream: LogStreamSchema }), "Changed"),
			...problemResponses(400, 401, 403, 404, 409, 413, 415, 423),
		},
	},
	// Resuming opens a channel out; pausing silences the SIEM: not for a stolen session. The owner
	// may pause one during a lockdown (resuming stays refused, in the write itself).
	{ grants: "webhook", reauthenticate: "change a log stream", ownerWhileLockedDown: true },
);

export const deleteLogStreamRoute = accountRoute(
	"log-streams:manage",
	{
		method: "delete",
		path: "/v1/accounts/{accountId}/log-streams/{streamId}",
		tags: ["Log streams"],
		summary: "Remove a log stream; what it delivered stays at the destination",
		request: { params: LogStreamParams },
		responses: { 204: { description: "Removed" }, ...problemResponses(401, 403, 404) },
	},
	// Removing the SIEM's feed hides what follows: not for a stolen session.
	{ reauthenticate: "remove a log stream" },
);

export function registerLogStreams(app: App) {
	app.openapi(createLogStreamRoute, async (c) => {
		const { accountId } = c.req.valid("param");
		const input = c.req.valid("json");
		const { db, clock } = c.get("services");
		const createdBy = callerMembership(c, accountId).principal.userId;
		const deps = { env: c.env, db, sealingKey: c.env.TOTP_ENCRYPTION_KEY ?? "", now: clock.now() };
		const { row, secret } = await addLogStream(deps, accountId, createdBy, input);
		c.get("audit").record({
			action: "log_stream.created",
			target: { type: "log_stream", id: row.id },
			// The host only: a URL's path or query may carry the receiver's own token.
			metadata: { type: row.type, host: new URL(row.url).host, startAt: input.startAt ?? "now" },
		});
		return c.json({ logStream: publicLogStream(row), secret }, 201);
	});

	app.openapi(listLogStreamsRoute, async (c) => {
		const { db } = c.get("services");
		const rows = await listLogStreams(db, c.req.valid("param").accountId);
		return c.json({ data: rows.map(publicLogStream) }, 200);
	});

	app.openapi(getLogStreamRoute, async (c) => {
		const { accountId, streamId } = c.req.valid("param");
		const { db } = c.get("services");
		return c.json({ logStream: publicLogStream(await findLogStream(db, accountId, streamId)) }, 200);
	});

	app.openapi(updateLogStreamRoute, async (c) => {
		const { accountId, streamId } = c.req.valid("param");
		const { enabled } = c.req.valid("json");
		const { db, clock } = c.get("services");
		const actorId = callerMembership(c, accountId).principal.userId;
		const { after } = await setLogStreamEnabled({ db, now: clock.now() }, accountId, actorId, streamId, enabled);
		c.get("audit").record({
			action: "log_stream.updated",
			target: { type: "log_stream", id: after.id },
			metadata: { type: after.type, host: new URL(after.url).host, enabled },
		});
		return c.json({ logStream: publicLogStream(after) }, 200);
	});

	app.openapi(deleteLogStreamRoute, async (c) => {
		const { accountId, streamId } = c.req.valid("param");
		const { db } = c.get("services");
		const removed = await removeLogStream(db, accountId, streamId);
		c.get("audit").record({
			action: "log_stream.deleted",
			target: { type: "log_stream", id: removed.id },
			metadata: { type: removed.type, host: new URL(removed.url).host },
		});
		return c.body(null, 204);
	});
}
