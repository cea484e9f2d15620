/**
 * Issue #24, part 3: leaked-key reports from GitHub secret scanning. GitHub's
 * signing key is a local P-256 key pair made here; the route is configured
 * to trust it the way a deployment pins GitHub's published keys.
 */
import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDatabase } from "../../src/db";
import { apiKeys, devOutbox, secretScanningStats } from "../../src/db/schema";
import { crc32, toBase62 } from "../../src/keys/format";
import { ManualClock } from "../../src/platform/clock";
import { sha256Hex } from "../../src/security/digest";
import { derToRaw, verifyGithubSignature } from "../../src/security/github-signature";
import { testApp } from "../support/app";
import { createKey, expectProblem } from "../support/request";
import { seedAccount } from "../support/seed";
import { auditCapture } from "../support/webhooks";

const db = createDatabase(env.DB);

async function keyPair() {
	const pair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
		"sign",
		"verify",
	])) as CryptoKeyPair;
	const spki = new Uint8Array((await crypto.subtle.exportKey("spki", pair.publicKey)) as ArrayBuffer);
	const pem = `-----BEGIN PUBLIC KEY-----\n${btoa(String.fromCharCode(...spki))}\n-----END PUBLIC KEY-----`;
	return { pair, pem };
}

/** WebCrypto's r‖s as the ASN.1 DER GitHub sends. */
function rawToDer(raw: Uint8Array): Uint8Array<ArrayBuffer> {
	const integer = (bytes: Uint8Array) => {
		let i = 0;
		while (i < bytes.length - 1 && bytes[i] === 0) i++;
		const trimmed = bytes.subarray(i);
		const body = (trimmed[0] ?? 0) & 0x80 ? [0, ...trimmed] : [...trimmed];
		return [0x02, body.length, ...body];
	};
	const seq = [...integer(raw.subarray(0, 32)), ...integer(raw.subarray(32))];
	return new Uint8Array([0x30, seq.length, ...seq]);
}

const github = await keyPair();
const impostor = await keyPair();
const KEYS = JSON.stringify({ public_keys: [{ key_identifier: "gh-test-1", key: github.pem, is_current: true }] });

async function signed(body: string, signer = github, identifier = "gh-test-1") {
	const raw = new Uint8Array(
		await crypto.subtle.sign(
			{ name: "ECDSA", hash: "SHA-256" },
			signer.pair.privateKey,
			new TextEncoder().encode(body),
		),
	);
	return {
		method: "POST",
		headers: {
			"Content-Type": "application/json",
			"Github-Public-Key-Identifier": identifier,
			"Github-Public-Key-Signature": btoa(String.fromCharCode(...rawToDer(raw))),
		},
		body,
	};
}

/** A string with Keyward's shape and a correct checksum that no account holds: anyone can make one. */
function checksumValidFake(accountId: string) {
	const body = `kw_live_${accountId.slice(4)}${"Z".repeat(43)}`;
	return body + toBase62(BigInt(crc32(body)), 6);
}

const report = (tokens: string[]) =>
	JSON.stringify(
		tokens.map((token) => ({
			token,
			type: "keyward_api_key",
			url: "https://github.com/octocat/hello/blob/0123abc/config.js",
			source: "content",
		})),
	);

