import type { MiddlewareHandler } from "hono";
import { originWithinRpId } from "../../identity/passkeys";
import { type Env, isDevelopment } from "../../platform/env";
import { ApiError } from "../../problems";
import { parseOriginList } from "../../security/origin";

const REQUIRED_SECRETS = ["KEY_PEPPER", "TOTP_ENCRYPTION_KEY", "PII_WRAPPING_KEY"] as const;

function decodedLength(base64: string): number {
	try {
		return atob(base64).length;
	} catch {
		return -1;
	}
}

function isHttpsUrl(value: string | undefined): boolean {
	try {
		return value !== undefined && new URL(value).protocol === "https:";
	} catch {
		return false;
	}
}

/** Returns what is wrong with the deployment's configuration, or an empty list. */
export function configurationProblems(env: Env): string[] {
	const problems: string[] = [];
	const deployed = !isDevelopment(env);
	if (deployed && parseOriginList(env.CORS_ORIGINS).includes("*")) {
		problems.push("CORS_ORIGINS contains '*': a deployed Keyward refuses to run open to every origin");
	}
	for (const name of REQUIRED_SECRETS) {
		const value = env[name];
		if (!value) problems.push(`secret ${name} is not set (wrangler secret put ${name})`);
		else if (decodedLength(value) !== 32) problems.push(`secret ${name} must be 32 bytes, base64-encoded`);
	}
	if (deployed && env.MAIL_TRANSPORT !== "http") {
		problems.push("MAIL_TRANSPORT must be 'http' outside development (the outbox is for development only)");
	}
	// Emailed links (invitations, address confirmations) start here. Without it they would take
	// their host from the request, which a proxy or a wildcard route could let a caller choose.
	if (deployed && !isHttpsUrl(env.CONSOLE_URL)) {
		problems.push(
			"CONSOLE_URL must be set to the console's https:// address outside development (emailed links start there)",
		);
	}
	// Passkeys are bound to the rpId; a ceremony from any other origin is refused.
	if (deployed) problems.push(...webauthnProblems(env));
	if (env.MAIL_TRANSPORT === "http" && (!env.MAIL_API_URL || !env.MAIL_API_TOKEN)) {
		problems.push("MAIL_TRANSPORT=http needs MAIL_API_URL and the MAIL_API_TOKEN secret");
	}
	return problems;
}

function webauthnProblems(env: Env): string[] {
	const rpId = env.WEBAUTHN_RP_ID?.trim();
	if (!rpId) return ["WEBAUTHN_RP_ID must be set outside development (the domain passkeys are bound to)"];
	const origins = (env.WEBAUTHN_ORIGINS ?? "")
		.split(",")
		.map((o) => o.trim())
		.filter((o) => o !== "");
	if (origins.length === 0) return ["WEBAUTHN_ORIGINS must list the console's https:// origins outside development"];
	const bad = origins.filter((o) => !isHttpsUrl(o) || !originWithinRpId(o, rpId));
	return bad.length > 0
		? [`WEBAUTHN_ORIGINS must be https:// origins on WEBAUTHN_RP_ID (${rpId}); not: ${bad.join(", ")}`]
		: [];
}

export interface ConfigGuardOptions {
	log?: (line: string) => void;
}

/**
 * Refuses to serve (503) while the configuration is unsafe, rather than run
 * open; the reason goes to the log, never to the client.
 */
export const configGuard = (options: ConfigGuardOptions = {}): MiddlewareHandler<{ Bindings: Env }> => {
	const log = options.log ?? ((line: string) => console.error(line));
	return async (c, next) => {
		const problems = configurationProblems(c.env);
		if (problems.length > 0) {
			log(JSON.stringify({ level: "error", msg: "refusing to serve: unsafe configuration", problems }));
			throw new ApiError("service-unavailable", { detail: "The service is misconfigured" });
		}
		await next();
	};
};
