/**
 * The typed client: one method per operation of the API, grouped by resource
 * (`client.keys.create(...)`), each taking its path parameters, `query` and
 * `body` in one object and resolving with the success body, or throwing a
 * `KeywardError` that carries the RFC 9457 problem.
 *
 *   const keyward = createKeywardClient({ baseUrl: "https://api.keyward.dev", token });
 *   const { key, secret } = await keyward.keys.create({ accountId, body: { name, environment, scopes } });
 */
import { type InputOf, OPERATIONS, type OperationSpec, type Operations, type OutputOf } from "./operations.js";
import type { components } from "./schema.js";
import { type CallOptions, send, type TransportOptions } from "./transport.js";

export type KeywardClientOptions = TransportOptions;

/** A method whose input may be left out when the operation needs nothing (no path parameter, no body). */
export type ClientMethod<S> =
	Record<never, never> extends InputOf<S>
		? (input?: InputOf<S>, options?: CallOptions) => Promise<OutputOf<S>>
		: (input: InputOf<S>, options?: CallOptions) => Promise<OutputOf<S>>;

export type VerifyBody = InputOf<Operations["keys"]["verify"]>["body"];
export type VerifyResult = components["schemas"]["VerifyResult"];

export type KeywardClient = {
	readonly [G in keyof Operations]: { readonly [N in keyof Operations[G]]: ClientMethod<Operations[G][N]> };
} & {
	/** `POST /v1/keys/verify`: the verdict for a key presented to your service (`keys.verify` with the body only). */
	verify(body: VerifyBody, options?: CallOptions): Promise<VerifyResult>;
};

export function createKeywardClient(options: KeywardClientOptions): KeywardClient {
	const method =
		(spec: OperationSpec) =>
		async (input: Record<string, unknown> = {}, call?: CallOptions): Promise<unknown> =>
			(await send(options, spec, input, call)).data;
	const groups = Object.fromEntries(
		Object.entries(OPERATIONS).map(([group, operations]) => [
			group,
			Object.fromEntries(Object.entries(operations).map(([name, spec]) => [name, method(spec)])),
		]),
	);
	const verify = method(OPERATIONS.keys.verify);
	return {
		...groups,
		verify: (body: VerifyBody, call?: CallOptions) => verify({ body }, call),
	} as unknown as KeywardClient;
}
