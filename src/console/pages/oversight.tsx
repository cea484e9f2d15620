/**
 * The oversight pages of the console: the audit log (filters and cursor
 * pagination, straight from GET …/audit-events), the security report, the
 * account settings, and lockdown behind a confirmation step.
 */
import type { App } from "../../platform/app-env";
import { apiPath, fieldErrors, type Problem } from "../client/api";
import { Field, Notice } from "../components/layout";
import {
	type ConsoleContext,
	formatTime,
	formOf,
	nav,
	problemText,
	renderPage,
	type SignedIn,
	withAccount,
} from "../components/render";
import { isReauthenticationRequired, reauthenticationPrompt } from "./reauth";

interface EventView {
	id: string;
	time: string;
	action: string;
	outcome: string;
	actor: { type: string; id: string | null; ip: string | null };
	target: { type: string; id: string } | null;
}
interface CheckView {
	id: string;
	status: string;
	title: string;
	detail: string;
	items: string[];
}

const FILTERS = ["action", "actorId", "keyId", "since", "until"] as const;

/**
 * A `datetime-local` value ("2026-05-01T10:00", no zone) read as UTC, as the page says. Anything
 * that is not a time goes to the API as typed, whose 400 names the field next to its input.
 */
function asUtcInstant(value: string): string {
	const parsed = new Date(/[zZ]|[+-]\d\d:\d\d$/.test(value) ? value : `${value}Z`);
	return Number.isNaN(parsed.getTime()) ? value : parsed.toISOString();
}

