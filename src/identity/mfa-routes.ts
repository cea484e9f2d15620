import { createRoute, z } from "@hono/zod-openapi";
import { userSessions } from "../durable/address";
import { logMailFailure } from "../mail";
import { requireUser } from "../middleware/authorize";
import type { App } from "../platform/app-env";
import { ApiError } from "../problems";
import { jsonBody, jsonContent, problemResponses } from "../routes/openapi-shared";
import { verifyPassword } from "../security/password-hash";
import { openSecret, sealSecret } from "../security/secret-box";
import { totpSecretText } from "../security/secret-formats";
import { matchTotp, newTotpKey, qrSvg, totpUri } from "../security/totp";
import { guardedUserCheck } from "./guarded-check";
import { personalTrail } from "./login";
import { CurrentPassword, currentUser, wrongSecret } from "./me-routes";
import {
	confirmTotpEnrolment,
	consumeRecoveryCode,
	MFA_NOTICES,
	regenerateRecoveryCodes,
	retireTotp,
	startTotpEnrolment,
	verifyUserTotp,
} from "./mfa";
import { CodeField } from "./schemas";

const RecoveryCodes = z.object({
	recoveryCodes: z
		.array(z.string())
		.length(10)
		.openapi({
			description:
				"Ten single-use recovery codes, shown only now. Each stands in once for the authenticator: to finish a " +
				"sign-in (`recovery_code`) or to replace a lost authenticator. Six groups of four characters. The " +
				"examples are made up.",
			example: Array.from({ length: 10 }, (_, i) => `abcd-efgh-jkmn-pqrs-tvwx-yz0${i}`),
		}),
});

/** A new TOTP secret, three ways: typed, as a link, as a QR code. Shown once. */
const Enrolment = {
	secret: z.string().openapi({
		description:
			"The TOTP secret in base32 (RFC 4648, 32 characters), to type into an authenticator app. Shown only now. " +
			"The example is made up.",
		example: "EXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAM",
	}),
	uri: z.string().openapi({
		description:
			"The same secret as an `otpauth://totp/` URI (issuer Keyward, SHA-1, 6 digits, 30 seconds), for apps that open links",
		example:
			"otpauth://totp/Keyward:ada%40example.com?issuer=Keyward&algorithm=SHA1&secret=EXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAM&period=30&digits=6",
	}),
	qrSvg: z.string().openapi({
		description: "An SVG image of a QR code of `uri`, to scan (the example is shortened)",
		example:
			'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 410 410"><rect fill="white" width="410" height="410"/><path fill="black" d="M40,40h10v10h-10z…"/></svg>',
	}),
};

const AuthenticatorCode = CodeField.openapi({
	description: "A current 6-digit code from the authenticator app. Five wrong codes in a row end this session.",
});
type MeContext = Parameters<typeof guardedUserCheck>[0];
type User = Parameters<typeof guardedUserCheck>[1];

/** Re-entering the password here is throttled and audited like any password check. */
const confirmPassword = (c: MeContext, user: User, password: string) =>
	guardedUserCheck(
		c,
		user,
		{ kind: "password", onFailure: () => wrongSecret("password", "Wrong password") },
		async () => (await verifyPassword(password, user.passwordHash)).valid,
	);

export const totpEnrolRoute = createRoute({
	method: "post",
	path: "/v1/me/mfa/totp",
	tags: ["Me"],
	summary: "Start TOTP enrolment (not active until confirmed)",
	middleware: [requireUser()] as const,
	request: { body: jsonBody(z.strictObject({ password: CurrentPassword })) },
	responses: {
		200: jsonContent(z.object(Enrolment), "Scan the QR code or type the secret"),
		...problemResponses(400, 401, 409, 429),
	},
});

export const totpConfirmRoute = createRoute({
	method: "post",
	path: "/v1/me/mfa/totp/confirm",
	tags: ["Me"],
	summary: "Confirm enrolment with a current code; MFA is on and ten recovery codes are shown once",
	middleware: [requireUser()] as const,
	request: {
		body: jsonBody(
			z.strictObject({
				code: CodeField.openapi({
					description:
						"A current 6-digit code from the newly enrolled app; it proves the app holds the secret. Five wrong " +
						"codes in a row end this session.",
				}),
			}),
		),
	},
	responses: { 200: jsonContent(RecoveryCodes, "MFA enabled"), ...problemResponses(400, 401, 409, 429) },
});

