/**
 * A real HTTP receiver for webhook deliveries (issue #24), run by the test
 * configuration in Node beside workerd. The Worker reaches it through the
 * outbound service, which maps one public-looking name to this server, so the
 * SSRF guard is never relaxed for tests: the URL the Worker checks and calls
 * is `https://receiver.hooks-test.example/...`, as in production.
 *
 *   POST|PUT /r/<box>/...    records the request; answers the box's next scripted status (200 when none)
 *   PUT  /__script/<box>     {"statuses": [500, 500, 200]}: what the next posts to the box get
 *   GET  /__calls/<box>      the requests the box received, oldest first
 */
import { createServer } from "node:http";

export const RECEIVER_HOST = "receiver.hooks-test.example";
/** Datadog's US1 logs intake: its requests land in the receiver's `datadog` box (log streams, issue #24). */
export const DATADOG_INTAKE_HOST = "http-intake.logs.datadoghq.com";

export async function startReceiver() {
	/** @type {Map<string, {calls: object[], statuses: number[]}>} */
	const boxes = new Map();
	const box = (name) => {
		let found = boxes.get(name);
		if (!found) {
			found = { calls: [], statuses: [] };
			boxes.set(name, found);
		}
		return found;
	};
	const server = createServer((req, res) => {
		const chunks = [];
		req.on("data", (chunk) => chunks.push(chunk));
		req.on("end", () => {
			const body = Buffer.concat(chunks).toString("utf8");
			const [, kind, name] = (req.url ?? "").split("?")[0].split("/");
			const reply = (status, payload) => {
				res.writeHead(status, { "Content-Type": "application/json" });
				res.end(payload === undefined ? "" : JSON.stringify(payload));
			};
			if (!name) return reply(404, { error: "no box" });
			if (kind === "__script" && req.method === "PUT") {
				box(name).statuses = JSON.parse(body).statuses ?? [];
				return reply(204);
			}
			if (kind === "__calls" && req.method === "GET") return reply(200, box(name).calls);
			if (kind === "r" && (req.method === "POST" || req.method === "PUT")) {
				const target = box(name);
				target.calls.push({ method: req.method, path: req.url, headers: req.headers, body, at: Date.now() });
				return reply(target.statuses.shift() ?? 200, { ok: true });
			}
			return reply(404, { error: "unknown route" });
		});
	});
	await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
	// Never keeps the test run alive on its own.
	server.unref();
	const address = server.address();
	const origin = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
	return {
		origin,
		/** For miniflare's outbound service: requests to the receiver's name go to this server; nothing else leaves. */
		async forward(request) {
			const url = new URL(request.url);
			const path =
				url.hostname === RECEIVER_HOST
					? url.pathname
					: url.hostname === DATADOG_INTAKE_HOST
						? `/r/datadog${url.pathname}`
						: null;
			if (path === null) return null;
			const method = request.method;
			return fetch(`${origin}${path}${url.search}`, {
				method,
				headers: request.headers,
				body: method === "GET" || method === "HEAD" ? undefined : await request.arrayBuffer(),
				redirect: "manual",
			});
		},
		close: () => new Promise((resolve) => server.close(resolve)),
	};
}
