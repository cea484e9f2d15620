/**
 * One problem path for every method of the client, against the real app: the
 * table's type names every operation, so a method added to the client without
 * a case here fails the typecheck. Each call must reject with a KeywardError
 * whose problem is the RFC 9457 document the API sent.
 */
import { describe, expect, it } from "vitest";
import { type KeywardClient, KeywardError } from "../../sdk/src/index.js";
import type { Operations } from "../../sdk/src/operations.js";
import { ManualClock } from "../../src/platform/clock";
import { testApp } from "../support/app";
import { appFetch, sdkClient } from "./helpers";

const clock = new ManualClock("2026-09-01T00:00:00Z");
const t = testApp({ clock, log: () => {} });
// No retries: every status here is final, and a 503 must come back at once.
const anonymous = sdkClient(t.app, { retry: { retries: 0 } });
const misconfigured = sdkClient(t.app, {
	fetch: appFetch(t.app, { KEY_PEPPER: undefined }),
	retry: { retries: 0 },
});

type Case = [status: number, call: (kw: KeywardClient) => Promise<unknown>];
type ProblemTable = { [G in keyof Operations]: { [N in keyof Operations[G]]: Case } };

const accountId = "acc_aaaaaaaaaaaaaaaa";
const unauthenticated = 401;
const invalid = 400;

