/**
 * `GET /v1/me/export` (issue #26): everything Keyward holds about the caller,
 * as one JSON document, streamed so a long history never sits in memory:
 * profile, sessions, second factors (never their secrets), memberships,
 * invitations sent to or by them, the keys they made (never a secret or a
 * hash), and the audit events they acted in or were the target of, from the
 * audit index (the account's `auditIndexDays`; older events are in the
 * archive only).
 */
import { and, asc, eq, gt, isNull, or, sql } from "drizzle-orm";
import type { AuditEvent } from "../audit/event";
import { maskIp } from "../audit/masking";
import type { Database } from "../db";
import { apiKeys, auditEvents, invitations, recoveryCodes } from "../db/schema";
import { userSessions } from "../durable/address";
import { publicKey } from "../keys/records";
import type { Env } from "../platform/env";
import { openEvents } from "../privacy/events";
import { ERASED } from "../privacy/sealing";
import { listPasskeys, publicPasskey } from "./passkeys";
import { publicSession } from "./sessions";
import { membershipsOf, publicUser, type UserRow } from "./users";

/** Audit events read per query while streaming. */
const EVENTS_PAGE = 500;

export const EXPORT_FORMAT = "keyward.personal-data-export";

/** The document up to its `auditEvents`, which are streamed after it. */
export async function exportHead(env: Env, db: Database, user: UserRow, now: Date) {
	const [memberships, sessions, passkeys, unusedCodes, keys, received, sent] = await Promise.all([
		membershipsOf(db, user.id),
		userSessions(env, user.id).listSessions(now.getTime()),
		listPasskeys(db, user.id),
		db
			.select({ n: sql<number>`COUNT(*)` })
			.from(recoveryCodes)
			.where(and(eq(recoveryCodes.userId, user.id), isNull(recoveryCodes.usedAt))),
		db.select().from(apiKeys).where(eq(apiKeys.createdBy, user.id)).orderBy(asc(apiKeys.createdAt)),
		// Invitations to the address only once it is proven theirs: whoever signs up with someone
		// else's address must not learn who invited it, where, or as what.
		user.emailVerifiedAt ? db.select().from(invitations).where(eq(invitations.email, user.email)) : Promise.resolve([]),
		db.select().from(invitations).where(eq(invitations.invitedBy, user.id)),
	]);
	const invitation = (i: typeof invitations.$inferSelect) => ({
		id: i.id,
		accountId: i.accountId,
		email: i.email,
		role: i.role,
		invitedBy: i.invitedBy,
		createdAt: i.createdAt.toISOString(),
		expiresAt: i.expiresAt.toISOString(),
	});
	return {
		format: EXPORT_FORMAT,
		version: 1,
		exportedAt: now.toISOString(),
		user: {
			...publicUser(user),
			emailVerifiedAt: user.emailVerifiedAt?.toISOString() ?? null,
		},
		secondFactors: {
			totp: user.totpSecret !== null,
			passkeys: passkeys.map(publicPasskey),
			recoveryCodesUnused: Number(unusedCodes[0]?.n ?? 0),
		},
		memberships: memberships.map((m) => ({ accountId: m.accountId, accountName: m.accountName, role: m.role })),
		sessions: sessions.map((s) => publicSession(s, null)),
		invitations: { received: received.map(invitation), sent: sent.map(invitation) },
		keys: keys.map((k) => ({ accountId: k.accountId, ...publicKey(k, now) })),
	};
}

/**
 * The audit events the user acted in or was the target of, oldest first, a page at a time, their
 * sealed fields opened (issue #26).
 */
export async function* personalAuditEvents(
	db: Database,
	wrappingKey: string,
	userId: string,
): AsyncGenerator<string[]> {
	let after: { time: Date; id: string } | null = null;
	for (;;) {
		const mine = or(
			eq(auditEvents.actorId, userId),
			and(eq(auditEvents.targetType, "user"), eq(auditEvents.targetId, userId)),
		);
		const page: { id: string; time: Date; body: string }[] = await db
			.select({ id: auditEvents.id, time: auditEvents.time, body: auditEvents.body })
			.from(auditEvents)
			.where(
				after
					? and(
							mine,
							or(gt(auditEvents.time, after.time), and(eq(auditEvents.time, after.time), gt(auditEvents.id, after.id))),
						)
					: mine,
			)
			.orderBy(asc(auditEvents.time), asc(auditEvents.id))
			.limit(EVENTS_PAGE);
		if (page.length === 0) return;
		const opened = await openEvents(
			db,
			wrappingKey,
			page.map((r) => JSON.parse(r.body) as AuditEvent),
		);
		yield opened.map((event) => JSON.stringify(event));
		const last = page.at(-1);
		if (!last || page.length < EVENTS_PAGE) return;
		after = { time: last.time, id: last.id };
	}
}

/** The whole document as a stream of bytes: the head, then the events, then the closing brace. */
export function exportStream(
	head: object,
	userId: string,
	events: AsyncGenerator<string[]>,
): ReadableStream<Uint8Array> {
	const encoder = new TextEncoder();
	const opening = JSON.stringify(head).slice(0, -1);
	let first = true;
	let state: "head" | "events" | "done" = "head";
	return new ReadableStream<Uint8Array>({
		async pull(controller) {
			if (state === "head") {
				controller.enqueue(encoder.encode(`${opening},"auditEvents":[`));
				state = "events";
				return;
			}
			if (state === "done") return;
			const next = await events.next();
			if (next.done) {
				controller.enqueue(encoder.encode("]}\n"));
				controller.close();
				state = "done";
				return;
			}
			// Each stored body is the event as recorded (already scrubbed). Where someone else acted on
			// the user, that person's address and browser are theirs, not the user's: masked.
			const lines = next.value.map((body) => {
				const event = JSON.parse(body) as { actor: { id: string | null; ip: string | null; userAgent: string | null } };
				if (event.actor.id === userId) return body;
				return JSON.stringify({
					...event,
					actor: {
						...event.actor,
						ip: event.actor.ip === null || event.actor.ip === ERASED ? event.actor.ip : maskIp(event.actor.ip),
						userAgent: null,
					},
				});
			});
			controller.enqueue(encoder.encode(`${first ? "" : ","}${lines.join(",")}`));
			first = false;
		},
	});
}
