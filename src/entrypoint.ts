/**
 * Verify over a service binding (issue #10): a Worker on the same Cloudflare
 * account binds to this named entrypoint and calls `verify()` as an RPC, with
 * no public HTTP hop. It is `POST /v1/keys/verify` without HTTP: the same zod
 * schema, the same configuration refusal, the same `verifyApiKey`, the same
 * verdict body and rate-limit headers; only the envelope differs, since an RPC
 * has no status line. Nothing is thrown across the binding: a bad input or an
 * outage comes back as the problem document the HTTP route would have sent.
 */
import { WorkerEntrypoint } from "cloudflare:workers";
import { draftEvent, sendAuditEvents } from "./audit/emitter";
import { completeVerifyEvent } from "./audit/verify-event";
import { createDatabase } from "./db";
import { VerifyBody } from "./keys/schemas";
import { type VerifyVerdict, verifyApiKey } from "./keys/verify";
import { configurationProblems } from "./middleware/config-guard";
import { newRequestId } from "./middleware/request-id";
import { systemClock } from "./platform/clock";
import type { Env } from "./platform/env";
import {
	ApiError,
	asApiError,
	errorFrames,
	fieldErrorsFromZod,
	type ProblemDocument,
	problemBody,
	validationError,
} from "./problems";

export type VerifyRpcResult =
	| {
			ok: true;
			/** Exactly the body `POST /v1/keys/verify` answers with. */
			result: VerifyVerdict;
			/** The rate-limit headers that route sends (API.md §1), for the caller to forward. */
			headers: Record<string, string>;
	  }
	| { ok: false; problem: ProblemDocument };

export class KeywardVerifier extends WorkerEntrypoint<Env> {
	/** The body of `POST /v1/keys/verify`, as an RPC: `{ key, requiredScopes?, ip? }`. */
	async verify(input: unknown): Promise<VerifyRpcResult> {
		const requestId = newRequestId();
		try {
			const problems = configurationProblems(this.env);
			if (problems.length > 0) {
				logLine({ level: "error", msg: "refusing to verify: unsafe configuration", requestId, problems });
				return refused(new ApiError("service-unavailable", { detail: "The service is misconfigured" }), requestId);
			}
			const parsed = VerifyBody.safeParse(input);
			if (!parsed.success) return refused(validationError(fieldErrorsFromZod(parsed.error.issues)), requestId);
			const now = systemClock.now();
			// The verdict's `key.verified` event is completed and stored by the key's account object in
			// the verify call, and sent by its alarm: a verify over the binding sends nothing from here.
			const draft = draftEvent(
				{ actor: { type: "system", id: null, ip: null, userAgent: null }, requestId },
				{ action: "key.verified", metadata: { transport: "service-binding" } },
				now,
			);
			const { body, headers, key, recorded } = await verifyApiKey(this.env, parsed.data, now, draft);
			// The object stores no more while it holds too many unsent events: then this sends it (or
			// keeps it in the outbox), as the HTTP route's middleware does.
			if (key && !recorded) {
				const event = completeVerifyEvent(draft, {
					accountId: key.accountId,
					keyId: key.keyId,
					code: key.code,
					decidedAt: key.decidedAt,
				});
				const sink = { queue: this.env.AUDIT_QUEUE, db: createDatabase(this.env.DB), clock: systemClock };
				this.ctx.waitUntil(sendAuditEvents(sink, [event]));
			}
			return { ok: true, result: body, headers };
		} catch (err) {
			const problem = asApiError(err);
			// Name and call frames only, as the HTTP app logs them: a message can quote the key.
			if (problem.status >= 500) logLine({ level: "error", msg: "verify failed", requestId, error: errorFrames(err) });
			return refused(problem, requestId);
		}
	}
}

const refused = (error: ApiError, requestId: string): VerifyRpcResult => ({
	ok: false,
	problem: problemBody(error, requestId),
});

const logLine = (entry: Record<string, unknown>): void => console.log(JSON.stringify(entry));
