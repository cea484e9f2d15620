/**
 * Peer Worker for bench/peer.mjs: Better Auth's API-key plugin on D1, on the same local runtime
 * as Keyward. Routes: GET /health, POST /setup (dev only: a user and one API key), POST /verify.
 */
import { Hono } from "hono";
import { createAuth } from "./auth";

type Env = { DB: D1Database; BETTER_AUTH_SECRET: string; ENVIRONMENT: string };

const app = new Hono<{ Bindings: Env }>();

// One Better Auth instance per isolate (built on first use), not one per request: the peer is
// measured at its best, as a Worker that keeps its instance warm would run it.
let auth: ReturnType<typeof createAuth> | undefined;
const getAuth = (env: Env) => (auth ??= createAuth(env));

app.get("/health", (c) => c.text("ok"));

app.post("/setup", async (c) => {
	if (c.env.ENVIRONMENT !== "development") return c.text("not found", 404);
	const auth = getAuth(c.env);
	const email = `peer-${Date.now()}-${Math.random().toString(36).slice(2)}@example.com`;
	const signUp = await auth.api.signUpEmail({
		body: { email, password: "peer bench passphrase that is long", name: "Peer" },
	});
	const created = await auth.api.createApiKey({ body: { userId: signUp.user.id, name: "bench" } });
	return c.json({ key: created.key, id: created.id, userId: signUp.user.id });
});

app.post("/verify", async (c) => {
	const { key } = await c.req.json<{ key: string }>();
	const auth = getAuth(c.env);
	const result = await auth.api.verifyApiKey({ body: { key } });
	return c.json(result, result.valid ? 200 : 401);
});

export default app;