describe("leaked-key reports from GitHub secret scanning", () => {
	const clock = new ManualClock("2027-05-01T00:00:00Z");
	const t = testApp({ clock });
	const send = (init: RequestInit, audit = auditCapture()) =>
		t.request("/v1/secret-scanning/github", init, { GITHUB_SECRET_SCANNING_KEYS: KEYS, AUDIT_QUEUE: audit.queue });

	it("a signed report of a live, a revoked and two fake tokens: the live key is revoked, alerted and mailed; the fakes leave no trace", async () => {
		const s = await seedAccount(clock);
		const live = await createKey(t, s.users.member.token, s.accountId, { name: "deploy" });
		const gone = await createKey(t, s.users.owner.token, s.accountId, { name: "old" });
		await t.request(`/v1/accounts/${s.accountId}/keys/${gone.key.id}/revoke`, {
			method: "POST",
			headers: { Authorization: `Bearer ${s.users.owner.token}`, "Content-Type": "application/json" },
			body: JSON.stringify({ reason: "done" }),
		});
		const fake = checksumValidFake(s.accountId);
		const tokens = [live.secret, gone.secret, fake, "kw_live_not-a-key"];
		const audit = auditCapture();
		const res = await send(await signed(report(tokens)), audit);
		expect(res.status).toBe(200);
		const text = await res.text();
		for (const token of tokens) expect(text).not.toContain(token);
		expect(JSON.parse(text)).toEqual(
			await Promise.all(
				tokens.map(async (token, i) => ({
					token_hash: await sha256Hex(token),
					token_type: "keyward_api_key",
					label: i < 2 ? "true_positive" : "false_positive",
				})),
			),
		);

		const row = await db.query.apiKeys.findFirst({ where: eq(apiKeys.id, live.key.id) });
		expect(row?.revokedAt).not.toBeNull();
		const verify = await t.request("/v1/keys/verify", {
			method: "POST",
			headers: { "Content-Type": "application/json" },
			body: JSON.stringify({ key: live.secret }),
		});
		expect(await verify.json()).toMatchObject({ valid: false, code: "REVOKED" });

		const inAccount = audit.events().filter((e) => e.accountId === s.accountId);
		expect(inAccount.map((e) => e.action).sort()).toEqual(["alert.key_leaked", "key.revoked"]);
		expect(inAccount.find((e) => e.action === "key.revoked")).toMatchObject({
			actor: { type: "system" },
			target: { type: "key", id: live.key.id },
		});
		expect(inAccount.find((e) => e.action === "alert.key_leaked")).toMatchObject({
			actor: { type: "system", ip: null },
			target: { type: "key", id: live.key.id },
			metadata: {
				url: "https://github.com/octocat/hello/blob/0123abc/config.js",
				reportedBy: "github-secret-scanning",
			},
		});
		// Nothing anywhere names a token, the fakes included.
		for (const token of tokens) expect(JSON.stringify(audit.events())).not.toContain(token);
		const mail = await db.select().from(devOutbox).where(eq(devOutbox.to, s.users.owner.email));
		expect(mail.filter((m) => m.subject.includes("found in public"))).toHaveLength(1);
		const member = await db.select().from(devOutbox).where(eq(devOutbox.to, s.users.member.email));
		expect(member.filter((m) => m.subject.includes("found in public"))).toHaveLength(1);
		const stats = await db.query.secretScanningStats.findFirst({ where: eq(secretScanningStats.day, "2027-05-01") });
		expect(stats).toMatchObject({ truePositives: expect.any(Number), falsePositives: expect.any(Number) });
	});

	it("a replayed report answers the same and does nothing twice", async () => {
		const s = await seedAccount(clock);
		const live = await createKey(t, s.users.owner.token, s.accountId, { name: "ci" });
		const request = await signed(report([live.secret]));
		const first = auditCapture();
		const a = await (await send(request, first)).json();
		const second = auditCapture();
		const b = await (await send(request, second)).json();
		expect(b).toEqual(a);
		expect(first.events().filter((e) => e.accountId === s.accountId)).toHaveLength(2);
		expect(second.events().filter((e) => e.accountId === s.accountId)).toEqual([]);
		const mail = await db.select().from(devOutbox).where(eq(devOutbox.to, s.users.owner.email));
		expect(mail.filter((m) => m.subject.includes("found in public"))).toHaveLength(1);
	});

	it("refuses a report with no signature, another key's, a tampered body or an unknown key id, and revokes nothing", async () => {
		const s = await seedAccount(clock);
		const live = await createKey(t, s.users.owner.token, s.accountId, { name: "ci" });
		const body = report([live.secret]);
		const good = await signed(body);
		const attempts: RequestInit[] = [
			{ method: "POST", headers: { "Content-Type": "application/json" }, body },
			await signed(body, impostor),
			{ ...good, body: body.replace("config.js", "other.js") },
			await signed(body, github, "gh-unknown"),
			{ ...good, headers: { ...good.headers, "Github-Public-Key-Signature": "not base64 !" } },
			{ ...good, headers: { ...good.headers, "Github-Public-Key-Signature": btoa("\x30\x02\x02\x00") } },
		];
		for (const init of attempts) await expectProblem(await send(init), 401, "unauthorized");
		const row = await db.query.apiKeys.findFirst({ where: eq(apiKeys.id, live.key.id) });
		expect(row?.revokedAt).toBeNull();
	});

	it("checks the signature over the bytes as sent: spacing, key order, a BOM and a 300-token batch all verify", async () => {
		const s = await seedAccount(clock);
		const live = await createKey(t, s.users.owner.token, s.accountId, { name: "spaced" });
		const spaced = `[\n  { "url": "https://github.com/o/r/blob/1/a.env", "type": "keyward_api_key", "token": "${live.secret}" }\n]\n`;
		const res = await send(await signed(spaced));
		expect(res.status).toBe(200);
		expect((await res.json<{ label: string }[]>())[0]?.label).toBe("true_positive");

		const other = await createKey(t, s.users.owner.token, s.accountId, { name: "bom" });
		const bom = `\ufeff${report([other.secret])}`;
		expect((await send(await signed(bom))).status).toBe(200);
		const row = await db.query.apiKeys.findFirst({ where: eq(apiKeys.id, other.key.id) });
		expect(row?.revokedAt).not.toBeNull();

		// GitHub resends a refused batch whole: one over the API's usual 64 KiB limit must still go through.
		const many = report(Array.from({ length: 300 }, (_, i) => `kw_live_not-a-key-${i}-${"x".repeat(200)}`));
		expect(many.length).toBeGreaterThan(64 * 1024);
		const big = await send(await signed(many));
		expect(big.status).toBe(200);
		expect(await big.json()).toHaveLength(300);
	});

	it("a signed but malformed report is a 400 naming each bad field", async () => {
		const body = JSON.stringify([
			{ token: "", type: "x" },
			{ token: "a", type: "b", url: "u", extra: 1 },
		]);
		const problem = await expectProblem(await send(await signed(body)), 400, "validation");
		expect(problem.errors?.map((e) => e.path).sort()).toEqual(["0.token", "0.url"]);
		await expectProblem(await send(await signed("[]")), 400, "validation");
		await expectProblem(await send(await signed("{not json")), 400);
	});
});

