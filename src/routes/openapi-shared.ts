/** Schemas and helpers shared by every route definition. */
import { z } from "@hono/zod-openapi";
import { type IdPrefix, idPattern } from "../platform/ids";
import { CREDENTIAL_PROBLEMS, type CredentialProblem } from "../problems";

/**
 * One example id of each type, in the exact shape `newId` mints (the prefix and 16 characters of
 * lowercase base32), so the reference's examples refer to one another: the key's account is the
 * example account, its creator the example user.
 */
export const EXAMPLE_IDS: Readonly<Record<IdPrefix, string>> = {
	acc: "acc_3kq7m2xw5vhz4tna",
	usr: "usr_7hd2kq5xm3wz6vpa",
	key: "key_5tm2xq7kwz3dh4na",
	ses: "ses_2wq6hz5mk7xd3tpa",
	inv: "inv_6kx3mz2qw7hd5tna",
	evt: "evt_4mz7kq2xh5wd3vna",
	whk: "whk_7xq2kd5mw3hz6tna",
	msg: "msg_5hz3kq7xw2md6tna",
	dlv: "dlv_3hz6kq2xw7md5tpa",
	pky: "pky_6tq3hx7mz2kw5dna",
	svc: "svc_2kx7mq5hw3zd6tna",
	lgs: "lgs_5kw2hx7qm3zd6tna",
	dom: "dom_4hq7kx2mz5wd3tna",
	grp: "grp_6mz3kq7hx2wd5tpa",
	sso: "sso_3wd7kq5mx2hz6tna",
};

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
		.openapi({ pattern: idPattern(prefix).source, example: EXAMPLE_IDS[prefix] });

/** An id the API returns, with its type's example (the API made it, so nothing checks it here). */
export const IssuedId = (prefix: IdPrefix, description: string) =>
	z.string().openapi({ description, example: EXAMPLE_IDS[prefix] });

/** A time the API returns: ISO 8601 in UTC with milliseconds, as `Date.toISOString()` writes it. */
export const Timestamp = (description: string, example: string) =>
	z.string().openapi({ format: "date-time", description, example });

/** The `nextCursor` of a page: the `cursor` of the next request, or null on the last page. */
export const NextCursor = (example: string) =>
	z.string().nullable().openapi({
		description: "Send it as `cursor` to get the next page; null on the last page",
		example,
	});

/**
 * Opaque secrets are shown with an example that has their shape but is plainly made up (and, for
 * API keys, fails the checksum), so nothing in the reference works as a credential.
 */
export const EXAMPLE_SECRETS: Readonly<Record<"apiKey" | "sessionToken" | "opaqueToken", string>> = {
	/** `kw_live_` + the example account's 16 characters + 43 + a checksum that does not match. */
	apiKey: `kw_live_${EXAMPLE_IDS.acc.slice(4)}ThisIsAnExampleKeyNotARealSecretDoNotUse00000Xy9Z`,
	/** The example user's and session's ids, and 32 base32 characters for the secret. */
	sessionToken: `${EXAMPLE_IDS.usr}.${EXAMPLE_IDS.ses}.exampleexampleexampleexampleexam`,
	/** The 52 lowercase base32 characters of an emailed or challenge token. */
	opaqueToken: "exampleexampleexampleexampleexampleexampleexampleexa",
};

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
		type: z.string().openapi({
			description:
				"What went wrong, as a URI under https://keyward.dev/problems/ (`validation`, `unauthorized`, `forbidden`, " +
				"`not-found`, `conflict`, `locked`, `email-unverified`, `reauthentication-required`, `quota-exceeded`, …). " +
				"Branch on this, not on `title` or `detail`.",
			example: "https://keyward.dev/problems/validation",
		}),
		title: z.string().openapi({
			description: "A short, fixed summary of the problem type",
			example: "Invalid request",
		}),
		status: z.number().int().openapi({ description: "The HTTP status code, repeated", example: 400 }),
		detail: z.string().openapi({
			description: "What happened to this request, in a sentence for a person",
			example: "1 field is invalid",
		}),
		requestId: z.string().openapi({
			description: "The request's id, also sent as the `X-Request-Id` header; quote it when asking for help",
			example: "req_6f1c2d9a8b7e4c3fa2d15e0b9c8a7f64",
		}),
		code: z
			.enum(CREDENTIAL_PROBLEMS as [CredentialProblem, ...CredentialProblem[]])
			.optional()
			.openapi({
				description:
					"On a 401 about the credential, why it was refused: `missing_credentials` (none sent), " +
					"`malformed_authorization` (the header is not `Bearer <token>`), `invalid_token` (not a token " +
					"Keyward issued, or not valid for this use), `session_expired` (idle timeout or lifetime: sign in " +
					"again), `session_revoked` (signed out, ended from another session, or the account was locked " +
					"down), `key_revoked`, `key_expired` (create or rotate a key), `key_disabled` (enable it again). Absent on other problems.",
				example: "session_expired",
			}),
		errors: z
			.array(
				z.object({
					path: z.string().openapi({
						description: "The bad field, as a dotted path into the body, query or path (array items by index)",
						example: "scopes.0",
					}),
					message: z.string().openapi({
						description: "What is wrong with that field",
						example: "A scope is resource:action, resource:* or *",
					}),
				}),
			)
			.optional()
			.openapi({ description: "On a 400 (and a 403 that refuses some fields): one entry per bad field" }),
	})
	.openapi("Problem", { description: "An RFC 9457 problem: the body of every error (application/problem+json)" });

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
function problemReferences(statuses: number[], scim: boolean) {
	return Object.fromEntries(
		statuses.map((status) => [
			status,
			{
				description: PROBLEM_DESCRIPTIONS[status] ?? "Problem",
				content: scim
					? { "application/scim+json": { schema: { $ref: "#/components/schemas/ScimError" } } }
					: { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } },
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
	for (const [path, item] of Object.entries(doc.paths ?? {}) as [string, Record<string, unknown>][]) {
		// SCIM routes answer in SCIM's error schema (src/sso/scim-errors.ts).
		const scim = path.startsWith("/scim/");
		for (const [method, value] of Object.entries(item)) {
			if (!["get", "head", "post", "put", "patch", "delete"].includes(method)) continue;
			const op = value as Operation;
			const shared = [503];
			if (method !== "get" && method !== "head") shared.push(400, 413, 415);
			if (op.parameters?.length) shared.push(400);
			op.responses = { ...problemReferences(shared, scim), ...op.responses };
		}
	}
	return doc;
}
