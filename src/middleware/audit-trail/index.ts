import type { MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import { COALESCE_DEFAULT_WAIT_MS, coalescerFor } from "../../audit/coalescer";
import { AuditLog } from "../../audit/emitter";
import type { AppEnv } from "../../platform/app-env";

export interface AuditTrailOptions {
	log?: (line: string) => void;
	/**
	 * How long a request's events wait for other requests' before one `sendBatch` carries them all
	 * (`AUDIT_COALESCE_MS`, default 1000). 0 still gathers the requests of one turn of the event loop.
	 */
	coalesceMs?: (env: { AUDIT_COALESCE_MS?: string }) => number;
}

const coalesceWindow = (env: { AUDIT_COALESCE_MS?: string }): number => {
	const ms = Number(env.AUDIT_COALESCE_MS ?? COALESCE_DEFAULT_WAIT_MS);
	return Number.isFinite(ms) && ms >= 0 && ms <= 1000 ? ms : COALESCE_DEFAULT_WAIT_MS;
};

const header = (value: string | undefined, max: number): string | null => (value ? value.slice(0, max) : null);

/**
 * Gives the request its AuditLog and, whatever the outcome (errors, 404s and
 * refusals included), records exactly one `http.request` event (unless the route had
 * it stored elsewhere: verify's account object stores its own), then hands the
 * request's events to the isolate's coalescer, whose send the request's
 * waitUntil awaits. The event lands in the
 * trail of the account the request was authorised for, or the system stream.
 */
export const auditTrail =
	(options: AuditTrailOptions = {}): MiddlewareHandler<AppEnv> =>
	async (c, next) => {
		const { db, clock } = c.get("services");
		const started = Date.now();
		const audit = new AuditLog(
			{ queue: c.env.AUDIT_QUEUE, db, clock, log: options.log },
			{
				actor: {
					type: "user",
					id: null,
					ip: header(c.req.header("CF-Connecting-IP"), 64),
					userAgent: header(c.req.header("User-Agent"), 256),
				},
				requestId: c.get("requestId"),
			},
		);
		c.set("audit", audit);
		try {
			await next();
		} finally {
			const status = c.res.status;
			if (!(audit.requestEventStored && status === 200))
				audit.record({
					action: "http.request",
					accountId: audit.accountId,
					outcome: status < 400 ? "success" : "failure",
					metadata: {
						...audit.requestFacts,
						method: c.req.method,
						route: routePath(c, -1),
						path: c.req.path,
						status,
						durationMs: Date.now() - started,
					},
				});
			const sink = { queue: c.env.AUDIT_QUEUE, db, clock, log: options.log };
			const flushing = coalescerFor(sink, (options.coalesceMs ?? coalesceWindow)(c.env)).add(audit.take());
			try {
				c.executionCtx.waitUntil(flushing);
			} catch {
				await flushing; // no execution context (a bare app.request in a script): send inline
			}
		}
	};
