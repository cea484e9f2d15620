/** Lockdown in the console, behind a typed confirmation. */
import type { App } from "../../platform/app-env";
import { fieldErrors, type Problem } from "../client/api";
import { Field, Notice } from "../components/layout";
import * as ui from "../components/render";

/** The confirmation's own refusal (the console's, before any call) or the API's problem. */
type ConfirmProblem = Pick<Problem, "status" | "title" | "errors"> & { detail?: string };

export function registerConsoleLockdown(app: App) {
	const LockdownConfirm = ({ accountId, problem }: { accountId: string; problem?: ConfirmProblem | null }) => (
		<section>
			<Notice kind="bad">
				This signs out every member of this account, you included, on every device, and revokes the keys you choose. It
				cannot be undone.
			</Notice>
			{problem && <Notice kind="bad">{ui.problemText(problem)}</Notice>}
			<form method="post" action={`/console/a/${accountId}/lockdown`}>
				<Field name="reason" label="Reason (recorded in the audit log)" errors={fieldErrors(problem)} required />
				<label for="revokeKeys">Keys to revoke</label>
				<select id="revokeKeys" name="revokeKeys">
					<option value="all">All keys</option>
					<option value="none">No keys</option>
				</select>
				<Field name="confirm" label='Type "LOCK DOWN" to confirm' autocomplete="off" required />
				<button type="submit" class="danger">
					Lock down now
				</button>
			</form>
		</section>
	);

	app.get(
		"/console/a/:accountId/lockdown",
		ui.withAccount(app, async (c, _me, accountId) =>
			ui.renderPage(
				c,
				"Lock down this account",
				ui.nav(accountId, "settings"),
				<LockdownConfirm accountId={accountId} />,
			),
		),
	);

	app.post(
		"/console/a/:accountId/lockdown",
		ui.withAccount(app, async (c, me, accountId) => {
			const form = await ui.formOf(c);
			if (form.confirm !== "LOCK DOWN") {
				const problem: ConfirmProblem = {
					status: 400,
					title: "Not confirmed",
					errors: [{ path: "confirm", message: 'Type "LOCK DOWN" exactly' }],
				};
				return ui.renderPage(
					c,
					"Lock down this account",
					ui.nav(accountId, "settings"),
					<LockdownConfirm accountId={accountId} problem={problem} />,
					400,
				);
			}
			const res = await me.api.call((api) =>
				api.accounts.lockdown({
					accountId,
					body: { reason: form.reason ?? "", revokeKeys: form.revokeKeys === "none" ? "none" : "all" },
				}),
			);
			if (!res.ok)
				return ui.renderPage(
					c,
					"Lock down this account",
					ui.nav(accountId, "settings"),
					<LockdownConfirm accountId={accountId} problem={res.problem} />,
					res.status,
				);
			return ui.renderPage(
				c,
				"Account locked down",
				null,
				<Notice kind="ok">
					{res.data.sessionsRevoked} sessions ended and {res.data.keysRevoked} keys revoked. Your session ended too:{" "}
					<a href="/console/sign-in">sign in again</a>.
				</Notice>,
			);
		}),
	);
}
