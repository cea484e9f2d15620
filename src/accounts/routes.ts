import { createRoute, z } from "@hono/zod-openapi";
import { assertRecentAuthentication } from "../auth/recent-auth";
import { accountGuard } from "../durable/address";
import { creditPoolsSplitAt } from "../keys/queries";
import { callerMembership, requireUser } from "../middleware/authorize";
import type { App } from "../platform/app-env";
import { ApiError, validationError } from "../problems";
import { accountRoute } from "../routes/account-route";
import { Id, IssuedId, jsonBody, jsonContent, problemResponses } from "../routes/openapi-shared";
import { getConnection } from "../sso/connections";
import { createAccount, transferOwnership, writeSettings } from "./accounts";
import { deleteAccount } from "./offboarding";
import { getAccount, getMembership } from "./queries";
import { AccountName, AccountParams, AccountSchema, publicAccount, SettingsPatch } from "./schemas";
import { applySettingsPatch, parseSettings } from "./settings";
import { changedSettings, settingsChangeRefusals } from "./settings-rules";

export const createAccountRoute = createRoute({
	method: "post",
	path: "/v1/accounts",
	tags: ["Accounts"],
	summary: "Create an account; the caller becomes its owner",
	middleware: [requireUser()] as const,
	request: { body: jsonBody(z.strictObject({ name: AccountName })) },
	responses: { 201: jsonContent(z.object({ account: AccountSchema }), "Created"), ...problemResponses(400, 401) },
});

export const getAccountRoute = accountRoute("account:read", {
	method: "get",
	path: "/v1/accounts/{accountId}",
	tags: ["Accounts"],
	summary: "The account with its settings",
	request: { params: AccountParams },
	responses: {
		200: jsonContent(z.object({ account: AccountSchema }), "The account"),
		...problemResponses(401, 403, 404),
	},
});

export const updateAccountRoute = accountRoute(
	"settings:manage",
	{
		method: "patch",
		path: "/v1/accounts/{accountId}",
		tags: ["Accounts"],
		summary: "Rename the account or change its settings (only the fields sent change)",
		description:
			"Admins and the owner may rename the account and change key and alert policies. The settings that decide " +
			"who can get in (`ipAllowlist`, `requireMfa`, `sessionIdleMinutes`, `sessionMaxAgeHours`, " +
			"`emailCodeSecondFactor`) are the owner's alone (403 naming each field), so no admin can lock the owner out. An `ipAllowlist` that excludes the " +
			"caller's own address, and `requireMfa` by an owner without two-factor, are 400.",
		request: {
			params: AccountParams,
			body: jsonBody(z.strictObject({ name: AccountName.optional(), settings: SettingsPatch.optional() })),
		},
		responses: {
			200: jsonContent(z.object({ account: AccountSchema }), "Updated"),
			...problemResponses(400, 401, 403, 404, 409),
		},
	},
	{
		grants: "setting",
		reauthenticateWhen: "any setting changes (a rename alone needs none)",
		ownerWhileLockedDown: true,
	},
);

export const deleteAccountRoute = accountRoute(
	"account:delete",
	{
		method: "delete",
		path: "/v1/accounts/{accountId}",
		tags: ["Accounts"],
		summary: "Delete the account: every member's access ends at once; the audit trail is kept",
		description: "Needs a proof of identity from the last ten minutes (`POST /v1/me/reauthenticate`).",
		request: { params: AccountParams },
		responses: { 204: { description: "Deleted" }, ...problemResponses(401, 403, 404) },
	},
	{ reauthenticate: "delete the account" },
);

export const transferOwnershipRoute = accountRoute(
	"ownership:transfer",
	{
		method: "post",
		path: "/v1/accounts/{accountId}/transfer-ownership",
		tags: ["Accounts"],
		summary: "Make another member the owner; the old owner becomes an admin",
		request: {
			params: AccountParams,
			body: jsonBody(
				z.strictObject({
					userId: Id("usr").openapi({ description: "The member to make the owner: already a member of this account" }),
				}),
			),
		},
		responses: {
			200: jsonContent(
				z.object({
					ownerId: IssuedId("usr", "The new owner"),
					previousOwnerId: z
						.string()
						.openapi({ description: "The caller, now an admin", example: "usr_2md6tna3hz7kq5xw" }),
				}),
				"Transferred",
			),
			...problemResponses(400, 401, 403, 404, 409),
		},
	},
	{ grants: "role", reauthenticate: "transfer ownership" },
);

