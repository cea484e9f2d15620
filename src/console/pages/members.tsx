/** Members in the console: roles and MFA status, invitations, role changes and removal, all through the API. */
import type { App } from "../../platform/app-env";
import { type ApiResult, type Body, fieldErrors, type Problem } from "../client/api";
import { Field, Notice, Table } from "../components/layout";
import * as ui from "../components/render";
import { pendingLink } from "./email-links";
import { isReauthenticationRequired, reauthenticationPrompt } from "./reauth";

type InvitedRole = Body<"invitations", "create">["role"];
type MemberRole = Body<"members", "update">["role"];

const ROLES = ["admin", "member", "readonly"];

/** What each form's `?done=` says (no names in the URL: it reaches logs). */
const DONE: Record<string, string> = {
	invited: "Invitation sent. It is valid for 7 days.",
	role: "Role changed. It applies from the member's next request.",
	removed: "Member removed. Their access ended, and the keys they made in this account are revoked.",
	cancelled: "Invitation cancelled. Its link no longer works.",
};

async function membersPage(
	c: ui.ConsoleContext,
	me: ui.SignedIn,
	accountId: string,
	extra: { problem?: Problem | null; form?: Record<string, string> } = {},
) {
	const [members, invitations] = await Promise.all([
		me.api.call((api) => api.members.list({ accountId, query: { limit: 100 } })),
		me.api.call((api) => api.invitations.list({ accountId, query: { limit: 100 } })),
	]);
	const everyone = members.ok ? members.data.data : [];
	const people = everyone.filter((m) => m.type !== "service_account");
	const services = everyone.filter((m) => m.type === "service_account");
	const errors = fieldErrors(extra.problem);
	const base = `/console/a/${accountId}/members`;
	const done = ui.doneOf(c, DONE);
	return ui.renderPage(
		c,
		"Members",
		ui.nav(accountId, "members"),
		<>
			{done && <Notice kind="ok">{done}</Notice>}
			{extra.problem && !extra.problem.errors && <Notice kind="bad">{ui.problemText(extra.problem)}</Notice>}
			<section>
				<Table
					caption="People in this account"
					columns={["Name", "Role", "Strongest factor", "Last active", "Actions"]}
					empty="Only you so far. Invite the people who work on this account below."
					rows={people.map((m) => [
						<>
							{m.name}
							<br />
							<span class="muted">{m.email}</span>
						</>,
						m.role,
						m.strongestFactor === "passkey" ? (
							<span class="badge active">passkey</span>
						) : m.strongestFactor === "totp" ? (
							<span class="badge active">app</span>
						) : (
							<span class="badge fail">off</span>
						),
						ui.formatTime(m.lastActiveAt),
						m.role === "owner" ? (
							"—"
						) : (
							<>
								<form method="post" action={`${base}/${m.userId}/role`} class="row">
									<div>
										<label for={`role-${m.userId}`}>Role</label>
										<select id={`role-${m.userId}`} name="role">
											{ROLES.map((r) => (
												<option value={r} selected={r === m.role}>
													{r}
												</option>
											))}
										</select>
									</div>
									<button type="submit" class="secondary">
										Change role
									</button>
								</form>
								<a class="button danger" href={`${base}/${m.userId}/remove`} aria-label={`Remove ${m.name}…`}>
									Remove…
								</a>
							</>
						),
					])}
				/>
			</section>
			{services.length > 0 && (
				<section>
					<Table
						caption="Service accounts (non-human members that own keys; managed through the API)"
						columns={["Name", "Role", "Last key use"]}
						empty=""
						rows={services.map((m) => [m.name, m.role, ui.formatTime(m.lastActiveAt)])}
					/>
				</section>
			)}
			<section>
				<h2>Invite someone</h2>
				<form method="post" action={`/console/a/${accountId}/invitations`}>
					<Field name="email" label="Email" type="email" value={extra.form?.email} errors={errors} required />
					<label for="invite-role">Role</label>
					<select id="invite-role" name="role">
						{ROLES.map((r) => (
							<option value={r} selected={r === "member"}>
								{r}
							</option>
						))}
					</select>
					<button type="submit">Send invitation</button>
				</form>
			</section>
			<section>
				<h2>Pending invitations</h2>
				{invitations.ok && invitations.data.data.length === 0 && <p class="empty">No invitations are waiting.</p>}
				<ul>
					{(invitations.ok ? invitations.data.data : []).map((i) => (
						<li>
							{i.email} as {i.role}, expires {ui.formatTime(i.expiresAt)}{" "}
							<form method="post" action={`/console/a/${accountId}/invitations/${i.id}/cancel`} class="inline">
								<button type="submit" class="secondary" aria-label={`Cancel the invitation of ${i.email}`}>
									Cancel
								</button>
							</form>
						</li>
					))}
				</ul>
			</section>
		</>,
		extra.problem ? extra.problem.status : 200,
	);
}

