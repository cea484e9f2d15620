// Access to the audit archive bucket from Node, through wrangler's platform
// proxy: the same local state `wrangler dev` persists, or the remote bucket.
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getPlatformProxy } from "wrangler";
import { archivePrefix } from "../src/audit/chain.ts";

export interface ArchiveOptions {
	environment?: string;
	remote?: boolean;
	persistTo?: string;
}

type Bucket = {
	list(o: {
		prefix: string;
		cursor?: string;
	}): Promise<{ objects: { key: string }[]; truncated: boolean; cursor?: string }>;
	get(key: string): Promise<{ arrayBuffer(): Promise<ArrayBuffer> } | null>;
};

export async function openArchive(options: ArchiveOptions) {
	let configPath = "wrangler.toml";
	if (options.remote) {
		// Remote bindings are opted into per binding: mark the archive bucket(s) and the database (the
		// accounts' retention settings) remote in a copy of the config.
		const dir = mkdtempSync(join(tmpdir(), "keyward-"));
		configPath = join(dir, "wrangler.toml");
		copyFileSync("wrangler.toml", configPath);
		const text = readFileSync(configPath, "utf8").replace(
			/^((?:bucket_name|database_id) = .*)$/gm,
			"$1\nremote = true",
		);
		writeFileSync(configPath, text.replace(/^main = "src\//m, `main = "${process.cwd()}/src/`));
	}
	const proxy = await getPlatformProxy<{ AUDIT_ARCHIVE: Bucket; DB: unknown }>({
		configPath,
		environment: options.environment,
		remoteBindings: options.remote ?? false,
		// `wrangler dev --persist-to DIR` keeps its state under DIR/v3.
		persist: options.persistTo ? { path: `${options.persistTo}/v3` } : true,
	});
	return { bucket: proxy.env.AUDIT_ARCHIVE, env: proxy.env, dispose: () => proxy.dispose() };
}

export async function readStream(bucket: Bucket, stream: string) {
	const objects: { key: string; bytes: Uint8Array }[] = [];
	let cursor: string | undefined;
	do {
		const page = await bucket.list({ prefix: archivePrefix(stream), cursor });
		for (const o of page.objects) {
			const body = await bucket.get(o.key);
			if (body) objects.push({ key: o.key, bytes: new Uint8Array(await body.arrayBuffer()) });
		}
		cursor = page.truncated ? page.cursor : undefined;
	} while (cursor);
	return objects;
}