export function registerAccounts(app: App) {
	app.openapi(createAccountRoute, async (c) => {
		const { name } = c.req.valid("json");
		const { db, clock } = c.get("services");
		const principal = c.get("principal");
		if (!principal) throw new ApiError("unauthorized");
		const account = await createAccount(db, principal.userId, name, clock.now());
		const audit = c.get("audit");
		audit.accountId = account.id;
		audit.record({ action: "account.created", target: { type: "account", id: account.id } });
		return c.json({ account: publicAccount(account) }, 201);
	});

	app.openapi(getAccountRoute, async (c) => {
		const account = await getAccount(c.get("services").db, c.req.valid("param").accountId);
		if (!account) throw new ApiError("not-found");
		return c.json({ account: publicAccount(account) }, 200);
	});

	app.openapi(updateAccountRoute, async (c) => {
		const { accountId } = c.req.valid("param");
		const input = c.req.valid("json");
		const { db, clock } = c.get("services");
		const account = await getAccount(db, accountId);
		if (!account) throw new ApiError("not-found");
		const before = parseSettings(account.settings);
		const { settings, conflict } = applySettingsPatch(before, input.settings ?? {});
		if (conflict)
			throw validationError(
				["settings.mfaPolicy", "settings.requireMfa"].map((path) => ({
					path,
					message: "requireMfa is the old form of mfaPolicy: send one, or values that agree",
				})),
			);
		const { principal, membership } = callerMembership(c, accountId);
		const { forbidden, invalid } = settingsChangeRefusals(
			{
				role: membership.role,
				ip: c.req.header("CF-Connecting-IP") ?? null,
				mfaEnabled: principal.mfaEnabled === true,
				phishingResistant: principal.phishingResistant === true,
			},
			before,
			settings,
			Object.keys(input.settings ?? {}),
		);
		if (forbidden.length > 0)
			throw new ApiError("forbidden", {
				detail: "Settings that decide who can get in are the owner's alone",
				errors: forbidden,
			});
		if (settings.enforceSso && !before.enforceSso && !(await getConnection(db, accountId)))
			invalid.push({ path: "settings.enforceSso", message: "Connect an identity provider first (…/sso-connections)" });
		if (settings.verifyShards !== before.verifyShards) {
			const split = await creditPoolsSplitAt(db, accountId, settings.verifyShards, clock.now());
			if (split.length > 0)
				invalid.push({
					path: "settings.verifyShards",
					message: `Live keys sharing credits would be split between shards (pools ${split.slice(0, 5).join(", ")}): wait until the rotated keys' grace periods end`,
				});
		}
		if (invalid.length > 0) throw validationError(invalid);
		const changedNow = changedSettings(before, settings);
		if (changedNow.length > 0) assertRecentAuthentication(c, "change the account's security settings");
		const updated = await writeSettings(db, account, input.name ?? account.name, settings);
		const changed = changedSettings(before, settings);
		// The account's object decides whether to lend to regional guards: it reads the setting again.
		// The account's objects decide whether to lend to regional guards and hold the keys of their
		// slots: the home reads both settings again, and moves keys between shards before this answers.
		// `verifyShards` sent again unchanged finishes a sweep that an outage interrupted.
		const { splitPools } =
			changed.includes("verifyPlacement") || input.settings?.verifyShards !== undefined
				? await accountGuard(c.env, accountId).applySettings(accountId)
				: { splitPools: [] };
		if (changed.length > 0 || input.name !== undefined) {
			c.get("audit").record({
				action: "account.settings_changed",
				target: { type: "account", id: accountId },
				metadata: { changed: input.name !== undefined ? [...changed, "name"] : changed },
			});
		}
		// A rotation between the check above and the move (keys rotated before slots were kept): the
		// setting is saved and the other slots moved; these keys wait where they are.
		if (splitPools.length > 0)
			throw new ApiError("conflict", {
				detail: `Some keys did not move: live keys sharing credits (pools ${splitPools.slice(0, 5).join(", ")}) would be split between shards. Send verifyShards again once the rotated keys' grace periods end.`,
			});
		return c.json({ account: publicAccount(updated) }, 200);
	});

	app.openapi(deleteAccountRoute, async (c) => {
		const { accountId } = c.req.valid("param");
		const { db, clock } = c.get("services");
		const { keysRevoked, deleted } = await deleteAccount(c.env, db, accountId, clock.now());
		// Of a burst of deletions, the one that removed the row records it; the others found it gone.
		if (deleted)
			c.get("audit").record({
				action: "account.deleted",
				target: { type: "account", id: accountId },
				metadata: { keysRevoked },
			});
		return c.body(null, 204);
	});

	app.openapi(transferOwnershipRoute, async (c) => {
		const { accountId } = c.req.valid("param");
		const { userId } = c.req.valid("json");
		const { db } = c.get("services");
		const principal = c.get("principal");
		if (!principal) throw new ApiError("unauthorized");
		if (userId === principal.userId) throw new ApiError("conflict", { detail: "You already own this account" });
		if (!(await getMembership(db, accountId, userId))) throw new ApiError("not-found", { detail: "No such member" });
		await transferOwnership(db, accountId, principal.userId, userId);
		c.get("audit").record({
			action: "account.ownership_transferred",
			target: { type: "user", id: userId },
			metadata: { previousOwnerId: principal.userId },
		});
		return c.json({ ownerId: userId, previousOwnerId: principal.userId }, 200);
	});
}
