/**
 * Passkeys (WebAuthn): registering them on /v1/me/passkeys, signing in with one alone
 * (`/v1/auth/passkey/*`: user verification makes it both factors), and proving the second factor
 * of a password sign-in with one (`/v1/auth/mfa/passkey-options`, then `/v1/auth/mfa/verify`).
 * The checks themselves are in src/security/webauthn.ts; each passkey's transitions in
 * ./passkeys.ts.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { encodeBase64urlNoPadding } from "@oslojs/encoding";
import type { Context } from "hono";
import { requireRecentAuthentication } from "../auth/recent-auth";
import { ipThrottle } from "../durable/address";
import { logMailFailure } from "../mail";
import { requireUser } from "../middleware/authorize";
import type { App, AppEnv } from "../platform/app-env";
import { ApiError } from "../problems";
import { FreeText, jsonBody, jsonContent, problemResponses } from "../routes/openapi-shared";
import { throttledHeaders } from "../security/rate-limit-headers";
import {
	checkAssertion,
	checkAttestation,
	checkClientData,
	SUPPORTED_ALGORITHMS,
	WebAuthnRefusal,
} from "../security/webauthn";
import { personalTrail } from "./login";
import { currentUser } from "./me-routes";
import { assertMethodOffered, findChallenge } from "./mfa";
import { unspent, userHandleOf, verifyPasskeyAssertion } from "./passkey-ceremony";
import {
	AssertionCredential,
	type AssertionCredentialJson,
	CreationOptions,
	PasskeyParams,
	PasskeySchema,
	RegistrationCredential,
	RequestOptions,
} from "./passkey-schemas";
import {
	addPasskey,
	type CeremonyPurpose,
	credentialDescriptors,
	findPasskeyByCredentialId,
	issueWebauthnChallenge,
	knownTransports,
	listPasskeys,
	MAX_PASSKEYS_PER_USER,
	type PasskeyRow,
	publicPasskey,
	recordPasskeyUse,
	removePasskey,
	renamePasskey,
	spendWebauthnChallenge,
	WEBAUTHN_CHALLENGE_TTL_MS,
	webauthnConfig,
} from "./passkeys";
import { takeAddressQuota } from "./quotas";
import { SessionSchema, TokenFrom, UserSchema } from "./schemas";
import { completeLogin } from "./sign-in-routes";
import { LOGIN_PER_IP } from "./throttle-policy";
import { getUser, type UserRow } from "./users";

const PasskeyName = FreeText(64).openapi({
	description: "A name to tell it apart: 1 to 64 characters after trimming, no control characters",
	example: "MacBook Touch ID",
});

export const passkeyOptionsRoute = createRoute({
	method: "post",
	path: "/v1/me/passkeys/options",
	tags: ["Me"],
	summary: "Start adding a passkey: creation options with a single-use challenge (5 minutes)",
	description:
		"Needs a recent proof of identity (POST /v1/me/reauthenticate within ten minutes, or a fresh sign-in): a " +
		"stolen session must not add a way in. A user who already has a passkey needs that proof made with a " +
		"passkey or a recovery code (else 403 `reauthentication-required`): a phished password and code must not " +
		"add the phisher's passkey. At most 20 passkeys per user (409).",
	middleware: [requireUser(), requireRecentAuthentication("add a passkey")] as const,
	responses: { 200: jsonContent(CreationOptions, "Options for the browser"), ...problemResponses(401, 403, 409) },
});

export const addPasskeyRoute = createRoute({
	method: "post",
	path: "/v1/me/passkeys",
	tags: ["Me"],
	summary: "Finish adding a passkey with the browser's answer to the options",
	description:
		"Checks the client data (type, one of the configured origins, the challenge from POST /v1/me/passkeys/options, " +
		"spent by this whatever the outcome), the rpId hash and user presence, and takes the public key (ES256, RS256 " +
		"or Ed25519). Attestation is not asked for and not trusted. Audited and emailed.",
	middleware: [requireUser()] as const,
	request: { body: jsonBody(z.strictObject({ name: PasskeyName, credential: RegistrationCredential })) },
	responses: {
		201: jsonContent(z.object({ passkey: PasskeySchema }), "Added"),
		...problemResponses(400, 401, 403, 409, 413, 415),
	},
});

export const listPasskeysRoute = createRoute({
	method: "get",
	path: "/v1/me/passkeys",
	tags: ["Me"],
	summary: "The signed-in user's passkeys",
	middleware: [requireUser()] as const,
	responses: {
		200: jsonContent(
			z.object({ data: z.array(PasskeySchema).openapi({ description: "Oldest first; at most 20" }) }),
			"The passkeys",
		),
		...problemResponses(401, 403),
	},
});

export const renamePasskeyRoute = createRoute({
	method: "patch",
	path: "/v1/me/passkeys/{passkeyId}",
	tags: ["Me"],
	summary: "Rename a passkey (audited and emailed)",
	middleware: [requireUser()] as const,
	request: { params: PasskeyParams, body: jsonBody(z.strictObject({ name: PasskeyName })) },
	responses: {
		200: jsonContent(z.object({ passkey: PasskeySchema }), "Renamed"),
		...problemResponses(400, 401, 403, 404, 413, 415),
	},
});

export const removePasskeyRoute = createRoute({
	method: "delete",
	path: "/v1/me/passkeys/{passkeyId}",
	tags: ["Me"],
	summary: "Remove a passkey (needs a recent proof made with a passkey or a recovery code; audited and emailed)",
	middleware: [requireUser(), requireRecentAuthentication("remove a passkey")] as const,
	request: { params: PasskeyParams },
	responses: { 204: { description: "Removed" }, ...problemResponses(400, 401, 403, 404) },
});

export const passkeySignInOptionsRoute = createRoute({
	method: "post",
	path: "/v1/auth/passkey/options",
	tags: ["Authentication"],
	summary: "Start a sign-in with a passkey alone: discoverable-credential options, no email needed",
	description:
		"The options suit conditional mediation (autofill) as well as a button. 600 an hour per address, shared with POST /v1/auth/mfa/passkey-options (429). The " +
		"challenge is single use and lasts 5 minutes.",
	security: [],
	responses: { 200: jsonContent(RequestOptions, "Options for the browser"), ...problemResponses(429) },
});

export const passkeySignInRoute = createRoute({
	method: "post",
	path: "/v1/auth/passkey/verify",
	tags: ["Authentication"],
	summary: "Sign in with a passkey: a session when it verifies",
	description:
		"The passkey must verify the user (PIN or biometrics: the `UV` flag), since it stands for both factors. " +
		"Checked: the client data (type, origin, the challenge, spent by this), the rpId hash, user presence and " +
		"verification, the signature, and the signature counter, which must move forward when the authenticator " +
		"keeps one (else it may be a clone, and it is refused). Failures count against the address like failed " +
		"password sign-ins (429 with Retry-After), and every attempt is audited.",
	security: [],
	request: { body: jsonBody(z.strictObject({ credential: AssertionCredential })) },
	responses: {
		200: jsonContent(z.object({ session: SessionSchema, user: UserSchema }), "Signed in"),
		...problemResponses(400, 401, 413, 415, 429),
	},
});

export const passkeySecondFactorOptionsRoute = createRoute({
	method: "post",
	path: "/v1/auth/mfa/passkey-options",
	tags: ["Authentication"],
	summary: "Options for answering a sign-in's second-factor challenge with a passkey",
	description:
		"After a password sign-in answered `mfaRequired` with `passkey` among its methods. The options list the " +
		"user's passkeys; send the browser's answer to POST /v1/auth/mfa/verify with `method: \"passkey\"`.",
	security: [],
	request: {
		body: jsonBody(
			z.strictObject({
				challengeToken: TokenFrom("The `challenge.token` from the login answer (single use, 10 minutes)"),
			}),
		),
	},
	responses: { 200: jsonContent(RequestOptions, "Options for the browser"), ...problemResponses(400, 401, 429) },
});

const notify = (c: Context<AppEnv>, user: UserRow, subject: string, text: string) =>
	c.executionCtx.waitUntil(
		c.get("services").mailer.send({ to: user.email, subject, text }).catch(logMailFailure("security-notice")),
	);

/** A refused registration names the part of the credential that failed (400). */
const registrationRefused = (err: unknown): never => {
	if (err instanceof WebAuthnRefusal)
		throw new ApiError("validation", {
			detail: `The passkey was not accepted: ${err.message}`,
			errors: [{ path: err.field, message: err.message }],
		});
	throw err;
};

