/**
 * The SCIM 2.0 shapes Keyward speaks (RFC 7643 resources, RFC 7644 messages):
 * the subset Okta and Entra ID use. Inputs are lenient where providers differ
 * (unknown attributes are ignored, `active` may come as "True"/"False"), strict
 * where it matters (userName is an email address, roles are Keyward's roles,
 * free text has no control characters).
 */
import { z } from "@hono/zod-openapi";
import { hasControlCharacters, IssuedId, Timestamp } from "../routes/openapi-shared";

export const SCIM_USER = "urn:ietf:params:scim:schemas:core:2.0:User";
export const SCIM_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group";
export const SCIM_LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
export const SCIM_PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
export const SCIM_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error";
export const SCIM_CONTENT_TYPE = "application/scim+json";

const Text = (max: number, description: string, example: string) =>
	z
		.string()
		.trim()
		.max(max)
		.refine((v) => !hasControlCharacters(v), {
			message: "Control characters (line breaks, tabs, bidi overrides) are not allowed",
		})
		.openapi({ description, example });

/** SCIM booleans as providers send them: JSON booleans, or Entra's "True"/"False" strings in PATCH. */
export const ScimBoolean = z
	.union([z.boolean(), z.enum(["True", "False", "true", "false"])])
	.transform((v) => v === true || v === "True" || v === "true")
	.openapi({ type: "boolean", description: "true or false (the strings `True`/`False` are accepted)", example: true });

export const ScimRole = z.enum(["owner", "admin", "member", "readonly"]).openapi({
	description:
		"A Keyward role: `admin`, `member` or `readonly`. `owner` is refused (403): ownership moves only by transfer",
	example: "member",
});

const Schemas = z
	.array(z.string().max(200))
	.max(10)
	.openapi({ description: "The resource's schema URNs (read, not required)", example: [SCIM_USER] });

export const ScimUserName = z
	.email({ message: "userName must be the person's email address" })
	.max(254)
	.transform((v) => v.toLowerCase())
	.openapi({
		description:
			"The person's email address, which is how Keyward knows them: its domain must be one the account has " +
			"verified (403 otherwise). It cannot change after provisioning (400 `mutability`).",
		example: "ada@example.com",
	});

const Name = z
	.object({
		givenName: Text(100, "Given name", "Ada").nullish(),
		familyName: Text(100, "Family name", "Lovelace").nullish(),
		formatted: Text(200, "The full name as one string (read, not kept)", "Ada Lovelace").nullish(),
	})
	.openapi({ description: "The person's name parts" });

const Email = z
	.object({
		value: z
			.string()
			.max(254)
			.openapi({ description: "An address; Keyward keeps only `userName`", example: "ada@example.com" }),
		primary: ScimBoolean.optional().openapi({ description: "Whether it is the primary address", example: true }),
		type: z.string().max(32).optional().openapi({ description: "`work`, `home`…", example: "work" }),
	})
	.openapi({ description: "An email address of the person" });

const RoleValue = z
	.object({
		value: ScimRole,
		primary: ScimBoolean.optional().openapi({ description: "The role held (else the first)", example: true }),
		display: z.string().max(100).optional().openapi({ description: "Ignored", example: "Member" }),
		type: z.string().max(32).optional().openapi({ description: "Ignored", example: "WindowsAzureActiveDirectoryRole" }),
	})
	.openapi({ description: "A role (Entra ID's app role assignment)" });

export const ScimUserInput = z
	.object({
		schemas: Schemas.optional(),
		userName: ScimUserName,
		externalId: Text(256, "The provider's own id for the person", "00u1abcd").nullish(),
		displayName: Text(200, "The name to show", "Ada Lovelace").nullish(),
		name: Name.nullish(),
		emails: z.array(Email).max(10).nullish().openapi({ description: "Read and ignored: `userName` is the address" }),
		active: ScimBoolean.optional().openapi({
			description: "false: the person's access ends (default true)",
			type: "boolean",
			example: true,
		}),
		roles: z
			.array(RoleValue)
			.max(5)
			.nullish()
			.openapi({ description: "The role to hold (the primary one, else the first); default `member`" }),
	})
	.openapi("ScimUserInput", {
		description: "A person as the identity provider sends them. Attributes not listed here are accepted and ignored.",
	});
export type ScimUserInput = z.output<typeof ScimUserInput>;

