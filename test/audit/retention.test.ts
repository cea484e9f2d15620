/**
 * Retention by policy (issue #26): each account's `auditIndexDays` (90 to
 * 3,650, default 365) decides how long its indexed events stay searchable;
 * the cron deletes older rows once archived. The setting is the owner's alone.
 */
import { env } from "cloudflare:test";
import { eq, inArray } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { indexEvents } from "../../src/audit/consumer";
import { type AuditEvent, SYSTEM_STREAM } from "../../src/audit/event";
import { pruneAuditIndex } from "../../src/audit/maintenance";
import { createDatabase } from "../../src/db";
import { accounts, auditEvents } from "../../src/db/schema";
import { ManualClock } from "../../src/platform/clock";
import { newId } from "../../src/platform/ids";
import { testApp } from "../support/app";
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
