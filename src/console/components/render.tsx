/** What every console handler needs: a page with its own nonce, the API as the visitor, form input, sign-in checks. */
import type { Context } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import { html } from "hono/html";
import type { Child } from "hono/jsx";
import type { App, AppEnv } from "../../platform/app-env";
import { type ConsoleApi, consoleApi, type KeywardClient } from "../client/api";

/** The answer of `GET /v1/me`, as the SDK types it. */
type Me = Awaited<ReturnType<KeywardClient["me"]["get"]>>;

import { consoleContentSecurityPolicy, type Nav, Page } from "./layout";

export type ConsoleContext = Context<AppEnv>;

/** The visitor's accounts, kept for the header's account switcher once `signedIn` has read them. */
const accountsOf = new WeakMap<ConsoleContext, Me["memberships"]>();

export function renderPage(
	c: ConsoleContext,
	title: string,
	nav: Nav | null,
	body: Child,
	status = 200,
	options: { refreshTo?: string } = {},
) {
	const nonce = crypto.randomUUID().replaceAll("-", "");
	c.set("contentSecurityPolicy", consoleContentSecurityPolicy(nonce));
	c.header("Cache-Control", "no-store");
	// Standards mode: without the doctype a browser lays the page out in quirks mode.
	return c.html(
		html`<!doctype html>${(
			<Page title={title} nonce={nonce} nav={nav} accounts={accountsOf.get(c)} refreshTo={options.refreshTo}>
				{body}
			</Page>
		)}`,
		status as 200,
	);
}

/** A page that sends the browser on to the identity provider at `location` (single sign-on). */
export const toIdentityProvider = (c: ConsoleContext, location: string) =>
	renderPage(
		c,
		"Single sign-on",
		null,
		<p>
			Continuing to your identity provider… <a href={location}>Continue</a>
		</p>,
		200,
		{ refreshTo: location },
	);

/** The account a visitor last opened, so `/console` opens it again (an id, not a secret; checked on use). */
export const LAST_ACCOUNT_COOKIE = "keyward_last_account";

export const lastAccountOf = (c: ConsoleContext): string | null => getCookie(c, LAST_ACCOUNT_COOKIE) ?? null;

/** Form fields as strings (a repeated field keeps its last value; checkboxes are "on" or absent). */
export async function formOf(c: ConsoleContext): Promise<Record<string, string>> {
	const body = await c.req.parseBody();
	return Object.fromEntries(
		Object.entries(body).map(([k, v]) => [k, typeof v === "string" ? v : Array.isArray(v) ? String(v.at(-1)) : ""]),
	);
}

export interface SignedIn extends Me {
	api: ConsoleApi;
}

/** The visitor, or null (the caller redirects to sign-in); one GET /v1/me through the API. */
export async function signedIn(c: ConsoleContext, app: App): Promise<SignedIn | null> {
	const api = consoleApi(c, app);
	if (!api.token) return null;
	const me = await api.call((client) => client.me.get());
	if (!me.ok) return null;
	accountsOf.set(c, me.data.memberships);
	return { api, ...me.data };
}

export const toSignIn = (c: ConsoleContext) => c.redirect("/console/sign-in", 303);

export const nav = (accountId: string | null, current: string): Nav => ({ accountId, current });

export const formatTime = (iso: string | null | undefined): string =>
	iso ? `${iso.slice(0, 16).replace("T", " ")} UTC` : "—";

/** Wraps a handler that needs a signed-in visitor; otherwise to the sign-in page. */
export const withUser =
	(app: App, handler: (c: ConsoleContext, me: SignedIn) => Promise<Response>) => async (c: ConsoleContext) => {
		const me = await signedIn(c, app);
		return me ? handler(c, me) : toSignIn(c);
	};

/** Like withUser, for /console/a/:accountId/… pages; the account must be one of the visitor's. */
export const withAccount = (
	app: App,
	handler: (c: ConsoleContext, me: SignedIn, accountId: string, role: string) => Promise<Response>,
) =>
	withUser(app, async (c, me) => {
		const accountId = c.req.param("accountId") ?? "";
		const membership = me.memberships.find((m) => m.accountId === accountId);
		if (!membership)
			return renderPage(c, "Not found", nav(me.memberships[0]?.accountId ?? null, ""), <p>No such account.</p>, 404);
		setCookie(c, LAST_ACCOUNT_COOKIE, accountId, {
			path: "/console",
			httpOnly: true,
			sameSite: "Strict",
			secure: new URL(c.req.url).protocol === "https:",
			maxAge: 400 * 24 * 3600,
		});
		return handler(c, me, accountId, membership.role);
	});

/**
 * The success message a form's `?done=` names, from the page's own table. Own keys only: the query
 * is the visitor's to write, and `?done=constructor` must name nothing rather than a prototype's.
 */
export function doneOf<T>(c: ConsoleContext, table: Record<string, T>): T | undefined {
	const key = c.req.query("done") ?? "";
	return Object.hasOwn(table, key) ? table[key] : undefined;
}

/** A problem from the API as a page-level message (field errors go next to their fields instead). */
export const problemText = (problem: { detail?: string; title: string } | null | undefined) =>
	problem ? (problem.detail ?? problem.title) : null;
