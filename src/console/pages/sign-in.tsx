/**
 * Console pages for signing up, in (with a second factor) and out, and for
 * resetting a password. The session is the API's own cookie
 * (`__Host-keyward_session`); a login waiting for its second factor keeps its
 * challenge token in a short-lived HttpOnly cookie, never in a URL.
 */
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { clearedSessionCookie, sessionCookie } from "../../identity/sessions";
import type { App } from "../../platform/app-env";
import { type Body, consoleApi, fieldErrors, isProblem, type Problem } from "../client/api";
import { CodeField, Field, Notice, PasswordField } from "../components/layout";
import { PasskeyForm, postedCredential } from "../components/passkey";
import { type ConsoleContext, formOf, renderPage, toIdentityProvider } from "../components/render";

const CHALLENGE_COOKIE = "__Host-keyward_challenge";

type SecondFactorMethod = Body<"auth", "verifyMfa">["method"];
type PasskeyAssertion = Body<"auth", "passkeySignIn">["credential"];

function startConsoleSession(c: ConsoleContext, session: { token: string; expiresAt: string }) {
	const now = c.get("services").clock.now().getTime();
	const maxAge = Math.max(0, Math.floor((Date.parse(session.expiresAt) - now) / 1000));
	c.header("Set-Cookie", sessionCookie(session.token, maxAge), { append: true });
	deleteCookie(c, CHALLENGE_COOKIE, { path: "/", secure: true });
	return c.redirect("/console", 303);
}

const throttled = (p: Problem) => p.status === 429;

const SignInForm = ({
	email = "",
	problem,
	passkeyOptions,
	passkeyFailed = false,
}: {
	email?: string;
	problem?: Problem | null;
	passkeyOptions?: unknown;
	passkeyFailed?: boolean;
}) => (
	<section>
		{problem && (
			<Notice kind="bad">
				{throttled(problem)
					? "Too many attempts. Wait a little and try again."
					: passkeyFailed
						? "That passkey did not sign you in. Try again, or use your password."
						: "The email or password is not right."}
			</Notice>
		)}
		<form method="post" action="/console/sign-in">
			{/* `webauthn` lets the browser offer the user's passkeys in this field's autofill. */}
			<Field name="email" label="Email" type="email" value={email} autocomplete="username webauthn" required />
			<PasswordField label="Password" />
			<button type="submit">Sign in</button>
		</form>
		{passkeyOptions !== undefined && (
			<PasskeyForm
				action="/console/sign-in/passkey"
				ceremony="get"
				options={passkeyOptions}
				label="Sign in with a passkey"
				conditional
			/>
		)}
		<p>
			New here? <a href="/console/sign-up">Create an account</a> ·{" "}
			<a href="/console/password-reset">Forgot your password?</a> ·{" "}
			<a href="/console/sign-in/sso">Sign in with single sign-on</a>
		</p>
	</section>
);

/** Single sign-on: the work address picks the identity provider (its domain is verified by an account). */
const SsoForm = ({
	email = "",
	problem,
	required = false,
}: {
	email?: string;
	problem?: Problem | null;
	required?: boolean;
}) => {
	const errors = fieldErrors(problem);
	return (
		<section>
			{required && (
				<Notice kind="info">
					Your organisation signs you in with single sign-on: continue with your identity provider.
				</Notice>
			)}
			{problem && !problem.errors && (
				<Notice kind="bad">
					{throttled(problem)
						? "Too many attempts. Wait a little and try again."
						: problem.status === 404
							? "No organisation signs in this address's domain with single sign-on. Sign in with your password or passkey."
							: (problem.detail ?? problem.title)}
				</Notice>
			)}
			<form method="post" action="/console/sign-in/sso">
				<Field
					name="email"
					label="Work email"
					type="email"
					value={email}
					autocomplete="username"
					errors={errors}
					required
				/>
				<button type="submit">Continue with single sign-on</button>
			</form>
			<p>
				<a href="/console/sign-in">Sign in with a password or passkey</a>
			</p>
		</section>
	);
};

/** The answer to a sign-in that single sign-on enforcement refused (after it proved the person): go there. */
const ssoRequired = (c: ConsoleContext, email = "") =>
	renderPage(c, "Single sign-on", null, <SsoForm email={email} required />, 403);

