import { createRoute, z } from "@hono/zod-openapi";
import { requireRecentAuthentication } from "../auth/recent-auth";
import { requireUser } from "../middleware/authorize";
import type { App } from "../platform/app-env";
import { ApiError } from "../problems";
import { problemResponses } from "../routes/openapi-shared";
import { EXPORT_FORMAT, exportHead, exportStream, personalAuditEvents } from "./export";
import { getUser } from "./users";

export const exportMeRoute = createRoute({
	method: "get",
	path: "/v1/me/export",
	tags: ["Me"],
	summary: "Everything Keyward holds about you, as one JSON document (needs a recent proof of identity)",
	description:
		`A \`${EXPORT_FORMAT}\` document, streamed: \`user\`, \`secondFactors\` (never a secret), \`memberships\`, ` +
		"`sessions`, `invitations` (received and sent), `keys` you made (never a secret or hash) and `auditEvents` you " +
		"acted in or were the target of, oldest first, from the audit index (older events are in the archive). Where " +
		"someone else acted on you, their address is masked and their browser left out. The export is itself audited.",
	middleware: [requireUser(), requireRecentAuthentication("export your data")] as const,
	responses: {
		200: {
			description: "The document (application/json, streamed)",
			content: {
				"application/json": {
					schema: z
						.object({})
						.passthrough()
						.openapi({
							description: "The export document; see the route's description for its fields",
							example: { format: EXPORT_FORMAT, version: 1, exportedAt: "2026-03-02T09:30:00.000Z" },
						}),
				},
			},
		},
		...problemResponses(401, 403),
	},
});

export function registerExport(app: App) {
	app.openapi(exportMeRoute, async (c) => {
		const principal = c.get("principal");
		const { db, clock } = c.get("services");
		const user = principal ? await getUser(db, principal.userId) : undefined;
		if (!user) throw new ApiError("unauthorized");
		const head = await exportHead(c.env, db, user, clock.now());
		c.get("audit").record({
			action: "auth.data_exported",
			target: { type: "user", id: user.id },
			metadata: { memberships: head.memberships.length, keys: head.keys.length },
		});
		return new Response(exportStream(head, user.id, personalAuditEvents(db, c.env.PII_WRAPPING_KEY ?? "", user.id)), {
			status: 200,
			headers: {
				"Content-Type": "application/json; charset=utf-8",
				"Content-Disposition": 'attachment; filename="keyward-export.json"',
				"Cache-Control": "no-store",
			},
		}) as never;
	});
}