export const ScimPatchOperation = z
	.object({
		op: z
			.string()
			.max(16)
			.transform((v) => v.toLowerCase())
			.pipe(z.enum(["add", "replace", "remove"], { message: "op must be add, replace or remove" }))
			.openapi({
				type: "string",
				enum: ["add", "replace", "remove"],
				description: "Case-insensitive",
				example: "replace",
			}),
		path: z
			.string()
			.max(200)
			.optional()
			.openapi({
				description:
					"The attribute (`active`, `displayName`, `externalId`, `name.givenName`, `name.familyName`, `roles`, " +
					'`members`, `members[value eq "…"]`); absent, `value` holds the attributes to set',
				example: "active",
			}),
		value: z.unknown().optional().openapi({ description: "The new value", example: false }),
	})
	.openapi({ description: "One PATCH operation (RFC 7644 §3.5.2)" });

export const ScimPatchInput = z
	.object({
		schemas: Schemas.optional(),
		Operations: z.array(ScimPatchOperation).min(1).max(100).openapi({ description: "Applied in order, all or none" }),
	})
	.openapi("ScimPatchInput", { description: "A SCIM PatchOp message" });

const Meta = z
	.object({
		resourceType: z.string().openapi({ description: "`User` or `Group`", example: "User" }),
		created: Timestamp("When it was provisioned", "2026-12-01T09:30:00.000Z"),
		lastModified: Timestamp("When it last changed", "2026-12-01T09:30:00.000Z"),
		location: z.string().openapi({ description: "Its URL", example: "https://keyward.example/scim/v2/Users/usr_…" }),
		version: z.string().openapi({ description: "A weak ETag of its version", example: 'W/"1"' }),
	})
	.openapi({ description: "Resource metadata" });

export const ScimUserSchema = z
	.object({
		schemas: z.array(z.string()).openapi({ description: "Always the core User schema", example: [SCIM_USER] }),
		id: IssuedId("usr", "The person's Keyward user id"),
		externalId: z.string().nullable().openapi({ description: "The provider's id", example: "00u1abcd" }),
		userName: z.string().openapi({ description: "The email address", example: "ada@example.com" }),
		displayName: z.string().nullable().openapi({ description: "The name to show", example: "Ada Lovelace" }),
		name: z
			.object({
				givenName: z.string().nullable().openapi({ description: "Given name", example: "Ada" }),
				familyName: z.string().nullable().openapi({ description: "Family name", example: "Lovelace" }),
			})
			.openapi({ description: "Name parts" }),
		emails: z
			.array(
				z.object({
					value: z.string().openapi({ description: "The address", example: "ada@example.com" }),
					primary: z.boolean().openapi({ description: "Always true", example: true }),
					type: z.string().openapi({ description: "`work`", example: "work" }),
				}),
			)
			.openapi({ description: "The one address: `userName`" }),
		active: z.boolean().openapi({ description: "Whether they are a member now", example: true }),
		roles: z
			.array(
				z.object({
					value: z.string().openapi({ description: "The role", example: "member" }),
					primary: z.boolean().openapi({ description: "Always true", example: true }),
				}),
			)
			.openapi({
				description: "The role they hold (or, deactivated, would hold again): groups mapped to a role decide it first",
			}),
		groups: z
			.array(
				z.object({
					value: IssuedId("grp", "The group's id"),
					display: z.string().openapi({ description: "Its name", example: "Engineering" }),
				}),
			)
			.openapi({ description: "The SCIM groups they are in (read-only)" }),
		meta: Meta,
	})
	.openapi("ScimUser", { description: "A person the account's identity provider manages" });

export const ScimGroupInput = z
	.object({
		schemas: Schemas.optional(),
		displayName: Text(256, "The group's name: `scimGroupRoles` maps it to a role", "Engineering").pipe(
			z.string().min(1, { message: "displayName must not be empty" }),
		),
		externalId: Text(256, "The provider's own id for the group", "00g1abcd").nullish(),
		members: z
			.array(
				z.object({
					value: z
						.string()
						.max(32)
						.openapi({ description: "A provisioned person's id (`usr_…`)", example: "usr_7hd2kq5xm3wz6vpa" }),
					display: z.string().max(256).optional().openapi({ description: "Ignored", example: "ada@example.com" }),
				}),
			)
			.max(1000)
			.nullish()
			.openapi({ description: "Its members: people this account provisioned through SCIM" }),
	})
	.openapi("ScimGroupInput", { description: "A group as the identity provider sends it" });
export type ScimGroupInput = z.output<typeof ScimGroupInput>;

