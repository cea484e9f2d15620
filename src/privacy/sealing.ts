/**
 * Crypto-shredding in the audit trail (issue #26). Before an event is chained
 * and indexed, each personal field is replaced by a sealed token under the
 * data key of the person it belongs to:
 *
 * - the acting user's address and user agent, under the actor's key;
 * - personal values in the metadata (emails, names, addresses), under the key
 *   of the user the event is about (its `user` target), else the actor's.
 *
 * Token: `pii:v1:<userId>:<iv>.<ciphertext>` (base64), AES-256-GCM with the
 * event id as associated data, so a token moved to another event does not
 * open. The chain hashes the tokens; reads open them while the key exists and
 * show `[erased]` once it is destroyed. Events of keys and of the system name
 * no person and stay as recorded (already scrubbed and masked).
 */
import type { AuditEvent } from "../audit/event";
import { IP_NAME, normalise, PERSONAL_NAME } from "../audit/scrub";
import type { DataKey } from "./data-keys";
import { INVITEE_SUBJECT } from "./invitee";

export const ERASED = "[erased]";

const PREFIX = "pii:v1:";
const TOKEN = /^pii:v1:([^:]+):([A-Za-z0-9+/=]+)\.([A-Za-z0-9+/=]+)$/;
const EMAIL = /[^\s@"'<>(),;:]+@[^\s@"'<>(),;:]+\.[^\s@"'<>(),;:]+/;
// Metadata field names (normalised) whose string values name or place a person: the scrubber's
// personal and address names, plus the ones it masks by value (emails) or keeps (user agents).
const PERSONAL_FIELD = new Set([...PERSONAL_NAME, ...IP_NAME, "email", "newemail", "oldemail", "useragent"]);

const b64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
const unb64 = (text: string) => Uint8Array.from(atob(text), (ch) => ch.charCodeAt(0));

/** The person whose actor fields (address, user agent) an event holds, if a person acted. */
const actorSubject = (event: Pick<AuditEvent, "actor">): string | null =>
	event.actor.type === "user" && event.actor.id ? event.actor.id : null;

/** The person whose personal metadata an event holds: the user it is about, else the acting user. */
/**
 * Whose personal metadata an event holds: the user it is about, else an invited address named by
 * `metadata.invitee` (src/privacy/invitee.ts), else the actor.
 */
const metadataSubject = (event: Pick<AuditEvent, "actor" | "target" | "metadata">): string | null => {
	if (event.target?.type === "user") return event.target.id;
	const invitee = event.metadata?.invitee;
	if (event.target?.type === "invitation" && typeof invitee === "string" && INVITEE_SUBJECT.test(invitee))
		return invitee;
	return actorSubject(event);
};

/** Everyone whose data key sealing these events needs. */
export function sealingSubjects(events: AuditEvent[]): Set<string> {
	const subjects = new Set<string>();
	for (const event of events) {
		const actor = actorSubject(event);
		if (actor && (event.actor.ip !== null || event.actor.userAgent !== null)) subjects.add(actor);
		const about = metadataSubject(event);
		if (about && (hasPersonalMetadata(event.metadata, "") || freeTextOf(event).length > 0)) subjects.add(about);
	}
	return subjects;
}

/**
 * Free text a person typed that can name someone ("locked down: Jane Doe's laptop was stolen"):
 * sealed whole, under the event's metadata subject, by action and top-level field. The other
 * `reason` fields are Keyward's own constants and stay readable.
 */
const FREE_TEXT: Readonly<Record<string, readonly string[]>> = {
	"account.lockdown": ["reason"],
};

const freeTextOf = (event: Pick<AuditEvent, "action" | "metadata">): string[] =>
	(FREE_TEXT[event.action] ?? []).filter((field) => typeof event.metadata?.[field] === "string");

const isPersonal = (field: string, value: string): boolean => PERSONAL_FIELD.has(normalise(field)) || EMAIL.test(value);

function hasPersonalMetadata(value: unknown, field: string): boolean {
	if (typeof value === "string") return isPersonal(field, value);
	if (Array.isArray(value)) return value.some((item) => hasPersonalMetadata(item, field));
	if (value && typeof value === "object") return Object.entries(value).some(([k, v]) => hasPersonalMetadata(v, k));
	return false;
}

async function sealValue(key: DataKey | undefined, subject: string, eventId: string, value: string): Promise<string> {
	if (key === null) return ERASED;
	if (key === undefined) throw new Error("no data key for a subject being sealed");
	const iv = crypto.getRandomValues(new Uint8Array(12));
	const ciphertext = await crypto.subtle.encrypt(
		{ name: "AES-GCM", iv, additionalData: new TextEncoder().encode(eventId) },
		key,
		new TextEncoder().encode(value),
	);
	return `${PREFIX}${subject}:${b64(iv)}.${b64(new Uint8Array(ciphertext))}`;
}

/**
 * The metadata with its personal strings sealed: those `isPersonal` picks anywhere, and at the top
 * level the event's free-text fields (`FREE_TEXT`) whatever they hold.
 */
