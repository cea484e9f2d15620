/**
 * Settings > Security: password, two-factor (enrol with a QR code, confirm,
 * recovery codes shown once), and the sessions list with revoke and "sign out
 * everywhere else". Secrets shown here (the TOTP secret during enrolment,
 * recovery codes) appear only in the response to the form that produced them.
 */
import { raw } from "hono/html";
import { clearedSessionCookie } from "../../identity/sessions";
import type { App } from "../../platform/app-env";
import { qrSvg } from "../../security/totp";
import { fieldErrors, type KeywardClient, KeywardError, type Problem } from "../client/api";
import { describeDevice } from "../components/device";
import { CodeField, Field, Notice, PasswordField, ShownOnce, Table } from "../components/layout";
import { PasskeyForm, postedCredential } from "../components/passkey";
import * as ui from "../components/render";
import { isReauthenticationRequired, reauthenticationPrompt } from "./reauth";

/** Sends a new address-confirmation link (the API allows 3 an hour). */
export const ResendVerificationForm = () => (
	<form method="post" action="/console/security/resend-verification">
		<button type="submit" class="secondary">
			Email me a new link
		</button>
	</form>
);

const DONE: Record<string, string> = {
	password: "Your password is changed.",
	"mfa-off": "Two-factor authentication is off.",
	revoked: "The session is signed out.",
	others: "Every other session is signed out.",
	verified: "Your email address is verified.",
	"link-sent": "We emailed you a new link. Open it in this browser; it is valid for 24 hours.",
	"email-changed": "Your email address is changed; your other sessions were signed out.",
	"passkey-added": "The passkey is added. Next time, sign in with it.",
	"passkey-renamed": "The passkey is renamed.",
	"passkey-removed": "The passkey is removed; it no longer signs you in.",
};

