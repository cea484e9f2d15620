/**
 * The console's page frame and form pieces (Hono JSX, rendered on the
 * server). Every page works without JavaScript but passkeys; the one script (copy to
 * clipboard, download of recovery codes, the passkey ceremonies of ./passkey.tsx) and the one stylesheet carry the
 * response's nonce, so the Content-Security-Policy allows nothing inline
 * that the server did not put there.
 */
import { raw } from "hono/html";
import type { Child, FC } from "hono/jsx";

export const consoleContentSecurityPolicy = (nonce: string): string =>
	[
		"default-src 'none'",
		`script-src 'nonce-${nonce}'`,
		`style-src 'nonce-${nonce}'`,
		"img-src 'self' data:",
		"form-action 'self'",
		"frame-ancestors 'none'",
		"base-uri 'none'",
	].join("; ");

const STYLE = `
:root{--fg:#16181d;--muted:#4a5160;--line:#d5d9e0;--bg:#f6f7f9;--accent:#1d4ed8;--bad:#b42318;--ok:#067647;--warn:#8a5a00}
*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:var(--fg);background:var(--bg)}
a{color:var(--accent)}header{background:#111827;color:#fff;padding:.6rem 1.2rem;display:flex;gap:1rem;align-items:center;flex-wrap:wrap}
header a{color:#fff;text-decoration:none;padding:.2rem .4rem;border-radius:4px}header a[aria-current=page]{background:#374151}
header .brand{font-weight:700;margin-right:1rem}header form{margin-left:auto}
main{max-width:980px;margin:1.5rem auto;padding:0 1.2rem}h1{font-size:1.6rem;margin:.2rem 0 1rem}h2{font-size:1.2rem;margin-top:2rem}section>h2:first-child{margin-top:0}summary{cursor:pointer;font-weight:600;color:var(--accent)}details>h2{margin-top:1.2rem}
section,.card{background:#fff;border:1px solid var(--line);border-radius:8px;padding:1rem 1.2rem;margin-bottom:1rem}
label{display:block;font-weight:600;margin:.6rem 0 .2rem}input,select,textarea{font:inherit;padding:.45rem .55rem;border:1px solid #8b93a1;border-radius:6px;width:100%;max-width:30rem;background:#fff;color:var(--fg)}
input[type=checkbox]{width:auto}.check{display:flex;gap:.5rem;align-items:center;font-weight:400}
button{font:inherit;padding:.45rem .9rem;border-radius:6px;border:1px solid #1e40af;background:var(--accent);color:#fff;cursor:pointer;margin-top:.8rem}
button.secondary{background:#fff;color:var(--accent)}button.danger{background:var(--bad);border-color:#7a271a}
.inline{display:inline}.inline button{margin:0}.error{color:var(--bad);font-weight:600;margin:.2rem 0}
.notice{border-left:4px solid var(--accent);background:#eef4ff;padding:.6rem .9rem;border-radius:4px}.notice.bad{border-color:var(--bad);background:#fef3f2}
.notice.ok{border-color:var(--ok);background:#ecfdf3}table{border-collapse:collapse;width:100%;font-size:.95rem}
th,td{text-align:left;padding:.45rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}th{color:var(--muted);font-weight:600}
.badge{display:inline-block;padding:0 .45rem;border-radius:999px;font-size:.8rem;font-weight:600;border:1px solid}
.badge.pass,.badge.active{color:var(--ok)}.badge.warn,.badge.expiring{color:var(--warn)}.badge.fail,.badge.revoked,.badge.expired{color:var(--bad)}
code,.secret{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;background:#f2f4f7;padding:.1rem .3rem;border-radius:4px;word-break:break-all}
.secret{display:block;padding:.6rem;font-size:1.05rem;border:1px dashed #8b93a1}.codes{columns:2;font-family:ui-monospace,monospace}
.qr svg{width:200px;height:200px;background:#fff}.muted{color:var(--muted)}.row{display:flex;gap:1rem;flex-wrap:wrap;align-items:flex-end}
.row label{margin-top:0}.sr-only{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
.switcher{position:relative}.switcher summary{color:#fff;border:1px solid #4b5563;border-radius:6px;padding:.2rem .6rem}.switcher .role{color:#d1d5db;font-weight:400}
.switcher ul{position:absolute;z-index:2;top:2.2rem;left:0;min-width:16rem;max-width:90vw;margin:0;padding:.4rem 0;list-style:none;background:#fff;border:1px solid var(--line);border-radius:8px;box-shadow:0 4px 16px #0002}
.switcher li{padding:.3rem .8rem}.switcher li a{color:var(--accent);padding:0}.switcher li a[aria-current]{font-weight:700;background:none}pre.event{white-space:pre-wrap;word-break:break-all;font-size:.8rem;background:#f2f4f7;padding:.5rem;border-radius:4px}.empty{color:var(--muted);margin:.4rem 0}
.facts{display:grid;grid-template-columns:repeat(auto-fill,minmax(12rem,1fr));gap:.4rem 1rem;margin:0}.facts dt{font-size:.85rem;color:var(--muted);font-weight:600}.facts dd{margin:0}
.actions{display:flex;gap:.8rem;flex-wrap:wrap;align-items:center}a.button{display:inline-block;padding:.45rem .9rem;border-radius:6px;border:1px solid #1e40af;text-decoration:none;margin-top:.8rem}a.button.danger{border-color:#7a271a;color:var(--bad)}
@media (max-width:40rem){main{padding:0 .7rem}header{padding:.5rem .7rem}section{padding:.8rem}
table.cards thead{position:absolute;left:-9999px}table.cards,table.cards caption,table.cards tbody,table.cards tr,table.cards td{display:block;width:100%}
table.cards tr{border:1px solid var(--line);border-radius:8px;padding:.5rem .7rem;margin-bottom:.7rem}table.cards td{border:0;padding:.15rem 0}
table.cards td::before{content:attr(data-label);display:block;font-size:.8rem;color:var(--muted);font-weight:600}}.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:1rem;background:#fff;color:var(--accent);padding:.5rem}
`;

