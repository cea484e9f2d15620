import { env } from "cloudflare:test";
import { eq, inArray } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { apiKeys, keyNotices } from "../../src/db/schema";
import { verifyApiKey } from "../../src/keys/verify";
import { ManualClock } from "../../src/platform/clock";
import { cronHarness, DAY, db, keyWith } from "../support/cron";
import { d1FailingInBatch } from "../support/faults";
import { seedAccount } from "../support/seed";

const START = "2027-03-01T00:00:00Z";

async function keyRow(id: string) {
	const row = await db.query.apiKeys.findFirst({ where: eq(apiKeys.id, id) });
	if (!row) throw new Error(`no key ${id}`);
	return row;
}

describe("expiry sweep", () => {
	it("expires a key at exactly its expiresAt and one a day late, not one due tomorrow; twice run, once recorded", async () => {
		const clock = new ManualClock(START);
		const s = await seedAccount(clock);
		const now = clock.now();
		const owner = s.users.owner.id;
		const exact = await keyWith(s.accountId, owner, now, { expiresAt: now });
		const late = await keyWith(s.accountId, owner, now, { expiresAt: new Date(now.getTime() - DAY) });
		const early = await keyWith(s.accountId, owner, now, { expiresAt: new Date(now.getTime() + DAY) });
		const h = cronHarness(clock);

		await h.run();
		await h.run();

		expect(h.events("key.expired").sort()).toEqual([exact.id, late.id].sort());
		expect((await keyRow(exact.id)).expiryRecordedAt).toEqual(now);
		expect((await keyRow(early.id)).expiryRecordedAt).toBeNull();
		const event = h.audit.sent.find((e) => e.target?.id === exact.id && e.action === "key.expired");
		expect(event?.actor).toEqual({ type: "system", id: null, ip: null, userAgent: null });
		expect(event?.accountId).toBe(s.accountId);

		clock.advance(DAY);
		await h.run();
		expect(h.events("key.expired").sort()).toEqual([exact.id, late.id, early.id].sort());
	});

	it("works through more keys than one batch over several runs, each key once", async () => {
		const clock = new ManualClock(START);
		const s = await seedAccount(clock);
		const now = clock.now();
		const ids: string[] = [];
		for (let i = 0; i < 10; i++) {
			ids.push(
				(await keyWith(s.accountId, s.users.owner.id, now, { expiresAt: new Date(now.getTime() - i * 1000) })).id,
			);
		}
		const h = cronHarness(clock);
		const budget = { batchSize: 3, batches: 2 };

		const first = await h.run({ budget });
		expect(first.expiredKeys).toEqual({ handled: 6, remaining: true });
		const second = await h.run({ budget });
		expect(second.expiredKeys).toEqual({ handled: 4, remaining: false });
		const third = await h.run({ budget });
		expect(third.expiredKeys).toEqual({ handled: 0, remaining: false });
		expect(h.events("key.expired").sort()).toEqual(ids.sort());
	});

	it("a run that dies after half its batches is finished by the next, with no event lost or doubled", async () => {
		const clock = new ManualClock(START);
		const s = await seedAccount(clock);
		const now = clock.now();
		const ids: string[] = [];
		for (let i = 0; i < 8; i++) {
			ids.push(
				(await keyWith(s.accountId, s.users.owner.id, now, { expiresAt: new Date(now.getTime() - i * 1000) })).id,
			);
		}
		const h = cronHarness(clock);
		const budget = { batchSize: 4, batches: 5 };

		// The first D1 batch (four keys) lands; the second fails, as if the run were killed there.
		const crashed = await h.run({ budget, env: { DB: d1FailingInBatch(2) } });
		expect(crashed.expiredKeys).toEqual({ failed: "Error" });
		const done = await db.select({ id: apiKeys.id }).from(apiKeys).where(inArray(apiKeys.id, ids));
		const recorded = (await Promise.all(done.map((k) => keyRow(k.id)))).filter((k) => k.expiryRecordedAt !== null);
		expect(recorded).toHaveLength(4);

		const next = await h.run({ budget });
		expect(next.expiredKeys).toEqual({ handled: 4, remaining: false });
		expect(h.events("key.expired").sort()).toEqual(ids.sort());
	});
});