/**
 * The authenticator app first; recovery codes and email codes behind "Use another way" (open when
 * the visitor is already using one of them: an email code was just sent, or such a code failed).
 */
const SecondFactorForms = ({
	problem,
	emailed,
	method,
	passkeyOptions,
}: {
	problem?: Problem | null;
	emailed?: boolean;
	method?: string;
	/** Set when the user has a passkey: it comes first. */
	passkeyOptions?: unknown;
}) => {
	const errors = fieldErrors(problem);
	const otherWay = emailed === true || method === "recovery_code" || method === "email_code";
	return (
		<>
			{problem && !problem.errors && (
				<Notice kind="bad">
					{throttled(problem)
						? "Too many attempts. Wait and try again."
						: method === "passkey"
							? "That passkey did not work. Try again, or use another way."
							: "That code did not work."}
				</Notice>
			)}
			{emailed && <Notice kind="ok">We emailed you a 6-digit code. It is valid for 10 minutes.</Notice>}
			{passkeyOptions !== undefined && (
				<section>
					<h2>Passkey</h2>
					<p class="muted">Use the passkey on this device, your phone or your security key.</p>
					<PasskeyForm
						action="/console/sign-in/second-factor"
						ceremony="get"
						options={passkeyOptions}
						label="Use a passkey"
					>
						<input type="hidden" name="method" value="passkey" />
					</PasskeyForm>
				</section>
			)}
			<section>
				<h2>Authenticator app</h2>
				<p class="muted">Open your authenticator app and enter the code it shows for Keyward.</p>
				<form method="post" action="/console/sign-in/second-factor">
					<input type="hidden" name="method" value="totp" />
					<CodeField label="6-digit code" errors={method === "totp" || !method ? errors : {}} />
					<button type="submit">Verify</button>
				</form>
			</section>
			<details class="card" open={otherWay}>
				<summary>Use another way</summary>
				<h2>Recovery code</h2>
				<p class="muted">One of the ten codes you saved when you turned on two-factor. Each works once.</p>
				<form method="post" action="/console/sign-in/second-factor">
					<input type="hidden" name="method" value="recovery_code" />
					<Field
						name="code"
						id="recovery-code"
						label="Recovery code"
						autocomplete="off"
						errors={method === "recovery_code" ? errors : {}}
						required
					/>
					<button type="submit">Use recovery code</button>
				</form>
				<h2>Email code</h2>
				<form method="post" action="/console/sign-in/email-code">
					<button type="submit" class="secondary">
						Email me a code
					</button>
				</form>
				<form method="post" action="/console/sign-in/second-factor">
					<input type="hidden" name="method" value="email_code" />
					<CodeField id="email-code" label="Code from the email" errors={method === "email_code" ? errors : {}} />
					<button type="submit">Verify email code</button>
				</form>
			</details>
		</>
	);
};

/** Fresh options for a passkey sign-in (a challenge each page), or undefined when none could be had. */
async function signInPasskeyOptions(c: ConsoleContext, app: App): Promise<unknown> {
	const res = await consoleApi(c, app, null).call((api) => api.auth.passkeyOptions());
	return res.ok ? res.data : undefined;
}

