/**
 * API keys in the console: the list (status, environment, scopes, expiry,
 * last use, a badge for keys expiring within 14 days) and creation; a page per
 * key with its 24-hour usage by code, last use, audit events and settings;
 * rotation and revocation each behind a page that names the key and asks to
 * confirm.
 * A new secret is shown once, on the page the creating form redirects to (post/redirect/get,
 * `components/shown-once.tsx`): reloading it shows no secret and makes no second key.
 */
import type { Child } from "hono/jsx";
import type { App } from "../../platform/app-env";
import { type Body, fieldErrors, type Problem, type Result } from "../client/api";
import { Facts, Field, Notice, ShownOnce, Table } from "../components/layout";
import { actorOf, namesOf } from "../components/names";
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

/** Scopes, IP allowlist and rate limit: the same fields when a key is made and when it is changed. */
const AccessFields = ({
	form,
	errors,
	namedLimits,
}: {
	form: Record<string, string | undefined>;
	errors: Record<string, string>;
	/** The key has named limits the one-limit fields cannot show: they are left out (and kept). */
	namedLimits?: boolean;
}) => (
	<>
		<Field
			name="ipAllowlist"
			label="IP allowlist"
			value={form.ipAllowlist}
			hint="Comma-separated CIDRs; empty allows any address"
			errors={errors}
		/>
		{namedLimits ? (
			<p class="muted">
				<input type="hidden" name="namedLimits" value="keep" />
				This key has named rate limits (listed above); they are changed through the API and kept as they are here.
			</p>
		) : (
			<div class="row">
				<Field
					name="rateLimit"
					label="Rate limit (requests)"
					type="number"
					value={form.rateLimit ?? "1000"}
					hint="1 to 1,000,000"
					errors={errors}
				/>
				<Field
					name="windowSeconds"
					label="per (seconds)"
					type="number"
					value={form.windowSeconds ?? "3600"}
					hint="1 to 86,400"
					errors={errors}
				/>
			</div>
		)}
	</>
);

const ScopesField = ({ value, errors }: { value: string | undefined; errors: Record<string, string> }) => (
	<Field
		name="scopes"
		label="Scopes"
		value={value}
		hint="Comma-separated, e.g. invoices:read, invoices:write"
		errors={errors}
		required
	/>
);

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
				<ScopesField value={form.scopes} errors={errors} />
				<Field
					name="expiresInDays"
					label="Expires in (days)"
					type="number"
					value={form.expiresInDays}
					hint="1 to 365; empty gives the longest the account's settings allow"
					errors={errors}
				/>
				<AccessFields form={form} errors={errors} />
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
			{key.status === "active" && !key.enabled && <span class="badge fail"> disabled</span>}
		</>
	);
}

/** A key as people tell keys apart: its name, and the start and last four of its secret. */
const keyLabel = (key: KeyView) => `${key.start}…${key.last4 ?? ""}`;
const keyPath = (accountId: string, keyId: string) => `/console/a/${accountId}/keys/${keyId}`;

/** What each `?done=` a form redirects with says, naming what was done. */
const DONE: Record<string, (name: string) => string> = {
	revoked: (name) => `Key "${name}" is revoked. Verify refuses it from now on.`,
	saved: (name) => `Saved the settings of key "${name}".`,
};

async function keysPage(
	c: ui.ConsoleContext,
	me: ui.SignedIn,
	accountId: string,
	extra: { form?: Record<string, string>; problem?: Problem | null } = {},
) {
	const list = await me.api.call((api) => api.keys.list({ accountId, query: { limit: 100 } }));
	const now = c.get("services").clock.now().getTime();
	const keys = list.ok ? list.data.data : [];
	const joined = c.req.query("joined") ? me.memberships.find((m) => m.accountId === accountId) : undefined;
	return ui.renderPage(
		c,
		"API keys",
		ui.nav(accountId, "keys"),
		<>
			{joined && (
				<Notice kind="ok">
					You joined {joined.accountName} as {joined.role}.
				</Notice>
			)}
			{!list.ok && <Notice kind="bad">{ui.problemText(list.problem)}</Notice>}
			<section>
				<Table
					caption="Keys of this account"
					columns={["Name", "Status", "Environment", "Scopes", "Expires", "Last used"]}
					empty="No keys yet. Create one for each service and environment below, with only the scopes that service needs."
					rows={keys.map((key) => [
						<>
							<a href={keyPath(accountId, key.id)}>{key.name}</a>
							<br />
							<code>{keyLabel(key)}</code>
						</>,
						badge(key, now),
						key.environment,
						key.scopes.join(", "),
						ui.formatTime(key.expiresAt),
						key.lastUsedAt ? ui.formatTime(key.lastUsedAt) : "never",
					])}
				/>
			</section>
			<CreateForm form={extra.form} problem={extra.problem} />
		</>,
		extra.problem ? extra.problem.status : 200,
	);
}

