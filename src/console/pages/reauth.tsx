/**
 * Re-authentication in the console, in place: when the API answers a form with
 * `reauthentication-required`, the page asks for a passkey, or the password (and the
 * authenticator's code, when the person has one), keeping the
 * form the person filled in (as hidden fields), then proves it
 * (`POST /v1/me/reauthenticate`), switches the browser to the new session, and
 * finishes the action they started by posting that form again. Only the
 * console's own forms that need a fresh proof can be replayed.
 */

import { SESSION_COOKIE, sessionCookie } from "../../identity/sessions";
import type { App } from "../../platform/app-env";
import { type Body, fieldErrors, isProblem, type Problem } from "../client/api";
import { CodeField, Notice, PasswordField } from "../components/layout";
import { PasskeyForm, postedCredential } from "../components/passkey";
import * as ui from "../components/render";

export const isReauthenticationRequired = (problem: Problem | null | undefined): boolean =>
	isProblem(problem, "reauthentication-required");

const REPLAY = "__replay";
/** The names of secrets the form carried and the prompt did not keep, so the finished form can ask again. */
export const WITHHELD = "__withheld";
/**
 * Fields never written into the prompt's page: the prompt's own proof, and every secret a form may
 * carry (a new password, a recovery code, an identity provider's client secret, a token).
 */
const NEVER_KEPT = new Set([
	"password",
	"code",
	"credential",
	"currentPassword",
	"newPassword",
	"recoveryCode",
	"clientSecret",
	"token",
]);
const PROOF = new Set(["password", "code", "credential"]);

/** Secrets (not the proof itself) the form held with a value, with those an earlier prompt withheld. */
const withheldNames = (form: Record<string, string>): string => {
	const names = new Set((form[WITHHELD] ?? "").split(",").filter(Boolean));
	for (const [name, value] of Object.entries(form))
		if (NEVER_KEPT.has(name) && !PROOF.has(name) && value) names.add(name);
	return [...names].sort().join(",");
};

/** Whether the prompt withheld this field of the form being finished (it must be asked for again). */
export const wasWithheld = (form: Record<string, string>, name: string): boolean =>
	(form[WITHHELD] ?? "").split(",").includes(name);

/**
 * The console forms that may be finished after a fresh proof: every POST route of the console's
 * account and security pages, read from the router itself once they are registered, so a new form
 * that meets the prompt can never be one the prompt cannot finish (a hand-kept list missed the key
 * settings form). Path parameters stand for ids (`acc_…`, `key_…`, `usr_…`, `inv_…`, `ses_…`); the
 * replay posts to the console's own route, as the person, with the new session.
 */
function replayableForms(app: App): RegExp[] {
	return app.routes
		.filter((r) => r.method === "POST" && /^\/console\/(a\/:accountId\/|security\/)/.test(r.path))
		.map((r) => new RegExp(`^${r.path.replace(/:[A-Za-z]+/g, "[a-z]{3}_[a-z2-7]{16}").replaceAll("/", "\\/")}$`));
}

/** The prompt: a passkey or the password (and code), and the form to finish afterwards. */
export async function reauthenticationPrompt(
	c: ui.ConsoleContext,
	me: ui.SignedIn,
	action: string,
	form: Record<string, string>,
	problem?: Problem | null,
	status = 403,
) {
	const errors = fieldErrors(problem);
	const hasPasskey = me.user.passkeys > 0;
	const options = hasPasskey ? await me.api.call((api) => api.auth.passkeyOptions()) : null;
	// A user whose only second factor is a passkey proves it with the passkey: the password alone is one factor.
	const passwordForm = me.user.totpEnabled || !hasPasskey;
	const withheld = withheldNames(form);
	const kept = (
		<>
			<input type="hidden" name={REPLAY} value={action} />
			{Object.entries(form)
				.filter(([name]) => name !== REPLAY && name !== WITHHELD && !NEVER_KEPT.has(name))
				.map(([name, value]) => (
					<input type="hidden" name={`field.${name}`} value={value} />
				))}
			{withheld && <input type="hidden" name={`field.${WITHHELD}`} value={withheld} />}
		</>
	);
	return ui.renderPage(
		c,
		"Confirm it is you",
		ui.nav(me.memberships[0]?.accountId ?? null, ""),
		<section>
			<p>
				This change needs you to confirm it is you first (you last did more than ten minutes ago):
				{hasPasskey ? " with your passkey" : ""}
				{hasPasskey && passwordForm ? ", or" : ""}
				{passwordForm ? ` your password${me.user.totpEnabled ? " and a code from your authenticator app" : ""}` : ""}.
			</p>
			{problem && !problem.errors && <Notice kind="bad">{problem.detail ?? problem.title}</Notice>}
			{options?.ok && (
				<PasskeyForm
					action="/console/reauthenticate"
					ceremony="get"
					options={options.data}
					label="Confirm with a passkey"
				>
					{kept}
				</PasskeyForm>
			)}
			{me.singleSignOn && (
				<form method="post" action="/console/reauthenticate/sso">
					<input type="hidden" name={REPLAY} value={action} />
					<button type="submit" class={passwordForm ? "secondary" : undefined}>
						Confirm with single sign-on
					</button>
					<p class="muted">Your identity provider asks you to sign in again; then submit the change once more.</p>
				</form>
			)}
			{passwordForm && (
				<form method="post" action="/console/reauthenticate">
					{kept}
					<PasswordField label="Your password" errors={errors} />
					{me.user.totpEnabled && <CodeField label="Code from your authenticator app" errors={errors} />}
					<button type="submit">Confirm and continue</button>
				</form>
			)}
		</section>,
		status,
	);
}

