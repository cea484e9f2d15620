/**
 * The passkey ceremonies' shared steps, between the routes and the checks: spending the
 * challenge a browser signed, finding the passkey it names, and recording its use.
 */
import { encodeBase64urlNoPadding } from "@oslojs/encoding";
import type { Context } from "hono";
import type { AppEnv } from "../platform/app-env";
import { checkAssertion, checkClientData, WebAuthnRefusal } from "../security/webauthn";
import type { AssertionCredentialJson } from "./passkey-schemas";
import {
	type CeremonyPurpose,
	findPasskeyByCredentialId,
	type PasskeyRow,
	recordPasskeyUse,
	spendWebauthnChallenge,
	webauthnConfig,
} from "./passkeys";

/** The user handle: the user's id as UTF-8 (an opaque id, never the email). */
export const userHandleOf = (userId: string): string => encodeBase64urlNoPadding(new TextEncoder().encode(userId));

export const unspent = () =>
	new WebAuthnRefusal(
		"credential.response.clientDataJSON",
		"The challenge is unknown, used or expired: ask for new options",
		"challenge_unknown",
	);

/**
 * The checks of an assertion: the client data, the challenge (spent here; of `purpose`; one issued
 * for a user answered by that user's passkey; bound to the login challenge when given), the passkey
 * it names (of `bound.userId` when given), the signature and the
 * counter, then the use recorded. Throws WebAuthnRefusal; answers the passkey and whether the
 * user was verified.
 */
export async function verifyPasskeyAssertion(
	c: Context<AppEnv>,
	credential: AssertionCredentialJson,
	purpose: CeremonyPurpose,
	bound: { userId?: string; loginChallengeHash?: string; userVerification?: boolean } = {},
): Promise<{ passkey: PasskeyRow; userVerified: boolean }> {
	const { db, clock } = c.get("services");
	const now = clock.now();
	const config = webauthnConfig(c.env);
	const client = checkClientData(config, credential.response.clientDataJSON, "get");
	const spent = await spendWebauthnChallenge(db, client.challenge, purpose, now);
	if (!spent || (bound.loginChallengeHash !== undefined && spent.loginChallengeHash !== bound.loginChallengeHash))
		throw unspent();
	if (credential.id !== credential.rawId) throw new WebAuthnRefusal("credential.rawId", "Must equal id");
	const passkey = await findPasskeyByCredentialId(db, credential.id);
	// A challenge issued for one user (a second factor's) is answered by that user's passkey only.
	if (spent.userId !== null && spent.userId !== passkey?.userId) throw unspent();
	if (!passkey || (bound.userId !== undefined && passkey.userId !== bound.userId))
		throw new WebAuthnRefusal("credential.id", "No such passkey", "unknown_passkey");
	const handle = credential.response.userHandle;
	if (handle && handle !== userHandleOf(passkey.userId))
		throw new WebAuthnRefusal("credential.response.userHandle", "Not this passkey's user", "unknown_passkey");
	// Refused before the use is recorded: an answer that does not count moves nothing.
	const check = await checkAssertion(config, passkey, credential.response, {
		userVerification: bound.userVerification === true,
	});
	if (!(await recordPasskeyUse(db, passkey, { ...check, now })))
		throw new WebAuthnRefusal(
			"credential.response.authenticatorData",
			"Another sign-in used this counter value",
			"counter_regressed",
		);
	return { passkey, userVerified: check.userVerified };
}
