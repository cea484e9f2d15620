/**
 * What a key's `meta` may hold: a JSON object of at most 4 KB serialised,
 * and no credential. The audit scrubber would redact a secret wherever it
 * appears; here it is refused outright, with the field named, so nothing the
 * customer stored is silently changed and verify never hands a secret back.
 */
import { isSecretFieldName, looksLikeCredential } from "../audit/scrub";
import type { JsonValue } from "../platform/json";
import type { FieldError } from "../problems";

export const META_MAX_BYTES = 4096;
const MAX_DEPTH = 8;

/** Why `meta` cannot be stored, each with its path (`meta.billing.token`); empty when it can. */
export function metaRefusals(meta: Record<string, JsonValue>, base = "meta"): FieldError[] {
	const out: FieldError[] = [];
	const bytes = new TextEncoder().encode(JSON.stringify(meta)).length;
	if (bytes > META_MAX_BYTES)
		out.push({ path: base, message: `At most ${META_MAX_BYTES} bytes as JSON (this is ${bytes})` });
	const walk = (value: JsonValue, path: string, name: string, depth: number) => {
		if (depth > MAX_DEPTH) {
			out.push({ path, message: `At most ${MAX_DEPTH} levels deep` });
			return;
		}
		if (name !== "" && isSecretFieldName(name)) {
			out.push({ path, message: "A field named like a secret cannot be stored in meta; keep secrets out of it" });
			return;
		}
		if (typeof value === "string" && looksLikeCredential(value)) {
			out.push({ path, message: "This looks like a credential; meta is returned by verify, so it cannot hold one" });
			return;
		}
		if (Array.isArray(value)) {
			for (const [i, v] of value.entries()) walk(v, `${path}.${i}`, "", depth + 1);
		} else if (value !== null && typeof value === "object")
			for (const [k, v] of Object.entries(value)) walk(v, `${path}.${k}`, k, depth + 1);
	};
	for (const [k, v] of Object.entries(meta)) walk(v, `${base}.${k}`, k, 1);
	return out;
}
