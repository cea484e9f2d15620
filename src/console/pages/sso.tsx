/**
 * The account's single sign-on in the console (issue #27): connect an OIDC identity provider, map
 * its groups to roles, change or remove it, and turn enforcement on or off. The client secret is
 * typed in and sent to the API; it is never rendered back, not even into the proof-of-identity
 * prompt (`reauth.tsx` drops it), so a change that meets the prompt asks for it again.
 */
import type { App } from "../../platform/app-env";
import { type Body, fieldErrors, type Problem, type Result } from "../client/api";
import { Facts, Field, Notice } from "../components/layout";
import * as ui from "../components/render";
import { isReauthenticationRequired, reauthenticationPrompt, wasWithheld } from "./reauth";

type Connection = Result<"sso", "listConnections">["data"][number];
type ConnectionInput = Body<"sso", "connect">;
type RoleMapping = NonNullable<ConnectionInput["roleMapping"]>;
type MappedRole = NonNullable<RoleMapping["default"]>;

const ROLES: readonly MappedRole[] = ["admin", "member", "readonly"];
const SECRET_AGAIN = "Enter the client secret again: it is not kept while you confirm it is you";

/** "Keyward Admins = admin" per line → the API's mapping; a line without "=" is sent as is, for the API to name. */
function mappingOf(form: Record<string, string>): RoleMapping | null {
	const claim = (form.mappingClaim ?? "").trim();
	const lines = (form.mappingValues ?? "")
		.split(/\r?\n/)
		.map((l) => l.trim())
		.filter(Boolean);
	if (!claim && lines.length === 0) return null;
	const values: RoleMapping["values"] = {};
	for (const line of lines) {
		const at = line.lastIndexOf("=");
		values[(at < 0 ? line : line.slice(0, at)).trim()] = (at < 0 ? "" : line.slice(at + 1).trim()) as MappedRole;
	}
	return {
		claim,
		values,
		default: (ROLES as readonly string[]).includes(form.mappingDefault ?? "")
			? (form.mappingDefault as MappedRole)
			: "member",
	};
}

const scopesOf = (form: Record<string, string>): string[] | undefined => {
	const scopes = (form.scopes ?? "").split(/[\s,]+/).filter(Boolean);
	return scopes.length > 0 ? scopes : undefined;
};

/** The form's values as they were posted (never the secret), or the connection's. */
function shownValues(connection: Connection | undefined, form: Record<string, string> | null) {
	if (form)
		return {
			issuer: form.issuer ?? "",
			clientId: form.clientId ?? "",
			scopes: form.scopes ?? "",
			claim: form.mappingClaim ?? "",
			values: form.mappingValues ?? "",
			default: form.mappingDefault ?? "member",
		};
	const mapping = connection?.roleMapping;
	return {
		issuer: connection?.issuer ?? "",
		clientId: connection?.clientId ?? "",
		scopes: connection?.scopes.join(" ") ?? "",
		claim: mapping?.claim ?? "",
		values: Object.entries(mapping?.values ?? {})
			.map(([value, role]) => `${value} = ${role}`)
			.join("\n"),
		default: mapping?.default ?? "member",
	};
}

const ConnectionForm = ({
	accountId,
	connection,
	form,
	errors,
}: {
	accountId: string;
	connection: Connection | undefined;
	form: Record<string, string> | null;
	errors: Record<string, string>;
}) => {
	const v = shownValues(connection, form);
	const mappingError = errors.roleMapping;
	return (
		<form method="post" action={`/console/a/${accountId}/sso`}>
			<Field
				name="issuer"
				label="Issuer URL"
				value={v.issuer}
				errors={errors}
				hint="Exactly as the provider's ID tokens name it, such as https://acme.okta.com"
				required
			/>
			<Field name="clientId" label="Client ID" value={v.clientId} errors={errors} autocomplete="off" required />
			<Field
				name="clientSecret"
				label="Client secret"
				type="password"
				errors={errors}
				autocomplete="off"
				hint={connection ? "Leave empty to keep the one stored" : "Stored sealed; never shown again"}
				required={!connection}
			/>
			<Field
				name="scopes"
				label="Scopes (optional)"
				value={v.scopes}
				errors={errors}
				hint="Separated by spaces; default openid email profile. Add groups to map groups to roles."
			/>
			<fieldset>
				<legend>Role of a first sign-in (never owner)</legend>
				<Field
					name="mappingClaim"
					label="Claim to read (optional)"
					value={v.claim}
					errors={errors}
					hint="An ID token claim holding a string or a list, such as groups"
				/>
				<label for="mappingValues">Values and roles, one per line</label>
				<p id="mappingValues-hint" class="muted">
					Such as “Keyward Admins = admin”; roles are admin, member or readonly, and the highest match wins
				</p>
				<textarea
					id="mappingValues"
					name="mappingValues"
					rows={4}
					aria-invalid={mappingError ? "true" : undefined}
					aria-describedby={mappingError ? "mappingValues-hint mappingValues-error" : "mappingValues-hint"}
				>
					{v.values}
				</textarea>
				{mappingError && (
					<p id="mappingValues-error" class="error">
						{mappingError}
					</p>
				)}
				<label for="mappingDefault">When nothing matches</label>
				<select id="mappingDefault" name="mappingDefault">
					{ROLES.map((role) => (
						<option value={role} selected={v.default === role}>
							{role}
						</option>
					))}
				</select>
			</fieldset>
			<button type="submit">{connection ? "Save the connection" : "Connect"}</button>
		</form>
	);
};

