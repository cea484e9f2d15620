/**
 * Links in emails: an invitation (`/console/invitations/accept?token=…`) and an address
 * confirmation (`/console/verify-email?token=…`).
 *
 * A link's token leaves the URL on arrival: the first answer keeps it in an HttpOnly cookie and
 * goes on to the same path without it, so it stays out of later pages and logs (request logs and
 * audit events record paths without queries). The onward step is a navigation this page starts,
 * not a redirect: a click from a mail client is cross-site, and the SameSite=Strict session cookie
 * is sent only on a navigation that starts here.
 *
 * An invitation then leads on: sign in or create an account with the invited address (after
 * which `/console` comes back here), confirm the address (its emailed link comes back here too),
 * and accept. The typed code stays as a fallback.
 */
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { App } from "../../platform/app-env";
import { consoleApi, fieldErrors, type Problem, type Result } from "../client/api";
import { Facts, Field, Notice } from "../components/layout";
import * as ui from "../components/render";
import { ResendVerificationForm } from "./security";

/** Each link's token, held between its arrival and its use (7 days: an invitation's life). */
export const INVITE_COOKIE = "__Host-keyward_invite";
export const VERIFY_COOKIE = "__Host-keyward_verify";

const ACCEPT_PATH = "/console/invitations/accept";
const VERIFY_PATH = "/console/verify-email";

/** A token as links carry them: opaque, base32; anything else is not kept. */
const TOKEN = /^[a-z2-7]{20,128}$/;

function keep(c: ui.ConsoleContext, name: string, token: string, maxAgeSeconds: number) {
	setCookie(c, name, token, { path: "/", httpOnly: true, secure: true, sameSite: "Strict", maxAge: maxAgeSeconds });
}

const drop = (c: ui.ConsoleContext, name: string) => deleteCookie(c, name, { path: "/", secure: true });

/** The arrival page: keeps the token and goes on to `path` without it. */
function arrive(c: ui.ConsoleContext, name: string, path: string, maxAgeSeconds: number, title: string) {
	const token = (c.req.query("token") ?? "").trim();
	if (TOKEN.test(token)) keep(c, name, token, maxAgeSeconds);
	return onward(c, path, title);
}

function onward(c: ui.ConsoleContext, path: string, title: string) {
	return ui.renderPage(
		c,
		title,
		null,
		<section>
			<p>
				<a href={path}>Continue</a>
			</p>
		</section>,
		200,
		{ refreshTo: path },
	);
}

type Preview = Result<"invitations", "preview">["invitation"];

/** What the held invitation opens, or null when it is not pending (then it is not kept either). */
async function previewOf(c: ui.ConsoleContext, app: App, token: string): Promise<Preview | null> {
	const res = await consoleApi(c, app, null).call((api) => api.invitations.preview({ body: { token } }));
	return res.ok ? res.data.invitation : null;
}

const NotPending = () => (
	<section>
		<Notice kind="bad">This invitation is no longer valid: it expired, was used, or was cancelled.</Notice>
		<p>Ask the person who invited you to send a new one.</p>
	</section>
);

/** The account, the role and the address, named before anyone signs up or joins. */
const InvitationFacts = ({ invitation }: { invitation: Preview }) => (
	<Facts
		facts={[
			["Account", <strong>{invitation.accountName}</strong>],
			["Account id", <code>{invitation.accountId}</code>],
			["Role", invitation.role],
			["Sent to", invitation.email],
			["Valid until", ui.formatTime(invitation.expiresAt)],
		]}
	/>
);

const AcceptForm = ({ problem }: { problem?: Problem | null }) => {
	const errors = fieldErrors(problem);
	return (
		<section>
			<h2>Have a code instead?</h2>
			<p class="muted">The invitation email also carries the code, under the link.</p>
			<form method="post" action={ACCEPT_PATH}>
				<Field name="token" label="Code from the invitation email" autocomplete="off" errors={errors} required />
				<button type="submit">Join</button>
			</form>
		</section>
	);
};

