import { afterEach, describe, expect, it, vi } from "vitest";
import { createDatabase } from "../../src/db";
import type { Mailer } from "../../src/mail";
import { ManualClock } from "../../src/platform/clock";
import { testApp } from "../support/app";
import { jsonRequest } from "../support/request";
import { seedAccount } from "../support/seed";

describe("mail that cannot be sent", () => {
	afterEach(() => vi.restoreAllMocks());

	it("a password reset still answers 202, and the failure is logged by purpose without the address", async () => {
		const clock = new ManualClock("2026-10-10T00:00:00Z");
		const down: Mailer = {
			send: async () => {
				throw new Error("provider down");
			},
		};
		const t = testApp({ clock, services: (e) => ({ db: createDatabase(e.DB), clock, mailer: down, fetch }) });
		const s = await seedAccount(clock);
		const errors = vi.spyOn(console, "error").mockImplementation(() => {});

		const res = await t.request("/v1/auth/password-reset", jsonRequest("POST", { email: s.users.member.email }));

		expect(res.status).toBe(202);
		const lines = errors.mock.calls.map((call) => String(call[0]));
		const line = lines.find((l) => l.includes('"mail not sent"'));
		expect(line).toBeDefined();
		expect(JSON.parse(line ?? "{}")).toEqual({
			level: "error",
			msg: "mail not sent",
			purpose: "password-reset",
			error: "Error",
		});
		expect(lines.join("\n")).not.toContain(s.users.member.email);
	});
});
