/**
 * Request parts for the OpenAPI-driven fuzzer: values that follow a route's
 * JSON Schema (to reach deep into handlers) and hostile values that do not
 * (wrong types, boundaries, deep nesting, prototype keys, SQL and HTML
 * metacharacters, lone surrogates, huge arrays), plus raw bodies a JSON
 * encoder would never produce (duplicate keys, invalid UTF-8, wrong types).
 */
import fc from "fast-check";

export type JsonSchema = {
	$ref?: string;
	type?: string | string[];
	enum?: unknown[];
	const?: unknown;
	properties?: Record<string, JsonSchema>;
	required?: string[];
	items?: JsonSchema;
	anyOf?: JsonSchema[];
	oneOf?: JsonSchema[];
	allOf?: JsonSchema[];
	minLength?: number;
	maxLength?: number;
	minimum?: number;
	maximum?: number;
	minItems?: number;
	maxItems?: number;
	format?: string;
	nullable?: boolean;
};

const HOSTILE_STRINGS = [
	"",
	" ",
	"' OR 1=1 --",
	'"; DROP TABLE users; --',
	"<script>alert(1)</script>",
	"<img src=x onerror=alert(1)>",
	"$" + "{7*7}{{7*7}}",
	"../../etc/passwd",
	"\u0000",
	"\uD800",
	"a\uDFFFb",
	"\u202E\u0000\uFEFF",
	"%00%0d%0aSet-Cookie: x=1",
	"kw_live_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	"x".repeat(70_000),
	"é".repeat(5000),
	"__proto__",
	"constructor",
	"https://169.254.169.254/",
	"1e309",
	"NaN",
];

const HOSTILE_NUMBERS = [0, -0, -1, 1.5, 2 ** 31, 2 ** 53 + 1, -(2 ** 53), 1e308, Number.MIN_VALUE, 999_999_999_999];

function deep(depth: number): unknown {
	let v: unknown = "bottom";
	for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { a: v };
	return v;
}

/** Anything at all, biased toward what breaks parsers and validators. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
	fc.constantFrom(...HOSTILE_STRINGS),
	fc.constantFrom(...HOSTILE_NUMBERS),
	fc.constantFrom(null, true, false, [], {}),
	fc.constant(deep(600)),
	fc.constant(Array.from({ length: 5000 }, (_, i) => i)),
	fc.constant(JSON.parse('{"__proto__": {"isAdmin": true}, "constructor": {"prototype": {"x": 1}}}')),
	fc.string({ unit: "binary", maxLength: 40 }),
	fc.jsonValue({ maxDepth: 3 }),
);

function resolve(schema: JsonSchema, components: Record<string, JsonSchema>): JsonSchema {
	if (schema.$ref) return components[schema.$ref.split("/").pop() ?? ""] ?? {};
	return schema;
}

/** A value that follows the schema (most of the time: boundaries are included on purpose). */
export function fromSchema(raw: JsonSchema, components: Record<string, JsonSchema>, depth = 0): fc.Arbitrary<unknown> {
	const schema = resolve(raw, components);
	if (depth > 6) return fc.constant(null);
	if (schema.enum) return fc.constantFrom(...schema.enum);
	if (schema.const !== undefined) return fc.constant(schema.const);
	const alternatives = schema.anyOf ?? schema.oneOf;
	if (alternatives?.length) return fc.oneof(...alternatives.map((s) => fromSchema(s, components, depth + 1)));
	if (schema.allOf?.length) return fromSchema(schema.allOf[0] ?? {}, components, depth + 1);
	const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== "null") : schema.type;
	switch (type) {
		case "string": {
			const min = schema.minLength ?? 0;
			const max = Math.min(schema.maxLength ?? 64, 256);
			if (schema.format === "email") return fc.emailAddress();
			return fc.oneof(
				fc.string({ minLength: min, maxLength: Math.max(min, max) }),
				fc.constant("a".repeat(min)),
				fc.constant("a".repeat(Math.max(min, max))),
				fc.constant("a".repeat(Math.max(min, max) + 1)),
			);
		}
		case "integer":
		case "number": {
			const min = schema.minimum ?? -1000;
			const max = schema.maximum ?? 1_000_000;
			return fc.oneof(
				type === "integer" ? fc.integer({ min, max }) : fc.double({ min, max, noNaN: true }),
				fc.constantFrom(min, max, min - 1, max + 1),
			);
		}
		case "boolean":
			return fc.boolean();
		case "array":
			return fc.array(fromSchema(schema.items ?? {}, components, depth + 1), {
				minLength: schema.minItems ?? 0,
				maxLength: Math.min(schema.maxItems ?? 5, 8),
			});
		case "object": {
			const props = schema.properties ?? {};
			const required = new Set(schema.required ?? []);
			const shape: Record<string, fc.Arbitrary<unknown>> = {};
			for (const [k, v] of Object.entries(props)) shape[k] = fromSchema(v, components, depth + 1);
			return fc.record(shape, { requiredKeys: [...required].filter((k) => k in shape) });
		}
		default:
			return fc.jsonValue({ maxDepth: 2 });
	}
}

/** A schema-shaped object with one field replaced by something hostile, or an extra unknown field. */
export function mutated(schema: JsonSchema, components: Record<string, JsonSchema>): fc.Arbitrary<unknown> {
	return fc
		.tuple(fromSchema(schema, components), hostileValue, fc.nat(), fc.boolean())
		.map(([value, evil, pick, extra]) => {
			if (value === null || typeof value !== "object" || Array.isArray(value)) return evil;
			const keys = Object.keys(value);
			const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
			if (extra || keys.length === 0) copy[["__proto__", "constructor", "isAdmin", "role"][pick % 4] ?? "x"] = evil;
			else copy[keys[pick % keys.length] ?? "x"] = evil;
			return copy;
		});
}

export interface RawBody {
	body: BodyInit | null;
	contentType: string | null;
}

/** Bodies no JSON encoder makes. */
export const rawBody: fc.Arbitrary<RawBody> = fc.constantFrom<RawBody>(
	{ body: '{"name":"a","name":"b","email":"x@example.com","email":"y@example.com"}', contentType: "application/json" },
	{
		body: new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
		contentType: "application/json",
	},
	{ body: "{", contentType: "application/json" },
	{ body: "null", contentType: "application/json" },
	{ body: "[]", contentType: "application/json" },
	{ body: '"just a string"', contentType: "application/json" },
	{ body: "name=a&email=b", contentType: "application/x-www-form-urlencoded" },
	{ body: '{"name":"a"}', contentType: "text/plain" },
	{ body: '{"name":"a"}', contentType: null },
	{ body: '{"name":"a"}', contentType: "application/json; charset=utf-16" },
	{
		body: "--x\r\nContent-Disposition: form-data; name=a\r\n\r\nb\r\n--x--",
		contentType: "multipart/form-data; boundary=x",
	},
	{ body: `{"a":${"[".repeat(3000)}${"]".repeat(3000)}}`, contentType: "application/json" },
	{ body: JSON.stringify({ pad: "x".repeat(70_000) }), contentType: "application/json" },
	{ body: "", contentType: "application/json" },
);
