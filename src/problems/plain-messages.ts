/**
 * Every field message in a problem is a sentence a person can act on, not zod's wording
 * ("Too small: expected number to be >=5"). Installed once as zod's global error map: a message
 * a schema gives itself (`.regex(re, "…")`, `{ error: "…" }`) still wins, as zod's precedence says.
 */
import { z } from "@hono/zod-openapi";

type Issue = z.core.$ZodRawIssue;

const count = (n: number | bigint, one: string, many = `${one}s`) => `${n} ${Number(n) === 1 ? one : many}`;
const numberText = (n: number | bigint) => (typeof n === "number" ? n.toLocaleString("en-US") : String(n));

const FORMATS: Record<string, string> = {
	email: "Must be an email address, like ada@example.com",
	url: "Must be a URL, like https://example.com/hook",
	datetime: "Must be a date and time with a zone, like 2026-05-01T10:00:00Z",
	date: "Must be a date, like 2026-05-01",
	uuid: "Must be a UUID",
	ipv4: "Must be an IPv4 address",
	ipv6: "Must be an IPv6 address",
	cidrv4: "Must be an IPv4 range, like 203.0.113.0/24",
	cidrv6: "Must be an IPv6 range, like 2001:db8::/32",
};

const TYPES: Record<string, string> = {
	number: "a number",
	int: "a whole number",
	string: "text",
	boolean: "true or false",
	array: "a list",
	object: "an object",
};

/** A plain sentence for one zod issue, or undefined to keep zod's own. */
export function plainMessage(issue: Issue): string | undefined {
	// A field that is not there at all, whatever it should have been.
	if (issue.input === undefined && issue.code !== "custom" && issue.code !== "unrecognized_keys") return "Required";
	switch (issue.code) {
		case "invalid_type":
			return `Must be ${TYPES[issue.expected] ?? issue.expected}`;
		case "too_small": {
			const { origin, minimum, inclusive } = issue;
			if (origin === "string")
				return Number(minimum) <= 1 ? "Required" : `Must be at least ${count(minimum, "character")}`;
			if (origin === "array" || origin === "set") return `Needs at least ${count(minimum, "item")}`;
			if (origin === "number" || origin === "bigint" || origin === "int")
				return inclusive === false
					? `Must be more than ${numberText(minimum)}`
					: `Must be ${numberText(minimum)} or more`;
			return undefined;
		}
		case "too_big": {
			const { origin, maximum, inclusive } = issue;
			if (origin === "string") return `Must be at most ${count(maximum, "character")}`;
			if (origin === "array" || origin === "set") return `Takes at most ${count(maximum, "item")}`;
			if (origin === "number" || origin === "bigint" || origin === "int")
				return inclusive === false
					? `Must be less than ${numberText(maximum)}`
					: `Must be ${numberText(maximum)} or less`;
			return undefined;
		}
		case "invalid_value":
			return issue.values.length === 1
				? `Must be ${JSON.stringify(issue.values[0])}`
				: `Must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
		case "invalid_format":
			return FORMATS[issue.format] ?? "Is not in the expected format";
		case "not_multiple_of":
			return `Must be a multiple of ${numberText(issue.divisor)}`;
		case "invalid_union":
			return "Is not one of the accepted forms";
		default:
			return undefined;
	}
}

z.config({ customError: plainMessage });
