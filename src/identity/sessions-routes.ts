import { createRoute, z } from "@hono/zod-openapi";
import { assertRecentAuthentication, requireRecentAuthentication } from "../auth/recent-auth";
import { userSessions } from "../durable/address";
import { requireUser } from "../middleware/authorize";
import type { App } from "../platform/app-env";
import { ApiError } from "../problems";
import { Id, IssuedId, jsonContent, problemResponses, Timestamp } from "../routes/openapi-shared";
import { publicSession } from "./sessions";

const SessionView = z
	.object({
		id: IssuedId("ses", "The session's id"),
		current: z.boolean().openapi({ description: "True for the session this request came with", example: true }),
		createdAt: Timestamp("When it started (the sign-in)", "2026-03-02T09:30:00.000Z"),
		lastSeenAt: Timestamp("When it was last used (recorded at most once a minute)", "2026-03-02T09:52:13.000Z"),
		expiresAt: Timestamp(
			"When it ends unless used again: the earlier of the end of its lifetime and its last use plus the idle timeout",
			"2026-03-02T10:22:13.000Z",
		),
		ip: z
			.string()
			.nullable()
			.openapi({ description: "The address it signed in from; null when unknown", example: "203.0.113.7" }),
		userAgent: z.string().nullable().openapi({
			description: "The User-Agent it signed in with (first 256 characters); null when none was sent",
			example:
				"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
		}),
		country: z.string().nullable().openapi({
			description: "The country it signed in from, as Cloudflare tells it (two letters); null when unknown",
			example: "GB",
		}),
	})
	.openapi("Session", { description: "A live session of the signed-in user. Its token is never shown again." });

export const listSessionsRoute = createRoute({
	method: "get",
	path: "/v1/me/sessions",
	tags: ["Me"],
	summary: "Your live sessions, newest first",
	middleware: [requireUser()] as const,
	responses: {
		200: jsonContent(
			z.object({ data: z.array(SessionView).openapi({ description: "The live sessions, newest first" }) }),
			"Sessions",
		),
		...problemResponses(401),
	},
});

export const revokeSessionRoute = createRoute({
	method: "delete",
	path: "/v1/me/sessions/{sessionId}",
	tags: ["Me"],
	summary: "End one of your sessions; refused on its very next request",
	middleware: [requireUser()] as const,
	request: {
		params: z.strictObject({
			sessionId: Id("ses").openapi({
				description:
					"The session to end: one of yours (GET /v1/me/sessions). Ending another than the current one needs a " +
					"proof of identity from the last ten minutes (`POST /v1/me/reauthenticate`).",
			}),
		}),
	},
	responses: { 204: { description: "Ended" }, ...problemResponses(401, 403, 404) },
});

export const revokeOthersRoute = createRoute({
	method: "post",
	path: "/v1/me/sessions/revoke-others",
	tags: ["Me"],
	summary: "End every session but this one",
	description: "Needs a proof of identity from the last ten minutes (`POST /v1/me/reauthenticate`).",
	middleware: [requireUser(), requireRecentAuthentication("end your other sessions")] as const,
	responses: {
		200: jsonContent(
			z.object({ revoked: z.number().int().openapi({ description: "How many sessions ended", example: 3 }) }),
			"How many ended",
		),
		...problemResponses(401, 403),
	},
});

export function registerMeSessions(app: App) {
	app.openapi(listSessionsRoute, async (c) => {
		const principal = c.get("principal");
		if (!principal) throw new ApiError("unauthorized");
		const sessions = await userSessions(c.env, principal.userId).listSessions(c.get("services").clock.now().getTime());
		return c.json({ data: sessions.map((s) => publicSession(s, principal.sessionId)) }, 200);
	});

	app.openapi(revokeSessionRoute, async (c) => {
		const principal = c.get("principal");
		if (!principal) throw new ApiError("unauthorized");
		const { sessionId } = c.req.valid("param");
		// Ending another of one's sessions needs a fresh proof (ASVS 7.5.2): a stolen session must not
		// be able to sign its owner out. Ending this one is a logout, and needs none.
		if (sessionId !== principal.sessionId) assertRecentAuthentication(c, "end another of your sessions");
		if (!(await userSessions(c.env, principal.userId).revokeSession(sessionId))) {
			throw new ApiError("not-found", { detail: "No such session" });
		}
		c.get("audit").record({
			action: "session.revoked",
			target: { type: "session", id: sessionId },
			metadata: { reason: "revoked" },
		});
		return c.body(null, 204);
	});

	app.openapi(revokeOthersRoute, async (c) => {
		const principal = c.get("principal");
		if (!principal) throw new ApiError("unauthorized");
		const revoked = await userSessions(c.env, principal.userId).revokeSessionsExcept(principal.sessionId ?? null);
		c.get("audit").record({ action: "session.revoked", metadata: { reason: "revoke_others", count: revoked } });
		return c.json({ revoked }, 200);
	});
}