async function securityPage(
	c: ui.ConsoleContext,
	me: ui.SignedIn,
	extra: { problem?: Problem | null; form?: string; notice?: string } = {},
) {
	const [sessions, passkeys] = await Promise.all([
		me.api.call((api) => api.me.listSessions()),
		me.api.call((api) => api.me.listPasskeys()),
	]);
	const errors = fieldErrors(extra.problem);
	const formError = (form: string) =>
		extra.form === form && extra.problem && !extra.problem.errors ? (
			<Notice kind="bad">{extra.problem.detail ?? extra.problem.title}</Notice>
		) : null;
	const done = ui.doneOf(c, DONE) ?? extra.notice;
	const accountId = me.memberships[0]?.accountId ?? null;
	return ui.renderPage(
		c,
		"Security",
		ui.nav(accountId, "security"),
		<>
			{done && <Notice kind="ok">{done}</Notice>}
			{me.user.passwordBreached && (
				<Notice kind="bad">
					Your password appears in known data breaches, so anyone can try it. Change it below, now.
				</Notice>
			)}
			<p class="muted">
				Signed in as {me.user.name} ({me.user.email})
			</p>
			{!me.user.emailVerified && (
				<section>
					<h2>Verify your email address</h2>
					{formError("verify")}
					<form method="post" action="/console/security/verify-email">
						<Field
							name="token"
							label="Code from the verification email"
							autocomplete="off"
							errors={extra.form === "verify" ? errors : {}}
							required
						/>
						<button type="submit">Verify</button>
					</form>
					<ResendVerificationForm />
				</section>
			)}
			<section>
				<h2>Email address</h2>
				{formError("email")}
				<form method="post" action="/console/security/email">
					<Field
						name="email"
						label="New email address"
						type="email"
						autocomplete="email"
						hint="We send a code to the new address; your current address is told and can cancel it for 72 hours."
						errors={extra.form === "email" ? errors : {}}
						required
					/>
					<button type="submit" class="secondary">
						Change email address
					</button>
				</form>
				<form method="post" action="/console/security/email/confirm">
					<Field
						name="token"
						id="email-change-token"
						label="Code sent to the new address"
						autocomplete="off"
						errors={extra.form === "email-confirm" ? errors : {}}
						required
					/>
					<button type="submit" class="secondary">
						Confirm the new address
					</button>
				</form>
			</section>
			<section>
				<h2>Password</h2>
				{formError("password")}
				<form method="post" action="/console/security/password">
					<PasswordField
						name="currentPassword"
						label="Current password"
						errors={extra.form === "password" ? errors : {}}
					/>
					<PasswordField
						purpose="new"
						name="newPassword"
						label="New password"
						errors={extra.form === "password" ? errors : {}}
					/>
					<label class="check">
						<input type="checkbox" name="revokeOtherSessions" checked /> Sign out my other sessions
					</label>
					<button type="submit">Change password</button>
				</form>
			</section>
			<section>
				<h2>Passkeys</h2>
				<p class="muted">
					A passkey signs you in with your device's screen lock (fingerprint, face or PIN) instead of a password and
					code. It works only on Keyward's own site, so it cannot be phished.
				</p>
				{formError("passkeys")}
				<Table
					caption="Your passkeys"
					columns={["Name", "Added", "Last used", "Synced", "Actions"]}
					empty="No passkeys yet."
					rows={(passkeys.ok ? passkeys.data.data : []).map((p) => [
						p.name,
						ui.formatTime(p.createdAt),
						ui.formatTime(p.lastUsedAt),
						p.backedUp ? "yes" : "no",
						<>
							<form method="post" action={`/console/security/passkeys/${p.id}/rename`} class="row">
								<Field
									name="name"
									id={`rename-${p.id}`}
									label={`New name for ${p.name}`}
									value={p.name}
									errors={extra.form === "passkeys" ? errors : {}}
									required
								/>
								<button type="submit" class="secondary">
									Rename
								</button>
							</form>
							<form method="post" action={`/console/security/passkeys/${p.id}/remove`} class="inline">
								<button type="submit" class="danger" aria-label={`Remove passkey ${p.name}`}>
									Remove
								</button>
							</form>
						</>,
					])}
				/>
				<form method="post" action="/console/security/passkey-start">
					<Field
						name="name"
						id="new-passkey-name"
						label="Name for a new passkey"
						hint="Which device or password manager it will live in, such as 'Work laptop'."
						errors={extra.form === "passkey-start" ? errors : {}}
						required
					/>
					<button type="submit">Add a passkey</button>
				</form>
			</section>
			<section>
				<h2>Two-factor authentication</h2>
				{formError("mfa")}
				{me.user.totpEnabled ? (
					<>
						<p>
							<span class="badge active">On</span> Sign-in asks for a code from your authenticator app.
						</p>
						<form method="post" action="/console/security/recovery-codes">
							<PasswordField
								id="codes-password"
								label="Password (to make new recovery codes)"
								errors={extra.form === "codes" ? errors : {}}
							/>
							<CodeField
								id="codes-code"
								label="Code from your authenticator app"
								errors={extra.form === "codes" ? errors : {}}
							/>
							<button type="submit" class="secondary">
								Make new recovery codes
							</button>
						</form>
						<form method="post" action="/console/security/totp/disable">
							<PasswordField
								id="disable-password"
								label="Password (to turn two-factor off)"
								errors={extra.form === "mfa" ? errors : {}}
							/>
							<CodeField label="Current 6-digit code" errors={extra.form === "mfa" ? errors : {}} />
							<button type="submit" class="danger">
								Turn two-factor off
							</button>
						</form>
						<details>
							<summary>Lost your authenticator?</summary>
							{formError("replace")}
							<form method="post" action="/console/security/totp/replace">
								<PasswordField id="replace-password" label="Password" errors={extra.form === "replace" ? errors : {}} />
								<Field
									name="recoveryCode"
									label="One of your recovery codes"
									autocomplete="off"
									hint="The lost app and every recovery code stop working, your other sessions are signed out, and you set up the new app next."
									errors={extra.form === "replace" ? errors : {}}
									required
								/>
								<button type="submit" class="danger">
									Replace my authenticator
								</button>
							</form>
						</details>
					</>
				) : (
					<form method="post" action="/console/security/totp">
						<p>
							<span class="badge expired">Off</span> Add an authenticator app so a stolen password is not enough.
						</p>
						<PasswordField label="Password" errors={extra.form === "mfa" ? errors : {}} />
						<button type="submit">Set up an authenticator app</button>
					</form>
				)}
			</section>
			<section>
				<h2>Active sessions</h2>
				<Table
					caption="Where you are signed in"
					columns={["Device", "IP", "Country", "Last seen", "Actions"]}
					empty="No active sessions."
					rows={(sessions.ok ? sessions.data.data : []).map((s) => [
						<>
							<span title={s.userAgent ?? undefined}>{describeDevice(s.userAgent)}</span>{" "}
							{s.current && <span class="badge active">This device</span>}
						</>,
						s.ip ?? "—",
						s.country ?? "—",
						ui.formatTime(s.lastSeenAt),
						s.current ? (
							"—"
						) : (
							<form method="post" action={`/console/security/sessions/${s.id}/revoke`} class="inline">
								<button type="submit" class="secondary" aria-label={`Sign out session ${s.id}`}>
									Sign out
								</button>
							</form>
						),
					])}
				/>
				<form method="post" action="/console/security/revoke-other-sessions">
					<button type="submit" class="danger">
						Sign out everywhere else
					</button>
				</form>
			</section>
			<section>
				<h2>Your data</h2>
				<p>
					Everything Keyward holds about you: your profile, sessions, second factors (never their secrets), memberships,
					invitations, the keys you made (never a secret) and the audit events you acted in.
				</p>
				<a href="/console/security/export">Download your data (JSON)</a>
			</section>
			<section>
				<h2>Erase your account</h2>
				<p>
					Ends your sessions and memberships, removes your passkeys, authenticator and recovery codes, revokes the keys
					you made, deletes the accounts you are alone in, and makes your personal data in every audit trail unreadable.
					It cannot be undone. If you own an account that has other members, transfer it or remove them first.
				</p>
				{extra.form === "erase" && extra.problem?.errors && (
					<Notice kind="bad">
						{extra.problem.detail ?? extra.problem.title}
						<ul>
							{extra.problem.errors.map((e) => (
								<li>{e.message}</li>
							))}
						</ul>
					</Notice>
				)}
				<form method="post" action="/console/security/erase">
					<label class="check">
						<input type="checkbox" name="confirm" required /> I understand that this erases me and cannot be undone
					</label>
					<button type="submit" class="danger">
						Erase my account
					</button>
				</form>
			</section>
		</>,
		extra.problem ? extra.problem.status : 200,
	);
}