function requestOptions(
	c: Context<AppEnv>,
	challenge: { challenge: string; expiresAt: Date },
	userVerification: "required" | "preferred",
	allow: readonly PasskeyRow[],
) {
	return {
		publicKey: {
			challenge: challenge.challenge,
			rpId: webauthnConfig(c.env).rpId,
			timeout: WEBAUTHN_CHALLENGE_TTL_MS,
			userVerification,
			allowCredentials: credentialDescriptors(allow),
		},
		expiresAt: challenge.expiresAt.toISOString(),
	};
}

/**
 * A user who has a passkey changes their passkeys only from a proof as strong: a sign-in or
 * re-authentication with a passkey, or with a recovery code (the offline way back when the
 * passkeys are lost). Otherwise a phished password and TOTP code (or mailbox) could add the
 * phisher's own passkey, and with it pass `mfaPolicy: "phishing-resistant"` for good.
 */
function assertPasskeyStrength(c: Context<AppEnv>, user: UserRow, action: string): void {
	if (user.passkeyCount === 0) return;
	const factors = c.get("principal")?.sessionFactors ?? [];
	if (factors.includes("passkey") || factors.includes("recovery_code")) return;
	throw new ApiError("reauthentication-required", {
		detail: `To ${action}, confirm it is you with one of your passkeys (POST /v1/me/reauthenticate with a credential) or sign in with a recovery code`,
	});
}

