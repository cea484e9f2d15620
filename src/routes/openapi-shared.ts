/** Schemas and helpers shared by every route definition. */
import { z } from "@hono/zod-openapi";

export const ProblemSchema = z
	.object({
		type: z.string().openapi({ example: "https://keyward.dev/problems/validation" }),
		title: z.string(),
		status: z.number().int(),
		detail: z.string(),
		requestId: z.string(),
		errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
	})
	.openapi("Problem");

const PROBLEM_DESCRIPTIONS: Record<number, string> = {
	400: "Invalid request: `errors` names every bad field",
	401: "No or bad credentials",
	403: "Authenticated but not allowed",
	404: "Not found, or not visible to the caller",
	409: "Conflict",
	413: "Body larger than 64 KiB",
	415: "Body is not application/json",
	429: "Rate limited or locked out; see Retry-After",
	503: "A dependency is down or the deployment is misconfigured",
};

/** The problem responses a route documents, by status. */
export function problemResponses(...statuses: number[]) {
	return Object.fromEntries(
		statuses.map((status) => [
			status,
			{
				description: PROBLEM_DESCRIPTIONS[status] ?? "Problem",
				content: { "application/problem+json": { schema: ProblemSchema } },
			},
		]),
	);
}

export const jsonContent = <T extends z.ZodType>(schema: T, description: string) => ({
	description,
	content: { "application/json": { schema } },
});

/** A required, strictly validated JSON request body. */
export const jsonBody = <T extends z.ZodType>(schema: T) => ({
	required: true,
	content: { "application/json": { schema } },
});
