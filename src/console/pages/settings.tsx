/** Account settings in the console, with a way to the lockdown page. */
import { SettingsSchema } from "../../accounts/schemas";
import { ARCHIVE_RETENTION_YEARS } from "../../accounts/settings";
import type { App } from "../../platform/app-env";
import { type Body, fieldErrors, type Problem } from "../client/api";
import { Field, Notice } from "../components/layout";
import * as ui from "../components/render";
import { isReauthenticationRequired, reauthenticationPrompt } from "./reauth";

type Settings = NonNullable<Body<"accounts", "update">["settings"]>;

const SETTINGS = [
	["sessionIdleMinutes", "Session idle timeout (minutes)"],
	["sessionMaxAgeHours", "Session lifetime (hours)"],
	["keyMaxLifetimeDays", "Longest key lifetime (days)"],
	["keyInactivityDays", "Revoke keys unused for (days)"],
	["rotationGraceHours", "Rotation grace period (hours)"],
	["failedLoginAlertThreshold", "Failed sign-ins that raise an alert"],
	["failedLoginAlertWindowMinutes", "…within (minutes)"],
	["auditIndexDays", "Keep audit events searchable for (days; the archive keeps them all)"],
] as const;

/** "5 to 1,440": the allowed range, read from the API's own schema so the page and the rule cannot drift. */
function rangeOf(name: (typeof SETTINGS)[number][0]): string {
	const field = SettingsSchema.shape[name];
	const n = (v: number | null) => (v === null ? "?" : v.toLocaleString("en-US"));
	return `${n(field.minValue)} to ${n(field.maxValue)}`;
}

async function settingsPage(c: ui.ConsoleContext, me: ui.SignedIn, accountId: string, problem?: Problem | null) {
	const res = await me.api.call((api) => api.accounts.get({ accountId }));
	if (!res.ok)
		return ui.renderPage(
			c,
			"Settings",
			ui.nav(accountId, "settings"),
			<Notice kind="bad">{ui.problemText(res.problem)}</Notice>,
			res.status,
		);
	const { account } = res.data;
	const errors = fieldErrors(problem);
	const settingError = (name: string) =>
		errors.settings && problem?.errors?.find((e) => e.path === `settings.${name}`)?.message;
	return ui.renderPage(
		c,
		"Settings",
		ui.nav(accountId, "settings"),
		<>
			{c.req.query("done") && <Notice kind="ok">Saved the account's settings.</Notice>}
			{account.lockedDownAt && (
				<Notice kind="bad">
					Locked down {ui.formatTime(account.lockedDownAt)}: {account.lockedDownReason}
				</Notice>
			)}
			{problem && !problem.errors && <Notice kind="bad">{ui.problemText(problem)}</Notice>}
			<section>
				<form method="post">
					<Field name="name" label="Account name" value={account.name} errors={errors} required />
					<label for="mfaPolicy">Second factor for members</label>
					<select id="mfaPolicy" name="mfaPolicy">
						{(
							[
								["off", "Not required"],
								["any", "Required: an authenticator app or a passkey"],
								["phishing-resistant", "Phishing-resistant: sign in with a passkey"],
							] as const
						).map(([value, label]) => (
							<option value={value} selected={account.settings.mfaPolicy === value}>
								{label}
							</option>
						))}
					</select>
					<label for="leakedKeyPolicy">A key found in public (GitHub secret scanning)</label>
					<select id="leakedKeyPolicy" name="leakedKeyPolicy">
						{(
							[
								["revoke", "Revoke it at once"],
								["rotate", "Rotate it: the old key works one more hour; reveal the new secret here"],
							] as const
						).map(([value, label]) => (
							<option value={value} selected={account.settings.leakedKeyPolicy === value}>
								{label}
							</option>
						))}
					</select>
					<label class="check">
						<input type="checkbox" name="passwordComposition" checked={account.settings.passwordComposition === true} />{" "}
						Require mixed character classes in passwords
					</label>
					{SETTINGS.map(([name, label]) => (
						<div>
							<label for={name}>{label}</label>
							<p id={`${name}-hint`} class="muted">
								{rangeOf(name)}
							</p>
							<input
								id={name}
								name={name}
								type="number"
								value={String(account.settings[name] ?? "")}
								aria-invalid={settingError(name) ? "true" : undefined}
								aria-describedby={settingError(name) ? `${name}-hint ${name}-error` : `${name}-hint`}
							/>
							{settingError(name) && (
								<p id={`${name}-error`} class="error">
									{settingError(name)}
								</p>
							)}
						</div>
					))}
					<div>
						<label for="archiveRetentionYears">Keep the audit archive for (years; empty keeps it)</label>
						<p id="archiveRetentionYears-hint" class="muted">
							{ARCHIVE_RETENTION_YEARS.min} to {ARCHIVE_RETENTION_YEARS.max}, or empty; the archive bucket's rules
							follow when the operator next applies them
						</p>
						<input
							id="archiveRetentionYears"
							name="archiveRetentionYears"
							type="number"
							value={String(account.settings.archiveRetentionYears ?? "")}
							aria-invalid={settingError("archiveRetentionYears") ? "true" : undefined}
							aria-describedby={
								settingError("archiveRetentionYears")
									? "archiveRetentionYears-hint archiveRetentionYears-error"
									: "archiveRetentionYears-hint"
							}
						/>
						{settingError("archiveRetentionYears") && (
							<p id="archiveRetentionYears-error" class="error">
								{settingError("archiveRetentionYears")}
							</p>
						)}
					</div>
					<button type="submit">Save settings</button>
				</form>
			</section>
			<section>
				<h2>Email domains and SCIM</h2>
				<p>Verify your organisation's mail domain so its identity provider can provision people here.</p>
				<a href={`/console/a/${accountId}/domains`}>Email domains…</a>
			</section>
			<section>
				<h2>Single sign-on</h2>
				<p>
					Sign your verified domains' people in through your identity provider (OIDC), and enforce it
					{account.settings.enforceSso ? " (enforced now)" : ""}.
				</p>
				<a href={`/console/a/${accountId}/sso`}>Single sign-on…</a>
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

export function registerConsoleSettings(app: App) {
	app.get(
		"/console/a/:accountId/settings",
		ui.withAccount(app, (c, me, accountId) => settingsPage(c, me, accountId)),
	);

	app.post(
		"/console/a/:accountId/settings",
		ui.withAccount(app, async (c, me, accountId) => {
			const form = await ui.formOf(c);
			const settings: Settings = {
				mfaPolicy: form.mfaPolicy === "any" || form.mfaPolicy === "phishing-resistant" ? form.mfaPolicy : "off",
				passwordComposition: form.passwordComposition === "on",
				leakedKeyPolicy: form.leakedKeyPolicy === "rotate" ? "rotate" : "revoke",
			};
			for (const [name] of SETTINGS) if (form[name]) settings[name] = Number(form[name]);
			// Empty keeps the archive (null); anything else is checked by the API, named if refused.
			const years = Number(form.archiveRetentionYears);
			settings.archiveRetentionYears = form.archiveRetentionYears ? (Number.isFinite(years) ? years : -1) : null;
			const res = await me.api.call((api) =>
				api.accounts.update({ accountId, body: { name: form.name ?? "", settings } }),
			);
			if (!res.ok && isReauthenticationRequired(res.problem))
				return reauthenticationPrompt(c, me, `/console/a/${accountId}/settings`, form);
			return res.ok
				? c.redirect(`/console/a/${accountId}/settings?done=1`, 303)
				: settingsPage(c, me, accountId, res.problem);
		}),
	);
}
