import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { startReceiver } from "./test/support/receiver-server.mjs";

// Tests run inside workerd with the real local bindings of wrangler.toml:
// D1 (migrations applied in test/setup.ts), Durable Objects, Queues and R2.
export default defineConfig(async () => {
	const migrations = await readD1Migrations("./migrations");
	const receiver = await startReceiver();
	return {
		plugins: [
			cloudflareTest({
				wrangler: { configPath: "./wrangler.toml" },
				miniflare: {
					// The outside world: no test reaches the network. Webhook deliveries the real queue
					// consumer makes in the background land here. One public-looking name leads to a real
					// HTTP receiver this process runs (test/support/receiver-server.mjs), so tests of
					// deliveries go over HTTP without the SSRF guard ever allowing loopback.
					outboundService: async (request) => (await receiver.forward(request)) ?? new Response(null, { status: 204 }),
					// A real service binding to this Worker's own named entrypoint, as a customer's Worker
					// would bind to Keyward's (issue #10); the SDK tests call verify through it.
					serviceBindings: { KEYWARD: { name: "keyward", entrypoint: "KeywardVerifier" } },
					bindings: {
						TEST_MIGRATIONS: migrations,
						// Audit events of concurrent requests still share a send; the coalescing window itself
						// (1 s in deployment) is tested in test/audit/coalescer.test.ts.
						AUDIT_COALESCE_MS: "0",
						// Verify's events wait in the account's object until its alarm; the tests read them there,
						// or run the alarm themselves (test/durable/verify-events.test.ts), rather than race it.
						AUDIT_OBJECT_FLUSH_MS: "600000",
						FUZZ_RUNS: process.env.FUZZ_RUNS ?? "",
						FUZZ_SEED: process.env.FUZZ_SEED ?? "",
						// `npm run sim` prints the simulation's figures (test/sim/global.test.ts).
						SIM_REPORT: process.env.SIM_REPORT ?? "",
						KEY_PEPPER: "dGVzdC1vbmx5LWtleS1wZXBwZXItMzItYnl0ZXMhISE=",
						TOTP_ENCRYPTION_KEY: "dGVzdC1vbmx5LXRvdHAta2V5LWlzLTMyLWJ5dGVzISE=",
						PII_WRAPPING_KEY: "dGVzdC1vbmx5LXBpaS13cmFwcGluZy1rZXktMzJiISE=",
					},
				},
			}),
		],
		test: {
			setupFiles: ["./test/setup.ts"],
			include: ["test/**/*.test.ts"],
			// Identity tests run dozens of real scrypt hashes (~130 ms each); under a loaded machine 5 s is too tight.
			testTimeout: 30_000,
		},
	};
});