const RecoveryCodes = ({ codes }: { codes: string[] }) => (
	<section>
		<h2>Recovery codes</h2>
		<p>
			<strong>Shown once.</strong> Each code signs you in once if you lose your authenticator. Store them somewhere
			safe; you will not see them again.
		</p>
		<ul id="recovery-codes" class="codes">
			{codes.map((code) => (
				<li>
					<code>{code}</code>
				</li>
			))}
		</ul>
		<button type="button" class="secondary" data-copy="recovery-codes" hidden>
			Copy codes
		</button>{" "}
		<button
			type="button"
			class="secondary"
			data-download="recovery-codes"
			data-filename="keyward-recovery-codes.txt"
			hidden
		>
			Download codes
		</button>
		<p>
			<a href="/console/security">Done</a>
		</p>
	</section>
);

/**
 * The enrolment step: the QR code and secret of a new authenticator, and the code that confirms it.
 * A code that does not match shows this step again, with the same secret (the app already holds
 * it) and the API's message next to the code field.
 */
const enrolmentPage = (
	c: ui.ConsoleContext,
	me: ui.SignedIn,
	data: { secret: string; uri: string; qrSvg: string },
	notice?: string,
	problem?: Problem | null,
) =>
	ui.renderPage(
		c,
		"Set up your authenticator app",
		ui.nav(me.memberships[0]?.accountId ?? null, "security"),
		<section>
			{notice && <Notice kind="ok">{notice}</Notice>}
			{problem && !problem.errors && <Notice kind="bad">{ui.problemText(problem)}</Notice>}
			<ol>
				<li>Scan this QR code with your authenticator app, or type the secret below into it.</li>
				<li>Enter the 6-digit code the app shows to finish.</li>
			</ol>
			<figure class="qr" aria-label="QR code of the authenticator secret">
				{raw(data.qrSvg)}
			</figure>
			<ShownOnce id="totp-secret" value={data.secret} label="Secret for manual entry." />
			<form method="post" action="/console/security/totp/confirm">
				<input type="hidden" name="uri" value={data.uri} />
				<CodeField label="6-digit code from the app" errors={fieldErrors(problem)} />
				<button type="submit">Turn on two-factor</button>
			</form>
		</section>,
		problem ? 400 : 200,
	);

