/**
 * The app's /v1/openapi.json as the reference tests read it: its operations,
 * its schemas resolved through `$ref`, and requests assembled from the
 * examples it documents (the sample a reader of /docs would copy).
 */
import type { TestApp } from "./app";

export type Schema = {
	$ref?: string;
	type?: string | string[];
	format?: string;
	description?: string;
	example?: unknown;
	examples?: unknown[];
	properties?: Record<string, Schema>;
	items?: Schema;
	anyOf?: Schema[];
	oneOf?: Schema[];
	allOf?: Schema[];
	additionalProperties?: Schema | boolean;
};

export type Parameter = { name: string; in: string; description?: string; example?: unknown; schema?: Schema };

export type Operation = {
	description?: string;
	security?: Record<string, string[]>[];
	parameters?: Parameter[];
	requestBody?: { content: Record<string, { schema: Schema }> };
	responses: Record<string, { content?: Record<string, { schema: Schema }> }>;
};

export type Document = {
	paths: Record<string, Record<string, Operation>>;
	components: { schemas: Record<string, Schema>; securitySchemes?: Record<string, Record<string, unknown>> };
};

export const loadDocument = async (t: TestApp): Promise<Document> =>
	(await t.request("/v1/openapi.json")).json<Document>();

export const operationsOf = (doc: Document) =>
	Object.entries(doc.paths).flatMap(([path, item]) =>
		Object.entries(item).map(([method, op]) => ({ method: method.toUpperCase(), path, op })),
	);

/** The schema a `$ref` names, or the schema itself. */
export const resolved = (doc: Document, schema: Schema): Schema =>
	schema.$ref ? (doc.components.schemas[schema.$ref.replace("#/components/schemas/", "")] ?? {}) : schema;

const exampleOwn = (schema: Schema): { value: unknown } | null =>
	"example" in schema ? { value: schema.example } : schema.examples?.length ? { value: schema.examples[0] } : null;

/**
 * The value a schema's examples make: its own example when it has one, else an object of every
 * property's example (optional ones too, so each is exercised), an array of one item's example,
 * or the first non-null member of a union. Undefined where no example exists.
 */
export function exampleOf(doc: Document, schema: Schema): unknown {
	const own = exampleOwn(schema);
	if (own) return own.value;
	const s = resolved(doc, schema);
	if (s !== schema) return exampleOf(doc, s);
	if (s.allOf) {
		const parts = s.allOf.map((m) => exampleOf(doc, m));
		return parts.every((p) => typeof p === "object" && p !== null && !Array.isArray(p))
			? Object.assign({}, ...parts)
			: parts.find((p) => p !== undefined);
	}
	const union = s.anyOf ?? s.oneOf;
	if (union) {
		const member = union.find((m) => resolved(doc, m).type !== "null");
		return member ? exampleOf(doc, member) : null;
	}
	if (s.properties) return Object.fromEntries(Object.entries(s.properties).map(([k, p]) => [k, exampleOf(doc, p)]));
	if (s.items) {
		const item = exampleOf(doc, s.items);
		return item === undefined ? undefined : [item];
	}
	return undefined;
}

export const parameterExample = (p: Parameter): unknown =>
	"example" in p ? p.example : p.schema ? exampleOwn(p.schema)?.value : undefined;

/** The operation's path with each path parameter replaced by its example. */
export const examplePath = (path: string, op: Operation): string =>
	(op.parameters ?? [])
		.filter((p) => p.in === "path")
		.reduce((at, p) => at.replace(`{${p.name}}`, encodeURIComponent(String(parameterExample(p)))), path);

/** The request body a reader of the reference would send: the JSON body assembled from its examples. */
export const exampleBody = (doc: Document, op: Operation): unknown => {
	const content = op.requestBody?.content;
	// SCIM routes take `application/scim+json`, the same JSON under SCIM's media type.
	const schema = (content?.["application/json"] ?? content?.["application/scim+json"])?.schema;
	return schema ? exampleOf(doc, schema) : undefined;
};
