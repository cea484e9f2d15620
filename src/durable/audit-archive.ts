/**
 * One object per audit stream (an account or `system`): the archive's chain
 * head. Appends are serialised here, so concurrent consumers never fork the
 * chain, and archiving never queues behind an account's verifies.
 *
 * Upgrading from the single-class layout: chain heads used to live in the
 * account class's instances named `audit:<stream>`. The first append of a
 * stream takes that chain over once (`#takeOverLegacyChain`), so the chain
 * continues where it was, with no gap and no second object 1.
 */
import { DurableObject } from "cloudflare:workers";
import { archiveKey, buildArchiveObject, type ChainHead, sha256Hex } from "../audit/chain";
import type { AccountGuard } from "./account-guard";
import { ArchiveChain } from "./archive-store";

export interface AuditArchiveEnv {
	AUDIT_ARCHIVE: R2Bucket;
	ACCOUNT_GUARD: DurableObjectNamespace<AccountGuard>;
}

export interface ArchiveEntry {
	id: string;
	/** The event serialised as one NDJSON line. */
	line: string;
}

export interface ArchiveResult {
	archived: number;
	duplicates: number;
	key: string | null;
}

const takenOver = (stream: string) => `legacy-chain-taken-over:${stream}`;

export class AuditArchive extends DurableObject<AuditArchiveEnv> {
	/** The archive bucket; a field so fault-injection tests can wrap the real binding. */
	archive: Pick<R2Bucket, "put">;
	readonly #chain: ArchiveChain;
	#serial: Promise<unknown> = Promise.resolve();

	constructor(ctx: DurableObjectState, env: AuditArchiveEnv) {
		super(ctx, env);
		this.archive = env.AUDIT_ARCHIVE;
		this.#chain = new ArchiveChain(ctx.storage.sql);
	}

	chainHead(stream: string): ChainHead {
		return this.#chain.head(stream);
	}

	/**
	 * Appends the events not yet archived as the next object of the stream's
	 * chain. Appends are serialised here (the R2 write is an await during which
	 * other calls could otherwise interleave). The head advances only after the
	 * object is stored; a failed write leaves nothing to undo, and the retry
	 * rewrites the same key.
	 */
	async appendToArchive(stream: string, entries: ArchiveEntry[], now = Date.now()): Promise<ArchiveResult> {
		const run = this.#serial.then(async () => {
			await this.#takeOverLegacyChain(stream, now);
			return await this.#append(stream, entries, now);
		});
		this.#serial = run.catch(() => undefined);
		return await run;
	}

	/** Once per object: the chain the single-class layout kept for this stream, if any, continues here. */
	async #takeOverLegacyChain(stream: string, now: number): Promise<void> {
		const kv = this.ctx.storage.kv;
		if (kv.get<boolean>(takenOver(stream))) return;
		const legacy = await this.env.ACCOUNT_GUARD.get(this.env.ACCOUNT_GUARD.idFromName(`audit:${stream}`)).legacyChain(
			stream,
			now,
		);
		this.ctx.storage.transactionSync(() => {
			if (legacy) this.#chain.import(stream, legacy);
			kv.put(takenOver(stream), true);
		});
	}

	async #append(stream: string, entries: ArchiveEntry[], now: number): Promise<ArchiveResult> {
		const fresh = this.#chain.fresh(entries);
		if (fresh.length === 0) return { archived: 0, duplicates: entries.length, key: null };

		const head = this.#chain.head(stream);
		const body = buildArchiveObject(
			stream,
			head,
			fresh.map((entry) => entry.line),
		);
		const seq = head.seq + 1;
		const key = this.#chain.keyFor(stream, seq, () => archiveKey(stream, seq, new Date(now)));
		const bytes = new TextEncoder().encode(body);
		await this.archive.put(key, bytes, { httpMetadata: { contentType: "application/x-ndjson" } });
		const hash = await sha256Hex(bytes);
		this.ctx.storage.transactionSync(() =>
			this.#chain.advance(
				stream,
				{ seq, hash },
				fresh.map((entry) => entry.id),
				now,
			),
		);
		return { archived: fresh.length, duplicates: entries.length - fresh.length, key };
	}
}
