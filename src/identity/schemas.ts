/** Schemas and helpers shared by the identity routes (API.md §2 and §3). */
import { z } from "@hono/zod-openapi";
import type { Env } from "../platform/env";
import { validationError } from "../problems";
import { EXAMPLE_SECRETS, IssuedId, Timestamp } from "../routes/openapi-shared";
import {
	checkPassword,
	PASSWORD_MAX_LENGTH,
	PASSWORD_MIN_LENGTH,
	passwordPolicyFrom,
} from "../security/password-policy";
import type { IssuedSession } from "./sessions";

export const EmailField = z
	.email()
	.max(254)
	// `.invalid` never receives mail (RFC 6761 §6.4), and erased people's tombstone addresses live there
	// (src/privacy/erasure.ts): an address there could only squat one and block that erasure.
	.refine((email) => !/\.invalid\.?$/i.test(email), { message: "Addresses under .invalid cannot receive mail" })
	.openapi({
		description:
			"An email address: at most 254 characters, compared without regard to case; none under the reserved `.invalid` domain",
		example: "ada@example.com",
	});
/** Length rules are the policy's (so the 400 names the rule); this only bounds the input. */
export const PasswordField = z.string().min(1).max(1024).openapi({
	description: "The user's password",
	example: "plum tractor violet harbour",
});
/** A password being set: the policy's rules, said where clients read them. */
export const NewPasswordField = PasswordField.openapi({
	description:
		`The new password: ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters (a deployment may raise the ` +
		"minimum), any characters, never truncated. Refused (400, naming each broken rule) when it is one of the most " +
		"common passwords, is mostly the email address, contains the product's name (`keyward`), has appeared in " +
		"known data breaches (when the deployment checks), or, where one of the user's accounts sets " +
		"`passwordComposition`, lacks a lowercase letter, an uppercase letter, a digit or a symbol. A few unrelated " +
		"words make a strong one; do not copy the example.",
});
export const CodeField = z.string().min(1).max(32).openapi({ example: "123456" });
export const TokenField = z.string().min(1).max(512).openapi({ example: EXAMPLE_SECRETS.opaqueToken });

/** The emailed or challenge token a body carries: what it is, and that the example is made up. */
export const TokenFrom = (what: string) => TokenField.openapi({ description: `${what}. The example is made up.` });

const CREATED = "2026-01-12T08:15:00.000Z";

export const UserSchema = z
	.object({
		id: IssuedId("usr", "The user's id"),
		email: z.string().openapi({ description: "The user's email address, lowercased", example: "ada@example.com" }),
		name: z.string().openapi({ description: "The user's name, as given at sign-up", example: "Ada Lovelace" }),
		emailVerified: z.boolean().openapi({
			description:
				"Whether the user proved the address (with the emailed code, or a password reset). Until the owner's " +
				"address is verified, the accounts they own grant nothing (no keys, invitations, webhooks or settings changes).",
			example: true,
		}),
		mfaEnabled: z.boolean().openapi({
			description:
				"Whether the user has a second factor (a TOTP authenticator or a passkey): a password sign-in then asks for it",
			example: true,
		}),
		totpEnabled: z.boolean().openapi({
			description: "Whether the user has a TOTP authenticator app (with its recovery codes)",
			example: false,
		}),
		passkeys: z.number().int().openapi({
			description: "How many passkeys the user has (GET /v1/me/passkeys lists them)",
			example: 1,
		}),
		createdAt: Timestamp("When the user signed up", CREATED),
		passwordBreached: z.boolean().openapi({
			description: "A sign-in found the password in known data breaches: change it (POST /v1/me/password)",
			example: false,
		}),
	})
	.openapi("User", { description: "A person who signs in" });

export const RecommendationsSchema = z
	.array(
		z.object({
			id: z.enum(["change_breached_password", "verify_email", "enable_mfa"]).openapi({
				description:
					"`change_breached_password` (the password is in known breaches), `verify_email` (the address is not " +
					"verified yet) or `enable_mfa` (no second factor)",
				example: "enable_mfa",
			}),
			detail: z.string().openapi({
				description: "What to do, in a sentence for the user",
				example:
					"Turn on two-factor authentication (POST /v1/me/mfa/totp): a password alone is one phishing email away",
			}),
		}),
	)
	.openapi({ description: "What to do next for the account's safety; empty when nothing is left" });

export const SessionSchema = z
	.object({
		id: IssuedId("ses", "The session's id (not secret): it names the session in GET /v1/me/sessions"),
		token: z.string().openapi({
			description:
				"Shown only here. Send as Authorization: Bearer. It names its user and session " +
				"(`usr_….ses_….<32 characters>`). The example is made up.",
			example: EXAMPLE_SECRETS.sessionToken,
		}),
		expiresAt: Timestamp(
			"The latest the session can last: the strictest `sessionMaxAgeHours` among the user's accounts (24 hours " +
				"by default) after it started. It ends sooner after `sessionIdleMinutes` without a request (30 by default).",
			"2026-03-03T09:30:00.000Z",
		),
	})
	.openapi("NewSession", { description: "A session just started. Its token is never shown again." });

export const publicSession = (s: IssuedSession) => ({ id: s.id, token: s.token, expiresAt: s.expiresAt });

/** Throws a 400 naming every password rule broken, at `path`. */
export function assertPasswordAcceptable(
	env: Env,
	path: string,
	password: string,
	email: string,
	composition = false,
): void {
	const violations = checkPassword(password, passwordPolicyFrom(env.PASSWORD_MIN_LENGTH, composition), email);
	if (violations.length > 0) {
		throw validationError(
			violations.map((v) => ({ path, message: v.message })),
			`The password breaks ${violations.length === 1 ? "a rule" : `${violations.length} rules`}: ${violations.map((v) => v.rule).join(", ")}`,
		);
	}
}
