/**
 * The audit log in the console, straight from GET …/audit-events: security events by default
 * (per-request rows behind a checkbox), filters (an action or a prefix such as `key.`), actors and
 * targets by name, each row opening to its full event, cursor pagination, and an NDJSON export.
 */
import type { App } from "../../platform/app-env";
import { fieldErrors, type KeywardClient } from "../client/api";
import { Field, Notice, Table } from "../components/layout";
import { actorOf, namesOf, targetOf } from "../components/names";
import * as ui from "../components/render";

type AuditQuery = NonNullable<Parameters<KeywardClient["auditEvents"]["list"]>[0]["query"]>;

const FILTERS = ["action", "actorId", "keyId", "since", "until", "requests"] as const;

/**
 * A `datetime-local` value ("2026-05-01T10:00", no zone) read as UTC, as the page says. Anything
 * that is not a time goes to the API as typed, whose 400 names the field next to its input.
 */
function asUtcInstant(value: string): string {
	const parsed = new Date(/[zZ]|[+-]\d\d:\d\d$/.test(value) ? value : `${value}Z`);
	return Number.isNaN(parsed.getTime()) ? value : parsed.toISOString();
}

/** The filters of this page's URL, as the API takes them; per-request events are left out unless asked for. */
function queryOf(c: ui.ConsoleContext): Record<string, string> {
	const query: Record<string, string> = { requests: "exclude" };
	for (const name of [...FILTERS, "cursor"]) {
		const value = c.req.query(name);
		if (value) query[name] = name === "since" || name === "until" ? asUtcInstant(value) : value;
	}
	return query;
}

async function auditPage(c: ui.ConsoleContext, me: ui.SignedIn, accountId: string) {
	const query = queryOf(c);
	// As typed: the API validates each filter and names the bad one.
	const [res, names] = await Promise.all([
		me.api.call((api) => api.auditEvents.list({ accountId, query: { ...(query as AuditQuery), limit: 50 } })),
		namesOf(me, accountId),
	]);
	const errors = res.ok ? {} : fieldErrors(res.problem);
	const kept = new URLSearchParams();
	for (const name of FILTERS) {
		const value = c.req.query(name);
		if (value) kept.set(name, value);
	}
	const next = new URLSearchParams(kept);
	if (res.ok && res.data.nextCursor) next.set("cursor", res.data.nextCursor);
	const exportQuery = new URLSearchParams();
	for (const name of ["since", "until"] as const) if (query[name]) exportQuery.set(name, query[name]);
	const filtered = FILTERS.some((name) => name !== "requests" && c.req.query(name));
	return ui.renderPage(
		c,
		"Audit log",
		ui.nav(accountId, "audit"),
		<>
			<section>
				<form method="get">
					<div class="row">
						<Field
							name="action"
							label="Action"
							value={c.req.query("action")}
							hint="An action (key.revoked) or a prefix (key.)"
							errors={errors}
						/>
						<Field name="actorId" label="Actor id" value={c.req.query("actorId")} errors={errors} />
						<Field name="keyId" label="Key id" value={c.req.query("keyId")} errors={errors} />
						<Field
							name="since"
							label="Since (UTC)"
							type="datetime-local"
							value={c.req.query("since")}
							errors={errors}
						/>
						<Field
							name="until"
							label="Until (UTC)"
							type="datetime-local"
							value={c.req.query("until")}
							errors={errors}
						/>
					</div>
					<label class="check">
						<input type="checkbox" name="requests" value="include" checked={query.requests === "include"} />
						Also show one row per request (http.request, key.verified)
					</label>
					<div class="actions">
						<button type="submit">Filter</button>
						<a href={`/console/a/${accountId}/audit/export${exportQuery.size ? `?${exportQuery}` : ""}`}>
							Export the archive (NDJSON, {exportQuery.size ? "the dates above" : "last 30 days"})
						</a>
					</div>
				</form>
			</section>
			{!res.ok && <Notice kind="bad">{ui.problemText(res.problem)}</Notice>}
			<section>
				<Table
					caption="Newest first"
					columns={["Time", "Action", "Outcome", "Actor", "Target", "Event"]}
					empty={
						filtered
							? "No events match these filters."
							: "No security events yet. Creating a key, inviting someone or changing a setting each leaves one here."
					}
					rows={(res.ok ? res.data.data : []).map((e) => [
						ui.formatTime(e.time),
						<code>{e.action}</code>,
						e.outcome === "failure" ? <span class="badge fail">failure</span> : "success",
						actorOf(e, names),
						targetOf(e, names),
						<details>
							<summary>Full event</summary>
							<pre class="event">{JSON.stringify(e, null, 2)}</pre>
						</details>,
					])}
				/>
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

	// The archive as a file: the API's export, streamed through with a download name.
	app.get(
		"/console/a/:accountId/audit/export",
		ui.withAccount(app, async (c, me, accountId) => {
			const query = new URLSearchParams();
			for (const name of ["since", "until"] as const) {
				const value = c.req.query(name);
				if (value) query.set(name, asUtcInstant(value));
			}
			const res = await me.api.raw(`/v1/accounts/${accountId}/audit-events/export?${query}`);
			if (!res.ok) {
				const problem = await res.json<{ title: string; detail?: string }>();
				return ui.renderPage(
					c,
					"Export failed",
					ui.nav(accountId, "audit"),
					<Notice kind="bad">{ui.problemText(problem)}</Notice>,
					res.status,
				);
			}
			const day = c.get("services").clock.now().toISOString().slice(0, 10);
			return new Response(res.body, {
				headers: {
					"Content-Type": "application/x-ndjson; charset=utf-8",
					"Content-Disposition": `attachment; filename="keyward-audit-${accountId}-${day}.ndjson"`,
					"Cache-Control": "no-store",
				},
			});
		}),
	);
}
