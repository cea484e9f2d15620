/**
 * Outgoing mail behind one interface. Development stores messages in the
 * outbox table (readable at /v1/dev/outbox); deployments post them to an HTTP
 * mail provider (Resend-compatible JSON: {from, to, subject, text}).
 */
import { desc, eq, sql } from "drizzle-orm";
import type { Database } from "../db";
import { devOutbox } from "../db/schema";
import type { Clock } from "../platform/clock";
import type { Env } from "../platform/env";
import { newId } from "../platform/ids";

export interface Email {
	to: string;
	subject: string;
	text: string;
}

export interface Mailer {
	send(email: Email): Promise<void>;
}

export class MailDeliveryError extends Error {
	constructor(readonly status: number) {
		super(`mail provider answered ${status}`);
		this.name = "MailDeliveryError";
	}
}

export class OutboxMailer implements Mailer {
	constructor(
		private readonly db: Database,
		private readonly clock: Clock,
	) {}

	async send(email: Email): Promise<void> {
		await this.db
			.insert(devOutbox)
			.values({ id: newId("msg"), ...email, to: email.to.toLowerCase(), sentAt: this.clock.now() });
	}

	/** Newest first. */
	async list(to: string, limit = 50) {
		return (
			this.db
				.select({ to: devOutbox.to, subject: devOutbox.subject, text: devOutbox.text, sentAt: devOutbox.sentAt })
				.from(devOutbox)
				.where(eq(devOutbox.to, to))
				// rowid breaks ties between emails sent in the same millisecond by insertion order.
				.orderBy(desc(devOutbox.sentAt), desc(sql`rowid`))
				.limit(limit)
		);
	}
}

export interface HttpMailerOptions {
	url: string;
	token: string;
	from: string;
	fetch?: typeof fetch;
	timeoutMs?: number;
}

export class HttpMailer implements Mailer {
	constructor(private readonly options: HttpMailerOptions) {}

	async send(email: Email): Promise<void> {
		const doFetch = this.options.fetch ?? fetch;
		const res = await doFetch(this.options.url, {
			method: "POST",
			headers: { Authorization: `Bearer ${this.options.token}`, "Content-Type": "application/json" },
			body: JSON.stringify({ from: this.options.from, to: [email.to], subject: email.subject, text: email.text }),
			redirect: "manual",
			signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
		});
		if (!res.ok) throw new MailDeliveryError(res.status);
	}
}

/**
 * A subject is one header line. Free text is refused with control characters at the API's edge
 * (FreeText); this is the second net for text that reached a subject another way.
 */
const oneLine = (subject: string): string => subject.replace(/[\p{Cc}\u2028\u2029]+/gu, " ");

export function createMailer(env: Env, db: Database, clock: Clock): Mailer {
	const inner =
		env.MAIL_TRANSPORT === "http"
			? new HttpMailer({ url: env.MAIL_API_URL, token: env.MAIL_API_TOKEN ?? "", from: env.MAIL_FROM })
			: new OutboxMailer(db, clock);
	return { send: (email) => inner.send({ ...email, subject: oneLine(email.subject) }) };
}

/**
 * For mail sent after the response (verification, reset, codes, notices): the
 * request does not fail, but the failure is logged (ASVS 16.3.4), by purpose
 * and error name only, never the address or the text, which may carry a code.
 */
export const logMailFailure =
	(purpose: string) =>
	(err: unknown): void => {
		const error = err instanceof Error ? err.name : "unknown";
		console.error(JSON.stringify({ level: "error", msg: "mail not sent", purpose, error }));
	};
