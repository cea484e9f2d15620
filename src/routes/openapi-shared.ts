/** Schemas and helpers shared by every route definition. */
import { z } from "@hono/zod-openapi";
import { type IdPrefix, idPattern } from "../platform/ids";
import { CREDENTIAL_PROBLEMS, type CredentialProblem } from "../problems";

/**
 * An id of one type, checked against the exact shape `newId` mints. Ids reach
 * paths (the console builds internal API paths from them) and queries, so
 * anything else (`..%2F`, another type's id) is a 400 naming the field.
 */
export const Id = (prefix: IdPrefix) =>
	z
		.string()
		.max(32)
		.regex(idPattern(prefix), { message: `Not a ${prefix}_ id` })
		.openapi({ pattern: idPattern(prefix).source, example: `${prefix}_abcdefgh23456723` });

/**
 * Characters that change how text is read rather than what it says: C0 and C1
 * controls (CR/LF split email headers and log lines), line and paragraph
 * separators, and format characters (bidirectional overrides and marks,
 * zero-width spaces, the BOM, tag characters: text that displays other than it
 * sorts and compares). The zero-width joiner stays, as emoji sequences need it.
 */
const CONTROL_CHARACTERS = /[\p{Cc}\p{Zl}\p{Zp}]|(?!\u200d)\p{Cf}/u;

/** Also refuses lone surrogates: stored, they come back as another string than was written. */
export const hasControlCharacters = (value: string): boolean => CONTROL_CHARACTERS.test(value) || !value.isWellFormed();

/** Every free-text field (names, reasons, descriptions): trimmed, 1..max, no control characters. */
export const FreeText = (max: number) =>
	z
		.string()
		.trim()
		.min(1)
		.max(max)
		.refine((v) => !hasControlCharacters(v), {
			message: "Control characters (line breaks, tabs, bidi overrides) are not allowed",
		});

export const ProblemSchema = z
	.object({
		type: z.string().openapi({ example: "https://keyward.dev/problems/validation" }),
		title: z.string(),
		status: z.number().int(),
		detail: z.string(),
		requestId: z.string(),
		code: z
			.enum(CREDENTIAL_PROBLEMS as [CredentialProblem, ...CredentialProblem[]])
			.optional()
			.openapi({
				description:
					"On a 401 about the credential, why it was refused: `missing_credentials` (none sent), " +
					"`malformed_authorization` (the header is not `Bearer <token>`), `invalid_token` (not a token " +
					"Keyward issued, or not valid for this use), `session_expired` (idle timeout or lifetime: sign in " +
					"again), `session_revoked` (signed out, ended from another session, or the account was locked " +
					"down), `key_revoked`, `key_expired` (create or rotate a key). Absent on other problems.",
				example: "session_expired",
			}),
		errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
	})
	.openapi("Problem");

const PROBLEM_DESCRIPTIONS: Record<number, string> = {
	400: "Invalid request: `errors` names every bad field",
	401: "No or bad credentials",
	403: "Authenticated but not allowed",
	404: "Not found, or not visible to the caller",
	409: "Conflict",
	413: "Body larger than 64 KiB",
	415: "Body is not application/json",
	423: "The account is locked down (POST …/lockdown); an owner lifts it with POST …/lockdown/lift",
	429: "Rate limited or locked out; see Retry-After",
	503: "A dependency is down or the deployment is misconfigured",
};

/** The problem responses a route documents, by status. */
export function problemResponses(...statuses: number[]) {
	return Object.fromEntries(
		statuses.map((status) => [
			status,
			{
				description: PROBLEM_DESCRIPTIONS[status] ?? "Problem",
				content: { "application/problem+json": { schema: ProblemSchema } },
			},
		]),
	);
}

export const jsonContent = <T extends z.ZodType>(schema: T, description: string) => ({
	description,
	content: { "application/json": { schema } },
});

/** A required, strictly validated JSON request body. */
export const jsonBody = <T extends z.ZodType>(schema: T) => ({
	required: true,
	content: { "application/json": { schema } },
});

type Operation = { parameters?: unknown[]; responses?: Record<string, unknown> };

/**
 * The same problem responses for a finished document: there the schema must be a reference to the
 * registered `Problem` component, since a zod schema placed in the JSON would serialise as its
 * internals (and generated clients would type those).
 */
function problemReferences(statuses: number[]) {
	return Object.fromEntries(
		statuses.map((status) => [
			status,
			{
				description: PROBLEM_DESCRIPTIONS[status] ?? "Problem",
				content: { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } },
			},
		]),
	);
}

/**
 * Adds to every operation the problems the shared middleware can answer
 * before its handler runs, so the document lists every status a client can
 * get (the fuzzer holds it to that): any request that carries a body can be
 * refused as too large (413), not JSON (415) or malformed (400); any request
 * with parameters can fail their validation (400); and any route can meet a
 * storage outage (503). A route added later gets them without asking.
 */
export function withSharedResponses<D extends { paths?: object }>(doc: D): D {
	for (const item of Object.values(doc.paths ?? {}) as Record<string, unknown>[]) {
		for (const [method, value] of Object.entries(item)) {
			if (!["get", "head", "post", "put", "patch", "delete"].includes(method)) continue;
			const op = value as Operation;
			const shared = [503];
			if (method !== "get" && method !== "head") shared.push(400, 413, 415);
			if (op.parameters?.length) shared.push(400);
			op.responses = { ...problemReferences(shared), ...op.responses };
		}
	}
	return doc;
}
