/**
 * The archive's hash chain. Each account's trail is a sequence of NDJSON
 * objects; the first line of object n is a header naming n and the SHA-256 of
 * the exact bytes of object n-1, so removing, editing or reordering any object
 * breaks a link that verification reports.
 *
 * `npm run audit:verify` runs this file in Node, so its relative imports name
 * their .ts files.
 */
import { sha256Hex } from "../security/digest.ts";

export { sha256Hex };

export const GENESIS = "genesis";

export interface ChainHeader {
	kind: "keyward.audit.chain";
	version: 1;
	stream: string;
	seq: number;
	prev: string;
	count: number;
}

export interface ChainHead {
	seq: number;
	hash: string;
}

export const archivePrefix = (stream: string): string => `audit/${stream}/`;

/** `audit/{stream}/{yyyy}/{mm}/{dd}/{seq, 12 digits}.ndjson`, dated by the archive write. */
export function archiveKey(stream: string, seq: number, writtenAt: Date): string {
	const d = writtenAt.toISOString();
	return `${archivePrefix(stream)}${d.slice(0, 4)}/${d.slice(5, 7)}/${d.slice(8, 10)}/${String(seq).padStart(12, "0")}.ndjson`;
}

export function seqFromKey(key: string): number | null {
	const match = /\/(\d{12})\.ndjson$/.exec(key);
	return match ? Number(match[1]) : null;
}

/** Builds object `head.seq + 1` from already-serialised event lines. */
export function buildArchiveObject(stream: string, head: ChainHead, eventLines: string[]): string {
	const header: ChainHeader = {
		kind: "keyward.audit.chain",
		version: 1,
		stream,
		seq: head.seq + 1,
		prev: head.seq === 0 ? GENESIS : head.hash,
		count: eventLines.length,
	};
	return `${[JSON.stringify(header), ...eventLines].join("\n")}\n`;
}

export function parseArchiveObject(text: string): { header: ChainHeader; lines: string[] } | null {
	const lines = text.split("\n").filter((l) => l.length > 0);
	try {
		const header = JSON.parse(lines[0] ?? "") as ChainHeader;
		if (header.kind !== "keyward.audit.chain" || typeof header.seq !== "number") return null;
		return { header, lines: lines.slice(1) };
	} catch {
		return null;
	}
}

export type ChainProblem = "gap" | "edited" | "reordered" | "malformed" | "truncated";

export interface ChainReport {
	ok: boolean;
	objects: number;
	events: number;
	head: ChainHead;
	/**
	 * With `expiredStart`: how many objects before the first one held had expired (the first held
	 * object's seq - 1), and the hash that object names as its predecessor, which nothing held can
	 * vouch for. Absent when the archive starts at seq 1.
	 */
	expired?: { objects: number; prev: string };
	problem?: { kind: ChainProblem; key: string; detail: string };
}

export interface ArchiveObject {
	key: string;
	bytes: Uint8Array;
}

/**
 * Walks a stream's objects in key order and reports the first broken link.
 * With `expectedHead` (from the stream's archive Durable Object), an edit to the
 * newest object, which no later object vouches for, is caught too.
 */
export async function verifyChain(
	stream: string,
	objects: ArchiveObject[],
	expectedHead?: ChainHead,
	options: { expiredStart?: boolean } = {},
): Promise<ChainReport> {
	const sorted = [...objects].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
	let head: ChainHead = { seq: 0, hash: GENESIS };
	let events = 0;
	let expired: ChainReport["expired"];
	// An account with an archive retention loses its oldest objects to the bucket's lifecycle rule
	// (src/audit/retention.ts); its lock rule keeps anyone from deleting younger ones. The walk
	// then starts at the oldest object held, and every link from there on is checked as before.
	const first = sorted[0] ? parseArchiveObject(new TextDecoder().decode(sorted[0].bytes)) : null;
	if (options.expiredStart && first && first.header.seq > 1 && first.header.stream === stream) {
		head = { seq: first.header.seq - 1, hash: first.header.prev };
		expired = { objects: first.header.seq - 1, prev: first.header.prev };
	}
	const fail = (kind: ChainProblem, key: string, detail: string): ChainReport => ({
		ok: false,
		objects: sorted.length,
		events,
		head,
		problem: { kind, key, detail },
	});

	for (const object of sorted) {
		const parsed = parseArchiveObject(new TextDecoder().decode(object.bytes));
		if (!parsed || parsed.header.stream !== stream) return fail("malformed", object.key, "no valid chain header");
		const { header, lines } = parsed;
		const keySeq = seqFromKey(object.key);
		if (keySeq !== header.seq) {
			return fail("reordered", object.key, `object named ${keySeq} holds seq ${header.seq}`);
		}
		if (header.seq !== head.seq + 1) {
			return fail("gap", object.key, `expected seq ${head.seq + 1}, found ${header.seq}`);
		}
		const expectedPrev = head.seq === 0 ? GENESIS : head.hash;
		if (header.prev !== expectedPrev) {
			const previous = sorted[sorted.indexOf(object) - 1]?.key ?? "(start)";
			return fail(
				"edited",
				previous,
				`seq ${header.seq} names prev ${header.prev}, but ${previous} hashes to ${expectedPrev}`,
			);
		}
		if (header.count !== lines.length) {
			return fail("truncated", object.key, `header counts ${header.count} events, object holds ${lines.length}`);
		}
		events += lines.length;
		head = { seq: header.seq, hash: await sha256Hex(object.bytes) };
	}

	if (expectedHead && expectedHead.seq > 0) {
		const last = sorted.at(-1)?.key ?? archivePrefix(stream);
		if (head.seq < expectedHead.seq) {
			return fail("gap", last, `archive ends at seq ${head.seq}, the chain head is ${expectedHead.seq}`);
		}
		if (head.seq > expectedHead.seq) {
			return fail("gap", last, `archive runs to seq ${head.seq}, past the chain head ${expectedHead.seq}`);
		}
		if (head.seq === expectedHead.seq && head.hash !== expectedHead.hash) {
			return fail("edited", last, "the newest object does not match the chain head");
		}
	}
	return { ok: true, objects: sorted.length, events, head, ...(expired ? { expired } : {}) };
}

