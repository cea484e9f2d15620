/** The security report in the console: each check with its status and the items it found. */
import type { App } from "../../platform/app-env";
import { Notice } from "../components/layout";
import * as ui from "../components/render";

async function reportPage(c: ui.ConsoleContext, me: ui.SignedIn, accountId: string) {
	const res = await me.api.call((api) => api.accounts.securityReport({ accountId }));
	return ui.renderPage(
		c,
		"Security report",
		ui.nav(accountId, "report"),
		res.ok ? (
			<>
				<p class="muted">Computed {ui.formatTime(res.data.generatedAt)} from current data.</p>
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
				<section>
					<h2>Log streams</h2>
					{res.data.logStreams.length === 0 ? (
						<p class="muted">No log stream copies this account's audit trail out.</p>
					) : (
						<table>
							<thead>
								<tr>
									<th>Stream</th>
									<th>Destination</th>
									<th>Status</th>
									<th>Events delivered</th>
									<th>Last delivered</th>
									<th>Last error</th>
								</tr>
							</thead>
							<tbody>
								{res.data.logStreams.map((stream) => (
									<tr>
										<td>
											<code>{stream.id}</code>
										</td>
										<td>
											{stream.type} · {stream.host}
										</td>
										<td>
											<span class={`badge ${stream.status === "healthy" ? "pass" : "warn"}`}>{stream.status}</span>
										</td>
										<td>{stream.deliveredEvents}</td>
										<td>{stream.lastDeliveredAt ? ui.formatTime(stream.lastDeliveredAt) : "never"}</td>
										<td>{stream.lastError ?? ""}</td>
									</tr>
								))}
							</tbody>
						</table>
					)}
				</section>
			</>
		) : (
			<Notice kind="bad">{ui.problemText(res.problem)}</Notice>
		),
		res.ok ? 200 : res.status,
	);
}

export function registerConsoleReport(app: App) {
	app.get(
		"/console/a/:accountId/report",
		ui.withAccount(app, (c, me, accountId) => reportPage(c, me, accountId)),
	);
}