const SCRIPT = `
document.addEventListener("click", (event) => {
	const button = event.target.closest("[data-copy]");
	if (button) {
		const text = document.getElementById(button.dataset.copy).textContent.trim();
		navigator.clipboard.writeText(text).then(() => { button.textContent = "Copied"; });
	}
	const download = event.target.closest("[data-download]");
	if (download) {
		const text = document.getElementById(download.dataset.download).innerText.trim() + "\\n";
		const link = document.createElement("a");
		link.href = URL.createObjectURL(new Blob([text], { type: "text/plain" }));
		link.download = download.dataset.filename;
		link.click();
		URL.revokeObjectURL(link.href);
	}
});
document.querySelectorAll("[data-copy],[data-download]").forEach((b) => { b.hidden = false; });
const b64 = {
	decode: (s) => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4)), (ch) => ch.charCodeAt(0)),
	encode: (buffer) => btoa(String.fromCharCode(...new Uint8Array(buffer))).replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, ""),
};
const withIds = (list) => (list || []).map((c) => ({ ...c, id: b64.decode(c.id) }));
const creationOptions = (o) => ({ ...o, challenge: b64.decode(o.challenge), user: { ...o.user, id: b64.decode(o.user.id) }, excludeCredentials: withIds(o.excludeCredentials) });
const requestOptions = (o) => ({ ...o, challenge: b64.decode(o.challenge), allowCredentials: withIds(o.allowCredentials) });
const credentialJSON = (cred) => {
	const r = cred.response;
	const response = { clientDataJSON: b64.encode(r.clientDataJSON) };
	if (r.attestationObject) {
		response.attestationObject = b64.encode(r.attestationObject);
		response.transports = r.getTransports ? r.getTransports() : [];
	} else {
		response.authenticatorData = b64.encode(r.authenticatorData);
		response.signature = b64.encode(r.signature);
		response.userHandle = r.userHandle ? b64.encode(r.userHandle) : null;
	}
	return { id: cred.id, rawId: b64.encode(cred.rawId), type: cred.type, response, clientExtensionResults: {} };
};
document.querySelectorAll("form[data-passkey]").forEach((form) => {
	if (!window.PublicKeyCredential) return;
	const options = JSON.parse(form.dataset.options).publicKey;
	const button = form.querySelector("[data-passkey-start]");
	const error = form.querySelector("[data-passkey-error]");
	let waiting = null;
	const finish = (cred) => { form.elements.credential.value = JSON.stringify(credentialJSON(cred)); form.submit(); };
	const fail = (e) => {
		if (e && e.name === "AbortError") return;
		error.textContent = e && e.name === "NotAllowedError" ? "No passkey was used. Try again." : "The passkey did not work. Try again.";
		error.hidden = false;
	};
	button.hidden = false;
	if (form.dataset.conditional && PublicKeyCredential.isConditionalMediationAvailable) {
		PublicKeyCredential.isConditionalMediationAvailable().then((available) => {
			if (!available) return;
			waiting = new AbortController();
			navigator.credentials.get({ publicKey: requestOptions(options), mediation: "conditional", signal: waiting.signal }).then(finish, fail);
		});
	}
	button.addEventListener("click", () => {
		if (waiting) waiting.abort();
		error.hidden = true;
		(form.dataset.passkey === "create"
			? navigator.credentials.create({ publicKey: creationOptions(options) })
			: navigator.credentials.get({ publicKey: requestOptions(options) })
		).then(finish, fail);
	});
});
`;