/** One key: what it is, how it was used in the last 24 hours, what happened to it, its settings. */
async function keyPage(
	c: ui.ConsoleContext,
	me: ui.SignedIn,
	accountId: string,
	keyId: string,
	extra: { form?: Record<string, string>; problem?: Problem | null } = {},
) {
	const [got, events, names] = await Promise.all([
		me.api.call((api) => api.keys.get({ accountId, keyId })),
		me.api.call((api) => api.auditEvents.list({ accountId, query: { keyId, requests: "exclude", limit: 20 } })),
		namesOf(me, accountId),
	]);
	if (!got.ok)
		return ui.renderPage(c, "Key not found", ui.nav(accountId, "keys"), <NotFound accountId={accountId} />, 404);
	const { key, usage } = got.data;
	const hasNamedLimits = key.rateLimits.length > 1 || key.rateLimits[0]?.name !== "default";
	const now = c.get("services").clock.now().getTime();
	const done = ui.doneOf(c, DONE);
	const errors = fieldErrors(extra.problem);
	const form = extra.form ?? {
		name: key.name,
		scopes: key.scopes.join(", "),
		ipAllowlist: key.ipAllowlist.join(", "),
		rateLimit: String(key.rateLimit.limit),
		windowSeconds: String(key.rateLimit.windowSeconds),
	};
	const base = keyPath(accountId, key.id);
	const byCode = Object.entries(usage.byCode).sort(([, a], [, b]) => b - a);
	return ui.renderPage(
		c,
		`Key ${key.name}`,
		ui.nav(accountId, "keys"),
		<>
			{done && <Notice kind="ok">{done(key.name)}</Notice>}
			{extra.problem && !extra.problem.errors && <Notice kind="bad">{ui.problemText(extra.problem)}</Notice>}
			{key.secretWaiting && (
				<section>
					<h2>A new secret is waiting</h2>
					<p>
						This key replaced one found in public. Its secret is kept sealed until you reveal it here, once; then
						Keyward no longer has it.
					</p>
					<form method="post" action={`${base}/reveal-secret`}>
						<button type="submit">Reveal the secret</button>
					</form>
				</section>
			)}
			<section>
				<Facts
					facts={[
						["Key", <code>{keyLabel(key)}</code>],
						["Status", badge(key, now)],
						["Environment", key.environment],
						["Scopes", key.scopes.join(", ")],
						["Created", ui.formatTime(key.createdAt)],
						["Expires", ui.formatTime(key.expiresAt)],
						["Last used", key.lastUsedAt ? ui.formatTime(key.lastUsedAt) : "never"],
						[
							"Rate limit",
							key.rateLimits
								.map((l) => `${l.name === "default" ? "" : `${l.name}: `}${l.limit} requests per ${l.windowSeconds} s`)
								.join("; "),
						],
						...(key.enabled
							? []
							: ([["Disabled", "verify answers DISABLED until it is enabled again"]] as [string, Child][])),
						...(key.owner.type === "service_account"
							? ([["Owned by", `service account ${key.owner.id}`]] as [string, Child][])
							: []),
						...(key.externalId ? ([["Customer", <code>{key.externalId}</code>]] as [string, Child][]) : []),
						...(key.credits
							? ([
									[
										"Credits",
										`${key.credits.remaining ?? "?"} left${key.credits.refill ? `, set to ${key.credits.refill.amount} ${key.credits.refill.interval}` : ""}`,
									],
								] as [string, Child][])
							: []),
						...(key.rotatedTo
							? ([["Replaced by", <a href={keyPath(accountId, key.rotatedTo)}>its successor</a>]] as [string, Child][])
							: []),
						...(key.revokedAt
							? ([["Revoked", `${ui.formatTime(key.revokedAt)}: ${key.revokedReason ?? ""}`]] as [string, Child][])
							: []),
					]}
				/>
				<div class="actions">
					{key.status === "active" && !key.rotatedTo && (
						<a class="button" href={`${base}/rotate`}>
							Rotate…
						</a>
					)}
					{key.status !== "revoked" && (
						<a class="button danger" href={`${base}/revoke`}>
							Revoke…
						</a>
					)}
					<a href={`/console/a/${accountId}/keys`}>All keys</a>
				</div>
			</section>
			<section>
				<h2>Last 24 hours</h2>
				<Facts
					facts={[
						["Requests", String(usage.requests24h)],
						["Refused", String(usage.denied24h)],
						["Last use", usage.lastUsedAt ? ui.formatTime(usage.lastUsedAt) : "never"],
					]}
				/>
				<Table
					caption="Verify answers by code"
					columns={["Code", "Requests"]}
					empty="No verify has presented this key in the last 24 hours."
					rows={byCode.map(([code, count]) => [<code>{code}</code>, String(count)])}
				/>
			</section>
			<section>
				<h2>Audit events</h2>
				<Table
					caption="Newest first"
					columns={["Time", "Action", "Outcome", "By"]}
					empty="No events yet. New events show here within a few seconds of happening."
					rows={(events.ok ? events.data.data : []).map((e) => [
						ui.formatTime(e.time),
						<code>{e.action}</code>,
						e.outcome,
						actorOf(e, names),
					])}
				/>
				<p>
					<a href={`/console/a/${accountId}/audit?keyId=${key.id}&requests=include`}>
						All of this key's events in the audit log
					</a>
				</p>
			</section>
			{key.status !== "revoked" && (
				<section>
					<h2>Settings</h2>
					<form method="post" action={base}>
						<Field name="name" label="Name" value={form.name} errors={errors} required />
						<ScopesField value={form.scopes} errors={errors} />
						<AccessFields form={form} errors={errors} namedLimits={hasNamedLimits} />
						<button type="submit">Save settings</button>
					</form>
				</section>
			)}
		</>,
		extra.problem ? extra.problem.status : 200,
	);
}

