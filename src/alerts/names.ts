/**
 * The alerts Keyward raises (API.md §7), named once: the audit actions and
 * the webhook events both derive from this list, so an alert cannot be
 * raised that the trail does not know or a webhook cannot subscribe to.
 */
export const ALERT_NAMES = [
	"alert.failed_logins_spike",
	"alert.key_created",
	"alert.member_changed",
	"alert.key_expiring",
	"alert.lockdown",
	"alert.key_leaked",
	"alert.sso_break_glass",
	"alert.domain_lapsing",
] as const;

export type AlertName = (typeof ALERT_NAMES)[number];
