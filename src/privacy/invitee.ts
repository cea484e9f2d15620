/**
 * The data-key subject of an invited address (issue #26): an invitation is
 * about a person who may not be a user yet, so their address in the trail
 * (`member.invited`) is sealed under a key of its own, named by a keyed hash
 * of the address. The hash is keyed with PII_WRAPPING_KEY, so the name in the
 * event (`metadata.invitee`) tells a reader nothing about the address without
 * the secret. Erasing the user the address belongs to destroys that key too,
 * so what was recorded about them before they signed up goes with the rest.
 */
import { hmacSha256Hex } from "../security/digest";

// 80 bits of the keyed hash: plenty to tell addresses apart, and under the 24 characters of a run
// that the audit scrubber would take for a recovery code.
export const INVITEE_SUBJECT = /^eml_[0-9a-f]{20}$/;

export async function inviteeSubject(wrappingKey: string, normalizedEmail: string): Promise<string> {
	const mac = await hmacSha256Hex(wrappingKey, `keyward-invitee:${normalizedEmail.trim().toLowerCase()}`);
	return `eml_${mac.slice(0, 20)}`;
}
