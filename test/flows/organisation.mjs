// An organisation over HTTP, as the journey's sequences need one (issue #27): an owner who signed up
// and proved the address, and a domain verified through the journey's fake resolver.
import assert from "node:assert/strict";
import { signUpVerified } from "../../bench/stack.mjs";

const json = (body, headers = {}) => ({
	method: "POST",
	headers: { "Content-Type": "application/json", ...headers },
	body: JSON.stringify(body),
});

/** `send(path, init)` answers `{status, text, json()}`; the owner's address and the domain are named from `name`. */
export async function verifiedOrganisation(send, { name, password, publishTxt, stamp = Date.now() }) {
	const { session, account } = await signUpVerified(send, {
		email: `${name}-owner-${stamp}@example.com`,
		password,
		name: `${name} owner`,
	});
	const owner = { Authorization: `Bearer ${session.token}` };
	const domain = `${name}-${stamp}.example.com`;
	const claimed = await send(`/v1/accounts/${account.id}/domains`, json({ domain }, owner));
	assert.equal(claimed.status, 201, claimed.text);
	const { id: domainId, record } = claimed.json().domain;
	publishTxt(record.name, record.value);
	const verified = await send(`/v1/accounts/${account.id}/domains/${domainId}/verify`, {
		method: "POST",
		headers: owner,
	});
	assert.equal(verified.status, 200, verified.text);
	return { account, session, owner, domain };
}
