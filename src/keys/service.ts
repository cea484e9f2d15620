/**
 * What the key routes ask for, beyond one lifecycle call: the account's policy
 * applied to the request (lifetime cap, no wildcard in production, the grace
 * period), the alert a new key raises, and a key's usage. The lifecycle
 * (`lifecycle.ts`) stays the one place each transition is written.
 */
import { getAccount } from "../accounts/queries";
import { parseSettings } from "../accounts/settings";
import type { Alert } from "../alerts";
import { accountGuard } from "../durable/address";
import { ApiError, validationError } from "../problems";
import { createKey, type KeyAttributes, type Lifecycle, rotateKey } from "./lifecycle";
import type { KeyIssuer } from "./policy";
import { type KeyRow, keyStatus, publicKey } from "./records";

/** `*` grants every scope; a production key must name the ones it needs. */
export function refuseWildcardInProduction(environment: string, scopes: string[]): void {
	const index = scopes.indexOf("*");
	if (environment === "production" && index >= 0) {
		throw validationError([
			{ path: `scopes.${index}`, message: "* is not allowed on production keys; name the scopes" },
		]);
	}
}

async function accountSettings(lc: Lifecycle, accountId: string) {
	const account = await getAccount(lc.db, accountId);
	if (!account) throw new ApiError("not-found");
	return parseSettings(account.settings);
}

/** A new key under the account's policy: its lifetime is the request's, capped by the account's maximum. */
export async function issueKey(
	lc: Lifecycle,
	issuer: KeyIssuer,
	accountId: string,
	input: KeyAttributes & { expiresInDays?: number },
) {
	refuseWildcardInProduction(input.environment, input.scopes);
	const maxDays = (await accountSettings(lc, accountId)).keyMaxLifetimeDays;
	if ((input.expiresInDays ?? maxDays) > maxDays)
		throw validationError([{ path: "expiresInDays", message: `At most ${maxDays} days under this account's policy` }]);
	return createKey(lc, issuer, accountId, input, {
		days: input.expiresInDays ?? maxDays,
		explicit: input.expiresInDays !== undefined,
	});
}

/** A successor for an active, unrotated key; the old one lives on for the grace period (the account's, unless given). */
export async function rotateUnderPolicy(lc: Lifecycle, issuer: KeyIssuer, key: KeyRow, gracePeriodHours?: number) {
	if (keyStatus(key, lc.now) !== "active" || key.rotatedTo)
		throw new ApiError("conflict", { detail: "Only an active, unrotated key can be rotated" });
	const settings = parseSettings((await getAccount(lc.db, key.accountId))?.settings);
	return rotateKey(lc, issuer, key, {
		graceMs: (gracePeriodHours ?? settings.rotationGraceHours) * 3_600_000,
		lifetimeDays: settings.keyMaxLifetimeDays,
	});
}

/** `alert.key_created`: the owner and admins hear of every new key (never its secret). */
export const keyCreatedAlert = (row: KeyRow): Alert => ({
	accountId: row.accountId,
	type: "alert.key_created",
	subject: `Keyward: a new ${row.environment} API key was created`,
	text: `Key ${row.id} ("${row.name}", ${row.start}…${row.lastFour ?? ""}) was created by ${row.createdBy} with scopes ${row.scopes.join(", ")}.`,
	data: { keyId: row.id, name: row.name, environment: row.environment, scopes: row.scopes, createdBy: row.createdBy },
	target: { type: "key", id: row.id },
});

/** A key with its usage from the account's object; last use is the later of the object's and the stored one. */
export async function keyWithUsage(lc: Lifecycle, key: KeyRow) {
	const usage = await accountGuard(lc.env, key.accountId).keyUsage(key.id, lc.now.getTime());
	const lastUsed = Math.max(usage.lastUsedAt ?? 0, key.lastUsedAt?.getTime() ?? 0);
	const lastUsedAt = lastUsed > 0 ? new Date(lastUsed).toISOString() : null;
	return { key: { ...publicKey(key, lc.now), lastUsedAt }, usage: { ...usage, lastUsedAt } };
}