export const totpDisableRoute = createRoute({
	method: "delete",
	path: "/v1/me/mfa/totp",
	tags: ["Me"],
	summary: "Turn TOTP off (needs the password and a current code)",
	middleware: [requireUser()] as const,
	request: { body: jsonBody(z.strictObject({ password: CurrentPassword, code: AuthenticatorCode })) },
	responses: { 204: { description: "MFA disabled" }, ...problemResponses(400, 401, 409, 429) },
});

export const totpReplaceRoute = createRoute({
	method: "post",
	path: "/v1/me/mfa/totp/replace",
	tags: ["Me"],
	summary: "Lost authenticator: a recovery code retires it and starts enrolling a new one",
	description:
		"Needs the password and one recovery code. The lost authenticator and every recovery code stop working, " +
		"every other session ends, the change is audited and emailed, and the answer starts a new enrolment " +
		"(confirm it with `POST /v1/me/mfa/totp/confirm`). Until then the account has no second factor.",
	middleware: [requireUser()] as const,
	request: {
		body: jsonBody(
			z.strictObject({
				password: CurrentPassword,
				recoveryCode: CodeField.openapi({
					description:
						"One of the user's recovery codes (`xxxx-xxxx-xxxx-xxxx-xxxx-xxxx`; case, spaces and dashes do not " +
						"matter), used up by this. Five wrong codes in a row end this session.",
					example: "abcd-efgh-jkmn-pqrs-tvwx-yz00",
				}),
			}),
		),
	},
	responses: {
		200: jsonContent(
			z.object({
				...Enrolment,
				sessionsEnded: z
					.number()
					.int()
					.openapi({ description: "How many of the user's other sessions ended", example: 2 }),
			}),
			"The old authenticator is retired; scan the new one and confirm",
		),
		...problemResponses(400, 401, 409, 429),
	},
});

export const recoveryCodesRoute = createRoute({
	method: "post",
	path: "/v1/me/mfa/recovery-codes",
	tags: ["Me"],
	summary: "Replace the recovery codes; the old ones stop working",
	description:
		"Needs the password and a current code from the authenticator app: recovery codes replace the " +
		"authenticator (`POST /v1/me/mfa/totp/replace`), so minting them takes the authenticator itself, not the " +
		"password alone. Audited, and mailed to the user.",
	middleware: [requireUser()] as const,
	request: { body: jsonBody(z.strictObject({ password: CurrentPassword, code: AuthenticatorCode })) },
	responses: { 200: jsonContent(RecoveryCodes, "New codes, shown once"), ...problemResponses(400, 401, 409, 429) },
});