/**
 * The enrolment a refused confirmation came from, rebuilt from the `otpauth://` URI the step
 * posted back (the page that showed the secret is the only place it was). Null when the posted
 * value is not such a URI.
 */
function enrolmentFromUri(uri: string | undefined): { secret: string; uri: string; qrSvg: string } | null {
	if (!uri || uri.length > 512) return null;
	let parsed: URL;
	try {
		parsed = new URL(uri);
	} catch {
		return null;
	}
	const secret = parsed.searchParams.get("secret") ?? "";
	if (parsed.protocol !== "otpauth:" || !/^[A-Z2-7]{16,128}$/.test(secret)) return null;
	return { secret, uri, qrSvg: qrSvg(uri) };
}

/** A trimmed text field of a posted form. */
const text = (form: Record<string, string>, name: string) => (form[name] ?? "").trim();

/**
 * One form of the page: post → one API call → on success `done`, on a problem the page again with
 * the problem next to the form that caused it (or, for the forms that need a fresh proof, the
 * re-authentication prompt that finishes them).
 */
function securityForm<T>(
	app: App,
	path: string,
	formName: string,
	call: (api: KeywardClient, form: Record<string, string>, c: ui.ConsoleContext) => Promise<T>,
	done: (c: ui.ConsoleContext, me: ui.SignedIn, data: T) => Response | Promise<Response>,
	options: {
		replayable?: boolean;
		/** A page of its own for a refusal (null: the Security page with the problem). */
		refused?: (
			c: ui.ConsoleContext,
			me: ui.SignedIn,
			problem: Problem,
			form: Record<string, string>,
		) => Response | Promise<Response> | null;
	} = {},
) {
	const action = `/console/security${path}`;
	app.post(
		action,
		ui.withUser(app, async (c, me) => {
			const form = await ui.formOf(c);
			const res = await me.api.call((api) => call(api, form, c));
			if (!res.ok && options.replayable && isReauthenticationRequired(res.problem))
				return reauthenticationPrompt(c, me, action, form);
			if (!res.ok) {
				const own = options.refused?.(c, me, res.problem, form);
				return own ?? securityPage(c, me, { problem: res.problem, form: formName });
			}
			return done(c, me, res.data);
		}),
	);
}

/** A form checked here before the API is called, refused as the API would: a 400 naming the field. */
const formRefusal = (c: ui.ConsoleContext, detail: string, path: string, message: string) =>
	new KeywardError({
		type: "https://keyward.dev/problems/validation",
		title: "Invalid request",
		status: 400,
		detail,
		requestId: c.get("requestId") ?? "",
		errors: [{ path, message }],
	});

/** After an erasure the session is gone: the browser forgets it and lands on a page that says what happened. */
const erased = (c: ui.ConsoleContext) => {
	c.header("Set-Cookie", clearedSessionCookie());
	return c.redirect("/console/sign-in?erased=1", 303);
};