describe("leakedKeyPolicy: rotate", () => {
	const clock = new ManualClock("2027-06-01T00:00:00Z");
	const t = testApp({ clock });
	const send = (init: RequestInit, audit = auditCapture()) =>
		t.request("/v1/secret-scanning/github", init, { GITHUB_SECRET_SCANNING_KEYS: KEYS, AUDIT_QUEUE: audit.queue });
	const verifyCodeOf = async (key: string) =>
		(
			await (
				await t.request("/v1/keys/verify", {
					method: "POST",
					headers: { "Content-Type": "application/json" },
					body: JSON.stringify({ key }),
				})
			).json<{ code: string }>()
		).code;

	it("is the owner's setting alone", async () => {
		const s = await seedAccount(clock);
		const patch = (token: string) =>
			t.request(`/v1/accounts/${s.accountId}`, {
				method: "PATCH",
				headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
				body: JSON.stringify({ settings: { leakedKeyPolicy: "rotate" } }),
			});
		const refused = await expectProblem(await patch(s.users.admin.token), 403);
		expect(refused.errors?.map((e) => e.path)).toEqual(["settings.leakedKeyPolicy"]);
		expect((await patch(s.users.owner.token)).status).toBe(200);
	});

	it("a leaked key works one more hour beside a successor whose secret its creator reveals once; a replay changes nothing", async () => {
		const s = await seedAccount(clock, { leakedKeyPolicy: "rotate" });
		const leaked = await createKey(t, s.users.member.token, s.accountId, { name: "deploy" });
		const audit = auditCapture();
		const request = await signed(report([leaked.secret]));
		const [verdict] = await (await send(request, audit)).json<{ label: string }[]>();
		expect(verdict?.label).toBe("true_positive");
		const old = await db.query.apiKeys.findFirst({ where: eq(apiKeys.id, leaked.key.id) });
		expect(old?.revokedAt).toBeNull();
		expect(old?.expiresAt.getTime()).toBe(clock.now().getTime() + 3_600_000);
		const successorId = old?.rotatedTo ?? "";
		const successor = await db.query.apiKeys.findFirst({ where: eq(apiKeys.id, successorId) });
		expect(successor?.createdBy).toBe(s.users.member.id);
		expect(successor?.revealSealed).toBeTruthy();
		expect(await verifyCodeOf(leaked.secret)).toBe("VALID");
		const events = audit.events().filter((e) => e.accountId === s.accountId);
		expect(events.map((e) => e.action).sort()).toEqual(["alert.key_leaked", "key.rotated"]);
		expect(events.find((e) => e.action === "alert.key_leaked")?.metadata).toMatchObject({
			action: "rotated",
			successorId,
		});
		// Nothing that left Keyward holds the successor's secret: not the events, not the emails.
		const mail = await db.select().from(devOutbox).where(eq(devOutbox.to, s.users.member.email));
		expect(mail.filter((m) => m.subject.includes("rotated"))).toHaveLength(1);

		const replay = auditCapture();
		await send(request, replay);
		expect(replay.events().filter((e) => e.accountId === s.accountId)).toEqual([]);

		const keyPath = `/v1/accounts/${s.accountId}/keys/${successorId}`;
		const shown = await t.request(keyPath, { headers: { Authorization: `Bearer ${s.users.member.token}` } });
		expect((await shown.json<{ key: { secretWaiting: boolean } }>()).key.secretWaiting).toBe(true);
		// Eight parallel reveals: exactly one gets the secret.
		const reveals = await Promise.all(
			Array.from({ length: 8 }, () =>
				t.request(`${keyPath}/reveal-secret`, {
					method: "POST",
					headers: { Authorization: `Bearer ${s.users.member.token}` },
				}),
			),
		);
		expect(reveals.map((r) => r.status).sort()).toEqual([200, 404, 404, 404, 404, 404, 404, 404]);
		const winner = reveals.find((r) => r.status === 200);
		const { secret, key } = await (winner as Response).json<{ secret: string; key: { secretWaiting: boolean } }>();
		expect(key.secretWaiting).toBe(false);
		expect(await verifyCodeOf(secret)).toBe("VALID");
		for (const m of mail) expect(m.text).not.toContain(secret);
		expect(JSON.stringify(audit.events())).not.toContain(secret);

		clock.advance(3_600_001);
		expect(await verifyCodeOf(leaked.secret)).not.toBe("VALID");
		expect(await verifyCodeOf(secret)).toBe("VALID");
	});

	it("revokes anyway a key that reaches the management API, even under rotate", async () => {
		const s = await seedAccount(clock, { leakedKeyPolicy: "rotate" });
		const admin = await createKey(t, s.users.admin.token, s.accountId, { name: "ops", scopes: ["keys:read"] });
		await send(await signed(report([admin.secret])));
		const row = await db.query.apiKeys.findFirst({ where: eq(apiKeys.id, admin.key.id) });
		expect(row?.revokedAt).not.toBeNull();
		expect(row?.rotatedTo).toBeNull();
	});
});