export function registerMeMfa(app: App) {
	app.openapi(totpEnrolRoute, async (c) => {
		const user = await currentUser(c);
		if (user.totpSecret) throw new ApiError("conflict", { detail: "TOTP is already on; turn it off first" });
		await confirmPassword(c, user, c.req.valid("json").password);
		const key = newTotpKey();
		const sealed = await sealSecret(c.env.TOTP_ENCRYPTION_KEY ?? "", key, user.id);
		await startTotpEnrolment(c.get("services").db, user.id, sealed);
		const uri = totpUri(user.email, key);
		return c.json({ secret: totpSecretText(key), uri, qrSvg: qrSvg(uri) }, 200);
	});

	app.openapi(totpConfirmRoute, async (c) => {
		const user = await currentUser(c);
		const { db, clock } = c.get("services");
		if (user.totpSecret) throw new ApiError("conflict", { detail: "TOTP is already on" });
		if (!user.totpPendingSecret) throw new ApiError("conflict", { detail: "Start enrolment first" });
		const key = await openSecret(c.env.TOTP_ENCRYPTION_KEY ?? "", user.totpPendingSecret, user.id);
		// Under the second-factor throttle: five wrong codes lock it for 15 minutes, with Retry-After.
		const matched: { step: number | null } = { step: null };
		await guardedUserCheck(
			c,
			user,
			{
				kind: "mfa",
				metadata: { method: "totp", during: "enrolment" },
				onFailure: () => wrongSecret("code", "The code does not match; check the device's clock"),
			},
			async () => {
				matched.step = matchTotp(key, c.req.valid("json").code, clock.now(), null);
				return matched.step !== null;
			},
		);
		const step = matched.step;
		await confirmTotpEnrolment(db, user.id, user.totpPendingSecret, step);
		const codes = await regenerateRecoveryCodes(db, c.env.KEY_PEPPER ?? "", user.id);
		c.get("audit").record({
			action: "auth.mfa.enabled",
			accountId: await personalTrail(c.get("services"), user.id),
			target: { type: "user", id: user.id },
			metadata: { method: "totp" },
		});
		return c.json({ recoveryCodes: codes }, 200);
	});

	app.openapi(totpDisableRoute, async (c) => {
		const input = c.req.valid("json");
		const user = await currentUser(c);
		const { db, clock } = c.get("services");
		if (!user.totpSecret) throw new ApiError("conflict", { detail: "TOTP is not on" });
		await confirmPassword(c, user, input.password);
		await guardedUserCheck(
			c,
			user,
			{ kind: "mfa", metadata: { method: "totp" }, onFailure: () => wrongSecret("code", "The code is not valid") },
			() => verifyUserTotp(db, c.env.TOTP_ENCRYPTION_KEY ?? "", user, input.code, clock.now()),
		);
		await retireTotp(db, user.id);
		c.get("audit").record({
			action: "auth.mfa.disabled",
			accountId: await personalTrail(c.get("services"), user.id),
			target: { type: "user", id: user.id },
			metadata: { method: "totp" },
		});
		return c.body(null, 204);
	});

	app.openapi(totpReplaceRoute, async (c) => {
		const input = c.req.valid("json");
		const user = await currentUser(c);
		const { db, clock, mailer } = c.get("services");
		if (!user.totpSecret) throw new ApiError("conflict", { detail: "TOTP is not on; enrol with POST /v1/me/mfa/totp" });
		await confirmPassword(c, user, input.password);
		await guardedUserCheck(
			c,
			user,
			{
				kind: "mfa",
				metadata: { method: "recovery_code", during: "replacement" },
				onFailure: () => wrongSecret("recoveryCode", "The recovery code is not valid"),
			},
			() => consumeRecoveryCode(db, c.env.KEY_PEPPER ?? "", user.id, input.recoveryCode, clock.now()),
		);
		const key = newTotpKey();
		const sealed = await sealSecret(c.env.TOTP_ENCRYPTION_KEY ?? "", key, user.id);
		await retireTotp(db, user.id, sealed);
		const sessionsEnded = await userSessions(c.env, user.id).revokeSessionsExcept(
			c.get("principal")?.sessionId ?? null,
		);
		c.get("audit").record({
			action: "auth.mfa.disabled",
			accountId: await personalTrail(c.get("services"), user.id),
			target: { type: "user", id: user.id },
			metadata: { method: "totp", via: "recovery_code", reason: "lost_authenticator", sessionsEnded },
		});
		c.executionCtx.waitUntil(
			mailer.send({ to: user.email, ...MFA_NOTICES.authenticatorReplaced }).catch(logMailFailure("security-notice")),
		);
		const uri = totpUri(user.email, key);
		return c.json({ secret: totpSecretText(key), uri, qrSvg: qrSvg(uri), sessionsEnded }, 200);
	});

	app.openapi(recoveryCodesRoute, async (c) => {
		const input = c.req.valid("json");
		const user = await currentUser(c);
		const { db, clock, mailer } = c.get("services");
		if (!user.totpSecret) throw new ApiError("conflict", { detail: "Turn on TOTP first" });
		await confirmPassword(c, user, input.password);
		await guardedUserCheck(
			c,
			user,
			{
				kind: "mfa",
				metadata: { method: "totp", during: "recovery-code replacement" },
				onFailure: () => wrongSecret("code", "The code is not valid"),
			},
			() => verifyUserTotp(db, c.env.TOTP_ENCRYPTION_KEY ?? "", user, input.code, clock.now()),
		);
		const codes = await regenerateRecoveryCodes(db, c.env.KEY_PEPPER ?? "", user.id);
		c.get("audit").record({
			action: "auth.mfa.recovery_codes_replaced",
			accountId: await personalTrail(c.get("services"), user.id),
			target: { type: "user", id: user.id },
		});
		c.executionCtx.waitUntil(
			mailer.send({ to: user.email, ...MFA_NOTICES.recoveryCodesReplaced }).catch(logMailFailure("security-notice")),
		);
		return c.json({ recoveryCodes: codes }, 200);
	});
}
