import { env } from "cloudflare:test";
import { and, eq, isNotNull } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDatabase } from "../../src/db";
import { accountDomains, accounts } from "../../src/db/schema";
import { ManualClock } from "../../src/platform/clock";
import { newId } from "../../src/platform/ids";
import { txtData } from "../../src/sso/dns";
import { DOMAINS_PER_ACCOUNT } from "../../src/sso/domains";
import { testApp } from "../support/app";
import { as, expectProblem } from "../support/request";
import { type SeededAccount, seedAccount, seedKey } from "../support/seed";

/**
 * Domain verification (issue #27): the owner claims a domain, publishes a TXT record, and
 * Keyward finds it over DNS over HTTPS. The resolver is the outside world: a fake here, holding
 * the records the tests publish, answering as Cloudflare's JSON API does.
 */
const clock = new ManualClock("2026-12-01T09:00:00Z");
const records = new Map<string, string[]>();
let resolverDown = false;
const resolverCalls: string[] = [];
const fakeResolver: typeof fetch = async (input, init) => {
	// Built as the runtime's fetch builds it, so options workerd does not implement fail here as there.
	const url = new URL(new Request(input, init).url);
	resolverCalls.push(url.toString());
	if (resolverDown) return new Response("unavailable", { status: 502 });
	if (url.searchParams.get("name")?.startsWith("_keyward-challenge.moved"))
		return new Response(null, { status: 302, headers: { Location: "http://169.254.169.254/" } });
	const name = url.searchParams.get("name") ?? "";
	const found = records.get(name);
	return Response.json({
		Status: found ? 0 : 3,
		Answer: (found ?? []).map((data) => ({ name, type: 16, TTL: 60, data: `"${data}"` })),
	});
};
const t = testApp({ clock, fetch: fakeResolver });
const db = createDatabase(env.DB);

const uniqueDomain = () => `${newId("dom").slice(4)}.example.com`;
const base = (s: SeededAccount) => `/v1/accounts/${s.accountId}/domains`;
type DomainBody = { domain: { id: string; domain: string; status: string; record: { name: string; value: string } } };

async function claim(s: SeededAccount, domain: string, token = s.users.owner.token) {
	const res = await t.request(base(s), as(token, "POST", { domain }));
	expect(res.status, await res.clone().text()).toBe(201);
	return (await res.json<DomainBody>()).domain;
}
const verify = (s: SeededAccount, id: string, token = s.users.owner.token) =>
	t.request(`${base(s)}/${id}/verify`, as(token, "POST"));
const publish = (d: DomainBody["domain"]) => records.set(d.record.name, [d.record.value]);

