/**
 * A customer's API protected by Keyward. Every route under /api needs a key
 * with `invoices:read`; Keyward checks it through the KEYWARD service binding
 * (wrangler.toml), and the handler reads the verified key from the context.
 * /http/* is the same API checking keys over Keyward's public HTTP API, for
 * comparison (and the way a Worker on another account, or any other runtime,
 * would do it).
 */
import type { KeywardBinding } from "@keyward/sdk";
import { keyward } from "@keyward/sdk/hono";
import { type Context, Hono } from "hono";

type Env = {
	Bindings: {
		KEYWARD: KeywardBinding;
		KEYWARD_API: Fetcher;
		KEYWARD_URL: string;
		KEYWARD_DEV_PASSTHROUGH: string;
	};
};

const app = new Hono<Env>();

app.use("/api/*", keyward<Env>({ service: (c) => c.env.KEYWARD, requiredScopes: ["invoices:read"] }));
app.use("/http/*", keyward<Env>({ service: (c) => c.env.KEYWARD_URL, requiredScopes: ["invoices:read"] }));

function listInvoices(c: Context<Env>): Response {
	const { accountId, keyId } = c.get("keyward");
	return c.json({ accountId, keyId, invoices: [{ id: "inv_1", total: 4200, currency: "EUR" }] });
}
app.get("/api/invoices", listInvoices);
app.get("/http/invoices", listInvoices);

app.get("/", (c) => c.text("GET /api/invoices with Authorization: Bearer <a Keyward key with invoices:read>\n"));

// Local development only: when one `wrangler dev` runs this Worker and Keyward, only this one has a
// port, so Keyward's API (to sign up and create a key) is reached here, at /keyward/v1/...
app.all("/keyward/*", (c) => {
	if (c.env.KEYWARD_DEV_PASSTHROUGH !== "on") return c.notFound();
	const url = new URL(c.req.url);
	url.pathname = url.pathname.slice("/keyward".length);
	return c.env.KEYWARD_API.fetch(new Request(url, c.req.raw));
});

export default app;
