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

/** Names that would be dropped or change meaning when the object is read back in JavaScript. */
const RESERVED_NAMES = new Set(["__proto__", "constructor", "prototype"]);

/** Why a field name cannot be stored: named like a secret, a credential itself, or reserved. */
function nameRefusal(name: string): string | null {
	if (RESERVED_NAMES.has(name)) return `${name} cannot be a field name`;
	if (!name.isWellFormed()) return "Not well-formed Unicode (a lone surrogate)";
	if (isSecretFieldName(name)) return "A field named like a secret cannot be stored in meta; keep secrets out of it";
	if (looksLikeCredential(name)) return "This field name looks like a credential; meta is returned by verify";
	return null;
}

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
		if (name !== "") {
			const why = nameRefusal(name);
			if (why) {
				out.push({ path, message: why });
				return;
			}
		}
		if (typeof value === "string") {
			if (!value.isWellFormed()) out.push({ path, message: "Not well-formed Unicode (a lone surrogate)" });
			else if (looksLikeCredential(value))
				out.push({ path, message: "This looks like a credential; meta is returned by verify, so it cannot hold one" });
		} else if (typeof value === "number" && !Number.isFinite(value)) {
			out.push({ path, message: "Numbers must be finite (JSON has no Infinity)" });
		} else if (Array.isArray(value)) {
			for (const [i, v] of value.entries()) walk(v, `${path}.${i}`, "", depth + 1);
		} else if (value !== null && typeof value === "object") {
			for (const [k, v] of Object.entries(value)) walk(v, `${path}.${k}`, k, depth + 1);
		}
	};
	for (const [k, v] of Object.entries(meta)) walk(v, `${base}.${k}`, k, 1);
	return out;
}
