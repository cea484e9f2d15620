/**
 * API keys in the console: the list (status, environment, scopes, expiry,
 * last use, a badge for keys expiring within 14 days), creation with the
 * secret shown once, rotation with a grace period, revocation with a reason.
 * A new secret is shown once, on the page the creating form redirects to (post/redirect/get,
 * `components/shown-once.tsx`): reloading it shows no secret and makes no second key.
 */
import type { App } from "../../platform/app-env";
import { type Body, fieldErrors, type Problem, type Result } from "../client/api";
import { Field, Notice, ShownOnce, Table } from "../components/layout";
import * as ui from "../components/render";
import { parkShownOnce, takeShownOnce } from "../components/shown-once";
import { isReauthenticationRequired, reauthenticationPrompt } from "./reauth";

type KeyView = Result<"keys", "list">["data"][number];
type CreateBody = Body<"keys", "create">;

const EXPIRING_DAYS = 14;
const splitList = (value: string | undefined) =>
	(value ?? "")
		.split(/[\s,]+/)
		.map((s) => s.trim())
		.filter(Boolean);

const CreateForm = ({ form = {}, problem }: { form?: Record<string, string>; problem?: Problem | null }) => {
	const errors = fieldErrors(problem);
	return (
		<section>
			<h2>Create a key</h2>
			{problem && !problem.errors && <Notice kind="bad">{ui.problemText(problem)}</Notice>}
			<form method="post">
				<Field name="name" label="Name" value={form.name} errors={errors} required />
				<label for="environment">Environment</label>
				<select id="environment" name="environment">
					{["production", "staging", "development", "ci"].map((env) => (
						<option value={env} selected={(form.environment ?? "staging") === env}>
							{env}
						</option>
					))}
				</select>
				<Field
					name="scopes"
					label="Scopes"
					value={form.scopes}
					hint="Comma-separated, e.g. invoices:read, invoices:write"
					errors={errors}
					required
				/>
				<Field
					name="expiresInDays"
					label="Expires in (days)"
					type="number"
					value={form.expiresInDays}
					hint="Empty for the account's maximum"
					errors={errors}
				/>
				<Field
					name="ipAllowlist"
					label="IP allowlist"
					value={form.ipAllowlist}
					hint="Comma-separated CIDRs; empty allows any address"
					errors={errors}
				/>
				<div class="row">
					<Field
						name="rateLimit"
						label="Rate limit (requests)"
						type="number"
						value={form.rateLimit ?? "1000"}
						errors={errors}
					/>
					<Field
						name="windowSeconds"
						label="per (seconds)"
						type="number"
						value={form.windowSeconds ?? "3600"}
						errors={errors}
					/>
				</div>
				<button type="submit">Create key</button>
			</form>
		</section>
	);
};

function badge(key: KeyView, now: number) {
	const expiring = key.status === "active" && Date.parse(key.expiresAt) - now < EXPIRING_DAYS * 86_400_000;
	return (
		<>
			<span class={`badge ${key.status}`}>{key.status}</span>
			{expiring && <span class="badge expiring"> expires soon</span>}
		</>
	);
}

async function keysPage(
	c: ui.ConsoleContext,
	me: ui.SignedIn,
	accountId: string,
	extra: { form?: Record<string, string>; problem?: Problem | null; notice?: string } = {},
) {
	const list = await me.api.call((api) => api.keys.list({ accountId, query: { limit: 100 } }));
	const now = c.get("services").clock.now().getTime();
	const base = `/console/a/${accountId}/keys`;
	return ui.renderPage(
		c,
		"API keys",
		ui.nav(accountId, "keys"),
		<>
			{extra.notice && <Notice kind="ok">{extra.notice}</Notice>}
			<section>
				<Table
					caption="Keys of this account"
					columns={["Name", "Status", "Environment", "Scopes", "Expires", "Last used", "Actions"]}
				>
					{(list.ok ? list.data.data : []).map((key) => (
						<tr>
							<td>
								{key.name}
								<br />
								<code>
									{key.start}…{key.last4 ?? ""}
								</code>
							</td>
							<td>{badge(key, now)}</td>
							<td>{key.environment}</td>
							<td>{key.scopes.join(", ")}</td>
							<td>{ui.formatTime(key.expiresAt)}</td>
							<td>{ui.formatTime(key.lastUsedAt)}</td>
							<td>
								{key.status === "active" && !key.rotatedTo && (
									<form method="post" action={`${base}/${key.id}/rotate`}>
										<label for={`grace-${key.id}`}>Grace (hours)</label>
										<input id={`grace-${key.id}`} name="gracePeriodHours" type="number" min="0" max="168" value="24" />
										<button type="submit" class="secondary">
											Rotate
										</button>
									</form>
								)}
								{key.status !== "revoked" && (
									<form method="post" action={`${base}/${key.id}/revoke`}>
										<label for={`reason-${key.id}`}>Reason</label>
										<input id={`reason-${key.id}`} name="reason" required />
										<button type="submit" class="danger">
											Revoke
										</button>
									</form>
								)}
							</td>
						</tr>
					))}
				</Table>
			</section>
			<CreateForm form={extra.form} problem={extra.problem} />
		</>,
		extra.problem ? extra.problem.status : 200,
	);
}

