import type { Context } from "hono";
import { type Alert, raiseAlert } from "../alerts";
import type { AppEnv } from "../app-env";

/** Raises an alert from a route: its audit event joins the request's trail, its deliveries use the request's services. */
export function raiseAlertFrom(c: Context<AppEnv>, alert: Alert): Promise<void> {
	const { db, clock, mailer } = c.get("services");
	return raiseAlert({ env: c.env, db, clock, mailer, record: (input) => c.get("audit").record(input) }, alert);
}