async function auditPage(c: ConsoleContext, me: SignedIn, accountId: string) {
	const query = new URLSearchParams();
	for (const name of [...FILTERS, "cursor"]) {
		const value = c.req.query(name);
		if (value) query.set(name, name === "since" || name === "until" ? asUtcInstant(value) : value);
	}
	query.set("limit", "50");
	const res = await me.api.call<{ data: EventView[]; nextCursor: string | null }>(
		"GET",
		apiPath`/v1/accounts/${accountId}/audit-events` + `?${query}`,
	);
	const errors = res.ok ? {} : fieldErrors(res.problem);
	const next = new URLSearchParams();
	for (const name of FILTERS) {
		const value = c.req.query(name);
		if (value) next.set(name, value);
	}
	if (res.ok && res.data.nextCursor) next.set("cursor", res.data.nextCursor);
	return renderPage(
		c,
		"Audit log",
		nav(accountId, "audit"),
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
			{!res.ok && <Notice kind="bad">{problemText(res.problem)}</Notice>}
			<section>
				<table>
					<caption class="muted">Newest first</caption>
					<thead>
						<tr>
							<th scope="col">Time</th>
							<th scope="col">Action</th>
							<th scope="col">Outcome</th>
							<th scope="col">Actor</th>
							<th scope="col">Target</th>
						</tr>
					</thead>
					<tbody>
						{(res.ok ? res.data.data : []).map((e) => (
							<tr>
								<td>{formatTime(e.time)}</td>
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
					</tbody>
				</table>
				{res.ok && res.data.nextCursor && <a href={`?${next}`}>Older events</a>}
			</section>
		</>,
		res.ok ? 200 : res.status,
	);
}

async function reportPage(c: ConsoleContext, me: SignedIn, accountId: string) {
	const res = await me.api.call<{ generatedAt: string; checks: CheckView[] }>(
		"GET",
		apiPath`/v1/accounts/${accountId}/security-report`,
	);
	return renderPage(
		c,
		"Security report",
		nav(accountId, "report"),
		res.ok ? (
			<>
				<p class="muted">Computed {formatTime(res.data.generatedAt)} from current data.</p>
				{res.data.checks.map((check) => (
					<section>
						<h2>
							<span class={`badge ${check.status}`}>{check.status}</span> {check.title}
						</h2>
						<p>{check.detail}</p>
						{check.items.length > 0 && (
							<ul>
								{check.items.map((item) => (
									<li>
										<code>{item}</code>
									</li>
								))}
							</ul>
						)}
					</section>
				))}
			</>
		) : (
			<Notice kind="bad">{problemText(res.problem)}</Notice>
		),
		res.ok ? 200 : res.status,
	);
}

const SETTINGS = [
	["sessionIdleMinutes", "Session idle timeout (minutes)"],
	["sessionMaxAgeHours", "Session lifetime (hours)"],
	["keyMaxLifetimeDays", "Longest key lifetime (days)"],
	["keyInactivityDays", "Revoke keys unused for (days)"],
	["rotationGraceHours", "Rotation grace period (hours)"],
	["failedLoginAlertThreshold", "Failed sign-ins that raise an alert"],
	["failedLoginAlertWindowMinutes", "…within (minutes)"],
] as const;

async function settingsPage(c: ConsoleContext, me: SignedIn, accountId: string, problem?: Problem | null) {
	const res = await me.api.call<{
		account: {
			name: string;
			settings: Record<string, unknown>;
			lockedDownAt: string | null;
			lockedDownReason: string | null;
		};
	}>("GET", apiPath`/v1/accounts/${accountId}`);
	if (!res.ok)
		return renderPage(
			c,
			"Settings",
			nav(accountId, "settings"),
			<Notice kind="bad">{problemText(res.problem)}</Notice>,
			res.status,
		);
	const { account } = res.data;
	const errors = fieldErrors(problem);
	const settingError = (name: string) =>
		errors.settings && problem?.errors?.find((e) => e.path === `settings.${name}`)?.message;
	return renderPage(
		c,
		"Settings",
		nav(accountId, "settings"),
		<>
			{c.req.query("done") && <Notice kind="ok">Saved.</Notice>}
			{account.lockedDownAt && (
				<Notice kind="bad">
					Locked down {formatTime(account.lockedDownAt)}: {account.lockedDownReason}
				</Notice>
			)}
			{problem && !problem.errors && <Notice kind="bad">{problemText(problem)}</Notice>}
			<section>
				<form method="post">
					<Field name="name" label="Account name" value={account.name} errors={errors} required />
					<label class="check">
						<input type="checkbox" name="requireMfa" checked={account.settings.requireMfa === true} /> Require
						two-factor for every member
					</label>
					<label class="check">
						<input type="checkbox" name="passwordComposition" checked={account.settings.passwordComposition === true} />{" "}
						Require mixed character classes in passwords
					</label>
					{SETTINGS.map(([name, label]) => (
						<div>
							<label for={name}>{label}</label>
							<input
								id={name}
								name={name}
								type="number"
								value={String(account.settings[name] ?? "")}
								aria-invalid={settingError(name) ? "true" : undefined}
								aria-describedby={settingError(name) ? `${name}-error` : undefined}
							/>
							{settingError(name) && (
								<p id={`${name}-error`} class="error">
									{settingError(name)}
								</p>
							)}
						</div>
					))}
					<button type="submit">Save settings</button>
				</form>
			</section>
			<section>
				<h2>Incident response</h2>
				<p>Lockdown signs every member out everywhere and revokes the keys you choose, at once.</p>
				<a href={`/console/a/${accountId}/lockdown`}>Lock this account down…</a>
			</section>
		</>,
		problem ? problem.status : 200,
	);
}

export function registerConsoleOversight(app: App) {
	app.get(
		"/console/a/:accountId/audit",
		withAccount(app, (c, me, accountId) => auditPage(c, me, accountId)),
	);
	app.get(
		"/console/a/:accountId/report",
		withAccount(app, (c, me, accountId) => reportPage(c, me, accountId)),
	);
	app.get(
		"/console/a/:accountId/settings",
		withAccount(app, (c, me, accountId) => settingsPage(c, me, accountId)),
	);

	app.post(
		"/console/a/:accountId/settings",
		withAccount(app, async (c, me, accountId) => {
			const form = await formOf(c);
			const settings: Record<string, unknown> = {
				requireMfa: form.requireMfa === "on",
				passwordComposition: form.passwordComposition === "on",
			};
			for (const [name] of SETTINGS) if (form[name]) settings[name] = Number(form[name]);
			const res = await me.api.call("PATCH", apiPath`/v1/accounts/${accountId}`, { name: form.name ?? "", settings });
			if (!res.ok && isReauthenticationRequired(res.problem))
				return reauthenticationPrompt(c, me, `/console/a/${accountId}/settings`, form);
			return res.ok
				? c.redirect(`/console/a/${accountId}/settings?done=1`, 303)
				: settingsPage(c, me, accountId, res.problem);
		}),
	);

	const LockdownConfirm = ({ accountId, problem }: { accountId: string; problem?: Problem | null }) => (
		<section>
			<Notice kind="bad">
				This signs out every member of this account, you included, on every device, and revokes the keys you choose. It
				cannot be undone.
			</Notice>
			{problem && <Notice kind="bad">{problemText(problem)}</Notice>}
			<form method="post" action={`/console/a/${accountId}/lockdown`}>
				<Field name="reason" label="Reason (recorded in the audit log)" errors={fieldErrors(problem)} required />
				<label for="revokeKeys">Keys to revoke</label>
				<select id="revokeKeys" name="revokeKeys">
					<option value="all">All keys</option>
					<option value="none">No keys</option>
				</select>
				<Field name="confirm" label='Type "LOCK DOWN" to confirm' autocomplete="off" required />
				<button type="submit" class="danger">
					Lock down now
				</button>
			</form>
		</section>
	);

	app.get(
		"/console/a/:accountId/lockdown",
		withAccount(app, async (c, _me, accountId) =>
			renderPage(c, "Lock down this account", nav(accountId, "settings"), <LockdownConfirm accountId={accountId} />),
		),
	);

	app.post(
		"/console/a/:accountId/lockdown",
		withAccount(app, async (c, me, accountId) => {
			const form = await formOf(c);
			if (form.confirm !== "LOCK DOWN") {
				const problem = {
					status: 400,
					title: "Not confirmed",
					errors: [{ path: "confirm", message: 'Type "LOCK DOWN" exactly' }],
				};
				return renderPage(
					c,
					"Lock down this account",
					nav(accountId, "settings"),
					<LockdownConfirm accountId={accountId} problem={problem} />,
					400,
				);
			}
			const res = await me.api.call<{ sessionsRevoked: number; keysRevoked: number }>(
				"POST",
				apiPath`/v1/accounts/${accountId}/lockdown`,
				{
					reason: form.reason ?? "",
					revokeKeys: form.revokeKeys === "none" ? "none" : "all",
				},
			);
			if (!res.ok)
				return renderPage(
					c,
					"Lock down this account",
					nav(accountId, "settings"),
					<LockdownConfirm accountId={accountId} problem={res.problem} />,
					res.status,
				);
			return renderPage(
				c,
				"Account locked down",
				null,
				<Notice kind="ok">
					{res.data.sessionsRevoked} sessions ended and {res.data.keysRevoked} keys revoked. Your session ended too:{" "}
					<a href="/console/sign-in">sign in again</a>.
				</Notice>,
			);
		}),
	);
}
