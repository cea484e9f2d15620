import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// Tests run inside workerd with the real local bindings of wrangler.toml:
// D1 (migrations applied in test/setup.ts), Durable Objects, Queues and R2.
export default defineConfig(async () => {
	const migrations = await readD1Migrations("./migrations");
	return {
		plugins: [
			cloudflareTest({
				wrangler: { configPath: "./wrangler.toml" },
				miniflare: {
					bindings: {
						TEST_MIGRATIONS: migrations,
						KEY_PEPPER: "dGVzdC1vbmx5LWtleS1wZXBwZXItMzItYnl0ZXMtbG9uZyE=",
						TOTP_ENCRYPTION_KEY: "dGVzdC1vbmx5LXRvdHAta2V5LTMyLWJ5dGVzLWxvbmchIQ==",
					},
				},
			}),
		],
		test: {
			setupFiles: ["./test/setup.ts"],
			include: ["test/**/*.test.ts"],
		},
	};
});