export function registerConsoleAuth(app: App) {
	app.get("/console/sign-in", async (c) =>
		renderPage(
			c,
			"Sign in",
			null,
			<>
				{c.req.query("erased") === "1" && (
					<Notice kind="ok">
						Your account has been erased. A last email is on its way to the address it had; you can sign up again as a
						new user.
					</Notice>
				)}
				<SignInForm passkeyOptions={await signInPasskeyOptions(c, app)} />
			</>,
		),
	);

	app.get("/console/sign-in/sso", (c) => renderPage(c, "Single sign-on", null, <SsoForm />));

	/**
	 * Starts the sign-in at the API (which picks the provider and ties the sign-in to this browser
	 * with its cookie) and sends the browser on to the provider; a refusal stays on this page.
	 */
	app.post("/console/sign-in/sso", async (c) => {
		const form = await formOf(c);
		const email = (form.email ?? "").trim();
		const res = await consoleApi(c, app, null).raw(`/v1/auth/sso/start?email=${encodeURIComponent(email)}`);
		const location = res.headers.get("Location");
		if (res.status === 302 && location) return toIdentityProvider(c, location);
		const problem = (await res.json().catch(() => null)) as Problem | null;
		return renderPage(
			c,
			"Single sign-on",
			null,
			<SsoForm
				email={email}
				problem={
					problem ?? {
						type: "about:blank",
						title: "Try again",
						status: res.status,
						detail: "Single sign-on did not start; try again",
						requestId: "",
					}
				}
			/>,
			res.status >= 400 ? res.status : 502,
		);
	});

	app.post("/console/sign-in/passkey", async (c) => {
		const form = await formOf(c);
		const res = await consoleApi(c, app, null).call((api) =>
			api.auth.passkeySignIn({ body: { credential: postedCredential(form) as PasskeyAssertion } }),
		);
		if (res.ok) return startConsoleSession(c, res.data.session);
		if (isProblem(res.problem, "sso-required")) return ssoRequired(c);
		return renderPage(
			c,
			"Sign in",
			null,
			<SignInForm problem={res.problem} passkeyFailed passkeyOptions={await signInPasskeyOptions(c, app)} />,
			res.status,
		);
	});

	app.post("/console/sign-in", async (c) => {
		const form = await formOf(c);
		const res = await consoleApi(c, app, null).call((api) =>
			api.auth.login({ body: { email: form.email ?? "", password: form.password ?? "" } }),
		);
		if (!res.ok && isProblem(res.problem, "sso-required")) return ssoRequired(c, form.email);
		if (!res.ok)
			return renderPage(
				c,
				"Sign in",
				null,
				<SignInForm email={form.email} problem={res.problem} passkeyOptions={await signInPasskeyOptions(c, app)} />,
				res.status,
			);
		if ("session" in res.data) return startConsoleSession(c, res.data.session);
		setCookie(c, CHALLENGE_COOKIE, res.data.challenge?.token ?? "", {
			path: "/",
			httpOnly: true,
			secure: true,
			sameSite: "Strict",
			maxAge: 600,
		});
		return c.redirect("/console/sign-in/second-factor", 303);
	});

	/** Options for answering the pending sign-in with a passkey, when the user has one. */
	const secondFactorPasskey = async (c: ConsoleContext): Promise<unknown> => {
		const token = getCookie(c, CHALLENGE_COOKIE);
		if (!token) return undefined;
		const res = await consoleApi(c, app, null).call((api) =>
			api.auth.passkeyMfaOptions({ body: { challengeToken: token } }),
		);
		return res.ok ? res.data : undefined;
	};

	app.get("/console/sign-in/second-factor", async (c) =>
		renderPage(c, "Second factor", null, <SecondFactorForms passkeyOptions={await secondFactorPasskey(c)} />),
	);

	app.post("/console/sign-in/email-code", async (c) => {
		const res = await consoleApi(c, app, null).call((api) =>
			api.auth.sendEmailCode({ body: { challengeToken: getCookie(c, CHALLENGE_COOKIE) ?? "" } }),
		);
		const problem = res.ok ? null : res.problem;
		return renderPage(
			c,
			"Second factor",
			null,
			<SecondFactorForms problem={problem} emailed={res.ok} passkeyOptions={await secondFactorPasskey(c)} />,
			res.ok ? 200 : res.status,
		);
	});

	app.post("/console/sign-in/second-factor", async (c) => {
		const form = await formOf(c);
		const res = await consoleApi(c, app, null).call((api) =>
			api.auth.verifyMfa({
				body:
					form.method === "passkey"
						? {
								challengeToken: getCookie(c, CHALLENGE_COOKIE) ?? "",
								method: "passkey",
								credential: postedCredential(form) as PasskeyAssertion,
							}
						: {
								challengeToken: getCookie(c, CHALLENGE_COOKIE) ?? "",
								method: form.method as SecondFactorMethod,
								code: (form.code ?? "").trim(),
							},
			}),
		);
		if (res.ok && res.data.session) return startConsoleSession(c, res.data.session);
		const problem = res.ok ? null : res.problem;
		if (isProblem(problem, "sso-required")) {
			deleteCookie(c, CHALLENGE_COOKIE, { path: "/", secure: true });
			return ssoRequired(c);
		}
		return renderPage(
			c,
			"Second factor",
			null,
			<SecondFactorForms problem={problem} method={form.method} passkeyOptions={await secondFactorPasskey(c)} />,
			res.ok ? 400 : res.status,
		);
	});

	app.post("/console/sign-out", async (c) => {
		await consoleApi(c, app).call((api) => api.auth.logout());
		c.header("Set-Cookie", clearedSessionCookie());
		return c.redirect("/console/sign-in", 303);
	});

	const SignUpForm = ({ form = {}, problem }: { form?: Record<string, string>; problem?: Problem | null }) => {
		const errors = fieldErrors(problem);
		return (
			<section>
				{problem && !problem.errors && <Notice kind="bad">{problem.detail ?? problem.title}</Notice>}
				<form method="post" action="/console/sign-up">
					<Field name="name" label="Your name" value={form.name} autocomplete="name" errors={errors} required />
					<Field
						name="email"
						label="Email"
						type="email"
						value={form.email}
						autocomplete="email"
						errors={errors}
						required
					/>
					<PasswordField
						purpose="new"
						label="Password"
						hint="At least 12 characters. A long phrase is easiest to remember."
						errors={errors}
					/>
					<button type="submit">Create account</button>
				</form>
				<p>
					Already have an account? <a href="/console/sign-in">Sign in</a>
				</p>
			</section>
		);
	};

	app.get("/console/sign-up", (c) => renderPage(c, "Create your account", null, <SignUpForm />));

	app.post("/console/sign-up", async (c) => {
		const form = await formOf(c);
		const res = await consoleApi(c, app, null).call((api) =>
			api.auth.signup({ body: { name: form.name ?? "", email: form.email ?? "", password: form.password ?? "" } }),
		);
		if (res.ok && res.data.session) return startConsoleSession(c, res.data.session);
		const problem = res.ok ? null : res.problem;
		if (isProblem(problem, "sso-required")) {
			deleteCookie(c, CHALLENGE_COOKIE, { path: "/", secure: true });
			return ssoRequired(c);
		}
		return renderPage(
			c,
			"Create your account",
			null,
			<SignUpForm form={form} problem={problem} />,
			res.ok ? 400 : res.status,
		);
	});

	const ResetRequest = ({ sent }: { sent?: boolean }) => (
		<section>
			{sent && <Notice kind="ok">If that address has an account, we emailed it a reset code.</Notice>}
			<form method="post" action="/console/password-reset">
				<Field name="email" label="Email" type="email" autocomplete="email" required />
				<button type="submit">Email me a reset code</button>
			</form>
			<p>
				Have a code? <a href="/console/password-reset/confirm">Set a new password</a>
			</p>
		</section>
	);

	app.get("/console/password-reset", (c) => renderPage(c, "Reset your password", null, <ResetRequest />));
	app.post("/console/password-reset", async (c) => {
		const form = await formOf(c);
		await consoleApi(c, app, null).call((api) => api.auth.requestPasswordReset({ body: { email: form.email ?? "" } }));
		return renderPage(c, "Reset your password", null, <ResetRequest sent />);
	});

	const ResetConfirm = ({ problem }: { problem?: Problem | null }) => {
		const errors = fieldErrors(problem);
		return (
			<section>
				{problem && !problem.errors && <Notice kind="bad">{problem.detail ?? "That code did not work."}</Notice>}
				<form method="post" action="/console/password-reset/confirm">
					<Field name="token" label="Code from the email" autocomplete="off" errors={errors} required />
					<PasswordField purpose="new" name="newPassword" label="New password" errors={errors} />
					<button type="submit">Set new password</button>
				</form>
			</section>
		);
	};

	app.get("/console/password-reset/confirm", (c) => renderPage(c, "Set a new password", null, <ResetConfirm />));
	app.post("/console/password-reset/confirm", async (c) => {
		const form = await formOf(c);
		const res = await consoleApi(c, app, null).call((api) =>
			api.auth.confirmPasswordReset({
				body: { token: (form.token ?? "").trim(), newPassword: form.newPassword ?? "" },
			}),
		);
		if (res.ok)
			return renderPage(
				c,
				"Password changed",
				null,
				<Notice kind="ok">
					Your password is changed and every session ended. <a href="/console/sign-in">Sign in</a>.
				</Notice>,
			);
		return renderPage(c, "Set a new password", null, <ResetConfirm problem={res.problem} />, res.status);
	});
}