async function acceptPage(
	c: ui.ConsoleContext,
	app: App,
	problem?: Problem | null,
	status = 200,
	options: { forgetHeld?: boolean } = {},
) {
	const held = options.forgetHeld ? undefined : getCookie(c, INVITE_COOKIE);
	const me = await ui.signedIn(c, app);
	const nav = me ? ui.nav(me.memberships[0]?.accountId ?? null, "") : null;
	// A field's message too: with the code held in a cookie there is no field to put it next to.
	const said = problem && (problem.errors?.[0]?.message ?? ui.problemText(problem));
	const message = said && <Notice kind="bad">{said}</Notice>;
	if (!held) {
		if (!me) return ui.toSignIn(c);
		return ui.renderPage(c, "Accept an invitation", nav, [message, <AcceptForm problem={problem} />], status);
	}
	const invitation = await previewOf(c, app, held);
	if (!invitation) {
		drop(c, INVITE_COOKIE);
		return ui.renderPage(c, "Invitation not valid", nav, [message, <NotPending />], problem ? status : 410);
	}
	if (!me)
		return ui.renderPage(
			c,
			`You are invited to ${invitation.accountName}`,
			null,
			<section>
				<InvitationFacts invitation={invitation} />
				<p>
					Sign in, or create your account, with <strong>{invitation.email}</strong>. You come back here to accept.
				</p>
				<div class="actions">
					<a class="button" href="/console/sign-in">
						Sign in
					</a>
					<a class="button" href="/console/sign-up">
						Create an account
					</a>
				</div>
			</section>,
			status,
		);
	if (!me.user.emailVerified)
		return ui.renderPage(
			c,
			"Confirm your email address",
			nav,
			<section>
				{message}
				<InvitationFacts invitation={invitation} />
				<p>
					Before you join, confirm that <strong>{me.user.email}</strong> is yours: open the link we emailed to it, in
					this browser. It brings you back here.
				</p>
				<ResendVerificationForm />
			</section>,
			status,
		);
	return ui.renderPage(
		c,
		"Accept the invitation",
		nav,
		<section>
			{message}
			<InvitationFacts invitation={invitation} />
			{invitation.email !== me.user.email && (
				<Notice kind="bad">
					You are signed in as {me.user.email}, but this invitation is for {invitation.email}. Sign out and sign in as{" "}
					{invitation.email} to accept it.
				</Notice>
			)}
			<form method="post" action={ACCEPT_PATH}>
				<div class="actions">
					<button type="submit">
						Join {invitation.accountName} as {invitation.role}
					</button>
				</div>
			</form>
			<form method="post" action={`${ACCEPT_PATH}/decline`}>
				<button type="submit" class="secondary">
					Not now
				</button>
			</form>
		</section>,
		status,
	);
}

/** Where `/console` sends a signed-in visitor first: a link they arrived with and have not finished. */
export function pendingLink(c: ui.ConsoleContext): string | null {
	if (getCookie(c, VERIFY_COOKIE)) return VERIFY_PATH;
	if (getCookie(c, INVITE_COOKIE)) return ACCEPT_PATH;
	return null;
}

export function registerConsoleEmailLinks(app: App) {
	app.get(ACCEPT_PATH, async (c) => {
		if (c.req.query("token") !== undefined) {
			// Kept only when it opens a pending invitation: a stale or made-up link plants nothing.
			const token = (c.req.query("token") ?? "").trim();
			const invitation = TOKEN.test(token) ? await previewOf(c, app, token) : null;
			if (!invitation) return ui.renderPage(c, "Invitation not valid", null, <NotPending />, 410);
			return arrive(c, INVITE_COOKIE, ACCEPT_PATH, 7 * 86_400, "Invitation");
		}
		return acceptPage(c, app);
	});

	app.post(
		ACCEPT_PATH,
		ui.withUser(app, async (c, me) => {
			const form = await ui.formOf(c);
			const token = (form.token ?? "").trim() || getCookie(c, INVITE_COOKIE) || "";
			const res = await me.api.call((api) => api.invitations.accept({ body: { token } }));
			if (!res.ok) {
				// Final refusals (not pending, another address, already a member) end the held link; an
				// address still to confirm, a lockdown or a throttle do not.
				const final = res.status === 400 || res.status === 409 || (res.status === 403 && me.user.emailVerified);
				if (final) drop(c, INVITE_COOKIE);
				return acceptPage(c, app, res.problem, res.status, { forgetHeld: final });
			}
			drop(c, INVITE_COOKIE);
			return c.redirect(`/console/a/${res.data.membership.accountId}/keys?joined=1`, 303);
		}),
	);

	app.post(`${ACCEPT_PATH}/decline`, (c) => {
		drop(c, INVITE_COOKIE);
		return c.redirect("/console", 303);
	});

	app.get(VERIFY_PATH, async (c) => {
		if (c.req.query("token") !== undefined)
			return arrive(c, VERIFY_COOKIE, VERIFY_PATH, 86_400, "Confirm your address");
		const held = getCookie(c, VERIFY_COOKIE);
		const me = await ui.signedIn(c, app);
		if (!me) return ui.toSignIn(c);
		if (!held) return c.redirect("/console/security", 303);
		const res = await me.api.call((api) => api.auth.verifyEmail({ body: { token: held } }));
		drop(c, VERIFY_COOKIE);
		if (res.ok) return c.redirect(getCookie(c, INVITE_COOKIE) ? ACCEPT_PATH : "/console/security?done=verified", 303);
		return ui.renderPage(
			c,
			"Confirm your address",
			ui.nav(me.memberships[0]?.accountId ?? null, "security"),
			<section>
				<Notice kind="bad">
					{res.status === 403
						? ui.problemText(res.problem)
						: "This link has expired or was already used. Send a new one from the Security page."}
				</Notice>
				<p>
					<a href="/console/security">Security page</a>
				</p>
			</section>,
			res.status,
		);
	});
}