const redirectDone = (what: string) => (c: ui.ConsoleContext) => c.redirect(`/console/security?done=${what}`, 303);

const showRecoveryCodes =
	(title: string) => (c: ui.ConsoleContext, me: ui.SignedIn, data: { recoveryCodes: string[] }) =>
		ui.renderPage(
			c,
			title,
			ui.nav(me.memberships[0]?.accountId ?? null, "security"),
			<RecoveryCodes codes={data.recoveryCodes} />,
		);

/** The step between naming a passkey and the browser making it: the options, and the button that uses them. */
const newPasskeyPage = (c: ui.ConsoleContext, me: ui.SignedIn, name: string, options: unknown) =>
	ui.renderPage(
		c,
		"Add a passkey",
		ui.nav(me.memberships[0]?.accountId ?? null, "security"),
		<section>
			<p>
				Your browser will ask where to keep the passkey named <strong>{name}</strong>: this device, your phone or a
				security key. Then unlock it the way you unlock the device.
			</p>
			<PasskeyForm action="/console/security/passkeys" ceremony="create" options={options} label="Create the passkey">
				<input type="hidden" name="name" value={name} />
			</PasskeyForm>
			<noscript>
				<p>Adding a passkey needs JavaScript.</p>
			</noscript>
			<p>
				<a href="/console/security">Cancel</a>
			</p>
		</section>,
	);