/** The page to come back to after a proof through the provider: the form's own page, or the nearest one above it. */
function pageOf(app: App, action: string): string {
	const pages = app.routes
		.filter((r) => r.method === "GET" && r.path.startsWith("/console"))
		.map((r) => new RegExp(`^${r.path.replace(/:[A-Za-z]+/g, "[a-z]{3}_[a-z2-7]{16}").replaceAll("/", "\\/")}$`));
	for (let path = action; /^\/console(\/[A-Za-z0-9_-]+)*$/.test(path); path = path.slice(0, path.lastIndexOf("/")))
		if (pages.some((page) => page.test(path))) return path;
	return "/console";
}

/** Registered after every other console page: the forms it may finish are read from the router. */
export function registerConsoleReauth(app: App) {
	let replayable: RegExp[] | null = null;

	/** A proof through the identity provider: it asks the person to sign in again, then back to the form's page. */
	app.post(
		"/console/reauthenticate/sso",
		ui.withUser(app, async (c, me) => {
			const posted = await ui.formOf(c);
			const action = posted[REPLAY] ?? "/console";
			const res = await me.api.call((api) => api.me.reauthenticateWithSso({ body: { returnTo: pageOf(app, action) } }));
			if (!res.ok) return reauthenticationPrompt(c, me, action, {}, res.problem, res.status);
			return ui.toIdentityProvider(c, res.data.location);
		}),
	);
	app.post(
		"/console/reauthenticate",
		ui.withUser(app, async (c, me) => {
			const posted = await ui.formOf(c);
			const action = posted[REPLAY] ?? "";
			const fields = Object.fromEntries(
				Object.entries(posted)
					.filter(([name]) => name.startsWith("field."))
					.map(([name, value]) => [name.slice("field.".length), value]),
			);
			replayable ??= replayableForms(app);
			if (!replayable.some((pattern) => pattern.test(action)))
				return ui.renderPage(c, "Not found", ui.nav(null, ""), <p>Nothing to continue.</p>, 404);
			const res = await me.api.call((api) =>
				api.me.reauthenticate({
					body:
						posted.credential !== undefined
							? { credential: postedCredential(posted) as Body<"me", "reauthenticate">["credential"] }
							: me.user.totpEnabled
								? { password: posted.password ?? "", method: "totp", code: (posted.code ?? "").trim() }
								: { password: posted.password ?? "" },
				}),
			);
			if (!res.ok) return reauthenticationPrompt(c, me, action, fields, res.problem, res.status);
			const { token, expiresAt } = res.data.session;
			const now = c.get("services").clock.now().getTime();
			const maxAge = Math.max(0, Math.floor((Date.parse(expiresAt) - now) / 1000));
			// Finish what they started, as the new session, through the console's own route.
			const replay = await app.fetch(
				new Request(new URL(action, c.req.url), {
					method: "POST",
					headers: {
						"Content-Type": "application/x-www-form-urlencoded",
						Cookie: `${SESSION_COOKIE}=${token}`,
						Origin: new URL(c.req.url).origin,
						...Object.fromEntries(
							["CF-Connecting-IP", "User-Agent"].flatMap((h) =>
								c.req.header(h) ? [[h, c.req.header(h) as string]] : [],
							),
						),
					},
					body: new URLSearchParams(fields).toString(),
				}),
				c.env,
				c.executionCtx,
			);
			const headers = new Headers(replay.headers);
			// The browser switches to the new session, unless the replayed action ended it (an erasure
			// clears the cookie): then its word stands, and no dead session stays in the browser.
			const setsSession = headers.getSetCookie().some((cookie) => cookie.startsWith(`${SESSION_COOKIE}=`));
			if (!setsSession) headers.append("Set-Cookie", sessionCookie(token, maxAge));
			// The replayed page's own nonce-based policy, which the headers middleware would otherwise replace.
			const policy = replay.headers.get("Content-Security-Policy");
			if (policy) c.set("contentSecurityPolicy", policy);
			return new Response(replay.body, { status: replay.status, headers });
		}),
	);
}
