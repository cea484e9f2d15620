import { env } from "cloudflare:test";
import { and, eq, isNull } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDatabase } from "../../src/db";
import { apiKeys, invitations, webhooks } from "../../src/db/schema";
import { ManualClock } from "../../src/platform/clock";
import { testApp } from "../support/app";
import { d1HeldUntilReleased } from "../support/faults";
import { bearer, jsonRequest } from "../support/request";
import { seedAccount } from "../support/seed";

/**
 * A removal racing the removed person's own requests: grants that passed the
 * gate before the removal committed but write after it must not survive.
 * Repeated 20 times; across all runs nothing of theirs may be left alive.
 */
const RUNS = 20;
const clock = new ManualClock("2026-09-20T00:00:00Z");
const t = testApp({ clock });
const db = createDatabase(env.DB);
/** The real D1, except that batches (the one conditional write of each grant) wait until released. */

describe("removing a member while they act", () => {
	it("keys, invitations and webhooks the removed admin had in flight do not survive (×20)", async () => {
		let survivors = 0;
		let refused = 0;
		for (let run = 0; run < RUNS; run++) {
			const s = await seedAccount(clock);
			const admin = bearer(s.users.admin.token);
			const gate = d1HeldUntilReleased();
			const held = { DB: gate.db };
			const base = `/v1/accounts/${s.accountId}`;
			// Their requests have passed the gate and wait at their write while the owner removes them.
			const inFlight = [
				...Array.from({ length: 5 }, () =>
					t.request(
						`${base}/keys`,
						jsonRequest("POST", { name: "exit", environment: "staging", scopes: ["a:b"] }, admin),
						held,
					),
				),
				t.request(
					`${base}/invitations`,
					jsonRequest("POST", { email: `alt-${run}@example.com`, role: "admin" }, admin),
					held,
				),
				t.request(
					`${base}/webhooks`,
					jsonRequest("POST", { url: "https://exfil.example.com/hook", events: ["alert.key_created"] }, admin),
					held,
				),
				t.request(`${base}/keys/${s.keyIds.admin}/rotate`, jsonRequest("POST", {}, admin), held),
			];
			// Let the held requests reach their write before the removal starts.
			await new Promise((resolve) => setTimeout(resolve, 20));
			const removal = await t.request(`${base}/members/${s.users.admin.id}`, {
				method: "DELETE",
				headers: bearer(s.users.owner.token),
			});
			expect(removal.status).toBe(204);
			gate.release();
			const statuses = await Promise.all(inFlight.map(async (p) => (await p).status));
			refused += statuses.filter((x) => x === 403).length;
			const keys = await db
				.select()
				.from(apiKeys)
				.where(
					and(eq(apiKeys.accountId, s.accountId), eq(apiKeys.createdBy, s.users.admin.id), isNull(apiKeys.revokedAt)),
				);
			const invites = await db
				.select()
				.from(invitations)
				.where(and(eq(invitations.accountId, s.accountId), eq(invitations.invitedBy, s.users.admin.id)));
			const hooks = await db
				.select()
				.from(webhooks)
				.where(and(eq(webhooks.accountId, s.accountId), eq(webhooks.createdBy, s.users.admin.id)));
			survivors += keys.length + invites.length + hooks.length;
		}
		console.log(`removal race: ${refused} in-flight grants refused across ${RUNS} runs`);
		expect(survivors).toBe(0);
		expect(refused).toBeGreaterThan(0);
	}, 180_000);
});