const table: ProblemTable = {
	service: { health: [503, () => misconfigured.service.health()] },
	dev: {
		outbox: [invalid, (kw) => kw.dev.outbox({ query: { to: "not-an-email" } })],
		auditStats: [invalid, (kw) => kw.dev.auditStats({ query: { stream: "" } })],
		objectStats: [invalid, (kw) => kw.dev.objectStats({ query: { accountId: "" } })],
	},
	auth: {
		signup: [invalid, (kw) => kw.auth.signup({ body: { email: "nope", password: "short", name: "" } })],
		verifyEmail: [unauthenticated, (kw) => kw.auth.verifyEmail({ body: { token: "" } })],
		resendVerification: [unauthenticated, (kw) => kw.auth.resendVerification()],
		confirmEmailChange: [invalid, (kw) => kw.auth.confirmEmailChange({ body: { token: "" } })],
		cancelEmailChange: [invalid, (kw) => kw.auth.cancelEmailChange({ body: { token: "" } })],
		notMe: [invalid, (kw) => kw.auth.notMe({ body: { token: "" } })],
		login: [invalid, (kw) => kw.auth.login({ body: { email: "nope", password: "" } })],
		logout: [unauthenticated, (kw) => kw.auth.logout()],
		sendEmailCode: [invalid, (kw) => kw.auth.sendEmailCode({ body: { challengeToken: "" } })],
		passkeyMfaOptions: [invalid, (kw) => kw.auth.passkeyMfaOptions({ body: { challengeToken: "" } })],
		passkeyOptions: [503, () => misconfigured.auth.passkeyOptions()],
		passkeySignIn: [
			invalid,
			(kw) =>
				kw.auth.passkeySignIn({
					body: {
						credential: {
							id: "x",
							rawId: "x",
							type: "public-key",
							response: { clientDataJSON: "", authenticatorData: "", signature: "" },
						},
					},
				}),
		],
		verifyMfa: [invalid, (kw) => kw.auth.verifyMfa({ body: { challengeToken: "", method: "totp", code: "" } })],
		requestPasswordReset: [invalid, (kw) => kw.auth.requestPasswordReset({ body: { email: "nope" } })],
		confirmPasswordReset: [invalid, (kw) => kw.auth.confirmPasswordReset({ body: { token: "", newPassword: "" } })],
	},
	me: {
		get: [unauthenticated, (kw) => kw.me.get()],
		exportData: [unauthenticated, (kw) => kw.me.exportData()],
		erase: [unauthenticated, (kw) => kw.me.erase()],
		changePassword: [
			unauthenticated,
			(kw) => kw.me.changePassword({ body: { currentPassword: "x", newPassword: "long enough passphrase" } }),
		],
		startTotp: [unauthenticated, (kw) => kw.me.startTotp({ body: { password: "x" } })],
		confirmTotp: [unauthenticated, (kw) => kw.me.confirmTotp({ body: { code: "123456" } })],
		disableTotp: [unauthenticated, (kw) => kw.me.disableTotp({ body: { password: "x", code: "123456" } })],
		replaceTotp: [
			unauthenticated,
			(kw) => kw.me.replaceTotp({ body: { password: "x", recoveryCode: "abcd-efgh-jkmn-pqrs-tvwx-yz01" } }),
		],
		regenerateRecoveryCodes: [
			unauthenticated,
			(kw) => kw.me.regenerateRecoveryCodes({ body: { password: "x", code: "123456" } }),
		],
		passkeyOptions: [unauthenticated, (kw) => kw.me.passkeyOptions()],
		addPasskey: [
			unauthenticated,
			(kw) =>
				kw.me.addPasskey({
					body: {
						name: "Laptop",
						credential: {
							id: "x",
							rawId: "x",
							type: "public-key",
							response: { clientDataJSON: "e30", attestationObject: "oA" },
						},
					},
				}),
		],
		listPasskeys: [unauthenticated, (kw) => kw.me.listPasskeys()],
		renamePasskey: [unauthenticated, (kw) => kw.me.renamePasskey({ passkeyId: "pky_x", body: { name: "x" } })],
		removePasskey: [unauthenticated, (kw) => kw.me.removePasskey({ passkeyId: "pky_x" })],
		listSessions: [unauthenticated, (kw) => kw.me.listSessions()],
		revokeSession: [unauthenticated, (kw) => kw.me.revokeSession({ sessionId: "ses_x" })],
		revokeOtherSessions: [unauthenticated, (kw) => kw.me.revokeOtherSessions()],
		reauthenticate: [unauthenticated, (kw) => kw.me.reauthenticate({ body: { password: "x" } })],
		reauthenticateWithSso: [unauthenticated, (kw) => kw.me.reauthenticateWithSso({ body: {} })],
		changeEmail: [unauthenticated, (kw) => kw.me.changeEmail({ body: { email: "new@example.com" } })],
	},
	accounts: {
		create: [unauthenticated, (kw) => kw.accounts.create({ body: { name: "x" } })],
		get: [unauthenticated, (kw) => kw.accounts.get({ accountId })],
		update: [unauthenticated, (kw) => kw.accounts.update({ accountId, body: { name: "x" } })],
		delete: [unauthenticated, (kw) => kw.accounts.delete({ accountId })],
		transferOwnership: [
			unauthenticated,
			(kw) => kw.accounts.transferOwnership({ accountId, body: { userId: "usr_x" } }),
		],
		securityReport: [unauthenticated, (kw) => kw.accounts.securityReport({ accountId })],
		lockdown: [unauthenticated, (kw) => kw.accounts.lockdown({ accountId, body: { reason: "x" } })],
		liftLockdown: [unauthenticated, (kw) => kw.accounts.liftLockdown({ accountId, body: { reason: "x" } })],
	},
	members: {
		list: [unauthenticated, (kw) => kw.members.list({ accountId })],
		update: [unauthenticated, (kw) => kw.members.update({ accountId, userId: "usr_x", body: { role: "member" } })],
		remove: [unauthenticated, (kw) => kw.members.remove({ accountId, userId: "usr_x" })],
	},
	sso: {
		listConnections: [unauthenticated, (kw) => kw.sso.listConnections({ accountId })],
		connect: [
			unauthenticated,
			(kw) =>
				kw.sso.connect({ accountId, body: { issuer: "https://acme.okta.com", clientId: "a", clientSecret: "b" } }),
		],
		updateConnection: [
			unauthenticated,
			(kw) => kw.sso.updateConnection({ accountId, connectionId: "sso_x", body: { clientId: "a" } }),
		],
		removeConnection: [unauthenticated, (kw) => kw.sso.removeConnection({ accountId, connectionId: "sso_x" })],
		listSamlConnections: [unauthenticated, (kw) => kw.sso.listSamlConnections({ accountId })],
		connectSaml: [
			unauthenticated,
			(kw) =>
				kw.sso.connectSaml({
					accountId,
					body: { idpEntityId: "https://idp.example.com", ssoUrl: "https://idp.example.com/sso", certificate: "x" },
				}),
		],
		updateSamlConnection: [
			unauthenticated,
			(kw) => kw.sso.updateSamlConnection({ accountId, connectionId: "sso_x", body: { idpEntityId: "x" } }),
		],
		removeSamlConnection: [unauthenticated, (kw) => kw.sso.removeSamlConnection({ accountId, connectionId: "sso_x" })],
		start: [invalid, (kw) => kw.sso.start({ query: { email: "not-an-email" } })],
		callback: [unauthenticated, (kw) => kw.sso.callback({ query: { state: "unknown", code: "x" } })],
		samlMetadata: [invalid, (kw) => kw.sso.samlMetadata({ connectionId: "not-an-id" })],
		samlAcs: [invalid, (kw) => kw.sso.samlAcs({ connectionId: "not-an-id" })],
	},
	domains: {
		list: [unauthenticated, (kw) => kw.domains.list({ accountId })],
		add: [unauthenticated, (kw) => kw.domains.add({ accountId, body: { domain: "example.com" } })],
		verify: [unauthenticated, (kw) => kw.domains.verify({ accountId, domainId: "dom_x" })],
		remove: [unauthenticated, (kw) => kw.domains.remove({ accountId, domainId: "dom_x" })],
	},
	// SCIM answers in its own error schema; the client turns it into the same problem.
	scim: {
		listUsers: [unauthenticated, (kw) => kw.scim.listUsers()],
		createUser: [unauthenticated, (kw) => kw.scim.createUser({ body: { userName: "ada@example.com" } })],
		getUser: [unauthenticated, (kw) => kw.scim.getUser({ id: "usr_x" })],
		replaceUser: [unauthenticated, (kw) => kw.scim.replaceUser({ id: "usr_x", body: { userName: "ada@example.com" } })],
		patchUser: [
			unauthenticated,
			(kw) =>
				kw.scim.patchUser({ id: "usr_x", body: { Operations: [{ op: "replace", path: "active", value: false }] } }),
		],
		deleteUser: [unauthenticated, (kw) => kw.scim.deleteUser({ id: "usr_x" })],
		listGroups: [unauthenticated, (kw) => kw.scim.listGroups()],
		createGroup: [unauthenticated, (kw) => kw.scim.createGroup({ body: { displayName: "Engineering" } })],
		getGroup: [unauthenticated, (kw) => kw.scim.getGroup({ id: "grp_x" })],
		replaceGroup: [
			unauthenticated,
			(kw) => kw.scim.replaceGroup({ id: "grp_x", body: { displayName: "Engineering" } }),
		],
		patchGroup: [
			unauthenticated,
			(kw) => kw.scim.patchGroup({ id: "grp_x", body: { Operations: [{ op: "add", path: "members", value: [] }] } }),
		],
		deleteGroup: [unauthenticated, (kw) => kw.scim.deleteGroup({ id: "grp_x" })],
		serviceProviderConfig: [unauthenticated, (kw) => kw.scim.serviceProviderConfig()],
		resourceTypes: [unauthenticated, (kw) => kw.scim.resourceTypes()],
		schemas: [unauthenticated, (kw) => kw.scim.schemas()],
	},
	serviceAccounts: {
		create: [
			unauthenticated,
			(kw) => kw.serviceAccounts.create({ accountId, body: { name: "billing", role: "member" } }),
		],
		list: [unauthenticated, (kw) => kw.serviceAccounts.list({ accountId })],
		get: [unauthenticated, (kw) => kw.serviceAccounts.get({ accountId, serviceAccountId: "svc_x" })],
		update: [
			unauthenticated,
			(kw) => kw.serviceAccounts.update({ accountId, serviceAccountId: "svc_x", body: { name: "x" } }),
		],
		delete: [unauthenticated, (kw) => kw.serviceAccounts.delete({ accountId, serviceAccountId: "svc_x" })],
	},
	invitations: {
		create: [
			unauthenticated,
			(kw) => kw.invitations.create({ accountId, body: { email: "a@example.com", role: "member" } }),
		],
		list: [unauthenticated, (kw) => kw.invitations.list({ accountId })],
		cancel: [unauthenticated, (kw) => kw.invitations.cancel({ accountId, invitationId: "inv_x" })],
		preview: [invalid, (kw) => kw.invitations.preview({ body: { token: "x" } })],
		accept: [unauthenticated, (kw) => kw.invitations.accept({ body: { token: "x" } })],
	},
	keys: {
		create: [
			unauthenticated,
			(kw) => kw.keys.create({ accountId, body: { name: "x", environment: "ci", scopes: ["a:b"] } }),
		],
		list: [unauthenticated, (kw) => kw.keys.list({ accountId })],
		get: [unauthenticated, (kw) => kw.keys.get({ accountId, keyId: "key_x" })],
		update: [unauthenticated, (kw) => kw.keys.update({ accountId, keyId: "key_x", body: { name: "y" } })],
		rotate: [unauthenticated, (kw) => kw.keys.rotate({ accountId, keyId: "key_x", body: {} })],
		revoke: [unauthenticated, (kw) => kw.keys.revoke({ accountId, keyId: "key_x", body: { reason: "x" } })],
		revealSecret: [unauthenticated, (kw) => kw.keys.revealSecret({ accountId, keyId: "key_x" })],
		verify: [invalid, (kw) => kw.keys.verify({ body: { key: "" } })],
	},
	auditEvents: {
		list: [unauthenticated, (kw) => kw.auditEvents.list({ accountId })],
		export: [unauthenticated, (kw) => kw.auditEvents.export({ accountId })],
	},
	secretScanning: {
		// Unsigned: only GitHub's signature opens it.
		github: [
			unauthenticated,
			(kw) =>
				kw.secretScanning.github({ body: [{ token: "kw_live_x", type: "keyward", url: "https://github.com/x" }] }),
		],
	},
	webhooks: {
		create: [
			unauthenticated,
			(kw) =>
				kw.webhooks.create({ accountId, body: { url: "https://hooks.example.com/x", events: ["alert.lockdown"] } }),
		],
		list: [unauthenticated, (kw) => kw.webhooks.list({ accountId })],
		delete: [unauthenticated, (kw) => kw.webhooks.delete({ accountId, webhookId: "whk_x" })],
		deliveries: [unauthenticated, (kw) => kw.webhooks.deliveries({ accountId, webhookId: "whk_x" })],
		get: [unauthenticated, (kw) => kw.webhooks.get({ accountId, webhookId: "whk_x" })],
		update: [unauthenticated, (kw) => kw.webhooks.update({ accountId, webhookId: "whk_x", body: { enabled: true } })],
		rotateSecret: [unauthenticated, (kw) => kw.webhooks.rotateSecret({ accountId, webhookId: "whk_x", body: {} })],
		test: [unauthenticated, (kw) => kw.webhooks.test({ accountId, webhookId: "whk_x" })],
		redeliver: [unauthenticated, (kw) => kw.webhooks.redeliver({ accountId, webhookId: "whk_x", deliveryId: "dlv_x" })],
		// Public, so only a misconfigured deployment makes it a problem.
		events: [503, () => misconfigured.webhooks.events()],
	},
	logStreams: {
		create: [
			unauthenticated,
			(kw) =>
				kw.logStreams.create({ accountId, body: { type: "http", url: "https://logs.example.com/x", auth: "hmac" } }),
		],
		list: [unauthenticated, (kw) => kw.logStreams.list({ accountId })],
		get: [unauthenticated, (kw) => kw.logStreams.get({ accountId, streamId: "lgs_x" })],
		update: [unauthenticated, (kw) => kw.logStreams.update({ accountId, streamId: "lgs_x", body: { enabled: false } })],
		delete: [unauthenticated, (kw) => kw.logStreams.delete({ accountId, streamId: "lgs_x" })],
	},
};

const cases = Object.entries(table).flatMap(([group, methods]) =>
	Object.entries(methods as Record<string, Case>).map(([name, [status, call]]) => ({
		name: `${group}.${name}`,
		status,
		call,
	})),
);

describe("SDK client: every method surfaces its problem", () => {
	it.each(cases)("$name → $status", async ({ status, call }) => {
		const err = await call(anonymous).then(
			() => null,
			(e: unknown) => e,
		);
		expect(err).toBeInstanceOf(KeywardError);
		const { problem } = err as KeywardError;
		expect(problem.status).toBe(status);
		expect(problem.type).toMatch(/^https:\/\/keyward\.dev\/problems\/[a-z-]+$/);
		expect(problem.requestId).toMatch(/^req_/);
		if (status === 400) expect(problem.errors?.length).toBeGreaterThan(0);
	});
});