export function registerPasskeys(app: App) {
	app.openapi(passkeyOptionsRoute, async (c) => {
		const user = await currentUser(c);
		assertPasskeyStrength(c, user, "add a passkey");
		const { db, clock } = c.get("services");
		const existing = await listPasskeys(db, user.id);
		if (existing.length >= MAX_PASSKEYS_PER_USER)
			throw new ApiError("conflict", { detail: `You have ${MAX_PASSKEYS_PER_USER} passkeys; remove one first` });
		const config = webauthnConfig(c.env);
		const issued = await issueWebauthnChallenge(db, { purpose: "register", userId: user.id, now: clock.now() });
		return c.json(
			{
				publicKey: {
					challenge: issued.challenge,
					rp: { id: config.rpId, name: config.rpName },
					user: { id: userHandleOf(user.id), name: user.email, displayName: user.name },
					pubKeyCredParams: SUPPORTED_ALGORITHMS.map((alg) => ({ type: "public-key" as const, alg })),
					timeout: WEBAUTHN_CHALLENGE_TTL_MS,
					attestation: "none" as const,
					authenticatorSelection: {
						residentKey: "required" as const,
						requireResidentKey: true as const,
						userVerification: "preferred" as const,
					},
					excludeCredentials: credentialDescriptors(existing),
				},
				expiresAt: issued.expiresAt.toISOString(),
			},
			200,
		);
	});

	app.openapi(addPasskeyRoute, async (c) => {
		const { name, credential } = c.req.valid("json");
		const user = await currentUser(c);
		const { db, clock } = c.get("services");
		const now = clock.now();
		const config = webauthnConfig(c.env);
		const created = await (async () => {
			const client = checkClientData(config, credential.response.clientDataJSON, "create");
			const spent = await spendWebauthnChallenge(db, client.challenge, "register", now);
			if (!spent || spent.userId !== user.id) throw unspent();
			const checked = await checkAttestation(config, credential.response.attestationObject);
			if (credential.id !== checked.credentialId || credential.rawId !== checked.credentialId)
				throw new WebAuthnRefusal("credential.id", "Must be the id of the credential in the attestation object");
			return checked;
		})().catch(registrationRefused);
		const passkey = await addPasskey(db, {
			userId: user.id,
			credential: created,
			name,
			transports: knownTransports(credential.response.transports),
			now,
		}).catch((err: unknown) => {
			if (String(err).includes("UNIQUE"))
				throw new ApiError("conflict", { detail: "This passkey is already registered" });
			throw err;
		});
		if (!passkey)
			throw new ApiError("conflict", { detail: `You have ${MAX_PASSKEYS_PER_USER} passkeys; remove one first` });
		c.get("audit").record({
			action: "auth.passkey.added",
			accountId: await personalTrail(c.get("services"), user.id),
			target: { type: "passkey", id: passkey.id },
			metadata: {
				algorithm: passkey.algorithm,
				backupEligible: passkey.backupEligible,
				userVerified: created.userVerified,
			},
		});
		notify(
			c,
			user,
			"Keyward: a passkey was added",
			`A passkey named "${passkey.name}" was added to your Keyward account. It can sign you in on its own. If this ` +
				"was not you, remove it under Security and change your password.",
		);
		return c.json({ passkey: publicPasskey(passkey) }, 201);
	});

	app.openapi(listPasskeysRoute, async (c) => {
		const user = await currentUser(c);
		return c.json({ data: (await listPasskeys(c.get("services").db, user.id)).map(publicPasskey) }, 200);
	});

	app.openapi(renamePasskeyRoute, async (c) => {
		const { passkeyId } = c.req.valid("param");
		const { name } = c.req.valid("json");
		const user = await currentUser(c);
		const passkey = await renamePasskey(c.get("services").db, user.id, passkeyId, name);
		if (!passkey) throw new ApiError("not-found", { detail: "No such passkey" });
		c.get("audit").record({
			action: "auth.passkey.renamed",
			accountId: await personalTrail(c.get("services"), user.id),
			target: { type: "passkey", id: passkey.id },
		});
		notify(c, user, "Keyward: a passkey was renamed", `One of your Keyward passkeys is now named "${passkey.name}".`);
		return c.json({ passkey: publicPasskey(passkey) }, 200);
	});

	app.openapi(removePasskeyRoute, async (c) => {
		const { passkeyId } = c.req.valid("param");
		const user = await currentUser(c);
		assertPasskeyStrength(c, user, "remove a passkey");
		const removed = await removePasskey(c.get("services").db, user.id, passkeyId);
		if (!removed) throw new ApiError("not-found", { detail: "No such passkey" });
		c.get("audit").record({
			action: "auth.passkey.removed",
			accountId: await personalTrail(c.get("services"), user.id),
			target: { type: "passkey", id: removed.id },
		});
		notify(
			c,
			user,
			"Keyward: a passkey was removed",
			`The passkey named "${removed.name}" was removed from your Keyward account and no longer signs you in. If ` +
				"this was not you, change your password now.",
		);
		return c.body(null, 204);
	});

	app.openapi(passkeySignInOptionsRoute, async (c) => {
		await takeAddressQuota(c, "passkey-options-per-address");
		const { db, clock } = c.get("services");
		const issued = await issueWebauthnChallenge(db, { purpose: "sign_in", userId: null, now: clock.now() });
		return c.json(requestOptions(c, issued, "required", []), 200);
	});

	app.openapi(passkeySignInRoute, async (c) => {
		const { credential } = c.req.valid("json");
		const services = c.get("services");
		const now = services.clock.now();
		const ip = c.req.header("CF-Connecting-IP") ?? null;
		const byIp = ip ? ipThrottle(c.env, ip) : null;
		const attempt = byIp ? await byIp.beginWindowAttempt(now.getTime(), LOGIN_PER_IP) : null;
		if (attempt && !attempt.allowed)
			throw new ApiError("quota-exceeded", {
				detail: "Too many failed sign-in attempts; try again later",
				headers: throttledHeaders(
					{ name: "login-ip", limit: LOGIN_PER_IP.max, windowSeconds: LOGIN_PER_IP.windowMs / 1000, now },
					attempt.retryAfterSeconds,
				),
			});
		// Attributed to the passkey's user only when its signature verified: before that, the attempt
		// came from someone who does not hold the key, and is no event of theirs.
		const refused = async (reason: string, userId: string | null) => {
			c.get("audit").record({
				action: "auth.login.failed",
				outcome: "failure",
				accountId: userId ? await personalTrail(services, userId) : null,
				actor: { type: "user", id: userId },
				metadata: { reason, factor: "passkey" },
			});
			return new ApiError("unauthorized", { detail: "The passkey could not be verified; try again" });
		};
		let verified: Awaited<ReturnType<typeof verifyPasskeyAssertion>>;
		try {
			// Alone, a passkey is both factors only when it verified the user.
			verified = await verifyPasskeyAssertion(c, credential, "sign_in", { userVerification: true });
		} catch (err) {
			if (!(err instanceof WebAuthnRefusal)) throw err;
			const signed = err.reason === "counter_regressed" || err.reason === "user_not_verified";
			const known = signed ? await findPasskeyByCredentialId(services.db, credential.id) : undefined;
			throw await refused(err.reason, known?.userId ?? null);
		}
		if (!(await getUser(services.db, verified.passkey.userId))) throw await refused("unknown_user", null);
		if (attempt?.allowed) await byIp?.forgiveWindowAttempt(now.getTime());
		return completeLogin(c, verified.passkey.userId, ["passkey"]);
	});

	app.openapi(passkeySecondFactorOptionsRoute, async (c) => {
		const { challengeToken } = c.req.valid("json");
		await takeAddressQuota(c, "passkey-options-per-address");
		const { db, clock } = c.get("services");
		const now = clock.now();
		const challenge = await findChallenge(db, challengeToken, now);
		const user = challenge && (await getUser(db, challenge.userId));
		if (!challenge || !user)
			throw new ApiError("unauthorized", { detail: "The challenge is invalid or has expired; sign in again" });
		await assertMethodOffered(db, user, "passkey");
		const issued = await issueWebauthnChallenge(db, {
			purpose: "second_factor",
			userId: user.id,
			loginChallengeHash: challenge.tokenHash,
			now,
		});
		return c.json(requestOptions(c, issued, "preferred", await listPasskeys(db, user.id)), 200);
	});
}
