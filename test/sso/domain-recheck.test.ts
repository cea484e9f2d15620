/**
 * Verified domains are checked again (issue #27): once a day each verified domain's TXT record is
 * looked up; a record gone missing warns the owner and admins once, and the domain lapses (pending
 * again, routing no single sign-on) after seven more days without it. A resolver outage never
 * lapses a domain. The resolver is the outside world: a fake holding the records the test publishes.
 */
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { accountDomains } from "../../src/db/schema";
import { ManualClock } from "../../src/platform/clock";
import { newId } from "../../src/platform/ids";
import { connectionForEmail } from "../../src/sso/connections";
import { CHALLENGE_LABEL } from "../../src/sso/domains";
import { cronHarness, DAY, db } from "../support/cron";
import { seedConnection } from "../support/fake-idp";
import { seedAccount } from "../support/seed";

const clock = new ManualClock("2026-12-02T03:00:00Z");
const records = new Map<string, string[]>();
const resolver = { down: false, calls: 0 };
const fakeResolver: typeof fetch = async (input, init) => {
	const url = new URL(new Request(input, init).url);
	resolver.calls++;
	if (resolver.down) return new Response("unavailable", { status: 502 });
	const name = url.searchParams.get("name") ?? "";
	const found = records.get(name);
	return Response.json({
		Status: found ? 0 : 3,
		Answer: (found ?? []).map((data) => ({ name, type: 16, TTL: 60, data: `"${data}"` })),
	});
};

/** A domain the account verified two days ago, its record published, with a connection that routes it. */
async function verifiedDomain() {
	const s = await seedAccount(clock);
	const domain = `${newId("dom").slice(4)}.example.com`;
	const id = newId("dom");
	const challenge = newId("dom").slice(4);
	await db.insert(accountDomains).values({
		id,
		accountId: s.accountId,
		domain,
		challenge,
		createdBy: s.users.owner.id,
		createdAt: new Date(clock.now().getTime() - 2 * DAY),
		verifiedAt: new Date(clock.now().getTime() - 2 * DAY),
		lastCheckedAt: new Date(clock.now().getTime() - 2 * DAY),
	});
	await seedConnection(db, { accountId: s.accountId, ownerId: s.users.owner.id }, clock.now());
	const name = `${CHALLENGE_LABEL}.${domain}`;
	records.set(name, [`keyward-domain-verification=${challenge}`]);
	const row = async () => (await db.select().from(accountDomains).where(eq(accountDomains.id, id)))[0];
	return { s, domain, id, name, row };
}

describe("verified domains are checked again", () => {
	it("warns once when the record goes missing, lapses the domain seven days later, never on a resolver outage", async () => {
		const cron = cronHarness(clock);
		const run = () => cron.run({ fetch: fakeResolver });
		const d = await verifiedDomain();
		await run();
		expect(await d.row()).toMatchObject({ recordMissingSince: null, lastCheckedAt: clock.now() });

		// The record goes; the next day's check warns the owner and admins, once.
		records.delete(d.name);
		clock.advance(DAY);
		await run();
		const warnedAt = clock.now();
		expect((await d.row())?.recordMissingSince).toEqual(warnedAt);
		expect(cron.events("domain.record_missing")).toEqual([d.id]);
		expect(cron.events("alert.domain_lapsing")).toEqual([d.id]);
		const warning = cron.mail.filter((m) => m.subject.includes(d.domain));
		expect(warning.length).toBeGreaterThan(0);
		expect(warning[0]?.text).toContain("Put it back before");
		await run(); // not due again today
		clock.advance(DAY);
		await run();
		expect(cron.events("domain.record_missing")).toEqual([d.id]);
		expect((await d.row())?.verifiedAt).not.toBeNull();

		// Past seven days, but the resolver is down: nothing lapses, and it is tried again in an hour.
		clock.advance(6 * DAY);
		resolver.down = true;
		await run();
		expect((await d.row())?.verifiedAt).not.toBeNull();
		resolver.down = false;
		const calls = resolver.calls;
		await run();
		expect(resolver.calls).toBe(calls); // not due yet
		expect(await connectionForEmail(db, `ada@${d.domain}`)).toBeDefined();

		// An hour later: still missing, so it lapses, once, even when two runs race for it.
		clock.advance(3_600_000);
		await Promise.all([run(), run()]);
		const lapsed = await d.row();
		expect(lapsed).toMatchObject({ verifiedAt: null, recordMissingSince: null });
		// One event (the outbox may hand the same event to both runs' sends: consumers dedupe by id).
		const lapsedEvents = cron.audit.sent.filter((e) => e.action === "domain.lapsed");
		expect(new Set(lapsedEvents.map((e) => e.id)).size).toBe(1);
		expect(lapsedEvents[0]?.target?.id).toBe(d.id);
		expect(cron.mail.some((m) => m.subject === `Keyward: ${d.domain} is no longer verified`)).toBe(true);
		// It routes no single sign-on any more, and the next run leaves it alone.
		expect(await connectionForEmail(db, `ada@${d.domain}`)).toBeUndefined();
		clock.advance(2 * DAY);
		const before = resolver.calls;
		await run();
		expect(resolver.calls).toBe(before);
	});

	it("a record put back before the deadline clears the warning", async () => {
		const cron = cronHarness(clock);
		const run = () => cron.run({ fetch: fakeResolver });
		const d = await verifiedDomain();
		const published = records.get(d.name) ?? [];
		records.delete(d.name);
		await run();
		expect((await d.row())?.recordMissingSince).not.toBeNull();
		records.set(d.name, published);
		clock.advance(DAY);
		await run();
		expect(await d.row()).toMatchObject({ recordMissingSince: null });
		clock.advance(8 * DAY);
		await run();
		expect((await d.row())?.verifiedAt).not.toBeNull();
		expect(cron.events("domain.lapsed")).toEqual([]);
	});
});
