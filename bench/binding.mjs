// Verify through a service binding versus over HTTP (issue #10), in one
// `wrangler dev` running the example customer API (examples/protected-api, on
// the port) with Keyward beside it. The example's two routes are one handler
// behind one middleware and differ only in how the key is checked:
//   /api/invoices   RPC to Keyward's KeywardVerifier entrypoint over the binding;
//   /http/invoices  POST /v1/keys/verify over real loopback HTTP: out of workerd,
//                   through wrangler's proxy and back in (to Keyward by the
//                   example's local-only /keyward passthrough, as Keyward has
//                   no port of its own in this setup).
// Same key, same load, same run; the rounds alternate (A B B A) so neither
// route always runs on a warmer machine.
import { json, signUpVerified, startStack } from "./stack.mjs";

const EXAMPLE = "examples/protected-api/wrangler.toml";
const SCENARIOS = {
	"example GET / (no verify)": "/",
	"verify via service binding (/api)": "/api/invoices",
	"verify over HTTP (/http)": "/http/invoices",
};

/** Signs up through the passthrough and creates a key with a limit no run reaches. */
async function benchKey(send) {
	const email = `bench-binding-${Date.now()}@example.com`;
	const { session, account } = await signUpVerified(
		send,
		{ email, password: "bench passphrase that is long", name: "Bench" },
		"/keyward",
	);
	const created = await send(
		`/keyward/v1/accounts/${account.id}/keys`,
		json(
			{
				name: "bench-binding",
				environment: "staging",
				scopes: ["invoices:read"],
				rateLimit: { limit: 1_000_000, windowSeconds: 60 },
			},
			{ Authorization: `Bearer ${session.token}` },
		),
	);
	if (created.status !== 201) throw new Error(`key creation failed: ${created.status}`);
	return created.json().secret;
}

const mean = (values) => values.reduce((a, b) => a + b, 0) / values.length;

/** Runs the comparison; returns one row per scenario and round, and the ratios. */
export async function bindingScenario({ port, state, requests, drive }) {
	const stack = await startStack({
		port,
		state,
		configs: [EXAMPLE, "wrangler.toml"],
		vars: { KEYWARD_DEV_PASSTHROUGH: "on", KEYWARD_URL: `http://127.0.0.1:${port}/keyward` },
		healthPath: "/keyward/health",
	});
	try {
		const secret = await benchKey(stack.send);
		const auth = { headers: { Authorization: `Bearer ${secret}` } };
		const request = (path) => () => stack.send(path, auth);
		for (const [name, path] of Object.entries(SCENARIOS)) {
			const res = await stack.send(path, auth);
			if (res.status !== 200) throw new Error(`${name}: ${res.status} ${res.text}`);
			await drive(Math.min(500, requests), request(path)); // warm-up, discarded
		}
		const [floor, binding, http] = Object.keys(SCENARIOS);
		const rows = [{ scenario: floor, ...(await drive(requests, request(SCENARIOS[floor]))) }];
		for (const order of [
			[binding, http],
			[http, binding],
		]) {
			for (const name of order) rows.push({ scenario: name, ...(await drive(requests, request(SCENARIOS[name]))) });
		}
		const of = (name, field) => mean(rows.filter((r) => r.scenario === name).map((r) => r[field]));
		const ratio = {
			scenario: "binding ÷ HTTP (mean of both rounds)",
			rps: +(of(binding, "rps") / of(http, "rps")).toFixed(2),
			p50: +(of(binding, "p50ms") / of(http, "p50ms")).toFixed(2),
			p99: +(of(binding, "p99ms") / of(http, "p99ms")).toFixed(2),
		};
		return { rows, ratio };
	} finally {
		await stack.stop();
	}
}
