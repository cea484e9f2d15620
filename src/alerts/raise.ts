import type { Context } from "hono";
import type { AppEnv } from "../platform/app-env";
import { type Alert, alertAuditInput, deliverAlert } from "./";

/**
 * Raises an alert from a route: its audit event joins the request's trail at
 * once; the email runs after the response (waitUntil), so
 * a slow mail provider never delays the answer (a key's one-time secret, say).
 */
export function raiseAlertFrom(c: Context<AppEnv>, alert: Alert): void {
	const { db, clock, mailer } = c.get("services");
	c.get("audit").record(alertAuditInput(alert));
	c.executionCtx.waitUntil(deliverAlert({ db, clock, mailer }, alert));
}
