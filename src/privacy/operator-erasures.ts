/**
 * Erasures an operator asked for with `npm run privacy:erase -- --user <id>` (or `--email`)
 * (scripts/privacy-erase.mjs), which writes a row to `erasure_requests`. The
 * cron runs each through the same lifecycle as `DELETE /v1/me`
 * (`eraseUser`, recorded as `user.erased` with `by: "operator"`), then writes
 * how it ended on the row, once, conditional on the row still being open.
 * A refusal (the person owns an account with others alone) is written there too;
 * the operator asks again after ownership moves.
 */
import { and, asc, eq, isNull } from "drizzle-orm";
import { AuditLog, type AuditRecordInput } from "../audit/emitter";
import type { Database } from "../db";
import { erasureRequests } from "../db/schema";
import { findUserByEmail } from "../identity/users";
import type { Mailer } from "../mail";
import type { Clock } from "../platform/clock";
import type { Env } from "../platform/env";
import { eraseAddress, eraseUser } from "./erasure";

/** Requests handled per cron run; the rest wait for the next. */
const PER_RUN = 10;

export async function runOperatorErasures(deps: {
	env: Env;
	db: Database;
	clock: Clock;
	mailer: Mailer;
}): Promise<{ handled: number; outcomes: string[] }> {
	const { env, db, clock } = deps;
	const open = await db
		.select()
		.from(erasureRequests)
		.where(isNull(erasureRequests.doneAt))
		.orderBy(asc(erasureRequests.requestedAt))
		.limit(PER_RUN);
	const outcomes: string[] = [];
	for (const request of open) {
		const audit = new AuditLog(
			{ queue: env.AUDIT_QUEUE, db, clock },
			{ actor: { type: "system", id: null, ip: null, userAgent: null }, requestId: request.id },
		);
		const now = clock.now();
		const erasure = { env, db, mailer: deps.mailer, now, record: (input: AuditRecordInput) => audit.record(input) };
		// By address: the user it belongs to, as by id; else the address alone (an invitee who asks).
		const owner = request.email ? await findUserByEmail(db, request.email) : undefined;
		const address = request.email && !owner ? await eraseAddress(erasure, request.email) : null;
		const userId = owner?.id ?? request.userId;
		const result = address ?? (await eraseUser(erasure, userId, "operator"));
		const outcome =
			result.kind === "refused"
				? `refused: sole owner of ${result.accounts.map((a) => a.accountId).join(", ")}`
				: result.kind;
		await audit.flush();
		// The row forgets the address: it keeps whom it erased (the user, or the invitee subject).
		await db
			.update(erasureRequests)
			.set({ doneAt: now, outcome, email: null, userId: address?.subject ?? userId })
			.where(and(eq(erasureRequests.id, request.id), isNull(erasureRequests.doneAt)));
		outcomes.push(outcome);
	}
	return { handled: open.length, outcomes };
}
