import { describe, expect, it } from "vitest";
import { testApp } from "../support/app";

describe("routing", () => {
	it("every route fits Hono's RegExpRouter, so a request is matched by one regular expression", async () => {
		const t = testApp();
		expect((await t.request("/health")).status).toBe(200);
		// SmartRouter keeps the first router that accepts every route; a literal segment beside a
		// parameter (say `members/invite` next to `members/:userId`) would make it fall back to the
		// TrieRouter, which the profile showed costing several times more per request.
		const router = (t.app as unknown as { router: { activeRouter?: { name: string } } }).router;
		expect(router.activeRouter?.name).toBe("RegExpRouter");
	});
});
