/**
 * The bare floor the bench measures Keyward against (issue #20): a Hono
 * Worker with one JSON route and nothing else, served by the same runtime
 * with the same compatibility settings. Every latency scenario is reported
 * as a ratio to this Worker's `/health` in the same round.
 */
import { Hono } from "hono";

const app = new Hono();
app.get("/health", (c) => c.json({ status: "ok" }));

export default app;
