// SCIM as Okta drives it (issue #27), over HTTP against the real local stack the console journey
// runs: a new owner verifies a domain (through the journey's fake resolver), makes a `scim:write`
// key for an admin service account, and the provider creates a person, deactivates, reactivates,
// and moves them into a group mapped to admin. The person's session and key are real: after the
// deactivation their next request fails and their key verifies REVOKED; the service account's key
// stays VALID. Throws on the first difference.
import assert from "node:assert/strict";
import { verifiedOrganisation } from "./organisation.mjs";

const json = (body, headers = {}) => ({
	method: "POST",
	headers: { "Content-Type": "application/json", ...headers },
	body: JSON.stringify(body),
});

export async function scimOktaSequence({ base, publishTxt, password }) {
	const send = async (path, init) => {
		const res = await fetch(base + path, init);
		const text = await res.text();
		return { status: res.status, text, json: () => JSON.parse(text), type: res.headers.get("content-type") };
	};
	const stamp = Date.now();
	const { account, owner, domain } = await verifiedOrganisation(send, { name: "scim", password, publishTxt, stamp });

	const service = await send(
		`/v1/accounts/${account.id}/service-accounts`,
		json({ name: "okta-scim", role: "admin" }, owner),
	);
	assert.equal(service.status, 201, service.text);
	const serviceAccountId = service.json().serviceAccount.id;
	const keyFor = async (body, headers) => {
		const made = await send(`/v1/accounts/${account.id}/keys`, json({ environment: "staging", ...body }, headers));
		assert.equal(made.status, 201, made.text);
		return made.json().secret;
	};
	const scimKey = await keyFor({ name: "okta", scopes: ["scim:write"], owner: { serviceAccountId } }, owner);
	const serviceKey = await keyFor({ name: "worker", scopes: ["data:read"], owner: { serviceAccountId } }, owner);
	const scim = (method, path, body) =>
		send(`/scim/v2${path}`, {
			method,
			headers: { Authorization: `Bearer ${scimKey}`, "Content-Type": "application/scim+json" },
			body: body === undefined ? undefined : JSON.stringify(body),
		});
	const verify = async (key) => (await send("/v1/keys/verify", json({ key }))).json().code;

	// Okta: look the person up, then create them.
	const userName = `ada@${domain}`;
	const lookup = await scim(
		"GET",
		`/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}&startIndex=1&count=100`,
	);
	assert.equal(lookup.status, 200, lookup.text);
	assert.equal(lookup.json().totalResults, 0);
	const created = await scim("POST", "/Users", {
		schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"],
		userName,
		name: { givenName: "Ada", familyName: "Lovelace" },
		emails: [{ primary: true, value: userName, type: "work" }],
		active: true,
	});
	assert.equal(created.status, 201, created.text);
	assert.match(created.type ?? "", /^application\/scim\+json/);
	const ada = created.json();

	// Ada sets a password from her mailbox (she has none), signs in, and makes a key.
	const reset = await send("/v1/auth/password-reset", json({ email: userName }));
	assert.equal(reset.status, 202, reset.text);
	const mail = (await send(`/v1/dev/outbox?to=${encodeURIComponent(userName)}`))
		.json()
		.data.find((m) => m.subject.includes("reset"));
	const code = /\n\n([a-z2-7]+)\n/.exec(mail?.text ?? "")?.[1];
	const confirmed = await send("/v1/auth/password-reset/confirm", json({ token: code, newPassword: password }));
	assert.equal(confirmed.status, 204, confirmed.text);
	const login = await send("/v1/auth/login", json({ email: userName, password }));
	assert.equal(login.status, 200, login.text);
	const adaAuth = { Authorization: `Bearer ${login.json().session.token}` };
	assert.equal((await send(`/v1/accounts/${account.id}`, { headers: adaAuth })).status, 200);
	const adaKey = await keyFor({ name: "ada", scopes: ["data:read"] }, adaAuth);
	assert.equal(await verify(adaKey), "VALID");

	// Okta deactivates her: before the answer, her access and her key end; the service's key stays.
	const off = await scim("PATCH", `/Users/${ada.id}`, {
		schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
		Operations: [{ op: "replace", value: { active: false } }],
	});
	assert.equal(off.status, 200, off.text);
	assert.equal((await send(`/v1/accounts/${account.id}`, { headers: adaAuth })).status, 401);
	assert.equal(await verify(adaKey), "REVOKED");
	assert.equal(await verify(serviceKey), "VALID");

	// Reactivated, then pushed into a group mapped to admin.
	const mapped = await send(`/v1/accounts/${account.id}`, {
		method: "PATCH",
		headers: { "Content-Type": "application/json", ...owner },
		body: JSON.stringify({ settings: { scimGroupRoles: { "Keyward Admins": "admin" } } }),
	});
	assert.equal(mapped.status, 200, mapped.text);
	const on = await scim("PATCH", `/Users/${ada.id}`, { Operations: [{ op: "replace", value: { active: true } }] });
	assert.equal(on.status, 200, on.text);
	const group = await scim("POST", "/Groups", {
		schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"],
		displayName: "Keyward Admins",
		members: [],
	});
	assert.equal(group.status, 201, group.text);
	const pushed = await scim("PATCH", `/Groups/${group.json().id}`, {
		schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
		Operations: [{ op: "add", path: "members", value: [{ value: ada.id }] }],
	});
	assert.equal(pushed.status, 200, pushed.text);
	const members = (await send(`/v1/accounts/${account.id}/members`, { headers: owner })).json().data;
	assert.equal(members.find((m) => m.userId === ada.id)?.role, "admin");

	// A refusal, in SCIM's own error schema.
	const outside = await scim("POST", "/Users", { userName: "eve@elsewhere.example.com" });
	assert.equal(outside.status, 403);
	assert.deepEqual(outside.json().schemas, ["urn:ietf:params:scim:api:messages:2.0:Error"]);
	return { steps: 9 };
}
