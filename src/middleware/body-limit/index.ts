import type { MiddlewareHandler } from "hono";
import { bodyLimit as honoBodyLimit } from "hono/body-limit";
import { ApiError } from "../../problems";

export interface BodyLimitOptions {
	maxBytes: number;
}

/** Hono's streaming body limit (counts bytes even without Content-Length), answering 413 as a problem. */
export const bodyLimit = (options: BodyLimitOptions): MiddlewareHandler =>
	honoBodyLimit({
		maxSize: options.maxBytes,
		onError: () => {
			throw new ApiError("payload-too-large", { detail: `Request bodies are limited to ${options.maxBytes} bytes` });
		},
	});
