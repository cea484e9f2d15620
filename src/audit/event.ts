/** The audit event of API.md §6, and the action names the product records. */
import { ALERT_NAMES } from "../alerts/names";

export const AUDIT_ACTIONS = [
	"http.request",
	"auth.signup",
	"auth.login.succeeded",
	"auth.login.failed",
	"auth.lockout",
	"auth.mfa.enabled",
	"auth.mfa.disabled",
	"auth.mfa.failed",
	"auth.password.changed",
	"auth.reauthenticated",
	"auth.mfa.fallback_used",
	"auth.mfa.recovery_codes_replaced",
	"auth.email_change.requested",
	"auth.email_change.confirmed",
	"auth.email_change.cancelled",
	"auth.new_device",
	"auth.not_me",
	"auth.breach_check_skipped",
	"auth.passkey.added",
	"auth.passkey.renamed",
	"auth.passkey.removed",
	"session.revoked",
	"member.invited",
	"member.joined",
	"member.role_changed",
	"member.removed",
	"account.settings_changed",
	"account.ownership_transferred",
	"account.lockdown",
	"account.lockdown_lifted",
	"account.created",
	"account.deleted",
	"member.invitation_cancelled",
	"key.created",
	"key.rotated",
	"key.revoked",
	"key.expired",
	"key.swept",
	"key.updated",
	"key.verified",
	"key.secret_revealed",
	"webhook.created",
	"webhook.deleted",
	"webhook.updated",
	"webhook.secret_rotated",
	"webhook.disabled",
	"webhook.tested",
	"webhook.redelivered",
	"log_stream.created",
	"log_stream.updated",
	"log_stream.deleted",
	"log_stream.disabled",
	"audit.read",
	"auth.data_exported",
	"user.erased",
	"key.inactivity_warned",
	"key.disabled",
	"key.enabled",
	"service_account.created",
	"service_account.updated",
	"service_account.deleted",
	"domain.added",
	"domain.verified",
	"domain.removed",
	"domain.record_missing",
	"domain.lapsed",
	"scim.user_provisioned",
	"scim.user_updated",
	"scim.user_deactivated",
	"scim.user_reactivated",
	"scim.user_deleted",
	"scim.group_created",
	"scim.group_updated",
	"scim.group_deleted",
	"sso.connection_created",
	"sso.connection_updated",
	"sso.connection_deleted",
	"auth.sso.failed",
	"auth.sso.break_glass",
	...ALERT_NAMES,
] as const;

export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** Events with no account (a failed login for an unknown email, say) go to this stream. */
export const SYSTEM_STREAM = "system";

export interface AuditActor {
	type: "user" | "key" | "system";
	id: string | null;
	ip: string | null;
	userAgent: string | null;
}

export interface AuditEvent {
	id: string;
	time: string;
	/** The account whose trail holds the event, or `system`. Not part of the public shape. */
	accountId: string;
	action: AuditAction;
	outcome: "success" | "failure";
	actor: AuditActor;
	target: { type: string; id: string } | null;
	requestId: string | null;
	metadata: Record<string, unknown>;
}

/** The public shape of API.md §6 (the routing field stays internal). */
export function publicAuditEvent(event: AuditEvent) {
	const { accountId: _accountId, ...rest } = event;
	return rest;
}

/** The key an event concerns, for the `keyId` filter: its target, its metadata, or the key that acted. */
export function keyIdOf(event: AuditEvent): string | null {
	if (event.target?.type === "key") return event.target.id;
	const fromMetadata = event.metadata.keyId;
	if (typeof fromMetadata === "string") return fromMetadata;
	return event.actor.type === "key" ? event.actor.id : null;
}
