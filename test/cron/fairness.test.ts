import { eq, inArray } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { apiKeys } from "../../src/db/schema";
import { ManualClock } from "../../src/platform/clock";
import { testApp } from "../support/app";
import { cronHarness, DAY, db, keyWith } from "../support/cron";
import { jsonRequest } from "../support/request";
import { seedAccount } from "../support/seed";

/** A run small enough that one noisy account could fill it alone. */
const BUDGET = { batchSize: 20, batches: 1 };

describe("sweeps share each run fairly between accounts", () => {
	it("a noisy account's 45 expiring keys do not delay a quiet account's rotation reminder", async () => {
		const clock = new ManualClock("2026-03-01T00:00:00Z");
		const cron = cronHarness(clock);
		const noisy = await seedAccount(clock);
		const quiet = await seedAccount(clock);
		const now = clock.now().getTime();
		// Every noisy key is due before the quiet one: oldest-first alone would leave it for run three.
		for (let i = 0; i < 45; i++)
			await keyWith(noisy.accountId, noisy.users.owner.id, clock.now(), {
				expiresAt: new Date(now + 8 * DAY + i * 60_000),
			});
		const quietKey = await keyWith(quiet.accountId, quiet.users.owner.id, clock.now(), {
			expiresAt: new Date(now + 13 * DAY),
		});
		await cron.run({ budget: BUDGET });
		const reminded = cron.events("alert.key_expiring");
		expect(reminded).toContain(quietKey.id);
		expect(reminded.length).toBeLessThanOrEqual(BUDGET.batchSize + 10); // the seeds' own keys are reminded too
	});

	it("a noisy account's 45 expired keys do not delay a quiet account's expiry record", async () => {
		const clock = new ManualClock("2026-04-01T00:00:00Z");
		const cron = cronHarness(clock);
		const noisy = await seedAccount(clock);
		const quiet = await seedAccount(clock);
		const now = clock.now().getTime();
		const noisyKeys: { id: string }[] = [];
		for (let i = 0; i < 45; i++)
			noisyKeys.push(
				await keyWith(noisy.accountId, noisy.users.owner.id, new Date(now - 60 * DAY), {
					expiresAt: new Date(now - 20 * DAY + i * 60_000),
				}),
			);
		const quietKey = await keyWith(quiet.accountId, quiet.users.owner.id, new Date(now - 60 * DAY), {
			expiresAt: new Date(now - DAY),
		});
		await cron.run({ budget: BUDGET });
		expect(cron.events("key.expired")).toContain(quietKey.id);
		// The rest follow in later runs, each once (the file's other accounts have expired keys too).
		for (let run = 0; run < 10; run++) await cron.run({ budget: BUDGET });
		const recorded = await db
			.select({ id: apiKeys.id, at: apiKeys.expiryRecordedAt })
			.from(apiKeys)
			.where(
				inArray(
					apiKeys.id,
					noisyKeys.map((k) => k.id),
				),
			);
		expect(recorded.filter((r) => r.at === null).length).toBe(0);
		const expiredEvents = cron.events("key.expired").filter((id) => noisyKeys.some((k) => k.id === id));
		expect(new Set(expiredEvents).size).toBe(expiredEvents.length);
	});
});

describe("keys per account are capped", () => {
	it("refuses a key past MAX_KEYS_PER_ACCOUNT with 409, and revoking one makes room", async () => {
		const clock = new ManualClock("2026-05-01T00:00:00Z");
		const t = testApp({ clock });
		const s = await seedAccount(clock);
		const live = (await db.select().from(apiKeys).where(eq(apiKeys.accountId, s.accountId))).length;
		const cap = { MAX_KEYS_PER_ACCOUNT: String(live + 2) };
		const create = () =>
			t.request(
				`/v1/accounts/${s.accountId}/keys`,
				jsonRequest(
					"POST",
					{ name: "k", environment: "staging", scopes: ["a:b"] },
					{ Authorization: `Bearer ${s.users.owner.token}` },
				),
				cap,
			);
		// A burst: the count and the insert are one write, so exactly two of ten land.
		const answers = await Promise.all(Array.from({ length: 10 }, create));
		expect(answers.map((r) => r.status).sort()).toEqual([201, 201, ...Array(8).fill(409)]);
		const after = await db.select().from(apiKeys).where(eq(apiKeys.accountId, s.accountId));
		expect(after.length).toBe(live + 2);
		const revoke = await t.request(
			`/v1/accounts/${s.accountId}/keys/${s.keyIds.owner}/revoke`,
			jsonRequest("POST", { reason: "room" }, { Authorization: `Bearer ${s.users.owner.token}` }),
		);
		expect(revoke.status).toBe(200);
		expect((await create()).status).toBe(201);
	});
});
