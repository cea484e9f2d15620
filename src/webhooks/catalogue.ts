/**
 * The webhook catalogue (issue #24): every audit action an endpoint can
 * receive, described once. It is derived from the audit actions, and the
 * `Record` type makes a new audit action fail to compile until it is
 * described here (or named as left out, with the reason).
 *
 * Subscriptions name events exactly (`key.revoked`), by group (`key.*`), or
 * all of them (`*`).
 */
import { AUDIT_ACTIONS, type AuditAction } from "../audit/event";

/**
 * Recorded once per request or per verify: an endpoint would receive the
 * account's whole traffic. They stay in the audit trail and its export; a
 * log stream, not a webhook, is the channel for volume.
 */
export const NOT_WEBHOOK_EVENTS = ["http.request", "key.verified"] as const satisfies readonly AuditAction[];

/** Sent only by `POST …/webhooks/{id}/test`, to that one endpoint; nobody subscribes to it. */
export const TEST_EVENT = "webhook.test";

export type WebhookEvent = Exclude<AuditAction, (typeof NOT_WEBHOOK_EVENTS)[number]>;

const DESCRIPTIONS: Record<WebhookEvent, string> = {
	"auth.signup": "A person signed up",
	"auth.login.succeeded": "A member signed in",
	"auth.login.failed": "A sign-in failed (wrong password or code)",
	"auth.lockout": "Sign-in was locked for a while after repeated failures",
	"auth.mfa.enabled": "A member turned on two-factor authentication",
	"auth.mfa.disabled": "A member turned off two-factor authentication",
	"auth.mfa.failed": "A second-factor code was wrong",
	"auth.password.changed": "A member changed or reset their password",
	"auth.reauthenticated": "A member proved their identity again before a sensitive action",
	"auth.mfa.fallback_used": "A member signed in with a recovery code or an email code",
	"auth.mfa.recovery_codes_replaced": "A member replaced their recovery codes",
	"auth.email_change.requested": "A member asked to change their email address",
	"auth.email_change.confirmed": "A member's new email address was confirmed",
	"auth.email_change.cancelled": "An email change was cancelled from the old address (a reported takeover)",
	"auth.new_device": "A member signed in from a device not seen before",
	"auth.not_me": "A member reported a sign-in as not theirs",
	"auth.breach_check_skipped": "The breached-password check could not run for a password",
	"auth.passkey.added": "A member added a passkey",
	"auth.passkey.renamed": "A member renamed a passkey",
	"auth.passkey.removed": "A member removed a passkey",
	"session.revoked": "A session was ended by its owner, an admin or an incident action",
	"member.invited": "Someone was invited to the account",
	"member.joined": "An invitation was accepted",
	"member.role_changed": "A member's role changed",
	"member.removed": "A member was removed (offboarded)",
	"member.invitation_cancelled": "An invitation was cancelled",
	"account.settings_changed": "The account's security settings changed",
	"account.ownership_transferred": "The account's ownership moved to another member",
	"account.lockdown": "The account was locked down",
	"account.lockdown_lifted": "A lockdown was lifted",
	"account.created": "The account was created",
	"account.deleted": "The account was deleted",
	"key.created": "An API key was created",
	"key.rotated": "An API key was rotated",
	"key.revoked": "An API key was revoked",
	"key.expired": "An API key reached its expiry",
	"key.swept": "An unused API key was revoked by the inactivity sweep",
	"key.updated": "An API key's settings changed",
	"key.inactivity_warned": "An API key's creator was warned that it will be swept for inactivity",
	"key.disabled": "An API key was disabled",
	"key.enabled": "An API key was enabled again",
	"key.secret_revealed": "The parked secret of a leaked key's successor was revealed, once",
	"webhook.created": "A webhook endpoint was added",
	"webhook.deleted": "A webhook endpoint was removed",
	"webhook.updated": "A webhook endpoint's events changed, or it was disabled or enabled by a person",
	"webhook.secret_rotated": "A webhook endpoint's signing secret was rotated",
	"webhook.disabled":
		"A webhook endpoint was disabled: its failure budget ran out, or the person who added it was demoted",
	"webhook.tested": "A test event was sent to a webhook endpoint",
	"webhook.redelivered": "A webhook delivery was sent again by a person",
	"log_stream.created": "A log stream was added: the audit archive is copied to a SIEM or bucket",
	"log_stream.updated": "A log stream was paused or resumed by a person",
	"log_stream.deleted": "A log stream was removed",
	"log_stream.disabled": "A log stream stopped because the person who added it was demoted or removed",
	"auth.data_exported": "A member exported everything Keyward holds about them (GET /v1/me/export)",
	"user.erased":
		"A person was erased (DELETE /v1/me, or an operator's privacy:erase; target `invitee` for an address that never became a user): counts only, no personal data; their memberships end with member.removed",
	"audit.read":
		"An owner or admin read other people's personal data unmasked: the audit log, its export or the member list",
	"service_account.created": "A service account was created",
	"service_account.updated": "A service account's name, description or role changed",
	"service_account.deleted": "A service account was deleted, with its keys",
	"domain.added": "The owner claimed an email domain (pending until its DNS record is found)",
	"domain.verified": "An email domain's DNS record was found: SCIM may provision its addresses",
	"domain.removed": "The owner gave an email domain up",
	"domain.record_missing":
		"A verified email domain's DNS record is no longer published (the daily re-check): it lapses in seven days",
	"domain.lapsed":
		"A verified email domain's record was missing for seven days: it is pending again, and routes no sign-ins",
	"scim.user_provisioned": "The identity provider added a person through SCIM",
	"scim.user_updated": "The identity provider changed a person's attributes or role through SCIM",
	"scim.user_deactivated":
		"The identity provider deactivated a person: their access and keys ended before it was answered",
	"scim.user_reactivated": "The identity provider reactivated a person",
	"scim.user_deleted": "The identity provider deleted a person from the account",
	"scim.group_created": "The identity provider pushed a group",
	"scim.group_updated": "The identity provider changed a group's name or members",
	"scim.group_deleted": "The identity provider deleted a group",
	"sso.connection_created": "The owner connected an OIDC identity provider for single sign-on",
	"sso.connection_updated": "The owner changed the single sign-on connection (issuer, client, scopes or role mapping)",
	"sso.connection_deleted": "The owner removed the single sign-on connection",
	"auth.sso.break_glass":
		"The owner signed in with a passkey or password and authenticator while single sign-on is enforced",
	"auth.sso.failed": "A single sign-on was refused (the reason names the check that failed)",
	"alert.failed_logins_spike": "Alert: failed sign-ins spiked",
	"alert.key_created": "Alert: an API key was created",
	"alert.member_changed": "Alert: a member joined, left or changed role",
	"alert.key_expiring": "Alert: an API key expires soon",
	"alert.lockdown": "Alert: the account was locked down",
	"alert.sso_break_glass": "Alert: the owner signed in without single sign-on while it is enforced (break-glass)",
	"alert.domain_lapsing": "Alert: a verified email domain's record went missing, or the domain lapsed",
	"alert.key_leaked": "Alert: a key was found in public (GitHub secret scanning) and revoked",
};