describe("GitHub's signature, piece by piece", () => {
	it("reads DER strictly: a wrong tag, length or trailing byte is no signature", () => {
		const raw = new Uint8Array(64).map((_, i) => i + 1);
		const der = rawToDer(raw);
		expect(derToRaw(der)).toEqual(raw);
		expect(derToRaw(new Uint8Array([0x31, ...der.subarray(1)]))).toBeNull();
		expect(derToRaw(new Uint8Array([...der, 0]))).toBeNull();
		expect(derToRaw(der.subarray(0, der.length - 1))).toBeNull();
		expect(derToRaw(new Uint8Array([0x30, 0]))).toBeNull();
	});

	it("fetches GitHub's key list once an hour, and an unknown key id refetches at most once a minute", async () => {
		let fetches = 0;
		const fetchKeys = (async () => {
			fetches++;
			return new Response(KEYS, { status: 200 });
		}) as unknown as typeof fetch;
		const body = '[{"token":"x","type":"t","url":"u"}]';
		const { headers } = await signed(body);
		const bytes = new Uint8Array(new TextEncoder().encode(body));
		const source = (now: number) => ({ url: "https://keys.example.com/scanning", fetch: fetchKeys, now });
		const sig = headers["Github-Public-Key-Signature"];
		expect(await verifyGithubSignature(source(0), "gh-test-1", sig, bytes)).toBe(true);
		expect(await verifyGithubSignature(source(1_000), "gh-test-1", sig, bytes)).toBe(true);
		expect(fetches).toBe(1);
		expect(await verifyGithubSignature(source(120_000), "gh-other", sig, bytes)).toBe(false);
		expect(await verifyGithubSignature(source(121_000), "gh-other", sig, bytes)).toBe(false);
		expect(fetches).toBe(2);
		expect(await verifyGithubSignature(source(3_800_000), "gh-test-1", sig, bytes)).toBe(true);
		expect(fetches).toBe(3);
	});
});