describe("domains", () => {
	it("claims a domain, refuses to verify it until the TXT record is there, then verifies it", async () => {
		const s = await seedAccount(clock);
		const name = uniqueDomain();
		const d = await claim(s, ` ${name.toUpperCase()}. `);
		expect(d).toMatchObject({ domain: name, status: "pending" });
		expect(d.record.name).toBe(`_keyward-challenge.${name}`);
		expect(d.record.value).toMatch(/^keyward-domain-verification=[a-z2-7]{32}$/);

		const early = await expectProblem(await verify(s, d.id), 409, "conflict");
		expect(early.detail).toContain(d.record.name);
		records.set(d.record.name, ["some-other-proof", "keyward-domain-verification=wrong"]);
		await expectProblem(await verify(s, d.id), 409, "conflict");

		records.set(d.record.name, ["v=spf1 -all", d.record.value]);
		const res = await verify(s, d.id);
		expect(res.status).toBe(200);
		expect((await res.json<DomainBody>()).domain.status).toBe("verified");
		expect(resolverCalls.at(-1)).toContain(`name=_keyward-challenge.${name}`);
		expect(resolverCalls.at(-1)).toContain("type=TXT");

		const list = await (await t.request(base(s), as(s.users.readonly.token))).json<{ data: { status: string }[] }>();
		expect(list.data.map((x) => x.status)).toEqual(["verified"]);
	});

	it("answers 503 when the resolver fails, and changes nothing", async () => {
		const s = await seedAccount(clock);
		const d = await claim(s, uniqueDomain());
		publish(d);
		resolverDown = true;
		try {
			await expectProblem(await verify(s, d.id), 503, "service-unavailable");
		} finally {
			resolverDown = false;
		}
		const row = await db.query.accountDomains.findFirst({ where: eq(accountDomains.id, d.id) });
		expect(row?.verifiedAt).toBeNull();
	});

	it("does not follow a resolver's redirect: it counts as no answer", async () => {
		const s = await seedAccount(clock);
		const d = await claim(s, `moved${newId("dom").slice(4)}.example.com`);
		await expectProblem(await verify(s, d.id), 503, "service-unavailable");
	});

	it("lets only the owner claim, verify or remove, and never with an API key", async () => {
		const s = await seedAccount(clock);
		const d = await claim(s, uniqueDomain());
		publish(d);
		for (const token of [s.users.admin.token, s.users.member.token, s.apiKeys.withScope]) {
			expect((await t.request(base(s), as(token, "POST", { domain: uniqueDomain() }))).status).toBe(403);
			expect((await verify(s, d.id, token)).status).toBe(403);
			expect((await t.request(`${base(s)}/${d.id}`, as(token, "DELETE"))).status).toBe(403);
		}
		expect((await t.request(base(s), as(s.users.stranger.token, "POST", { domain: uniqueDomain() }))).status).toBe(404);
		const rows = await db.query.accountDomains.findMany({ where: eq(accountDomains.accountId, s.accountId) });
		expect(rows.map((r) => [r.id, r.verifiedAt])).toEqual([[d.id, null]]);
	});

	it("refuses names that are not an organisation's mail domain, naming the field", async () => {
		const s = await seedAccount(clock);
		for (const domain of [
			"localhost",
			"example",
			"192.168.0.1",
			"corp.invalid",
			"host.local",
			"a..example.com",
			"*.example.com",
			"exa mple.com",
			"bücher.example.com",
			"-bad.example.com",
			`${"a".repeat(64)}.example.com`,
			"",
			42,
		]) {
			const problem = await expectProblem(
				await t.request(base(s), as(s.users.owner.token, "POST", { domain })),
				400,
				"validation",
			);
			expect(new Set(problem.errors?.map((e) => e.path))).toEqual(new Set(["domain"]));
		}
		expect(await db.query.accountDomains.findMany({ where: eq(accountDomains.accountId, s.accountId) })).toEqual([]);
	});

	it("keeps a verified domain to one account: a second account that proves it too is refused", async () => {
		const [a, b] = [await seedAccount(clock), await seedAccount(clock)];
		const name = uniqueDomain();
		const da = await claim(a, name);
		const db_ = await claim(b, name);
		records.set(da.record.name, [da.record.value, db_.record.value]);
		expect((await verify(a, da.id)).status).toBe(200);
		const refused = await expectProblem(await verify(b, db_.id), 409, "conflict");
		expect(refused.detail).toContain("Another account");
		// Once the first gives it up, the second may verify it.
		expect((await t.request(`${base(a)}/${da.id}`, as(a.users.owner.token, "DELETE"))).status).toBe(204);
		expect((await verify(b, db_.id)).status).toBe(200);
	});

	it("decides a burst of verifications of one domain by several accounts for exactly one", async () => {
		const seeded = await Promise.all([1, 2, 3, 4].map(() => seedAccount(clock)));
		const name = uniqueDomain();
		const claims = await Promise.all(seeded.map((s) => claim(s, name)));
		records.set(
			claims[0]?.record.name ?? "",
			claims.map((d) => d.record.value),
		);
		const answers = await Promise.all(seeded.map((s, i) => verify(s, claims[i]?.id ?? "")));
		expect(answers.map((r) => r.status).sort()).toEqual([200, 409, 409, 409]);
		const verified = await db.query.accountDomains.findMany({
			where: and(eq(accountDomains.domain, name), isNotNull(accountDomains.verifiedAt)),
		});
		expect(verified).toHaveLength(1);
	});

	it(`holds an account to ${DOMAINS_PER_ACCOUNT} domains, also under a burst`, async () => {
		const s = await seedAccount(clock);
		const answers = await Promise.all(
			Array.from({ length: DOMAINS_PER_ACCOUNT + 5 }, () =>
				t.request(base(s), as(s.users.owner.token, "POST", { domain: uniqueDomain() })),
			),
		);
		expect(answers.filter((r) => r.status === 201)).toHaveLength(DOMAINS_PER_ACCOUNT);
		expect(answers.filter((r) => r.status === 409)).toHaveLength(5);
		const rows = await db.query.accountDomains.findMany({ where: eq(accountDomains.accountId, s.accountId) });
		expect(rows).toHaveLength(DOMAINS_PER_ACCOUNT);
	});

	it("claims nothing while the account is locked down, but the owner may still remove a domain", async () => {
		const s = await seedAccount(clock);
		const d = await claim(s, uniqueDomain());
		await db.update(accounts).set({ lockedDownAt: clock.now() }).where(eq(accounts.id, s.accountId));
		await expectProblem(
			await t.request(base(s), as(s.users.owner.token, "POST", { domain: uniqueDomain() })),
			423,
			"locked",
		);
		publish(d);
		await expectProblem(await verify(s, d.id), 423, "locked");
		expect((await t.request(`${base(s)}/${d.id}`, as(s.users.owner.token, "DELETE"))).status).toBe(204);
	});

	it("refuses an account whose owner never verified their email", async () => {
		const s = await seedAccount(clock, {}, { ownerVerified: false });
		await expectProblem(
			await t.request(base(s), as(s.users.owner.token, "POST", { domain: uniqueDomain() })),
			403,
			"email-unverified",
		);
	});

	it("reads TXT data split into several strings, with escapes, as one value", () => {
		expect(txtData('"keyward-domain-" "verification=abc"')).toBe("keyward-domain-verification=abc");
		expect(txtData('"say \\"hi\\"\\059"')).toBe('say "hi";');
		expect(txtData("unquoted")).toBe("unquoted");
	});

	it("does not let a key with every reserved scope claim one", async () => {
		const s = await seedAccount(clock);
		const { secret } = await seedKey(s.accountId, s.users.owner.id, ["*", "scim:write", "members:write"], clock.now());
		await expectProblem(await t.request(base(s), as(secret, "POST", { domain: uniqueDomain() })), 403, "forbidden");
	});
});
