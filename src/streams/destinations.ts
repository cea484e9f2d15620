/**
 * What a log stream sends for one archive object (issue #24), per destination.
 * Every format carries the object's chain header (stream, seq, prev hash,
 * count) and the exact bytes of each event line, so the copy on the
 * customer's side verifies with `npm run audit:verify -- --file <ndjson>`:
 *
 * - `http`: the object itself, byte for byte, as NDJSON (header line first).
 * - `splunk-hec`: one HEC event per line, header first (`sourcetype`
 *   `keyward:chain`), each `event` the exact line as a string.
 * - `datadog`: one log per line in the v2 intake format, `message` the exact line.
 * - `s3`: the object itself under `{prefix}{accountId}/{seq}.ndjson`; a resend
 *   overwrites the same key.
 *
 * Every request names its object in `Keyward-Batch: <stream id>:<seq>` (the
 * idempotency key a receiver deduplicates a resend by) and its place in the
 * chain in `Keyward-Chain: seq=<n>;prev=<hex>;hash=<hex>`.
 */
import { AwsClient } from "aws4fetch";
import { type ChainHeader, sha256Hex } from "../audit/chain";
import { SIGNATURE_HEADER, signWebhookBody } from "../webhooks/signature";

export const STREAM_TYPES = ["http", "splunk-hec", "datadog", "s3"] as const;
export type StreamType = (typeof STREAM_TYPES)[number];

export const DATADOG_SITES = [
	"datadoghq.com",
	"us3.datadoghq.com",
	"us5.datadoghq.com",
	"datadoghq.eu",
	"ap1.datadoghq.com",
	"ddog-gov.com",
] as const;
export type DatadogSite = (typeof DATADOG_SITES)[number];

export const datadogIntakeUrl = (site: string) => `https://http-intake.logs.${site}/api/v2/logs`;

/** Datadog takes at most 1,000 logs per request. */
export const DATADOG_MAX_ENTRIES = 1000;

/** One archive object, as read from R2 and checked against the stream's cursor. */
export interface ArchiveBatch {
	key: string;
	/** The object's exact text (its bytes hash to `hash`). */
	text: string;
	header: ChainHeader;
	lines: string[];
	hash: string;
}

export interface Destination {
	id: string;
	accountId: string;
	type: StreamType;
	url: string;
	config: Record<string, string>;
}

export interface OutboundRequest {
	url: string;
	init: RequestInit;
}

const objectName = (seq: number) => `${String(seq).padStart(12, "0")}.ndjson`;

/** The time of an event line (its `time`), in seconds, for formats that index by it. */
function lineTime(line: string, fallback: number): number {
	try {
		const time = Date.parse((JSON.parse(line) as { time?: string }).time ?? "");
		return Number.isFinite(time) ? time / 1000 : fallback;
	} catch {
		return fallback;
	}
}

/** The requests that deliver `batch` to `destination`; all must be accepted before the cursor moves. */
export async function requestsFor(
	destination: Destination,
	secret: string | null,
	batch: ArchiveBatch,
	nowMs: number,
): Promise<OutboundRequest[]> {
	const { header } = batch;
	const common = {
		"User-Agent": "Keyward-LogStreams/1",
		"Keyward-Stream": destination.id,
		"Keyward-Batch": `${destination.id}:${header.seq}`,
		"Keyward-Chain": `seq=${header.seq};prev=${header.prev};hash=${batch.hash}`,
	};
	const all = [JSON.stringify(header), ...batch.lines];
	const now = nowMs / 1000;
	switch (destination.type) {
		case "http": {
			const headers: Record<string, string> = { ...common, "Content-Type": "application/x-ndjson" };
			if (destination.config.auth === "hmac")
				headers[SIGNATURE_HEADER] = await signWebhookBody([secret ?? ""], batch.text, Math.floor(now));
			else headers.Authorization = `Bearer ${secret ?? ""}`;
			return [{ url: destination.url, init: { method: "POST", headers, body: batch.text } }];
		}
		case "splunk-hec": {
			const index = destination.config.index ? { index: destination.config.index } : {};
			const body = all
				.map((line, i) =>
					JSON.stringify({
						time: i === 0 ? now : lineTime(line, now),
						host: "keyward",
						source: `keyward:${destination.accountId}`,
						sourcetype: i === 0 ? "keyward:chain" : "keyward:audit",
						...index,
						event: line,
						fields: { keyward_seq: String(header.seq), keyward_line: String(i) },
					}),
				)
				.join("\n");
			const headers = { ...common, "Content-Type": "application/json", Authorization: `Splunk ${secret ?? ""}` };
			return [{ url: destination.url, init: { method: "POST", headers, body } }];
		}
		case "datadog": {
			const entries = all.map((line, i) => ({
				ddsource: "keyward",
				service: "keyward",
				hostname: "keyward",
				ddtags: `keyward_account:${destination.accountId},keyward_seq:${header.seq},keyward_kind:${i === 0 ? "chain" : "audit"}`,
				message: line,
				keyward: { seq: header.seq, line: i },
			}));
			const requests: OutboundRequest[] = [];
			for (let start = 0; start < entries.length; start += DATADOG_MAX_ENTRIES) {
				const headers = { ...common, "Content-Type": "application/json", "DD-API-KEY": secret ?? "" };
				const body = JSON.stringify(entries.slice(start, start + DATADOG_MAX_ENTRIES));
				requests.push({ url: destination.url, init: { method: "POST", headers, body } });
			}
			return requests;
		}
		case "s3": {
			const { bucket, region, prefix = "", accessKeyId } = destination.config;
			const client = new AwsClient({
				accessKeyId: accessKeyId ?? "",
				secretAccessKey: secret ?? "",
				service: "s3",
				region: region || "auto",
			});
			const base = destination.url.replace(/\/+$/, "");
			const key = `${prefix}${destination.accountId}/${objectName(header.seq)}`;
			const url = `${base}/${encodeURIComponent(bucket ?? "")}/${key.split("/").map(encodeURIComponent).join("/")}`;
			// The payload's hash is signed too (not UNSIGNED-PAYLOAD), so the bucket refuses a body changed on the way.
			const signed = await client.sign(url, {
				method: "PUT",
				headers: {
					...common,
					"Content-Type": "application/x-ndjson",
					"X-Amz-Content-Sha256": await sha256Hex(batch.text),
				},
				body: batch.text,
			});
			return [{ url, init: { method: "PUT", headers: signed.headers, body: batch.text } }];
		}
	}
}
