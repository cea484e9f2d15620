import { z } from "@hono/zod-openapi";
import { securityReport } from "../accounts/security-report";
import type { App } from "../app";
import { accountRoute } from "./account-route";
import { AccountParams } from "./account-schemas";
import { jsonContent, problemResponses } from "./openapi-shared";

const CheckSchema = z
	.object({
		id: z.string(),
		status: z.enum(["pass", "warn", "fail"]),
		title: z.string(),
		detail: z.string(),
		items: z.array(z.string()).openapi({ description: "The offending key ids, user ids, invitation ids or windows" }),
	})
	.openapi("SecurityCheck");

export const securityReportRoute = accountRoute("report:read", {
	method: "get",
	path: "/v1/accounts/{accountId}/security-report",
	tags: ["Incident response"],
	summary: "The monthly security checklist, computed now from current data",
	request: { params: AccountParams },
	responses: {
		200: jsonContent(z.object({ generatedAt: z.string(), checks: z.array(CheckSchema) }), "The report"),
		...problemResponses(401, 403, 404),
	},
});

export function registerSecurityReport(app: App) {
	app.openapi(securityReportRoute, async (c) => {
		const { db, clock } = c.get("services");
		return c.json(await securityReport(c.env, db, c.req.valid("param").accountId, clock.now()), 200);
	});
}