async function ssoPage(
	c: ui.ConsoleContext,
	me: ui.SignedIn,
	accountId: string,
	state: { problem?: Problem | null; notice?: string; form?: Record<string, string> | null } = {},
) {
	const [connections, account, domains, samlConnections] = await Promise.all([
		me.api.call((api) => api.sso.listConnections({ accountId })),
		me.api.call((api) => api.accounts.get({ accountId })),
		me.api.call((api) => api.domains.list({ accountId })),
		me.api.call((api) => api.sso.listSamlConnections({ accountId })),
	]);
	if (!connections.ok || !account.ok)
		return ui.renderPage(
			c,
			"Single sign-on",
			ui.nav(accountId, "settings"),
			<Notice kind="bad">
				{ui.problemText(connections.ok ? (account.ok ? null : account.problem) : connections.problem)}
			</Notice>,
			connections.ok ? (account.ok ? 500 : account.status) : connections.status,
		);
	const connection = connections.data.data[0];
	const saml = samlConnections.ok ? samlConnections.data.data[0] : undefined;
	const connected = connection ?? saml;
	const enforced = account.data.account.settings.enforceSso === true;
	const verified = domains.ok ? domains.data.data.filter((d) => d.status === "verified").map((d) => d.domain) : [];
	const { problem, notice } = state;
	const errors = fieldErrors(problem);
	return ui.renderPage(
		c,
		"Single sign-on",
		ui.nav(accountId, "settings"),
		<>
			{notice && <Notice kind="ok">{notice}</Notice>}
			{problem && !problem.errors && <Notice kind="bad">{ui.problemText(problem)}</Notice>}
			{errors.settings && <Notice kind="bad">{errors.settings}</Notice>}
			<p>
				People whose address is in one of this account's verified domains sign in through your identity provider (OIDC
				or SAML 2.0). A first sign-in makes them a member with the role mapped below. Only the owner changes this.
			</p>
			{verified.length === 0 && (
				<Notice kind="info">
					No verified domain yet: sign-ins are routed by it. <a href={`/console/a/${accountId}/domains`}>Verify one…</a>
				</Notice>
			)}
			{connection && (
				<section>
					<h2>Connected</h2>
					<Facts
						facts={[
							["Issuer", connection.issuer],
							["Client ID", <code>{connection.clientId}</code>],
							["Redirect URI to register at the provider", <code>{connection.redirectUri}</code>],
							["Scopes", connection.scopes.join(" ")],
							["Domains it signs in", verified.length > 0 ? verified.join(", ") : "none yet"],
							["Changed", ui.formatTime(connection.updatedAt)],
						]}
					/>
				</section>
			)}
			{saml && (
				<section>
					<h2>Connected (SAML 2.0)</h2>
					<Facts
						facts={[
							["Provider entity ID", saml.idpEntityId],
							["Single sign-on URL", <code>{saml.ssoUrl}</code>],
							["Certificate (SHA-256)", <code>{saml.certificateFingerprint}</code>],
							["Entity ID (audience) to register at the provider", <code>{saml.entityId}</code>],
							["ACS URL to register at the provider", <code>{saml.acsUrl}</code>],
							["Domains it signs in", verified.length > 0 ? verified.join(", ") : "none yet"],
							["Changed", ui.formatTime(saml.updatedAt)],
						]}
					/>
					<p>
						Change a SAML connection through the API (
						<code>
							PATCH /v1/accounts/{accountId}/saml-connections/{saml.id}
						</code>
						); see the API reference.
					</p>
				</section>
			)}
			{!saml && (
				<section>
					<h2>{connection ? "Change the connection" : "Connect an identity provider"}</h2>
					<ConnectionForm accountId={accountId} connection={connection} form={state.form ?? null} errors={errors} />
				</section>
			)}
			{connected && (
				<>
					<section>
						<h2>Enforcement</h2>
						<p>
							{enforced
								? "Enforced: members in a verified domain sign in only through the provider. The owner keeps a break-glass way in: a passkey, or the password with an authenticator code (audited and alerted)."
								: "Not enforced: members may still sign in with a password or passkey."}
						</p>
						<form method="post" action={`/console/a/${accountId}/sso-enforcement`}>
							<input type="hidden" name="enforce" value={enforced ? "off" : "on"} />
							<button type="submit" class={enforced ? "secondary" : undefined}>
								{enforced ? "Stop enforcing single sign-on" : "Enforce single sign-on"}
							</button>
						</form>
					</section>
					<section>
						<h2>Remove</h2>
						<p>
							Sign-ins in flight end; sessions already open stay until they end. Enforcement waits for a new connection.
						</p>
						<form method="post" action={`/console/a/${accountId}/sso/${connected.id}/remove`}>
							{saml && <input type="hidden" name="protocol" value="saml" />}
							<button type="submit" class="danger">
								Remove the connection
							</button>
						</form>
					</section>
				</>
			)}
		</>,
		problem ? problem.status : 200,
	);
}