describe("rotation reminders", () => {
	it("sends the 14-, 7- and 1-day reminders once each, to the creator and the owner, with a webhook job", async () => {
		const clock = new ManualClock(START);
		const s = await seedAccount(clock);
		const now = clock.now();
		const key = await keyWith(s.accountId, s.users.member.id, now, { expiresAt: new Date(now.getTime() + 20 * DAY) });
		const h = cronHarness(clock);

		await h.run();
		expect(h.mail).toHaveLength(0);

		clock.advance(7 * DAY); // 13 days left
		await h.run();
		await h.run();
		// The seeded account's own keys expire too; only this key's mail counts here.
		const mine = () => h.mail.filter((m) => m.text.includes(key.id));
		const recipients = mine()
			.map((m) => m.to)
			.sort();
		// Owner, admin (alerts go to owner and admins) and the member who created the key; once each.
		expect(recipients).toEqual([s.users.admin.email, s.users.member.email, s.users.owner.email].sort());
		expect(mine()[0]?.subject).toMatch(/expires in 13 days/);
		expect(mine()[0]?.text).not.toMatch(/kw_(live|test)_[A-Za-z0-9]{20,}/);

		clock.advance(7 * DAY); // 6 days left
		await h.run();
		clock.advance(5.5 * DAY); // half a day left
		await h.run();
		await h.run();

		const reminders = h.audit.sent.filter((e) => e.action === "alert.key_expiring" && e.target?.id === key.id);
		expect(reminders.map((e) => e.metadata.reminder)).toEqual(["14d", "7d", "1d"]);
		expect(mine()).toHaveLength(9);
		const notices = await db.select().from(keyNotices).where(eq(keyNotices.keyId, key.id));
		expect(notices.map((n) => n.kind).sort()).toEqual(["expiry_14d", "expiry_1d", "expiry_7d"]);
	});

	it("a key born with five days to live gets only the most urgent reminder that applies", async () => {
		const clock = new ManualClock(START);
		const s = await seedAccount(clock);
		const now = clock.now();
		const key = await keyWith(s.accountId, s.users.owner.id, now, { expiresAt: new Date(now.getTime() + 5 * DAY) });
		const h = cronHarness(clock);

		await h.run();
		await h.run();

		const reminders = h.audit.sent.filter((e) => e.action === "alert.key_expiring" && e.target?.id === key.id);
		expect(reminders.map((e) => e.metadata.reminder)).toEqual(["7d"]);
	});

	it("a reminder no channel could take is released and sent by the next run", async () => {
		const clock = new ManualClock(START);
		const s = await seedAccount(clock);
		const now = clock.now();
		const key = await keyWith(s.accountId, s.users.owner.id, now, { expiresAt: new Date(now.getTime() + 3 * DAY) });
		const h = cronHarness(clock);
		const mine = () => h.mail.filter((m) => m.text.includes(key.id));

		h.outage.on = true;
		await h.run();
		expect(mine()).toHaveLength(0);
		expect(await db.select().from(keyNotices).where(eq(keyNotices.keyId, key.id))).toEqual([]);

		h.outage.on = false;
		await h.run();
		expect(mine().length).toBeGreaterThan(0);
		const events = h.audit.sent.filter((e) => e.action === "alert.key_expiring" && e.target?.id === key.id);
		expect(new Set(events.map((e) => e.id)).size).toBe(1);
	});

	it("does not remind about keys that were rotated or revoked", async () => {
		const clock = new ManualClock(START);
		const s = await seedAccount(clock);
		const now = clock.now();
		const soon = new Date(now.getTime() + 3 * DAY);
		const rotated = await keyWith(s.accountId, s.users.owner.id, now, { expiresAt: soon });
		const revoked = await keyWith(s.accountId, s.users.owner.id, now, { expiresAt: soon });
		await db.update(apiKeys).set({ rotatedTo: "key_successor" }).where(eq(apiKeys.id, rotated.id));
		await db.update(apiKeys).set({ revokedAt: now, revokedReason: "test" }).where(eq(apiKeys.id, revoked.id));
		const h = cronHarness(clock);

		await h.run();

		expect(h.events("alert.key_expiring")).not.toContain(rotated.id);
		expect(h.events("alert.key_expiring")).not.toContain(revoked.id);
	});
});

describe("inactivity sweep", () => {
	it("warns seven days ahead, then revokes as key.swept with reason inactive; verify refuses at once", async () => {
		const clock = new ManualClock(START);
		const s = await seedAccount(clock, { keyInactivityDays: 30, keyMaxLifetimeDays: 365 });
		const created = clock.now();
		const idle = await keyWith(s.accountId, s.users.member.id, created, {
			expiresAt: new Date(created.getTime() + 300 * DAY),
		});
		const h = cronHarness(clock);

		clock.set(new Date(created.getTime() + 22 * DAY));
		await h.run();
		expect(h.events("key.inactivity_warned")).not.toContain(idle.id);

		clock.set(new Date(created.getTime() + 23 * DAY));
		await h.run();
		await h.run();
		expect(h.events("key.inactivity_warned").filter((id) => id === idle.id)).toHaveLength(1);
		expect(h.mail.filter((m) => /will be revoked/.test(m.subject)).map((m) => m.to)).toContain(s.users.member.email);

		clock.set(new Date(created.getTime() + 29 * DAY));
		await h.run();
		expect((await keyRow(idle.id)).revokedAt).toBeNull();

		clock.set(new Date(created.getTime() + 30 * DAY));
		await h.run();
		await h.run();
		const row = await keyRow(idle.id);
		expect(row.revokedReason).toBe("inactive");
		expect(h.events("key.swept")).toEqual([idle.id]);
		const verdict = await verifyApiKey(env, { key: idle.secret, requiredScopes: [] }, clock.now());
		expect(verdict.body.code).toBe("REVOKED");
	});

	it("a key used after its warning is not revoked, and is warned afresh when it goes quiet again", async () => {
		const clock = new ManualClock(START);
		const s = await seedAccount(clock, { keyInactivityDays: 30, keyMaxLifetimeDays: 365 });
		const created = clock.now();
		const key = await keyWith(s.accountId, s.users.owner.id, created, {
			expiresAt: new Date(created.getTime() + 300 * DAY),
		});
		const h = cronHarness(clock);

		clock.set(new Date(created.getTime() + 23 * DAY));
		await h.run();
		const usedAt = new Date(created.getTime() + 25 * DAY);
		await db.update(apiKeys).set({ lastUsedAt: usedAt }).where(eq(apiKeys.id, key.id));

		clock.set(new Date(created.getTime() + 31 * DAY));
		await h.run();
		expect((await keyRow(key.id)).revokedAt).toBeNull();

		clock.set(new Date(usedAt.getTime() + 23 * DAY));
		await h.run();
		expect(h.events("key.inactivity_warned").filter((id) => id === key.id)).toHaveLength(2);
		clock.set(new Date(usedAt.getTime() + 30 * DAY));
		await h.run();
		expect((await keyRow(key.id)).revokedReason).toBe("inactive");
	});
});