const NotFound = ({ accountId }: { accountId: string }) => (
	<p>
		This account has no such key. <a href={`/console/a/${accountId}/keys`}>All keys</a>
	</p>
);

/** Rotate or revoke, asked once more on a page that names the key. */
async function confirmPage(
	c: ui.ConsoleContext,
	me: ui.SignedIn,
	accountId: string,
	keyId: string,
	what: "rotate" | "revoke",
	problem?: Problem | null,
) {
	const got = await me.api.call((api) => api.keys.get({ accountId, keyId }));
	if (!got.ok)
		return ui.renderPage(c, "Key not found", ui.nav(accountId, "keys"), <NotFound accountId={accountId} />, 404);
	const { key } = got.data;
	const errors = fieldErrors(problem);
	const base = keyPath(accountId, key.id);
	return ui.renderPage(
		c,
		what === "rotate" ? `Rotate key ${key.name}?` : `Revoke key ${key.name}?`,
		ui.nav(accountId, "keys"),
		<section>
			{problem && !problem.errors && <Notice kind="bad">{ui.problemText(problem)}</Notice>}
			{what === "rotate" ? (
				<>
					<p>
						Key <strong>{key.name}</strong> (<code>{keyLabel(key)}</code>, {key.environment}) gets a successor with the
						same scopes and a new secret, shown once. The old secret keeps working for the grace period, so you can
						deploy the new one, and then stops.
					</p>
					<form method="post" action={`${base}/rotate`}>
						<Field
							name="gracePeriodHours"
							label="Grace period (hours)"
							type="number"
							value="24"
							hint="0 to 168; 0 stops the old secret at once"
							errors={errors}
						/>
						<div class="actions">
							<button type="submit">Rotate {key.name}</button>
							<a href={base}>Cancel</a>
						</div>
					</form>
				</>
			) : (
				<>
					<p>
						Key <strong>{key.name}</strong> (<code>{keyLabel(key)}</code>, {key.environment}) stops working everywhere
						on the next request. This cannot be undone.
					</p>
					<form method="post" action={`${base}/revoke`}>
						<Field
							name="reason"
							label="Reason"
							hint="Kept in the audit log, e.g. 'leaked in a CI log'"
							errors={errors}
							required
						/>
						<div class="actions">
							<button type="submit" class="danger">
								Revoke {key.name}
							</button>
							<a href={base}>Cancel</a>
						</div>
					</form>
				</>
			)}
		</section>,
		problem ? problem.status : 200,
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
				<a href={keyPath(accountId, key.id)}>I have stored it: go to the key</a>
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
		ui.withAccount(app, (c, me, accountId) => keysPage(c, me, accountId)),
	);

	// Post/redirect/get: the POSTs below park the page and redirect here; a reload finds it gone.
	// Not under `/keys/`: a literal beside `/keys/:keyId` would put Hono on its slower TrieRouter.
	app.get(
		"/console/a/:accountId/new-key-secret",
		ui.withAccount(app, async (c, me, accountId) => {
			const shown = await takeShownOnce<ShownKey>(c, me, accountId);
			return shown ? secretPage(c, accountId, shown) : alreadyShownPage(c, accountId);
		}),
	);

	app.get(
		"/console/a/:accountId/keys/:keyId",
		ui.withAccount(app, (c, me, accountId) => keyPage(c, me, accountId, c.req.param("keyId") ?? "")),
	);
	app.get(
		"/console/a/:accountId/keys/:keyId/rotate",
		ui.withAccount(app, (c, me, accountId) => confirmPage(c, me, accountId, c.req.param("keyId") ?? "", "rotate")),
	);
	app.get(
		"/console/a/:accountId/keys/:keyId/revoke",
		ui.withAccount(app, (c, me, accountId) => confirmPage(c, me, accountId, c.req.param("keyId") ?? "", "revoke")),
	);

	app.post(
		"/console/a/:accountId/keys",
		ui.withAccount(app, async (c, me, accountId) => {
			const form = await ui.formOf(c);
			// As typed: the API validates every field and names each bad one.
			const body = {
				name: form.name ?? "",
				environment: (form.environment ?? "") as CreateBody["environment"],
				...accessFrom(form, { limit: 1000, windowSeconds: 3600 }),
				...(form.expiresInDays ? { expiresInDays: Number(form.expiresInDays) } : {}),
			} satisfies CreateBody;
			const res = await me.api.call((api) => api.keys.create({ accountId, body }));
			if (!res.ok && isReauthenticationRequired(res.problem))
				return reauthenticationPrompt(c, me, `/console/a/${accountId}/keys`, form);
			if (!res.ok) return keysPage(c, me, accountId, { form, problem: withWindowField(res.problem) });
			return parkShownOnce(c, me, accountId, { title: "API key created", key: res.data.key, secret: res.data.secret });
		}),
	);

	app.post(
		"/console/a/:accountId/keys/:keyId",
		ui.withAccount(app, async (c, me, accountId) => {
			const form = await ui.formOf(c);
			const keyId = c.req.param("keyId") ?? "";
			const { rateLimit, ...access } = accessFrom(form, { limit: 0, windowSeconds: 0 });
			const body = {
				name: form.name ?? "",
				// An emptied rate-limit field goes to the API as 0, which names it, rather than a silent default;
				// a key with named limits keeps them (the form has no fields for them).
				...access,
				...(form.namedLimits === "keep" ? {} : { rateLimit }),
			} satisfies Body<"keys", "update">;
			const res = await me.api.call((api) => api.keys.update({ accountId, keyId, body }));
			if (!res.ok && isReauthenticationRequired(res.problem))
				return reauthenticationPrompt(c, me, new URL(c.req.url).pathname, form);
			if (!res.ok) return keyPage(c, me, accountId, keyId, { form, problem: withWindowField(res.problem) });
			return c.redirect(`${keyPath(accountId, keyId)}?done=saved`, 303);
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
			if (!res.ok) return confirmPage(c, me, accountId, keyId, "rotate", res.problem);
			return parkShownOnce(c, me, accountId, { title: "API key rotated", key: res.data.key, secret: res.data.secret });
		}),
	);

	app.post(
		"/console/a/:accountId/keys/:keyId/reveal-secret",
		ui.withAccount(app, async (c, me, accountId) => {
			const form = await ui.formOf(c);
			const keyId = c.req.param("keyId") ?? "";
			const res = await me.api.call((api) => api.keys.revealSecret({ accountId, keyId }));
			if (!res.ok && isReauthenticationRequired(res.problem))
				return reauthenticationPrompt(c, me, new URL(c.req.url).pathname, form);
			if (!res.ok) return keyPage(c, me, accountId, keyId, { problem: res.problem });
			return parkShownOnce(c, me, accountId, { title: "API key secret", key: res.data.key, secret: res.data.secret });
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
			if (!res.ok) return confirmPage(c, me, accountId, keyId, "revoke", res.problem);
			return c.redirect(`${keyPath(accountId, keyId)}?done=revoked`, 303);
		}),
	);
}

/** Scopes, allowlist and rate limit from the form fields `AccessFields` renders; `empty` stands in for blank numbers. */
const accessFrom = (form: Record<string, string>, empty: { limit: number; windowSeconds: number }) => ({
	scopes: splitList(form.scopes),
	ipAllowlist: splitList(form.ipAllowlist),
	rateLimit: {
		limit: Number(form.rateLimit || empty.limit),
		windowSeconds: Number(form.windowSeconds || empty.windowSeconds),
	},
});

/** "rateLimit.windowSeconds" goes next to the window's own input; "rateLimit.limit" to the limit's. */
const withWindowField = (problem: Problem): Problem => ({
	...problem,
	errors: problem.errors?.map((e) => (e.path === "rateLimit.windowSeconds" ? { ...e, path: "windowSeconds" } : e)),
});
