/** The list conventions of API.md §1: `?limit=` (1–100, default 50), `?cursor=`, and `{data, nextCursor}`. */
import { z } from "@hono/zod-openapi";
import { validationError } from "../problems";

/** `?limit=`: how many items a page holds. */
export const LimitQuery = z.coerce
	.number()
	.int()
	.min(1)
	.max(100)
	.default(50)
	.openapi({ description: "Items per page: 1 to 100 (default 50)", example: 20 });

/** `?cursor=`, with an example cursor of the list it pages. */
export const CursorQuery = (example: string) =>
	z.string().min(1).max(200).optional().openapi({
		description: "The `nextCursor` of the previous page (opaque; at most 200 characters). Omit it for the first page.",
		example,
	});

/** An offset cursor as `pageOf` writes it: the page that starts at the 51st item. */
export const OFFSET_CURSOR_EXAMPLE = "bzUw";
/** A keyset cursor as `encodeKeysetCursor` writes it: after the example key, made 2026-03-02T09:30:00Z. */
export const KEYSET_CURSOR_EXAMPLE = "eyJ0IjoxNzcyNDQzODAwMDAwLCJpZCI6ImtleV81dG0yeHE3a3d6M2RoNG5hIn0";

export const ListQuery = z.strictObject({
	limit: LimitQuery,
	cursor: CursorQuery(OFFSET_CURSOR_EXAMPLE),
});

/** For short lists held in full (members, invitations): the cursor is an opaque position. */
export function pageOf<T>(items: T[], query: z.infer<typeof ListQuery>): { data: T[]; nextCursor: string | null } {
	let offset = 0;
	if (query.cursor) {
		const decoded = Number(/^o(\d{1,6})$/.exec(safeAtob(query.cursor))?.[1] ?? Number.NaN);
		if (!Number.isInteger(decoded)) throw validationError([{ path: "cursor", message: "Invalid cursor" }]);
		offset = decoded;
	}
	const data = items.slice(offset, offset + query.limit);
	const next = offset + query.limit;
	return { data, nextCursor: next < items.length ? btoa(`o${next}`).replaceAll("=", "") : null };
}

function safeAtob(value: string): string {
	try {
		return atob(value);
	} catch {
		return "";
	}
}

/** Keyset cursors for lists ordered newest first by (time, id): stable while rows are added. */
export const encodeKeysetCursor = (time: Date, id: string): string =>
	btoa(JSON.stringify({ t: time.getTime(), id })).replaceAll("=", "");

export function decodeKeysetCursor(value: string): { time: Date; id: string } {
	try {
		const parsed = JSON.parse(atob(value)) as { t: unknown; id: unknown };
		if (
			typeof parsed.t === "number" &&
			Number.isInteger(parsed.t) &&
			typeof parsed.id === "string" &&
			parsed.id.length <= 64
		) {
			return { time: new Date(parsed.t), id: parsed.id };
		}
	} catch {}
	throw validationError([{ path: "cursor", message: "Invalid cursor" }], "The cursor is not one this API returned");
}
