import { createExecutionContext, createMessageBatch, env, getQueueResult, runInDurableObject } from "cloudflare:test";
import type { AuditEvent } from "../../src/audit/event";
import { eventsOf } from "../../src/audit/packets";
import type { Role } from "../../src/auth/permissions";
import type { Principal } from "../../src/auth/principal";
import type { AccountGuard } from "../../src/durable/account-guard";
import worker from "../../src/index";
import { newId } from "../../src/platform/ids";

/** A real queue binding, observed: every sendBatch is recorded, then passed on (or refused, to inject a fault). */
export function observedQueue(options: { fail?: boolean } = {}) {
	const sent: AuditEvent[] = [];
	const queue = {
		async send(): Promise<void> {
			throw new Error("use sendBatch");
		},
		async sendBatch(messages: Iterable<MessageSendRequest<unknown>>): Promise<void> {
			if (options.fail) throw new Error("queue unavailable");
			const list = [...messages];
			// Bodies are packets of events (src/audit/packets.ts): record the events.
			sent.push(...list.flatMap((m) => eventsOf(m.body) ?? []));
			await env.AUDIT_QUEUE.sendBatch(list);
		},
	} as unknown as Queue;
	return { queue, sent };
}

export const uniqueAccount = () => newId("acc");

export function principal(accountId: string, role: Role, id = newId("usr")): Principal {
	return { type: "user", id, userId: id, memberships: [{ accountId, role }] };
}

/** Maps test bearer tokens to principals; stands in for sessions until identity exists. */
export const tokenAuthenticator =
	(tokens: Record<string, Principal>) => async (c: { req: { header(name: string): string | undefined } }) => {
		const token = /^Bearer (.+)$/.exec(c.req.header("Authorization") ?? "")?.[1];
		return (token && tokens[token]) || null;
	};

export function syntheticEvent(accountId: string, overrides: Partial<AuditEvent> = {}): AuditEvent {
	return {
		id: newId("evt"),
		time: new Date().toISOString(),
		accountId,
		action: "key.created",
		outcome: "success",
		actor: { type: "user", id: "usr_a", ip: "203.0.113.9", userAgent: "test" },
		target: { type: "key", id: "key_1" },
		requestId: "req_test",
		metadata: {},
		...overrides,
	};
}

/** Delivers events to the audit consumer through the Worker's queue entry, as the runtime would. */
export async function deliver(events: AuditEvent[], attempts = 1, queueName = "keyward-audit") {
	const batch = createMessageBatch<AuditEvent>(
		queueName,
		events.map((body, i) => ({ id: `msg-${body.id}-${attempts}-${i}`, timestamp: new Date(), attempts, body })),
	);
	const ctx = createExecutionContext();
	await worker.queue(batch as MessageBatch, env, ctx);
	return getQueueResult(batch, ctx);
}

export async function listArchive(stream: string) {
	const listed = await env.AUDIT_ARCHIVE.list({ prefix: `audit/${stream}/` });
	return Promise.all(
		listed.objects.map(async (o) => ({
			key: o.key,
			bytes: new Uint8Array(await ((await env.AUDIT_ARCHIVE.get(o.key)) as R2ObjectBody).arrayBuffer()),
		})),
	);
}

export async function archivedEventIds(stream: string): Promise<string[]> {
	const objects = await listArchive(stream);
	return objects.flatMap((o) =>
		new TextDecoder()
			.decode(o.bytes)
			.split("\n")
			.slice(1)
			.filter(Boolean)
			.map((line) => (JSON.parse(line) as AuditEvent).id),
	);
}

/** The audit events an account's object has stored and not yet sent (verify's: src/durable/event-store.ts). */
export async function storedInAccountObject(accountId: string): Promise<AuditEvent[]> {
	const stub = env.ACCOUNT_GUARD.get(env.ACCOUNT_GUARD.idFromName(accountId));
	return runInDurableObject(stub, (guard: AccountGuard) => guard.events.list(10_000));
}
