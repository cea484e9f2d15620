/** The audit log in the console: filters and cursor pagination, straight from GET …/audit-events. */
import type { App } from "../../platform/app-env";
import { fieldErrors, type KeywardClient } from "../client/api";
import { Field, Notice, Table } from "../components/layout";
import * as ui from "../components/render";

type AuditQuery = NonNullable<Parameters<KeywardClient["auditEvents"]["list"]>[0]["query"]>;

const FILTERS = ["action", "actorId", "keyId", "since", "until"] as const;

/**
 * A `datetime-local` value ("2026-05-01T10:00", no zone) read as UTC, as the page says. Anything
 * that is not a time goes to the API as typed, whose 400 names the field next to its input.
 */
function asUtcInstant(value: string): string {
	const parsed = new Date(/[zZ]|[+-]\d\d:\d\d$/.test(value) ? value : `${value}Z`);
	return Number.isNaN(parsed.getTime()) ? value : parsed.toISOString();
}

async function auditPage(c: ui.ConsoleContext, me: ui.SignedIn, accountId: string) {
	const query: Record<string, string> = {};
	for (const name of [...FILTERS, "cursor"]) {
		const value = c.req.query(name);
		if (value) query[name] = name === "since" || name === "until" ? asUtcInstant(value) : value;
	}
	// As typed: the API validates each filter and names the bad one.
	const res = await me.api.call((api) =>
		api.auditEvents.list({ accountId, query: { ...(query as AuditQuery), limit: 50 } }),
	);
	const errors = res.ok ? {} : fieldErrors(res.problem);
	const next = new URLSearchParams();
	for (const name of FILTERS) {
		const value = c.req.query(name);
		if (value) next.set(name, value);
	}
	if (res.ok && res.data.nextCursor) next.set("cursor", res.data.nextCursor);
	return ui.renderPage(
		c,
		"Audit log",
		ui.nav(accountId, "audit"),
		<>
			<section>
				<form method="get" class="row">
					<Field name="action" label="Action" value={c.req.query("action")} errors={errors} />
					<Field name="actorId" label="Actor id" value={c.req.query("actorId")} errors={errors} />
					<Field name="keyId" label="Key id" value={c.req.query("keyId")} errors={errors} />
					<Field name="since" label="Since" type="datetime-local" value={c.req.query("since")} errors={errors} />
					<Field name="until" label="Until" type="datetime-local" value={c.req.query("until")} errors={errors} />
					<button type="submit">Filter</button>
				</form>
			</section>
			{!res.ok && <Notice kind="bad">{ui.problemText(res.problem)}</Notice>}
			<section>
				<Table caption="Newest first" columns={["Time", "Action", "Outcome", "Actor", "Target"]}>
					{(res.ok ? res.data.data : []).map((e) => (
						<tr>
							<td>{ui.formatTime(e.time)}</td>
							<td>
								<code>{e.action}</code>
							</td>
							<td>{e.outcome}</td>
							<td>
								{e.actor.type} {e.actor.id ?? ""} {e.actor.ip ? `(${e.actor.ip})` : ""}
							</td>
							<td>{e.target ? `${e.target.type} ${e.target.id}` : "—"}</td>
						</tr>
					))}
				</Table>
				{res.ok && res.data.nextCursor && <a href={`?${next}`}>Older events</a>}
			</section>
		</>,
		res.ok ? 200 : res.status,
	);
}

export function registerConsoleAuditLog(app: App) {
	app.get(
		"/console/a/:accountId/audit",
		ui.withAccount(app, (c, me, accountId) => auditPage(c, me, accountId)),
	);
}
