/**
 * @keyward/sdk: the typed client for the Keyward API, verify over HTTP or a
 * service binding, and `verifyRequest` for any fetch-style handler. The Hono
 * middleware is `@keyward/sdk/hono`.
 */
export {
	type ClientMethod,
	createKeywardClient,
	type KeywardClient,
	type KeywardClientOptions,
	type VerifyBody,
	type VerifyResult,
} from "./client.js";
export {
	type ApiPath,
	type HttpMethod,
	type InputOf,
	OPERATIONS,
	type OperationSpec,
	type OutputOf,
} from "./operations.js";
export {
	type CredentialProblem,
	isProblem,
	KeywardError,
	KeywardTimeoutError,
	type Problem,
	type ProblemKind,
	ReauthenticationRequiredError,
} from "./problem.js";
export {
	type Denial,
	type DenialCode,
	type DenialProblem,
	denialResponse,
	KeywardUnavailableError,
	keyFromHeaders,
	type RequestVerdict,
	type VerifiedKey,
	type VerifyRequestOptions,
	verifyRequest,
} from "./request.js";
export { DEFAULT_RETRY, type RetryOptions } from "./retry.js";
export type { components, paths } from "./schema.js";
export type { CallOptions, FetchLike, TransportOptions } from "./transport.js";
export { KeywardPathError } from "./transport.js";
export {
	type KeywardBinding,
	type KeywardService,
	type VerifyKeyOptions,
	type VerifyOutcome,
	type VerifyRpcResult,
	verifyKey,
} from "./verify.js";
export {
	type VerifyWebhookOptions,
	verifyLogStreamBatch,
	verifyWebhook,
	type WebhookPayload,
	WebhookVerificationError,
	type WebhookVerificationFailure,
} from "./webhook.js";