export interface Nav {
	accountId: string | null;
	current: string;
}

const NAV = [
	["keys", "API keys"],
	["members", "Members"],
	["audit", "Audit log"],
	["report", "Security report"],
	["settings", "Settings"],
] as const;

/** Names the current account and lists the visitor's accounts with their role (no script: a disclosure). */
const AccountSwitcher: FC<{
	accounts: { accountId: string; accountName: string; role: string }[];
	current: string | null;
}> = ({ accounts, current }) => {
	const open = accounts.find((a) => a.accountId === current);
	return (
		<details class="switcher">
			<summary>
				<span class="sr-only">Account: </span>
				{open ? open.accountName : "Your accounts"}
				{open && <span class="role"> · {open.role}</span>}
			</summary>
			<ul aria-label="Your accounts">
				{accounts.map((a) => (
					<li>
						<a href={`/console/a/${a.accountId}/keys`} aria-current={a.accountId === current ? "true" : undefined}>
							{a.accountName}
						</a>{" "}
						<span class="muted">{a.role}</span>
					</li>
				))}
				<li>
					<a href="/console/invitations/accept">Accept an invitation…</a>
				</li>
			</ul>
		</details>
	);
};

export const Page: FC<{
	title: string;
	nonce: string;
	nav?: Nav | null;
	/**
	 * Goes on to this address at once: a same-site path (a navigation this page starts, so
	 * SameSite=Strict cookies go along), or an identity provider (a form may not redirect there:
	 * `form-action 'self'` covers a form's redirects too).
	 */
	refreshTo?: string;
	/** The visitor's accounts with their role, for the account switcher. */
	accounts?: { accountId: string; accountName: string; role: string }[];
	children?: Child;
}> = ({ title, nonce, nav, refreshTo, accounts, children }) => (
	<html lang="en">
		<head>
			<meta charset="utf-8" />
			<meta name="viewport" content="width=device-width, initial-scale=1" />
			<title>{`${title} · Keyward`}</title>
			{refreshTo && <meta http-equiv="refresh" content={`0; url=${refreshTo}`} />}
			<style nonce={nonce}>{raw(STYLE)}</style>
		</head>
		<body>
			<a class="skip" href="#main">
				Skip to content
			</a>
			<header>
				<span class="brand">Keyward</span>
				{nav && accounts && <AccountSwitcher accounts={accounts} current={nav.accountId} />}
				{nav && (
					<nav aria-label="Main">
						<a href="/console/security" aria-current={nav.current === "security" ? "page" : undefined}>
							Security
						</a>
						{nav.accountId &&
							NAV.map(([id, label]) => (
								<a href={`/console/a/${nav.accountId}/${id}`} aria-current={nav.current === id ? "page" : undefined}>
									{label}
								</a>
							))}
					</nav>
				)}
				{nav && (
					<form method="post" action="/console/sign-out" class="inline">
						<button type="submit" class="secondary">
							Sign out
						</button>
					</form>
				)}
			</header>
			<main id="main">
				<h1>{title}</h1>
				{children}
			</main>
			<script nonce={nonce}>{raw(SCRIPT)}</script>
		</body>
	</html>
);

