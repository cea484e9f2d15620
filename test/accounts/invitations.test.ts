import { describe, expect, it } from "vitest";
import { identityHarness } from "../support/identity";
import { expectProblem, jsonRequest } from "../support/request";

const verifiedUser = (h: ReturnType<typeof identityHarness>) => h.signupVerified();

const inviteToken = async (h: ReturnType<typeof identityHarness>, email: string) => {
	const mail = (await h.outbox(email)).find((m) => m.subject.includes("invited"));
	return /\n\n([a-z2-7]+)\n/.exec(mail?.text ?? "")?.[1] ?? "";
};

describe("invitations", () => {
	it("invite, accept with the matching verified email, single use, audited", async () => {
		const h = identityHarness();
		const owner = await verifiedUser(h);
		const invitee = await verifiedUser(h);
		const auth = (token: string) => ({ Authorization: `Bearer ${token}` });
		const created = await h.request(
			`/v1/accounts/${owner.accountId}/invitations`,
			jsonRequest("POST", { email: invitee.email, role: "member" }, auth(owner.token)),
		);
		expect(created.status).toBe(201);
		expect((await created.json<{ invitation: { email: string; role: string } }>()).invitation).toMatchObject({
			email: invitee.email,
			role: "member",
		});
		const token = await inviteToken(h, invitee.email);

		const stranger = await verifiedUser(h);
		await expectProblem(
			await h.request("/v1/invitations/accept", jsonRequest("POST", { token }, auth(stranger.token))),
			403,
		);
		const accepted = await h.request("/v1/invitations/accept", jsonRequest("POST", { token }, auth(invitee.token)));
		expect(accepted.status).toBe(200);
		expect((await accepted.json<{ membership: { accountId: string; role: string } }>()).membership).toMatchObject({
			accountId: owner.accountId,
			role: "member",
		});
		await expectProblem(
			await h.request("/v1/invitations/accept", jsonRequest("POST", { token }, auth(invitee.token))),
			400,
		);
		expect((await h.request(`/v1/accounts/${owner.accountId}`, { headers: auth(invitee.token) })).status).toBe(200);
		expect(h.audit.sent.some((e) => e.action === "member.joined" && e.accountId === owner.accountId)).toBe(true);
		// Inviting someone who is already a member is a conflict.
		await expectProblem(
			await h.request(
				`/v1/accounts/${owner.accountId}/invitations`,
				jsonRequest("POST", { email: invitee.email, role: "admin" }, auth(owner.token)),
			),
			409,
		);
	});

	it("an unverified email cannot accept; an expired, cancelled or replaced invitation does not work", async () => {
		const h = identityHarness();
		const owner = await verifiedUser(h);
		const auth = { Authorization: `Bearer ${owner.token}` };
		const unverified = await h.signup();
		await h.request(
			`/v1/accounts/${owner.accountId}/invitations`,
			jsonRequest("POST", { email: unverified.email, role: "readonly" }, auth),
		);
		const first = await inviteToken(h, unverified.email);
		await expectProblem(
			await h.request(
				"/v1/invitations/accept",
				jsonRequest("POST", { token: first }, { Authorization: `Bearer ${unverified.token}` }),
			),
			403,
		);

		const invitee = await verifiedUser(h);
		const invite = () =>
			h.request(
				`/v1/accounts/${owner.accountId}/invitations`,
				jsonRequest("POST", { email: invitee.email, role: "member" }, auth),
			);
		await invite();
		const replaced = await inviteToken(h, invitee.email);
		h.clock.advance(1000);
		const second = await invite();
		const current = await inviteToken(h, invitee.email);
		expect(current).not.toBe(replaced);
		const accept = (token: string) =>
			h.request("/v1/invitations/accept", jsonRequest("POST", { token }, { Authorization: `Bearer ${invitee.token}` }));
		await expectProblem(await accept(replaced), 400);
		const pending = await (await h.request(`/v1/accounts/${owner.accountId}/invitations`, { headers: auth })).json<{
			data: { id: string; email: string }[];
		}>();
		expect(pending.data.filter((i) => i.email === invitee.email)).toHaveLength(1);

		const { invitation } = await second.json<{ invitation: { id: string } }>();
		expect(
			(
				await h.request(`/v1/accounts/${owner.accountId}/invitations/${invitation.id}`, {
					method: "DELETE",
					headers: auth,
				})
			).status,
		).toBe(204);
		await expectProblem(await accept(current), 400);

		await invite();
		const late = await inviteToken(h, invitee.email);
		h.clock.advance(8 * 24 * 3_600_000);
		const fresh = (await (await h.login(invitee.email)).json<{ session: { token: string } }>()).session.token;
		const expired = await h.request(
			"/v1/invitations/accept",
			jsonRequest("POST", { token: late }, { Authorization: `Bearer ${fresh}` }),
		);
		await expectProblem(expired, 400);
	});

	it("an admin cannot invite above their own role, nor an owner", async () => {
		const h = identityHarness();
		const owner = await verifiedUser(h);
		const res = await h.request(
			`/v1/accounts/${owner.accountId}/invitations`,
			jsonRequest("POST", { email: "x@example.com", role: "owner" }, { Authorization: `Bearer ${owner.token}` }),
		);
		await expectProblem(res, 400, "validation");
	});
});