export const ScimGroupSchema = z
	.object({
		schemas: z.array(z.string()).openapi({ description: "Always the core Group schema", example: [SCIM_GROUP] }),
		id: IssuedId("grp", "The group's id"),
		externalId: z.string().nullable().openapi({ description: "The provider's id", example: "00g1abcd" }),
		displayName: z.string().openapi({ description: "Its name", example: "Engineering" }),
		members: z
			.array(
				z.object({
					value: IssuedId("usr", "A member's user id"),
					display: z.string().openapi({ description: "Their userName", example: "ada@example.com" }),
				}),
			)
			.optional()
			.openapi({ description: "Its members (left out with `excludedAttributes=members`)" }),
		meta: Meta,
	})
	.openapi("ScimGroup", { description: "A group of the account's identity provider" });

export const ScimListQuery = z.object({
	filter: z
		.string()
		.max(512)
		.optional()
		.openapi({
			description:
				'`userName eq "…"` or `externalId eq "…"` (Users), `displayName eq "…"` or `externalId eq "…"` ' +
				"(Groups); other filters are refused (400 `invalidFilter`)",
			example: 'userName eq "ada@example.com"',
		}),
	startIndex: z.coerce
		.number()
		.int()
		.min(1)
		.max(1_000_000)
		.optional()
		.openapi({ description: "1-based index of the first result (default 1)", example: 1 }),
	count: z.coerce
		.number()
		.int()
		.min(0)
		.max(200)
		.optional()
		.openapi({ description: "At most this many results (default 100, at most 200)", example: 100 }),
	excludedAttributes: z
		.string()
		.max(200)
		.optional()
		.openapi({ description: "`members` leaves groups' members out", example: "members" }),
	attributes: z
		.string()
		.max(200)
		.optional()
		.openapi({ description: "Read and ignored: whole resources are returned", example: "userName,active" }),
});

export const ScimItemQuery = ScimListQuery.pick({ excludedAttributes: true, attributes: true });

export const ScimListResponse = <T extends z.ZodType>(item: T, name: string) =>
	z
		.object({
			schemas: z.array(z.string()).openapi({ description: "The ListResponse URN", example: [SCIM_LIST] }),
			totalResults: z.number().openapi({ description: "Matches in all", example: 1 }),
			startIndex: z.number().openapi({ description: "1-based index of the first one here", example: 1 }),
			itemsPerPage: z.number().openapi({ description: "How many are here", example: 1 }),
			Resources: z.array(item).openapi({ description: "The matches" }),
		})
		.openapi(name, { description: "A page of resources" });

export const ScimErrorSchema = z
	.object({
		schemas: z.array(z.string()).openapi({ description: "The SCIM Error URN", example: [SCIM_ERROR] }),
		status: z.string().openapi({ description: "The HTTP status, as a string", example: "400" }),
		scimType: z.string().optional().openapi({
			description: "`invalidValue`, `invalidFilter`, `invalidSyntax`, `mutability`, `uniqueness`, `tooMany`…",
			example: "invalidValue",
		}),
		detail: z.string().openapi({ description: "What went wrong, naming each bad field", example: "userName: …" }),
	})
	.openapi("ScimError", { description: "A SCIM error (RFC 7644 §3.12): the SCIM routes' only error shape" });

const ERROR_DESCRIPTIONS: Record<number, string> = {
	400: "Invalid request (`scimType` says how)",
	401: "No usable API key",
	403: "The key may not do this, or the address's domain is not verified",
	404: "No such resource in this account",
	409: "It exists already, or changed meanwhile (`uniqueness`)",
	413: "Body too large",
	415: "Not JSON",
	423: "The account is locked down: nobody can be added or raised until the owner lifts it",
	429: "The key is over its rate limit (see Retry-After) or out of credits",
	503: "A storage service did not answer; repeat the request",
};

/** The SCIM error responses a SCIM route documents, by status; every route may answer 429 (the key's own limits). */
export const scimErrorResponses = (...statuses: number[]) =>
	Object.fromEntries(
		[...statuses, 429].map((status) => [
			status,
			{
				description: ERROR_DESCRIPTIONS[status] ?? "Error",
				content: { [SCIM_CONTENT_TYPE]: { schema: ScimErrorSchema } },
			},
		]),
	);

export const scimContent = <T extends z.ZodType>(schema: T, description: string) => ({
	description,
	content: { [SCIM_CONTENT_TYPE]: { schema } },
});

export const scimBody = <T extends z.ZodType>(schema: T) => ({
	required: true,
	content: { [SCIM_CONTENT_TYPE]: { schema } },
});