/** A labelled input whose error (from the API's problem) sits right under it and is announced with it. */
export const Field: FC<{
	name: string;
	/** When a page has two fields of the same name (two forms), each needs its own id. */
	id?: string;
	label: string;
	type?: string;
	value?: string;
	errors?: Record<string, string>;
	autocomplete?: string;
	required?: boolean;
	hint?: string;
	inputmode?: "numeric" | "email" | "text";
}> = ({ name, id = name, label, type = "text", value, errors, autocomplete, required, hint, inputmode }) => {
	const error = errors?.[name];
	const described = [hint ? `${id}-hint` : null, error ? `${id}-error` : null].filter(Boolean).join(" ");
	return (
		<div>
			<label for={id}>{label}</label>
			{hint && (
				<p id={`${id}-hint`} class="muted">
					{hint}
				</p>
			)}
			<input
				id={id}
				name={name}
				type={type}
				value={type === "password" ? undefined : value}
				autocomplete={autocomplete}
				required={required}
				inputmode={inputmode}
				aria-invalid={error ? "true" : undefined}
				aria-describedby={described || undefined}
			/>
			{error && (
				<p id={`${id}-error`} class="error">
					{error}
				</p>
			)}
		</div>
	);
};

/**
 * A password input: never echoes a value back, and tells password managers whether it wants the
 * current password or a new one.
 */
export const PasswordField: FC<{
	name?: string;
	id?: string;
	label: string;
	/** `new` for a password being chosen; `current` (default) for one being proved. */
	purpose?: "current" | "new";
	errors?: Record<string, string>;
	hint?: string;
}> = ({ name = "password", purpose = "current", ...rest }) => (
	<Field name={name} type="password" autocomplete={`${purpose}-password`} required {...rest} />
);

/** A one-time code from an authenticator app or an email: numeric keypad, autofill from the OS. */
export const CodeField: FC<{ name?: string; id?: string; label: string; errors?: Record<string, string> }> = ({
	name = "code",
	...rest
}) => <Field name={name} inputmode="numeric" autocomplete="one-time-code" required {...rest} />;

/**
 * A table with a caption and column headers, or, with no rows, a sentence that says what to do
 * next. Each cell carries its column's name, so on a narrow screen the rows become stacked cards
 * (CSS below) instead of scrolling sideways.
 */
export const Table: FC<{ caption: string; columns: string[]; rows: Child[][]; empty: Child }> = ({
	caption,
	columns,
	rows,
	empty,
}) =>
	rows.length === 0 ? (
		<p class="empty">{empty}</p>
	) : (
		<table class="cards">
			<caption class="muted">{caption}</caption>
			<thead>
				<tr>
					{columns.map((column) => (
						<th scope="col">{column}</th>
					))}
				</tr>
			</thead>
			<tbody>
				{rows.map((row) => (
					<tr>
						{row.map((cell, i) => (
							<td data-label={columns[i]}>{cell}</td>
						))}
					</tr>
				))}
			</tbody>
		</table>
	);

/** A list of facts: term and value, one per row. */
export const Facts: FC<{ facts: [string, Child][] }> = ({ facts }) => (
	<dl class="facts">
		{facts.map(([term, value]) => (
			<div>
				<dt>{term}</dt>
				<dd>{value}</dd>
			</div>
		))}
	</dl>
);

/** The form-level message of a problem (the detail), or a success notice. */
export const Notice: FC<{ kind?: "ok" | "bad" | "info"; children?: Child }> = ({ kind = "info", children }) => (
	<p class={`notice ${kind === "info" ? "" : kind}`} role={kind === "bad" ? "alert" : "status"}>
		{children}
	</p>
);

/** A secret shown once, with a copy button (hidden until the script runs, so it never appears dead). */
export const ShownOnce: FC<{ id: string; value: string; label: string }> = ({ id, value, label }) => (
	<div>
		<p>
			<strong>{label}</strong> You will not see it again: copy it now and store it somewhere safe.
		</p>
		<code id={id} class="secret">
			{value}
		</code>
		<button type="button" class="secondary" data-copy={id} hidden>
			Copy to clipboard
		</button>
	</div>
);
