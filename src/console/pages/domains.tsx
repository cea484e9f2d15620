/** The account's email domains in the console (issue #27): claim, publish the record, verify, remove. */
import type { App } from "../../platform/app-env";
import { fieldErrors, type Problem, type Result } from "../client/api";
import { Field, Notice, Table } from "../components/layout";
import * as ui from "../components/render";
import { isReauthenticationRequired, reauthenticationPrompt } from "./reauth";

type Domain = Result<"domains", "list">["data"][number];

/** The cells of a domain's row: name, status, the record to publish, and what can be done with it. */
const domainCells = (accountId: string, d: Domain) => [
	d.domain,
	d.status !== "verified"
		? "Pending"
		: d.recordMissingSince
			? `Verified, but its record has been missing since ${ui.formatTime(d.recordMissingSince)}: publish it again within seven days of that, or the domain lapses`
			: `Verified ${ui.formatTime(d.verifiedAt)}`,
	<>
		<p>
			TXT <code>{d.record.name}</code>
		</p>
		<p>
			<code>{d.record.value}</code>
		</p>
	</>,
	<>
		{d.status === "pending" && (
			<form method="post" action={`/console/a/${accountId}/domains/${d.id}/verify`}>
				<button type="submit">Check the record now</button>
			</form>
		)}
		<form method="post" action={`/console/a/${accountId}/domains/${d.id}/remove`}>
			<button type="submit" class="danger" aria-label={`Remove ${d.domain}`}>
				Remove
			</button>
		</form>
	</>,
];

async function domainsPage(
	c: ui.ConsoleContext,
	me: ui.SignedIn,
	accountId: string,
	problem?: Problem | null,
	notice?: string,
) {
	const res = await me.api.call((api) => api.domains.list({ accountId }));
	if (!res.ok)
		return ui.renderPage(
			c,
			"Email domains",
			ui.nav(accountId, "settings"),
			<Notice kind="bad">{ui.problemText(res.problem)}</Notice>,
			res.status,
		);
	const errors = fieldErrors(problem);
	return ui.renderPage(
		c,
		"Email domains",
		ui.nav(accountId, "settings"),
		<>
			{notice && <Notice kind="ok">{notice}</Notice>}
			{problem && !problem.errors && <Notice kind="bad">{ui.problemText(problem)}</Notice>}
			<p>
				A verified domain lets your identity provider provision its people into this account through SCIM, and no one
				else. Only the owner can claim one; prove it with a DNS TXT record.
			</p>
			<Table
				caption="Domains this account claims"
				columns={["Domain", "Status", "Record to publish", "Actions"]}
				rows={res.data.data.map((d) => domainCells(accountId, d))}
				empty="No domain yet: claim one below."
			/>
			<section>
				<h2>Claim a domain</h2>
				<form method="post" action={`/console/a/${accountId}/domains`}>
					<Field name="domain" label="Domain (as in people's addresses)" errors={errors} required />
					<button type="submit">Claim</button>
				</form>
			</section>
		</>,
		problem ? problem.status : 200,
	);
}

export function registerConsoleDomains(app: App) {
	app.get(
		"/console/a/:accountId/domains",
		ui.withAccount(app, (c, me, accountId) =>
			domainsPage(c, me, accountId, null, c.req.query("done") ? "Done." : undefined),
		),
	);

	app.post(
		"/console/a/:accountId/domains",
		ui.withAccount(app, async (c, me, accountId) => {
			const form = await ui.formOf(c);
			const res = await me.api.call((api) => api.domains.add({ accountId, body: { domain: form.domain ?? "" } }));
			if (!res.ok && isReauthenticationRequired(res.problem))
				return reauthenticationPrompt(c, me, `/console/a/${accountId}/domains`, form);
			return res.ok
				? domainsPage(
						c,
						me,
						accountId,
						null,
						`Claimed ${res.data.domain.domain}: publish its TXT record, then check it.`,
					)
				: domainsPage(c, me, accountId, res.problem);
		}),
	);

	app.post(
		"/console/a/:accountId/domains/:domainId/verify",
		ui.withAccount(app, async (c, me, accountId) => {
			const domainId = c.req.param("domainId") ?? "";
			const res = await me.api.call((api) => api.domains.verify({ accountId, domainId }));
			if (!res.ok && isReauthenticationRequired(res.problem))
				return reauthenticationPrompt(c, me, `/console/a/${accountId}/domains/${domainId}/verify`, {});
			return res.ok
				? domainsPage(c, me, accountId, null, `${res.data.domain.domain} is verified.`)
				: domainsPage(c, me, accountId, res.problem);
		}),
	);

	app.post(
		"/console/a/:accountId/domains/:domainId/remove",
		ui.withAccount(app, async (c, me, accountId) => {
			const domainId = c.req.param("domainId") ?? "";
			const res = await me.api.call((api) => api.domains.remove({ accountId, domainId }));
			return res.ok
				? c.redirect(`/console/a/${accountId}/domains?done=1`, 303)
				: domainsPage(c, me, accountId, res.problem);
		}),
	);
}
