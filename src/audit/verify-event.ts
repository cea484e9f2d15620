/**
 * A verify's audit event, recorded by the account's object inside the call
 * that decides the verdict (src/durable/account-guard.ts), so the Worker sends
 * nothing for it. The Worker drafts what it knows (who asked, from where,
 * under which request id); the object completes it with what only it knows
 * (the key, its account and the verdict) and stores it before it answers.
 * A key the object does not hold records nothing there: a made-up key cannot
 * write into an account's trail.
 */
import type { AuditEvent } from "./event";

/** The draft the Worker passes: an event whose account, key and verdict the object fills in. */
export type VerifyEventDraft = Omit<AuditEvent, "accountId">;

export interface VerifyFacts {
	accountId: string;
	keyId: string;
	code: string;
	decidedAt: number;
}

export function completeVerifyEvent(draft: VerifyEventDraft, facts: VerifyFacts): AuditEvent {
	const about = { keyId: facts.keyId, verdict: facts.code, decidedAt: facts.decidedAt, recordedBy: "account-object" };
	// `key.verified` (the service binding) is about the key and fails with the verdict; the HTTP
	// route's `http.request` succeeded as a request (200) whatever the verdict, as before.
	const ofKey = draft.action === "key.verified";
	return {
		...draft,
		accountId: facts.accountId,
		outcome: ofKey ? (facts.code === "VALID" ? "success" : "failure") : draft.outcome,
		target: ofKey ? { type: "key", id: facts.keyId } : draft.target,
		metadata: { ...draft.metadata, ...about },
	};
}