/** What the page that shows a new key once is made of (parked between the POST and the GET). */
interface ShownKey {
	title: string;
	key: KeyView;
	secret: string;
}

const secretPage = (c: ui.ConsoleContext, accountId: string, { title, key, secret }: ShownKey) =>
	ui.renderPage(
		c,
		title,
		ui.nav(accountId, "keys"),
		<section>
			<p>
				Key <strong>{key.name}</strong> ({key.environment}, scopes {key.scopes.join(", ")}), expires{" "}
				{ui.formatTime(key.expiresAt)}.
			</p>
			<ShownOnce id="api-key-secret" value={secret} label="Your new API key." />
			<p>
				<a href={`/console/a/${accountId}/keys`}>I have stored it: back to the keys</a>
			</p>
		</section>,
	);

/** The same page once its secret was shown: reloading it shows no secret and makes no key. */
const alreadyShownPage = (c: ui.ConsoleContext, accountId: string) =>
	ui.renderPage(
		c,
		"Secret already shown",
		ui.nav(accountId, "keys"),
		<section>
			<p>
				A new key's secret is shown once, and this one was. If you did not store it, rotate the key to get a new secret.
			</p>
			<p>
				<a href={`/console/a/${accountId}/keys`}>Back to the keys</a>
			</p>
		</section>,
	);

export function registerConsoleKeys(app: App) {
	app.get(
		"/console/a/:accountId/keys",
		ui.withAccount(app, (c, me, accountId) =>
			keysPage(c, me, accountId, { notice: c.req.query("done") ? "Done." : undefined }),
		),
	);

	// Post/redirect/get: the POSTs below park the page and redirect here; a reload finds it gone.
	app.get(
		"/console/a/:accountId/keys/shown",
		ui.withAccount(app, async (c, me, accountId) => {
			const shown = await takeShownOnce<ShownKey>(c, me, accountId);
			return shown ? secretPage(c, accountId, shown) : alreadyShownPage(c, accountId);
		}),
	);

	app.post(
		"/console/a/:accountId/keys",
		ui.withAccount(app, async (c, me, accountId) => {
			const form = await ui.formOf(c);
			// As typed: the API validates every field and names each bad one.
			const body = {
				name: form.name ?? "",
				environment: (form.environment ?? "") as CreateBody["environment"],
				scopes: splitList(form.scopes),
				ipAllowlist: splitList(form.ipAllowlist),
				rateLimit: { limit: Number(form.rateLimit || 1000), windowSeconds: Number(form.windowSeconds || 3600) },
				...(form.expiresInDays ? { expiresInDays: Number(form.expiresInDays) } : {}),
			} satisfies CreateBody;
			const res = await me.api.call((api) => api.keys.create({ accountId, body }));
			if (!res.ok && isReauthenticationRequired(res.problem))
				return reauthenticationPrompt(c, me, `/console/a/${accountId}/keys`, form);
			if (!res.ok) {
				// "rateLimit.limit" names the field "rateLimit"; the window has its own input.
				const errors = (res.problem.errors ?? []).map((e) =>
					e.path === "rateLimit.windowSeconds" ? { ...e, path: "windowSeconds" } : e,
				);
				return keysPage(c, me, accountId, { form, problem: { ...res.problem, errors: res.problem.errors && errors } });
			}
			return parkShownOnce(c, me, accountId, { title: "API key created", key: res.data.key, secret: res.data.secret });
		}),
	);

	app.post(
		"/console/a/:accountId/keys/:keyId/rotate",
		ui.withAccount(app, async (c, me, accountId) => {
			const form = await ui.formOf(c);
			const body = form.gracePeriodHours ? { gracePeriodHours: Number(form.gracePeriodHours) } : {};
			const keyId = c.req.param("keyId") ?? "";
			const res = await me.api.call((api) => api.keys.rotate({ accountId, keyId, body }));
			if (!res.ok && isReauthenticationRequired(res.problem))
				return reauthenticationPrompt(c, me, new URL(c.req.url).pathname, form);
			if (!res.ok) return keysPage(c, me, accountId, { problem: res.problem });
			return parkShownOnce(c, me, accountId, { title: "API key rotated", key: res.data.key, secret: res.data.secret });
		}),
	);

	app.post(
		"/console/a/:accountId/keys/:keyId/revoke",
		ui.withAccount(app, async (c, me, accountId) => {
			const form = await ui.formOf(c);
			const keyId = c.req.param("keyId") ?? "";
			const res = await me.api.call((api) =>
				api.keys.revoke({ accountId, keyId, body: { reason: form.reason ?? "" } }),
			);
			if (!res.ok) return keysPage(c, me, accountId, { problem: res.problem });
			return c.redirect(`/console/a/${accountId}/keys?done=revoked`, 303);
		}),
	);
}
