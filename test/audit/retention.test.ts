/**
 * Retention by policy (issue #26): each account's `auditIndexDays` (90 to
 * 3,650, default 365) decides how long its indexed events stay searchable;
 * the cron deletes older rows once archived. The setting is the owner's alone.
 */
import { env } from "cloudflare:test";
import { eq, inArray } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { verifyChain } from "../../src/audit/chain";
import { indexEvents } from "../../src/audit/consumer";
import { type AuditEvent, SYSTEM_STREAM } from "../../src/audit/event";
import { pruneAuditIndex } from "../../src/audit/maintenance";
import { FLOOR_LOCK_ID, RULE_LIMIT, retentionRules, TooManyRetentions } from "../../src/audit/retention";
import { createDatabase } from "../../src/db";
import { accounts, auditEvents } from "../../src/db/schema";
import { auditChain } from "../../src/durable/address";
import { ManualClock } from "../../src/platform/clock";
import { newId } from "../../src/platform/ids";
import { testApp } from "../support/app";
import { listArchive, syntheticEvent, uniqueAccount } from "../support/audit";
import { expectProblem, jsonRequest } from "../support/request";
import { seedAccount } from "../support/seed";

const db = createDatabase(env.DB);
const DAY = 24 * 3600 * 1000;

const event = (accountId: string, time: Date): AuditEvent => ({
	id: newId("evt"),
	time: time.toISOString(),
	accountId,
	action: "key.created",
	outcome: "success",
	actor: { type: "system", id: null, ip: null, userAgent: null },
	target: null,
	requestId: null,
	metadata: {},
});

describe("audit index retention by policy", () => {
	it("keeps each account's events for its auditIndexDays, the default 365, and never less than 90; unarchived rows stay", async () => {
		const clock = new ManualClock(new Date("2026-12-01T00:00:00Z"));
		const now = clock.now();
		const ago = (days: number) => new Date(now.getTime() - days * DAY);
		const short = await seedAccount(clock, { auditIndexDays: 90 });
		const plain = await seedAccount(clock);
		const long = await seedAccount(clock, { auditIndexDays: 3650 });
		// A value stored before the bounds (or by hand) is clamped, never below the minimum.
		const tooShort = await seedAccount(clock, { auditIndexDays: 5 });
		const ages = [30, 100, 400, 4000];
		const rows = new Map<string, Map<number, string>>();
		const events: AuditEvent[] = [];
		for (const [name, accountId] of [
			["short", short.accountId],
			["plain", plain.accountId],
			["long", long.accountId],
			["tooShort", tooShort.accountId],
			["system", SYSTEM_STREAM],
		] as const) {
			const byAge = new Map<number, string>();
			for (const age of ages) {
				const e = event(accountId, ago(age));
				events.push(e);
				byAge.set(age, e.id);
			}
			rows.set(name, byAge);
		}
		const unarchived = event(short.accountId, ago(400));
		await indexEvents(db, [...events, unarchived]);
		await db
			.update(auditEvents)
			.set({ archivedAt: now })
			.where(
				inArray(
					auditEvents.id,
					events.map((e) => e.id),
				),
			);

		await pruneAuditIndex(db, now);
		const left = new Set(
			(
				await db
					.select({ id: auditEvents.id })
					.from(auditEvents)
					.where(
						inArray(
							auditEvents.id,
							[...events, unarchived].map((e) => e.id),
						),
					)
			).map((r) => r.id),
		);
		const kept = (name: string) => ages.filter((age) => left.has(rows.get(name)?.get(age) ?? "")).sort((a, b) => a - b);
		expect(kept("short")).toEqual([30]);
		expect(kept("plain")).toEqual([30, 100]);
		expect(kept("long")).toEqual([30, 100, 400]);
		expect(kept("tooShort")).toEqual([30]);
		expect(kept("system")).toEqual([30, 100]);
		expect(left.has(unarchived.id)).toBe(true);
	});

	it("is the owner's setting: an admin may not shorten it, and values outside 90 to 3,650 are refused by name", async () => {
		const clock = new ManualClock(new Date("2026-12-01T00:00:00Z"));
		const t = testApp({ clock });
		const s = await seedAccount(clock);
		const patch = (token: string, auditIndexDays: unknown) =>
			t.request(
				`/v1/accounts/${s.accountId}`,
				jsonRequest("PATCH", { settings: { auditIndexDays } }, { Authorization: `Bearer ${token}` }),
			);
		const refused = await expectProblem(await patch(s.users.admin.token, 90), 403);
		expect(refused.errors?.map((e) => e.path)).toEqual(["settings.auditIndexDays"]);
		for (const bad of [89, 3651, 365.5, "365"]) {
			const problem = await expectProblem(await patch(s.users.owner.token, bad), 400);
			expect(problem.errors?.map((e) => e.path)).toContain("settings.auditIndexDays");
		}
		const res = await patch(s.users.owner.token, 730);
		expect(res.status).toBe(200);
		expect(
			(await res.json<{ account: { settings: { auditIndexDays: number } } }>()).account.settings.auditIndexDays,
		).toBe(730);
		const stored = await db.query.accounts.findFirst({ where: eq(accounts.id, s.accountId) });
		expect(JSON.parse(stored?.settings ?? "{}").auditIndexDays).toBe(730);
	});
});

