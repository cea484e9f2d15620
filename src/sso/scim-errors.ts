/**
 * SCIM speaks its own error schema (RFC 7644 §3.12), so on `/scim/*` every
 * problem the app renders, whoever raised it (the body limit, the JSON check,
 * the key gate, validation, a route, an outage), is rewritten once here, on
 * the way out: one place, so no SCIM answer can slip out as RFC 9457. JSON
 * answers go out as `application/scim+json`.
 */
import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "../platform/app-env";
import { SCIM_CONTENT_TYPE, SCIM_ERROR } from "./scim-schemas";

/** Set on an ApiError's headers to name the SCIM error type; removed before the answer leaves. */
export const SCIM_TYPE_HEADER = "X-Keyward-Scim-Type";

const TYPE_BY_STATUS: Record<number, string> = { 409: "uniqueness", 413: "tooLarge" };

interface Problem {
	status?: number;
	detail?: string;
	errors?: { path: string; message: string }[];
}

function scimType(status: number, problem: Problem, named: string | null): string | undefined {
	if (named) return named;
	if (status === 400)
		return problem.errors?.some((e) => e.message === "Malformed JSON") ? "invalidSyntax" : "invalidValue";
	return TYPE_BY_STATUS[status];
}

export const scimErrors = (): MiddlewareHandler<AppEnv> => async (c, next) => {
	await next();
	const type = c.res.headers.get("Content-Type") ?? "";
	if (type.startsWith("application/json")) {
		const headers = new Headers(c.res.headers);
		headers.set("Content-Type", `${SCIM_CONTENT_TYPE}; charset=utf-8`);
		replace(c, new Response(c.res.body, { status: c.res.status, headers }));
		return;
	}
	if (!type.startsWith("application/problem+json")) return;
	const problem = (await c.res.clone().json()) as Problem;
	const status = c.res.status;
	const headers = new Headers(c.res.headers);
	const named = headers.get(SCIM_TYPE_HEADER);
	headers.delete(SCIM_TYPE_HEADER);
	headers.set("Content-Type", `${SCIM_CONTENT_TYPE}; charset=utf-8`);
	const fields = (problem.errors ?? []).map((e) => `${e.path || "body"}: ${e.message}`);
	const detail = [problem.detail ?? "", ...fields].filter(Boolean).join("; ");
	const kind = scimType(status, problem, named);
	replace(
		c,
		new Response(
			JSON.stringify({ schemas: [SCIM_ERROR], status: String(status), ...(kind ? { scimType: kind } : {}), detail }),
			{ status, headers },
		),
	);
};

/** Hono copies the old response's headers onto a new one; cleared first, the new one's headers are exactly its own. */
function replace(c: Context<AppEnv>, res: Response): void {
	c.res = undefined;
	c.res = res;
}