export function registerConsoleSso(app: App) {
	app.get(
		"/console/a/:accountId/sso",
		ui.withAccount(app, (c, me, accountId) =>
			ssoPage(c, me, accountId, { notice: c.req.query("done") ? "Done." : undefined }),
		),
	);

	app.post(
		"/console/a/:accountId/sso",
		ui.withAccount(app, async (c, me, accountId) => {
			const form = await ui.formOf(c);
			const listed = await me.api.call((api) => api.sso.listConnections({ accountId }));
			const current = listed.ok ? listed.data.data[0] : undefined;
			const secret = form.clientSecret ?? "";
			if ((!current && !secret) || wasWithheld(form, "clientSecret"))
				return ssoPage(c, me, accountId, {
					form,
					problem: {
						type: "https://keyward.dev/problems/validation",
						title: "Invalid request",
						status: 400,
						detail: SECRET_AGAIN,
						requestId: "",
						errors: [{ path: "clientSecret", message: SECRET_AGAIN }],
					},
				});
			const body = {
				issuer: (form.issuer ?? "").trim(),
				clientId: (form.clientId ?? "").trim(),
				scopes: scopesOf(form),
				roleMapping: mappingOf(form),
			};
			const res = current
				? await me.api.call((api) =>
						api.sso.updateConnection({
							accountId,
							connectionId: current.id,
							body: { ...body, ...(secret ? { clientSecret: secret } : {}) },
						}),
					)
				: await me.api.call((api) => api.sso.connect({ accountId, body: { ...body, clientSecret: secret } }));
			if (!res.ok && isReauthenticationRequired(res.problem))
				return reauthenticationPrompt(c, me, `/console/a/${accountId}/sso`, form);
			return res.ok
				? ssoPage(c, me, accountId, {
						notice: current
							? "Saved the connection."
							: `Connected ${res.data.connection.issuer}. Register the redirect URI at the provider.`,
					})
				: ssoPage(c, me, accountId, { problem: res.problem, form });
		}),
	);

	app.post(
		"/console/a/:accountId/sso-enforcement",
		ui.withAccount(app, async (c, me, accountId) => {
			const form = await ui.formOf(c);
			const enforceSso = form.enforce === "on";
			const res = await me.api.call((api) => api.accounts.update({ accountId, body: { settings: { enforceSso } } }));
			if (!res.ok && isReauthenticationRequired(res.problem))
				return reauthenticationPrompt(c, me, `/console/a/${accountId}/sso-enforcement`, form);
			return res.ok
				? ssoPage(c, me, accountId, {
						notice: enforceSso ? "Single sign-on is enforced." : "Single sign-on is no longer enforced.",
					})
				: ssoPage(c, me, accountId, { problem: res.problem });
		}),
	);

	app.post(
		"/console/a/:accountId/sso/:connectionId/remove",
		ui.withAccount(app, async (c, me, accountId) => {
			const connectionId = c.req.param("connectionId") ?? "";
			const form = await ui.formOf(c);
			const saml = form.protocol === "saml";
			const res = await me.api.call((api) =>
				saml
					? api.sso.removeSamlConnection({ accountId, connectionId })
					: api.sso.removeConnection({ accountId, connectionId }),
			);
			if (!res.ok && isReauthenticationRequired(res.problem))
				return reauthenticationPrompt(
					c,
					me,
					`/console/a/${accountId}/sso/${connectionId}/remove`,
					saml ? { protocol: "saml" } : {},
				);
			return res.ok
				? c.redirect(`/console/a/${accountId}/sso?done=1`, 303)
				: ssoPage(c, me, accountId, { problem: res.problem });
		}),
	);
}
