// Serves the Worker like `wrangler dev`, through wrangler's own programmatic API
// (`unstable_startWorker`), with the devtools inspector off. The `wrangler dev`
// command always attaches the V8 debugger to the runtime (its inspector proxy
// sends Runtime/Debugger/Network.enable on every reload); production has no
// debugger attached, so the bench can measure both ways (bench/stack.mjs).
//
//   node bench/serve.mjs <port> <persist-dir> [wrangler config, default wrangler.toml]
import { unstable_startWorker } from "wrangler";

const [port, persist, config = "wrangler.toml"] = process.argv.slice(2);
// Variable overrides from bench/stack.mjs (what `wrangler dev --var` would set).
const vars = JSON.parse(process.env.BENCH_VARS || "{}");
const worker = await unstable_startWorker({
	config,
	bindings: Object.fromEntries(Object.entries(vars).map(([name, value]) => [name, { type: "plain_text", value }])),
	dev: {
		server: { hostname: "127.0.0.1", port: Number(port) },
		inspector: false,
		persist,
		logLevel: "error",
		watch: false,
	},
});
await worker.ready;
const stop = async () => {
	await worker.dispose();
	process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
