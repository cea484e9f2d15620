// SCIM deprovisioning (issue #27), one call at a time as an identity provider makes them: how long
// a deactivation takes to answer (membership removed, the person's keys revoked in the account's
// Durable Object and in D1, every session ended) and a reactivation, beside the bare floor at the
// same concurrency (one), and the server CPU each costs.
//
//   npm run bench -- scim
import { createServer } from "node:http";
import { createBenchKey, json, percentile, serverCpuMs, signUpVerified } from "./stack.mjs";

/** A fake DNS-over-HTTPS resolver (the outside world) holding the TXT records the bench publishes. */
export async function startFakeResolver() {
	const records = new Map();
	const server = createServer((req, res) => {
		const url = new URL(req.url ?? "/", "http://127.0.0.1");
		const name = url.searchParams.get("name") ?? "";
		const found = records.get(name);
		res.setHeader("Content-Type", "application/dns-json");
		res.end(
			JSON.stringify({
				Status: found ? 0 : 3,
				Answer: (found ?? []).map((data) => ({ name, type: 16, TTL: 60, data: `"${data}"` })),
			}),
		);
	});
	await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
	return {
		url: `http://127.0.0.1:${server.address().port}/dns-query`,
		publish: (name, value) => records.set(name, [value]),
		close: () => server.close(),
	};
}

const SCIM = { "Content-Type": "application/scim+json" };

/** Latency of `count` calls made one after another, each built by `request(i)`. */
async function sequential(count, request) {
	const latencies = [];
	const statuses = new Map();
	for (let i = 0; i < count; i++) {
		const started = performance.now();
		const res = await request(i);
		latencies.push(performance.now() - started);
		statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
	}
	latencies.sort((a, b) => a - b);
	return {
		requests: count,
		statuses: Object.fromEntries(statuses),
		p50ms: +percentile(latencies, 50).toFixed(2),
		p95ms: +percentile(latencies, 95).toFixed(2),
		p99ms: +percentile(latencies, 99).toFixed(2),
	};
}

/**
 * Claims and verifies a domain (through the fake resolver), provisions `people` through SCIM, then
 * deactivates and reactivates each once and reads each once, timed one call at a time beside the
 * floor. A provisioned person has no session or key of their own yet (they have no password), so
 * a deactivation here ends a membership, revokes nothing and ends no session: the object calls it
 * makes (one to the account's object, one to the person's sessions object) are made all the same.
 */
export async function scimScenario({ send, floorSend, resolver, pid, floorPid, people = 60 }) {
	const email = `scim-owner-${Date.now()}@example.com`;
	const { session, account } = await signUpVerified(send, {
		email,
		password: "bench passphrase that is long",
		name: "Owner",
	});
	const auth = { Authorization: `Bearer ${session.token}` };
	const domain = `bench-${Date.now()}.example.com`;
	const claimed = await send(`/v1/accounts/${account.id}/domains`, json({ domain }, auth));
	if (claimed.status !== 201) throw new Error(`domain claim failed: ${claimed.status} ${claimed.text}`);
	const { record, id } = claimed.json().domain;
	resolver.publish(record.name, record.value);
	const verified = await send(`/v1/accounts/${account.id}/domains/${id}/verify`, { method: "POST", headers: auth });
	if (verified.status !== 200) throw new Error(`domain verification failed: ${verified.status} ${verified.text}`);
	const scimKey = await createBenchKey(send, session.token, account.id, { name: "scim", scopes: ["scim:write"] });
	const scim = (path, method, body) =>
		send(`/scim/v2${path}`, {
			method,
			headers: { Authorization: `Bearer ${scimKey}`, ...SCIM },
			body: JSON.stringify(body),
		});
	const ids = [];
	for (let i = 0; i < people; i++) {
		const res = await scim("/Users", "POST", {
			userName: `p${i}@${domain}`,
			name: { givenName: "P", familyName: `${i}` },
		});
		if (res.status !== 201) throw new Error(`provisioning failed: ${res.status} ${res.text}`);
		ids.push(res.json().id);
	}
	const patch = (active) => (i) =>
		scim(`/Users/${ids[i]}`, "PATCH", { Operations: [{ op: "replace", path: "active", value: active }] });
	const rows = [];
	const measured = async (name, count, request, processId) => {
		const before = await serverCpuMs(processId);
		const row = await sequential(count, request);
		const after = await serverCpuMs(processId);
		row.workerdCpuMs = +((after.workerd - before.workerd) / count).toFixed(2);
		rows.push({ scenario: name, ...row });
		return row;
	};
	const floor = await measured("floor (one at a time)", people, () => floorSend("/health"), floorPid);
	const off = await measured("scim deactivate (one at a time)", people, patch(false), pid);
	const on = await measured("scim reactivate (one at a time)", people, patch(true), pid);
	const get = await measured(
		"scim get user (one at a time)",
		people,
		(i) => send(`/scim/v2/Users/${ids[i]}`, { headers: { Authorization: `Bearer ${scimKey}` } }),
		pid,
	);
	for (const [name, row] of [
		["scim deactivate", off],
		["scim reactivate", on],
		["scim get user", get],
	])
		rows.push({
			scenario: `${name} ÷ floor (one at a time)`,
			p50Ratio: +(row.p50ms / floor.p50ms).toFixed(1),
			p99Ratio: +(row.p99ms / floor.p99ms).toFixed(1),
		});
	return rows;
}
