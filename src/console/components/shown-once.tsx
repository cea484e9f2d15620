/**
 * Post/redirect/get for the pages that show a new key's secret once (issue #21): the POST that
 * made the key parks the page's content and redirects; the GET shows it and the parked copy is
 * gone, so a reload shows no secret and makes no second key.
 *
 * What is parked, in the visitor's own object (`UserSessions`), is AES-GCM ciphertext under a key
 * derived from a random handle that only the visitor's browser holds (an HttpOnly cookie scoped to
 * the one page, 5 minutes). Neither the object nor a copy of its storage can read the secret; the
 * handle alone finds nothing in another user's object; a parked copy is taken once.
 */
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { userSessions } from "../../durable/address";
import { HANDOFF_TTL_MS } from "../../durable/handoff-store";
import { sha256Hex } from "../../security/digest";
import { openUnderHandle, sealUnderHandle } from "../../security/secret-box";
import { mintOpaqueToken } from "../../security/secret-formats";
import type { ConsoleContext, SignedIn } from "./render";

/**
 * Each parked page has its own cookie, named by a label derived from its handle and carried in the
 * redirect's query, so two keys made in two tabs at once each show their own secret.
 */
const COOKIE_PREFIX = "keyward_shown_once_";
const LABEL = /^[0-9a-f]{12}$/;
const labelOf = async (handle: string) => (await sha256Hex(`shown-once-label:${handle}`)).slice(0, 12);

const idOf = (handle: string) => sha256Hex(`shown-once-id:${handle}`);
const pagePath = (accountId: string) => `/console/a/${accountId}/new-key-secret`;

/** Parks `content` for the visitor and answers with the redirect to the page that shows it. */
export async function parkShownOnce<T>(c: ConsoleContext, me: SignedIn, accountId: string, content: T) {
	const handle = mintOpaqueToken();
	const sealed = await sealUnderHandle(
		handle,
		new TextEncoder().encode(JSON.stringify(content)),
		`${me.user.id}|${accountId}`,
	);
	await userSessions(c.env, me.user.id).parkHandoff(await idOf(handle), sealed, Date.now());
	const label = await labelOf(handle);
	setCookie(c, `${COOKIE_PREFIX}${label}`, handle, {
		path: pagePath(accountId),
		httpOnly: true,
		sameSite: "Strict",
		secure: new URL(c.req.url).protocol === "https:",
		maxAge: Math.floor(HANDOFF_TTL_MS / 1000),
	});
	return c.redirect(`${pagePath(accountId)}?h=${label}`, 303);
}

/** The parked content, once (null on a reload, a replayed cookie, after 5 minutes, or for anyone else). */
export async function takeShownOnce<T>(c: ConsoleContext, me: SignedIn, accountId: string): Promise<T | null> {
	const label = c.req.query("h") ?? "";
	if (!LABEL.test(label)) return null;
	const cookie = `${COOKIE_PREFIX}${label}`;
	const handle = getCookie(c, cookie);
	deleteCookie(c, cookie, { path: pagePath(accountId), secure: new URL(c.req.url).protocol === "https:" });
	if (!handle || handle.length > 128 || (await labelOf(handle)) !== label) return null;
	const sealed = await userSessions(c.env, me.user.id).takeHandoff(await idOf(handle), Date.now());
	if (!sealed) return null;
	try {
		const plaintext = await openUnderHandle(handle, sealed, `${me.user.id}|${accountId}`);
		return JSON.parse(new TextDecoder().decode(plaintext)) as T;
	} catch {
		return null;
	}
}
