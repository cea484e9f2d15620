import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { archiveKey, buildArchiveObject, sha256Hex, verifyChain } from "../../src/audit/chain";
import {
	accountGuard,
	auditChain,
	emailThrottle,
	ipThrottle,
	quotaCounter,
	regionalGuard,
	userSessions,
} from "../../src/durable/address";
import { listArchive, syntheticEvent, uniqueAccount } from "../support/audit";

const tablesOf = (stub: DurableObjectStub) =>
	runInDurableObject(stub, (_instance, state) =>
		state.storage.sql
			.exec<{ name: string }>(
				"SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\'",
			)
			.toArray()
			.map((t) => t.name)
			.sort(),
	);

describe("Durable Objects by role", () => {
	it("each class creates only its own tables", async () => {
		const account = uniqueAccount();
		await accountGuard(env, account).memoryStats();
		const user = userSessions(env, "usr_roles");
		await user.listSessions(Date.now());
		const email = emailThrottle(env, "roles@example.com");
		await email.rememberDevice("dev_roles", Date.now());
		const archive = auditChain(env, account);
		await archive.chainHead(account);
		const guard = regionalGuard(env, account, "weur");
		await guard.stats();

		expect(await tablesOf(accountGuard(env, account))).toEqual([
			"audit_pending",
			"failed_login_windows",
			"key_credits",
			"key_last_used",
			"key_set",
			"key_usage",
			"key_windows",
			"keys",
			"placement",
			"shard_identity",
			"shard_moves_in",
			"shard_moves_out",
			"shard_routes",
			"shard_sweep",
			"window_share_epochs",
			"window_shares",
		]);
		expect(await tablesOf(user)).toEqual(["ended_sessions", "failure_streak", "handoffs", "seen_sign_ins", "sessions"]);
		expect(await tablesOf(email)).toEqual(["failure_streak", "failure_window", "known_devices"]);
		expect(await tablesOf(archive)).toEqual(["archived_events", "chain_head", "pending_object"]);
		// A regional guard keeps nothing that matters: no table at all.
		expect(await tablesOf(guard)).toEqual([]);
	});

	it("a stub is typed to its role: another role's method does not compile, and is not there at run time", async () => {
		const throttle = ipThrottle(env, "203.0.113.50");
		const mistakes = [
			// @ts-expect-error verify belongs to the account's guard, not to a login throttle
			() => throttle.verifyKey("hash", [], null, Date.now()),
			// @ts-expect-error sessions belong to the user's object
			() => quotaCounter(env, "sign-up-per-address", "x").createSession({}),
			// @ts-expect-error the archive chain is not the account's
			() => accountGuard(env, uniqueAccount()).appendToArchive("s", []),
			// @ts-expect-error throttling is not the archive's
			() => auditChain(env, "system").beginWindowAttempt(Date.now(), { windowMs: 1, max: 1 }),
		];
		for (const call of mistakes) {
			const outcome = await Promise.resolve()
				.then(() => call() as Promise<unknown>)
				.then(
					() => "answered",
					(err: Error) => err.message,
				);
			expect(outcome).toMatch(/does not implement/);
		}
	});
});

/**
 * The single-class layout kept chain heads in the account class's instances named
 * `audit:<stream>`, with these exact statements (src/durable/account.ts before the split).
 * The state is made here the way that code made it: objects in R2, head and pending key in
 * the old instance.
 */
