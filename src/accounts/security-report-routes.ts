import { z } from "@hono/zod-openapi";
import type { App } from "../platform/app-env";
import { accountRoute } from "../routes/account-route";
import { jsonContent, problemResponses } from "../routes/openapi-shared";
import { AccountParams } from "./schemas";
import { securityReport } from "./security-report";

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