export function registerConsoleMembers(app: App) {
	app.get(
		"/console/a/:accountId/members",
		ui.withAccount(app, (c, me, accountId) => membersPage(c, me, accountId)),
	);

	const action = (
		path: string,
		done: keyof typeof DONE,
		call: (
			me: ui.SignedIn,
			accountId: string,
			c: ui.ConsoleContext,
			form: Record<string, string>,
		) => Promise<ApiResult<unknown>>,
	) =>
		app.post(
			`/console/a/:accountId${path}`,
			ui.withAccount(app, async (c, me, accountId) => {
				const form = await ui.formOf(c);
				const res = await call(me, accountId, c, form);
				if (!res.ok && isReauthenticationRequired(res.problem))
					return reauthenticationPrompt(c, me, new URL(c.req.url).pathname, form);
				return res.ok
					? c.redirect(`/console/a/${accountId}/members?done=${done}`, 303)
					: membersPage(c, me, accountId, { problem: res.problem, form });
			}),
		);

	// Invitations apart from members: a literal beside a parameter (`members/invite` next to
	// `members/:userId`) would force Hono off its RegExpRouter onto the slower TrieRouter.
	action("/invitations", "invited", (me, accountId, _c, form) =>
		me.api.call((api) =>
			api.invitations.create({
				accountId,
				body: { email: form.email ?? "", role: (form.role ?? "") as InvitedRole },
			}),
		),
	);
	action("/members/:userId/role", "role", (me, accountId, c, form) =>
		me.api.call((api) =>
			api.members.update({
				accountId,
				userId: c.req.param("userId") ?? "",
				body: { role: (form.role ?? "") as MemberRole },
			}),
		),
	);
	action("/members/:userId/remove", "removed", (me, accountId, c) =>
		me.api.call((api) => api.members.remove({ accountId, userId: c.req.param("userId") ?? "" })),
	);
	action("/invitations/:invitationId/cancel", "cancelled", (me, accountId, c) =>
		me.api.call((api) => api.invitations.cancel({ accountId, invitationId: c.req.param("invitationId") ?? "" })),
	);

	// Removal is asked once more, on a page that names the person and says what it does.
	app.get(
		"/console/a/:accountId/members/:userId/remove",
		ui.withAccount(app, async (c, me, accountId) => {
			const userId = c.req.param("userId") ?? "";
			const members = await me.api.call((api) => api.members.list({ accountId, query: { limit: 100 } }));
			const member = members.ok ? members.data.data.find((m) => m.userId === userId) : undefined;
			const back = `/console/a/${accountId}/members`;
			if (!member)
				return ui.renderPage(
					c,
					"Member not found",
					ui.nav(accountId, "members"),
					<p>
						This account has no such member. <a href={back}>All members</a>
					</p>,
					404,
				);
			return ui.renderPage(
				c,
				`Remove ${member.name}?`,
				ui.nav(accountId, "members"),
				<section>
					<p>
						<strong>{member.name}</strong> ({member.email}, {member.role}) loses access to this account at their next
						request. The keys they made in this account are revoked, and the invitations they sent are cancelled.
					</p>
					<form method="post" action={`${back}/${member.userId}/remove`}>
						<div class="actions">
							<button type="submit" class="danger">
								Remove {member.name}
							</button>
							<a href={back}>Cancel</a>
						</div>
					</form>
				</section>,
			);
		}),
	);

	/**
	 * Where a signed-in person lands: the account they last opened (if they are still its member),
	 * else their first account's keys, or a page to accept an invitation; first, though, a link from an
	 * email they arrived with before signing in.
	 */
	app.get(
		"/console",
		ui.withUser(app, async (c, me) => {
			// A password found in breaches at sign-in is the first thing to fix.
			if (me.user.passwordBreached) return c.redirect("/console/security", 303);
			// A link from an email that brought them here before they signed in (an invitation, a confirmation).
			const pending = pendingLink(c);
			if (pending) return c.redirect(pending, 303);
			const last = ui.lastAccountOf(c);
			const open = me.memberships.find((m) => m.accountId === last) ?? me.memberships[0];
			if (open) return c.redirect(`/console/a/${open.accountId}/keys`, 303);
			return c.redirect("/console/invitations/accept", 303);
		}),
	);
}
