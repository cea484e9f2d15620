/** The SDK's `verifyWebhook` on its own: what a receiver refuses, and why (issue #24). */
import { describe, expect, it } from "vitest";
import { verifyWebhook } from "../../sdk/src/webhook";
import { signWebhookBody } from "../../src/webhooks/signature";

const body = JSON.stringify({ id: "evt_mfrggzdfmztwq2lk", type: "key.revoked", accountId: "acc_mfrggzdfmztwq2lk" });
const secret = "whsec_receiver_test_secret";
const at = (unix: number) => () => new Date(unix * 1000);

describe("verifyWebhook", () => {
	it("accepts the signature Keyward makes, with either of two overlapping secrets, within the tolerance", async () => {
		const header = await signWebhookBody(["whsec_new", secret], body, 1_800_000_000);
		const headers = { "keyward-signature": header };
		await expect(verifyWebhook(secret, headers, body, { now: at(1_800_000_299) })).resolves.toMatchObject({
			type: "key.revoked",
		});
		await expect(
			verifyWebhook("whsec_new", new Headers(headers), body, { now: at(1_799_999_701) }),
		).resolves.toBeTruthy();
	});

	it("refuses a replay past the tolerance, a changed body, a wrong secret, and headers that are missing or malformed", async () => {
		const header = await signWebhookBody([secret], body, 1_800_000_000);
		const reasons = async (s: string, h: Record<string, string>, b: string, now: number, tolerance?: number) =>
			verifyWebhook(s, h, b, { now: at(now), toleranceSeconds: tolerance }).then(
				() => "accepted",
				(err: { reason: string }) => err.reason,
			);
		expect(await reasons(secret, { "Keyward-Signature": header }, body, 1_800_000_301)).toBe("stale");
		expect(await reasons(secret, { "Keyward-Signature": header }, body, 1_800_000_030, 10)).toBe("stale");
		expect(await reasons(secret, { "Keyward-Signature": header }, `${body} `, 1_800_000_000)).toBe("mismatch");
		expect(await reasons("whsec_other", { "Keyward-Signature": header }, body, 1_800_000_000)).toBe("mismatch");
		expect(await reasons(secret, {}, body, 1_800_000_000)).toBe("missing_signature");
		expect(await reasons(secret, { "Keyward-Signature": "t=abc,v1=zz" }, body, 1_800_000_000)).toBe(
			"malformed_signature",
		);
		expect(await reasons(secret, { "Keyward-Signature": header.replace(/v1=.*/, "") }, body, 1_800_000_000)).toBe(
			"malformed_signature",
		);
		const notJson = "not json";
		const signedText = await signWebhookBody([secret], notJson, 1_800_000_000);
		expect(await reasons(secret, { "Keyward-Signature": signedText }, notJson, 1_800_000_000)).toBe("malformed_body");
	});
});