describe("archive retention by policy", () => {
	it("is the owner's setting: null keeps (the default), 1 to 100 whole years; an admin may not change it", async () => {
		const clock = new ManualClock(new Date("2026-12-01T00:00:00Z"));
		const t = testApp({ clock });
		const s = await seedAccount(clock);
		const patch = (token: string, archiveRetentionYears: unknown) =>
			t.request(
				`/v1/accounts/${s.accountId}`,
				jsonRequest("PATCH", { settings: { archiveRetentionYears } }, { Authorization: `Bearer ${token}` }),
			);
		const read = async () =>
			(
				await (
					await t.request(`/v1/accounts/${s.accountId}`, {
						headers: { Authorization: `Bearer ${s.users.owner.token}` },
					})
				).json<{ account: { settings: { archiveRetentionYears: number | null } } }>()
			).account.settings.archiveRetentionYears;
		expect(await read()).toBeNull();
		const refused = await expectProblem(await patch(s.users.admin.token, 1), 403);
		expect(refused.errors?.map((e) => e.path)).toEqual(["settings.archiveRetentionYears"]);
		for (const bad of [0, 101, 2.5, "7", -1]) {
			const problem = await expectProblem(await patch(s.users.owner.token, bad), 400);
			expect(problem.errors?.map((e) => e.path)).toContain("settings.archiveRetentionYears");
		}
		expect((await patch(s.users.owner.token, 7)).status).toBe(200);
		expect(await read()).toBe(7);
		expect((await patch(s.users.owner.token, null)).status).toBe(200);
		expect(await read()).toBeNull();
	});

	it("becomes one lifecycle and one lock rule per account that sets it, under a one-year floor for every archived object", () => {
		const DAY_S = 86_400;
		const rules = retentionRules([
			{ accountId: "acc_12", years: 3 },
			{ accountId: "acc_1", years: 7 },
			{ accountId: "acc_bad", years: 0 },
			{ accountId: "acc_frac", years: 1.5 },
			{ accountId: "../x", years: 2 },
		]);
		// The floor: nothing under audit/ can be deleted or overwritten in its first year.
		expect(rules.lock.rules[0]).toEqual({
			id: FLOOR_LOCK_ID,
			enabled: true,
			prefix: "audit/",
			condition: { type: "Age", maxAgeSeconds: 366 * DAY_S },
		});
		// Sorted by id, each prefix closed with a slash, so acc_1's rules never reach acc_12's objects.
		expect(rules.lock.rules.slice(1).map((r) => [r.prefix, r.condition.maxAgeSeconds / DAY_S])).toEqual([
			["audit/acc_1/", 7 * 365 + 2],
			["audit/acc_12/", 3 * 365 + 1],
		]);
		expect(
			rules.lifecycle.rules
				.filter((r) => r.deleteObjectsTransition)
				.map((r) => [r.conditions.prefix, (r.deleteObjectsTransition?.condition.maxAge ?? 0) / DAY_S]),
		).toEqual([
			["audit/acc_1/", 7 * 365 + 2],
			["audit/acc_12/", 3 * 365 + 1],
		]);
		// Nothing expires sooner than it is locked for.
		for (const rule of rules.lifecycle.rules.filter((r) => r.deleteObjectsTransition)) {
			const lock = rules.lock.rules.find((l) => l.prefix === rule.conditions.prefix);
			expect(lock?.condition.maxAgeSeconds).toBe(rule.deleteObjectsTransition?.condition.maxAge);
		}
		// `set` replaces the whole configuration: R2's default multipart rule is kept.
		expect(rules.lifecycle.rules[0]?.abortMultipartUploadsTransition).toBeDefined();
		expect(retentionRules([]).lock.rules).toHaveLength(1);
	});

	it("refuses more accounts than one bucket's 1,000 rules hold, rather than apply part of them", () => {
		const many = (n: number) => Array.from({ length: n }, (_, i) => ({ accountId: `acc_${i}`, years: 2 }));
		expect(retentionRules(many(RULE_LIMIT - 2)).lock.rules).toHaveLength(RULE_LIMIT - 1);
		expect(retentionRules(many(RULE_LIMIT - 2)).lifecycle.rules).toHaveLength(RULE_LIMIT - 1);
		expect(() => retentionRules(many(RULE_LIMIT - 1))).toThrow(TooManyRetentions);
	});

	it("an archive whose oldest objects expired still verifies from the oldest one held; a deletion past it does not", async () => {
		const stream = uniqueAccount();
		const stub = auditChain(env, stream);
		for (let i = 0; i < 5; i++) {
			const events = [syntheticEvent(stream)];
			await stub.appendToArchive(
				stream,
				events.map((e) => ({ id: e.id, line: JSON.stringify(e) })),
			);
		}
		const head = await stub.chainHead(stream);
		const objects = await listArchive(stream);
		// The lifecycle rule removes the two oldest objects.
		for (const o of objects.slice(0, 2)) await env.AUDIT_ARCHIVE.delete(o.key);
		const strict = await verifyChain(stream, await listArchive(stream), head);
		expect(strict.problem).toMatchObject({ kind: "gap" });
		const expired = await verifyChain(stream, await listArchive(stream), head, { expiredStart: true });
		expect(expired).toMatchObject({ ok: true, objects: 3, events: 3, head, expired: { objects: 2 } });
		// An edit to the oldest object held still breaks the link its successor vouches for.
		const oldest = objects[2];
		if (!oldest) throw new Error("no object");
		await env.AUDIT_ARCHIVE.put(
			oldest.key,
			new TextDecoder().decode(oldest.bytes).replace('"key.created"', '"key.updated"'),
		);
		const edited = await verifyChain(stream, await listArchive(stream), head, { expiredStart: true });
		expect(edited.problem).toMatchObject({ kind: "edited", key: oldest.key });
		await env.AUDIT_ARCHIVE.put(oldest.key, oldest.bytes);
		// A hole after the oldest object held is a gap whatever the retention.
		await env.AUDIT_ARCHIVE.delete(objects[3]?.key ?? "");
		const holed = await verifyChain(stream, await listArchive(stream), head, { expiredStart: true });
		expect(holed.problem).toMatchObject({ kind: "gap", key: objects[4]?.key });
	});
});
