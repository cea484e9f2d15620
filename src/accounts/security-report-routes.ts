import { z } from "@hono/zod-openapi";
import type { App } from "../platform/app-env";
import { accountRoute } from "../routes/account-route";
import { IssuedId, jsonContent, problemResponses, Timestamp } from "../routes/openapi-shared";
import { AccountParams } from "./schemas";
import { securityReport } from "./security-report";

const CheckSchema = z
	.object({
		id: z.string().openapi({
			description:
				"Which check: `members_with_breached_passwords`, `members_without_mfa`, `members_without_passkey`, " +
				"`keys_older_than_policy`, `keys_expiring_soon`, `keys_inactive`, `production_wildcard_scopes`, `keys_of_former_members`, " +
				"`failed_login_spikes`, `stale_invitations`, `log_streams_failing` or `owner_admin_count`",
			example: "members_without_mfa",
		}),
		status: z.enum(["pass", "warn", "fail"]).openapi({
			description: "`pass`, `warn` (worth a look) or `fail` (fix it)",
			example: "fail",
		}),
		title: z.string().openapi({
			description: "What the check asks for, in a sentence",
			example: "Every member uses two-factor authentication",
		}),
		detail: z.string().openapi({
			description: "What the result means and what to do",
			example: "These members sign in with a password alone. Set mfaPolicy, or ask them to add a passkey or TOTP.",
		}),
		items: z.array(z.string()).openapi({
			description: "The offending key ids, user ids, invitation ids or windows",
			example: ["usr_7hd2kq5xm3wz6vpa"],
		}),
	})
	.openapi("SecurityCheck", { description: "One check of the security report" });

export const securityReportRoute = accountRoute("report:read", {
	method: "get",
	path: "/v1/accounts/{accountId}/security-report",
	tags: ["Incident response"],
	summary: "The monthly security checklist, computed now from current data",
	request: { params: AccountParams },
	responses: {
		200: jsonContent(
			z.object({
				generatedAt: Timestamp("When the report was computed: at this request", "2026-03-02T09:30:00.000Z"),
				checks: z.array(CheckSchema).openapi({ description: "Every check, in a fixed order" }),
				memberFactors: z
					.array(
						z
							.object({
								userId: IssuedId("usr", "The member's user id"),
								strongestFactor: z.enum(["passkey", "totp", "password"]).openapi({
									description: "`passkey`, `totp` (password and authenticator app) or `password` alone",
									example: "passkey",
								}),
							})
							.openapi({ description: "One member's strongest factor" }),
					)
					.openapi({ description: "Each member's strongest sign-in factor, in joining order" }),
				serviceAccounts: z
					.array(
						z
							.object({
								id: IssuedId("svc", "The service account's id"),
								name: z.string().openapi({ description: "Its name", example: "billing-worker" }),
								role: z.enum(["admin", "member", "readonly"]).openapi({ description: "Its role", example: "member" }),
								liveKeys: z.number().openapi({ description: "Its live keys", example: 2 }),
								oldestKeyAgeDays: z.number().nullable().openapi({
									description: "The age in days of its oldest live key; null without live keys",
									example: 41,
								}),
								lastKeyUsedAt: z.string().nullable().openapi({
									format: "date-time",
									description: "The last use of any of its live keys; null if none",
									example: "2026-03-01T12:00:00.000Z",
								}),
								idle: z.boolean().openapi({
									description:
										"No key of it used for 90 days (counted from its creation when never used): the `service_accounts_idle` check",
									example: false,
								}),
							})
							.openapi({ description: "One service account's keys and their use" }),
					)
					.openapi({ description: "Every service account, with its keys' ages and last use" }),
				logStreams: z
					.array(
						z
							.object({
								id: IssuedId("lgs", "The log stream's id"),
								type: z
									.enum(["http", "splunk-hec", "datadog", "s3"])
									.openapi({ description: "The destination's kind", example: "splunk-hec" }),
								host: z.string().openapi({ description: "Where it delivers", example: "splunk.example.com:8088" }),
								status: z.enum(["healthy", "failing", "disabled"]).openapi({
									description: "`failing` while it backs off after failed attempts, `disabled` while stopped",
									example: "healthy",
								}),
								deliveredEvents: z
									.number()
									.openapi({ description: "Events delivered since it was added", example: 311 }),
								lastDeliveredAt: Timestamp(
									"When the destination last accepted a batch; null before the first",
									"2026-03-02T09:31:00.000Z",
								).nullable(),
								failingSince: Timestamp(
									"When its current run of failures began; null while healthy",
									"2026-03-01T09:31:00.000Z",
								).nullable(),
								lastError: z.string().nullable().openapi({
									description: "Why its last attempt failed, or why it was stopped; null while healthy",
									example: null,
								}),
							})
							.openapi({ description: "One log stream's delivery standing" }),
					)
					.openapi({ description: "Every log stream and whether it delivers (the `log_streams_failing` check)" }),
			}),
			"The report",
		),
		...problemResponses(401, 403, 404),
	},
});

export function registerSecurityReport(app: App) {
	app.openapi(securityReportRoute, async (c) => {
		const { db, clock } = c.get("services");
		return c.json(await securityReport(c.env, db, c.req.valid("param").accountId, clock.now()), 200);
	});
}