const excluded = new Set<string>(NOT_WEBHOOK_EVENTS);
/** In the order of the audit actions, so the catalogue reads like the trail. */
export const WEBHOOK_EVENTS = AUDIT_ACTIONS.filter((a): a is WebhookEvent => !excluded.has(a));

export const webhookEventDescription = (event: WebhookEvent): string => DESCRIPTIONS[event];

/** The part before the first dot: `key`, `member`, `auth` … */
export const groupOf = (event: string): string => event.slice(0, event.indexOf("."));

export const WEBHOOK_GROUPS = [...new Set(WEBHOOK_EVENTS.map(groupOf))];

const known = new Set<string>(WEBHOOK_EVENTS);
const groups = new Set<string>(WEBHOOK_GROUPS);

/** Whether `pattern` is something an endpoint may subscribe to: an event, `group.*` or `*`. */
export function isSubscriptionPattern(pattern: string): boolean {
	if (pattern === "*") return true;
	if (pattern.endsWith(".*")) return groups.has(pattern.slice(0, -2));
	return known.has(pattern);
}

/** Whether an endpoint subscribed to `patterns` receives `action`. */
export function subscribesTo(patterns: readonly string[], action: string): boolean {
	if (!known.has(action)) return false;
	return patterns.some((p) => p === "*" || p === action || (p.endsWith(".*") && groupOf(action) === p.slice(0, -2)));
}

export const isWebhookEvent = (action: string): action is WebhookEvent => known.has(action);
