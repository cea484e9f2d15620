/** Schemas and helpers shared by the identity routes (API.md §2 and §3). */
import { z } from "@hono/zod-openapi";
import type { Env } from "../platform/env";
import { validationError } from "../problems";
import { checkPassword, passwordPolicyFrom } from "../security/password-policy";
import type { IssuedSession } from "./sessions";

export const EmailField = z.email().max(254);
/** Length rules are the policy's (so the 400 names the rule); this only bounds the input. */
export const PasswordField = z.string().min(1).max(1024);
export const CodeField = z.string().min(1).max(32);
export const TokenField = z.string().min(1).max(512);

export const UserSchema = z
	.object({
		id: z.string(),
		email: z.string(),
		name: z.string(),
		emailVerified: z.boolean(),
		mfaEnabled: z.boolean(),
		createdAt: z.string().openapi({ format: "date-time" }),
		passwordBreached: z.boolean().openapi({
			description: "A sign-in found the password in known data breaches: change it (POST /v1/me/password)",
		}),
	})
	.openapi("User");

export const RecommendationsSchema = z
	.array(z.object({ id: z.enum(["change_breached_password", "verify_email", "enable_mfa"]), detail: z.string() }))
	.openapi({ description: "What to do next for the account's safety; empty when nothing is left" });

export const SessionSchema = z
	.object({
		id: z.string(),
		token: z.string().openapi({ description: "Shown only here. Send as Authorization: Bearer." }),
		expiresAt: z.string().openapi({ format: "date-time" }),
	})
	.openapi("NewSession");

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