async function sealMetadata(
	value: unknown,
	field: string,
	seal: (text: string) => Promise<string>,
	freeText: readonly string[] = [],
): Promise<unknown> {
	if (typeof value === "string") return isPersonal(field, value) ? seal(value) : value;
	if (Array.isArray(value)) return Promise.all(value.map((item) => sealMetadata(item, field, seal)));
	if (value && typeof value === "object") {
		const entries = await Promise.all(
			Object.entries(value).map(
				async ([k, v]) =>
					[k, typeof v === "string" && freeText.includes(k) ? await seal(v) : await sealMetadata(v, k, seal)] as const,
			),
		);
		return Object.fromEntries(entries);
	}
	return value;
}

/**
 * The event with its personal fields sealed under `keys` (from `dataKeysForSealing`): a person
 * already erased gets `[erased]` in place of the value.
 */
export async function sealEvent(event: AuditEvent, keys: Map<string, DataKey>): Promise<AuditEvent> {
	const actor = actorSubject(event);
	const about = metadataSubject(event);
	const sealAs = (subject: string) => (text: string) => sealValue(keys.get(subject), subject, event.id, text);
	const [ip, userAgent, metadata] = await Promise.all([
		actor && event.actor.ip !== null ? sealAs(actor)(event.actor.ip) : event.actor.ip,
		actor && event.actor.userAgent !== null ? sealAs(actor)(event.actor.userAgent) : event.actor.userAgent,
		about ? sealMetadata(event.metadata, "", sealAs(about), freeTextOf(event)) : event.metadata,
	]);
	return { ...event, actor: { ...event.actor, ip, userAgent }, metadata: metadata as Record<string, unknown> };
}

/** What reading needs of an event: where a person's sealed fields can be. */
export type SealableEvent = Pick<AuditEvent, "id" | "actor" | "target" | "metadata">;

const tokenSubject = (value: unknown): string | null =>
	typeof value === "string" && value.startsWith(PREFIX) ? (TOKEN.exec(value)?.[1] ?? null) : null;

function holdsTokenOf(value: unknown, subject: string): boolean {
	if (typeof value === "string") return tokenSubject(value) === subject;
	if (Array.isArray(value)) return value.some((item) => holdsTokenOf(item, subject));
	if (value && typeof value === "object") return Object.values(value).some((v) => holdsTokenOf(v, subject));
	return false;
}

/**
 * Everyone whose data key opening these events needs. Only the places sealing writes are looked at,
 * for the person sealing would have used: a token-shaped string anywhere else (a key's name, a user
 * agent sent by a key) is text, never opened.
 */
export function sealedSubjects(event: SealableEvent, into = new Set<string>()): Set<string> {
	const actor = actorSubject(event);
	if (actor && (tokenSubject(event.actor.ip) === actor || tokenSubject(event.actor.userAgent) === actor))
		into.add(actor);
	const about = metadataSubject(event);
	if (about && holdsTokenOf(event.metadata, about)) into.add(about);
	return into;
}

async function openValue(keys: Map<string, DataKey>, eventId: string, value: string): Promise<string> {
	const match = TOKEN.exec(value);
	if (!match?.[1] || !match[2] || !match[3]) return value;
	const key = keys.get(match[1]);
	if (!key) return ERASED;
	try {
		const plaintext = await crypto.subtle.decrypt(
			{ name: "AES-GCM", iv: unb64(match[2]), additionalData: new TextEncoder().encode(eventId) },
			key,
			unb64(match[3]),
		);
		return new TextDecoder().decode(plaintext);
	} catch {
		// Moved from another event, or altered: not this event's value.
		return ERASED;
	}
}

async function openDeep(value: unknown, open: (text: string) => Promise<string>): Promise<unknown> {
	if (typeof value === "string") return open(value);
	if (Array.isArray(value)) return Promise.all(value.map((item) => openDeep(item, open)));
	if (value && typeof value === "object") {
		const entries = await Promise.all(
			Object.entries(value).map(async ([k, v]) => [k, await openDeep(v, open)] as const),
		);
		return Object.fromEntries(entries);
	}
	return value;
}

/**
 * The event with its sealed fields opened, or `[erased]` where their person's key is gone. A field
 * opens only where sealing puts it and for the person sealing would have used, so a token copied
 * into someone else's event, or into text a caller chose, is never opened with another's key.
 */
export async function openEvent<E extends SealableEvent>(event: E, keys: Map<string, DataKey>): Promise<E> {
	const opener = (subject: string | null) => (text: string) =>
		subject !== null && tokenSubject(text) === subject ? openValue(keys, event.id, text) : Promise.resolve(text);
	const actor = actorSubject(event);
	const about = metadataSubject(event);
	const [ip, userAgent, metadata] = await Promise.all([
		event.actor.ip === null ? null : opener(actor)(event.actor.ip),
		event.actor.userAgent === null ? null : opener(actor)(event.actor.userAgent),
		openDeep(event.metadata, opener(about)),
	]);
	return { ...event, actor: { ...event.actor, ip, userAgent }, metadata: metadata as Record<string, unknown> };
}
