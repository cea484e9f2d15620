/**
 * The bare floor the bench measures Keyward against (issue #20): a Hono
 * Worker with one JSON route and nothing else, served by the same runtime
 * with the same compatibility settings. Every latency scenario is reported
 * as a ratio to this Worker's `/health` in the same round.
 *
 * `/object` is the floor of what issue #20's design itself asks of a verify:
 * one call to a Durable Object that makes one durable write (a counter row
 * bumped) before it answers, and nothing else. A verify cannot cost less
 * than that (its rate limits and revocations live in the account's object,
 * and its audit event is stored there before the answer), so the bench
 * reports warm verify against it too: what Keyward's own code adds.
 */
import { DurableObject } from "cloudflare:workers";
import { Hono } from "hono";

interface FloorEnv {
	FLOOR_OBJECT: DurableObjectNamespace<FloorObject>;
}

export class FloorObject extends DurableObject<FloorEnv> {
	constructor(ctx: DurableObjectState, env: FloorEnv) {
		super(ctx, env);
		ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS hits (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)");
	}

	/** One durable write, then the answer (the output gate holds it until the write is stored). */
	hit(): { n: number } {
		return this.ctx.storage.sql
			.exec<{ n: number }>("INSERT INTO hits (id, n) VALUES (1, 1) ON CONFLICT(id) DO UPDATE SET n = n + 1 RETURNING n")
			.one();
	}
}

const app = new Hono<{ Bindings: FloorEnv }>();
app.get("/health", (c) => c.json({ status: "ok" }));
app.get("/object", async (c) => {
	const stub = c.env.FLOOR_OBJECT.get(c.env.FLOOR_OBJECT.idFromName("floor"));
	return c.json(await stub.hit());
});

export default app;
