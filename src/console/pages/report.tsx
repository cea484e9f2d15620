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