async function legacyArchive(stream: string, objects: number, options: { pendingKeyFor?: number } = {}) {
	const legacy = env.ACCOUNT_GUARD.get(env.ACCOUNT_GUARD.idFromName(`audit:${stream}`));
	let head = { seq: 0, hash: "genesis" };
	const ids: string[] = [];
	for (let i = 0; i < objects; i++) {
		const events = [syntheticEvent(stream), syntheticEvent(stream)];
		ids.push(...events.map((e) => e.id));
		const body = buildArchiveObject(
			stream,
			head,
			events.map((e) => JSON.stringify(e)),
		);
		const bytes = new TextEncoder().encode(body);
		await env.AUDIT_ARCHIVE.put(archiveKey(stream, head.seq + 1, new Date(Date.now() - 86_400_000)), bytes);
		head = { seq: head.seq + 1, hash: await sha256Hex(bytes) };
	}
	const pendingKey = options.pendingKeyFor ? archiveKey(stream, options.pendingKeyFor, new Date()) : null;
	await runInDurableObject(legacy, (_o, state) => {
		const sql = state.storage.sql;
		sql.exec(
			"CREATE TABLE IF NOT EXISTS chain_head (stream TEXT PRIMARY KEY, seq INTEGER NOT NULL, hash TEXT NOT NULL)",
		);
		sql.exec("CREATE TABLE IF NOT EXISTS archived_events (id TEXT PRIMARY KEY, archived_at INTEGER NOT NULL)");
		sql.exec(
			"CREATE TABLE IF NOT EXISTS pending_object (stream TEXT PRIMARY KEY, seq INTEGER NOT NULL, key TEXT NOT NULL)",
		);
		sql.exec("INSERT INTO chain_head (stream, seq, hash) VALUES (?, ?, ?)", stream, head.seq, head.hash);
		for (const id of ids) sql.exec("INSERT INTO archived_events (id, archived_at) VALUES (?, ?)", id, Date.now());
		if (pendingKey)
			sql.exec("INSERT INTO pending_object (stream, seq, key) VALUES (?, ?, ?)", stream, head.seq + 1, pendingKey);
	});
	return { legacy, head, ids, pendingKey };
}

const entries = (stream: string, n: number) =>
	Array.from({ length: n }, () => syntheticEvent(stream)).map((e) => ({ id: e.id, line: JSON.stringify(e) }));

describe("upgrading from the single-class layout: chain heads carry over", () => {
	it("the first append continues the old chain: object 4 after 3, and the whole archive verifies", async () => {
		const stream = uniqueAccount();
		const { head } = await legacyArchive(stream, 3);
		const archive = auditChain(env, stream);
		const result = await archive.appendToArchive(stream, entries(stream, 2));
		expect(result.key).toMatch(/000000000004\.ndjson$/);
		const newHead = await archive.chainHead(stream);
		expect(newHead.seq).toBe(4);
		const objects = await listArchive(stream);
		const report = await verifyChain(stream, objects, newHead);
		expect(report).toMatchObject({ ok: true, objects: 4, events: 8 });
		expect(head.seq).toBe(3);
	});

	it("events the old layout archived are still recognised as redeliveries", async () => {
		const stream = uniqueAccount();
		const { ids } = await legacyArchive(stream, 1);
		const redelivered = ids.map((id) => ({ id, line: JSON.stringify(syntheticEvent(stream, { id })) }));
		const result = await auditChain(env, stream).appendToArchive(stream, redelivered);
		expect(result).toEqual({ archived: 0, duplicates: 2, key: null });
	});

	it("a key the old layout chose for its next object, before a crash, is the key the object gets", async () => {
		const stream = uniqueAccount();
		const { pendingKey } = await legacyArchive(stream, 2, { pendingKeyFor: 3 });
		const result = await auditChain(env, stream).appendToArchive(stream, entries(stream, 1));
		expect(result.key).toBe(pendingKey);
		expect(await verifyChain(stream, await listArchive(stream))).toMatchObject({ ok: true, objects: 3 });
	});

	it("the chain is taken over once: later changes to the old instance change nothing", async () => {
		const stream = uniqueAccount();
		const { legacy } = await legacyArchive(stream, 1);
		const archive = auditChain(env, stream);
		await archive.appendToArchive(stream, entries(stream, 1));
		await runInDurableObject(legacy, (_o, state) => {
			state.storage.sql.exec("UPDATE chain_head SET seq = 99, hash = 'forged' WHERE stream = ?", stream);
		});
		const result = await archive.appendToArchive(stream, entries(stream, 1));
		expect(result.key).toMatch(/000000000003\.ndjson$/);
		expect(await verifyChain(stream, await listArchive(stream), await archive.chainHead(stream))).toMatchObject({
			ok: true,
			objects: 3,
		});
	});

	it("a stream the old layout never archived starts at object 1", async () => {
		const stream = uniqueAccount();
		const result = await auditChain(env, stream).appendToArchive(stream, entries(stream, 1));
		expect(result.key).toMatch(/000000000001\.ndjson$/);
	});
});