export interface CopyReport {
	ok: boolean;
	/** Distinct objects in the copy, and the events in them. */
	objects: number;
	events: number;
	/** Objects received more than once, byte for byte (an at-least-once resend), counted once above. */
	duplicates: number;
	/** Where the copy starts: a stream added later starts after seq 1, at a `prev` of an object it never held. */
	first: { seq: number; prev: string } | null;
	head: ChainHead;
	problem?: { kind: ChainProblem; seq: number; detail: string };
}

/**
 * Verifies a log stream's copy of one chain: NDJSON of archive objects, each
 * its header line and then its events, as a stream delivers them (`http` and
 * `s3` byte for byte; Splunk's and Datadog's lines are the exact strings). A
 * resent object (same seq, same bytes) is counted once; a gap, an edit, a
 * reordering or a truncated object is reported with the seq it breaks at.
 */
export async function verifyCopy(text: string, stream?: string): Promise<CopyReport> {
	const lines = text.split("\n").filter((l) => l.length > 0);
	let head: ChainHead = { seq: 0, hash: GENESIS };
	let first: CopyReport["first"] = null;
	let objects = 0;
	let events = 0;
	let duplicates = 0;
	const fail = (kind: ChainProblem, seq: number, detail: string): CopyReport => ({
		ok: false,
		objects,
		events,
		duplicates,
		first,
		head,
		problem: { kind, seq, detail },
	});
	for (let i = 0; i < lines.length; ) {
		const header = chainHeaderOf(lines[i] ?? "");
		if (!header) return fail("malformed", head.seq + 1, `line ${i + 1} is not a chain header where one was due`);
		if (stream !== undefined && header.stream !== stream)
			return fail("malformed", header.seq, `object ${header.seq} belongs to stream ${header.stream}`);
		const body = lines.slice(i + 1, i + 1 + header.count);
		if (body.length < header.count || body.some((line) => chainHeaderOf(line)))
			return fail("truncated", header.seq, `header counts ${header.count} events, fewer follow it`);
		const hash = await sha256Hex(`${[lines[i], ...body].join("\n")}\n`);
		i += 1 + header.count;
		if (first && header.seq === head.seq) {
			if (hash !== head.hash)
				return fail("edited", header.seq, `object ${header.seq} arrived twice with different bytes`);
			duplicates++;
			continue;
		}
		if (first && header.seq < head.seq)
			return fail("reordered", header.seq, `object ${header.seq} follows object ${head.seq}`);
		if (first && header.seq !== head.seq + 1)
			return fail("gap", header.seq, `expected seq ${head.seq + 1}, found ${header.seq}`);
		if (first && header.prev !== head.hash)
			return fail(
				"edited",
				head.seq,
				`seq ${header.seq} names prev ${header.prev}, but object ${head.seq} hashes to ${head.hash}`,
			);
		if (!first) {
			if (header.seq === 1 && header.prev !== GENESIS)
				return fail("edited", 1, "the first object of a chain must name the genesis");
			first = { seq: header.seq, prev: header.prev };
		}
		objects++;
		events += header.count;
		head = { seq: header.seq, hash };
	}
	return { ok: true, objects, events, duplicates, first, head };
}

function chainHeaderOf(line: string): ChainHeader | null {
	if (!line.startsWith('{"kind":"keyward.audit.chain"')) return null;
	try {
		const header = JSON.parse(line) as ChainHeader;
		return Number.isInteger(header.seq) && Number.isInteger(header.count) && typeof header.prev === "string"
			? header
			: null;
	} catch {
		return null;
	}
}