export function registerConsoleSecurity(app: App) {
	app.get(
		"/console/security",
		ui.withUser(app, (c, me) => securityPage(c, me)),
	);

	// The API's export, streamed through with a download name (it asks for a recent proof of identity).
	app.get(
		"/console/security/export",
		ui.withUser(app, async (c, me) => {
			const res = await me.api.raw("/v1/me/export");
			if (!res.ok) {
				const problem = await res.json<{ title: string; detail?: string }>();
				return ui.renderPage(
					c,
					"Export failed",
					null,
					<Notice kind="bad">{ui.problemText(problem)}</Notice>,
					res.status,
				);
			}
			return new Response(res.body, {
				headers: {
					"Content-Type": "application/json; charset=utf-8",
					"Content-Disposition": 'attachment; filename="keyward-my-data.json"',
					"Cache-Control": "no-store",
				},
			});
		}),
	);

	// Erasure (issue #26): DELETE /v1/me, behind a confirmation box and a fresh proof of identity.
	securityForm(
		app,
		"/erase",
		"erase",
		async (api, f, c) => {
			if (f.confirm !== "on")
				throw formRefusal(
					c,
					"Confirm that you want to be erased",
					"confirm",
					"Tick the box to confirm: an erasure cannot be undone",
				);
			return api.me.erase();
		},
		erased,
		{ replayable: true },
	);
	securityForm(
		app,
		"/password",
		"password",
		(api, f) =>
			api.me.changePassword({
				body: {
					currentPassword: f.currentPassword ?? "",
					newPassword: f.newPassword ?? "",
					revokeOtherSessions: f.revokeOtherSessions === "on",
				},
			}),
		redirectDone("password"),
	);
	securityForm(
		app,
		"/verify-email",
		"verify",
		(api, f) => api.auth.verifyEmail({ body: { token: text(f, "token") } }),
		redirectDone("verified"),
	);
	securityForm(
		app,
		"/resend-verification",
		"verify",
		(api) => api.auth.resendVerification(),
		redirectDone("link-sent"),
	);
	securityForm(
		app,
		"/totp",
		"mfa",
		(api, f) => api.me.startTotp({ body: { password: f.password ?? "" } }),
		(c, me, data) => enrolmentPage(c, me, data),
	);
	securityForm(
		app,
		"/totp/confirm",
		"mfa",
		(api, f) => api.me.confirmTotp({ body: { code: text(f, "code") } }),
		showRecoveryCodes("Two-factor is on"),
		{
			// A wrong code keeps the enrolment on screen: the app already holds this secret.
			refused: (c, me, problem, form) => {
				const enrolment = enrolmentFromUri(form.uri);
				if (enrolment && problem.status !== 409) return enrolmentPage(c, me, enrolment, undefined, problem);
				// Without the enrolment to show, the message goes at the top of the two-factor section.
				const message = problem.errors?.[0]?.message ?? ui.problemText(problem) ?? problem.title;
				return securityPage(c, me, { problem: { ...problem, detail: message, errors: undefined }, form: "mfa" });
			},
		},
	);
	securityForm(
		app,
		"/recovery-codes",
		"codes",
		(api, f) => api.me.regenerateRecoveryCodes({ body: { password: f.password ?? "", code: text(f, "code") } }),
		showRecoveryCodes("New recovery codes"),
	);
	securityForm(
		app,
		"/totp/disable",
		"mfa",
		(api, f) => api.me.disableTotp({ body: { password: f.password ?? "", code: text(f, "code") } }),
		redirectDone("mfa-off"),
	);
	securityForm(
		app,
		"/passkey-start",
		"passkey-start",
		async (api, f, c) => {
			const name = text(f, "name");
			// The name is checked here, before the browser is asked to make anything.
			if (name === "" || name.length > 64)
				throw formRefusal(c, "The passkey needs a name", "name", "Give it a name of 1 to 64 characters");
			return { name, options: await api.me.passkeyOptions() };
		},
		(c, me, data) => newPasskeyPage(c, me, data.name, data.options),
		{ replayable: true },
	);
	securityForm(
		app,
		"/passkeys",
		"passkeys",
		(api, f) =>
			api.me.addPasskey({
				body: {
					name: text(f, "name"),
					credential: postedCredential(f) as Parameters<KeywardClient["me"]["addPasskey"]>[0]["body"]["credential"],
				},
			}),
		redirectDone("passkey-added"),
	);
	securityForm(
		app,
		"/passkeys/:passkeyId/rename",
		"passkeys",
		(api, f, c) => api.me.renamePasskey({ passkeyId: c.req.param("passkeyId") ?? "", body: { name: text(f, "name") } }),
		redirectDone("passkey-renamed"),
	);
	securityForm(
		app,
		"/passkeys/:passkeyId/remove",
		"passkeys",
		(api, _f, c) => api.me.removePasskey({ passkeyId: c.req.param("passkeyId") ?? "" }),
		redirectDone("passkey-removed"),
		{ replayable: true },
	);
	securityForm(
		app,
		"/sessions/:sessionId/revoke",
		"sessions",
		(api, _f, c) => api.me.revokeSession({ sessionId: c.req.param("sessionId") ?? "" }),
		redirectDone("revoked"),
	);
	securityForm(
		app,
		"/revoke-other-sessions",
		"sessions",
		(api) => api.me.revokeOtherSessions(),
		redirectDone("others"),
		{
			replayable: true,
		},
	);
	securityForm(
		app,
		"/email",
		"email",
		(api, f) => api.me.changeEmail({ body: { email: text(f, "email") } }),
		(c, me, data) =>
			securityPage(c, me, {
				notice: `We sent a code to ${data.pending.email}: enter it below to finish. Your current address was told.`,
			}),
		{ replayable: true },
	);
	securityForm(
		app,
		"/email/confirm",
		"email-confirm",
		(api, f) => api.auth.confirmEmailChange({ body: { token: text(f, "token") } }),
		redirectDone("email-changed"),
	);
	securityForm(
		app,
		"/totp/replace",
		"replace",
		(api, f) => api.me.replaceTotp({ body: { password: f.password ?? "", recoveryCode: text(f, "recoveryCode") } }),
		(c, me, data) =>
			enrolmentPage(
				c,
				me,
				data,
				"Your lost authenticator no longer works and your other sessions are signed out. Set up the new one.",
			),
	);
}
