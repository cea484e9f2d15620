/**
 * SCIM discovery (RFC 7644 §4, RFC 7643 §5-7): what Keyward's SCIM service supports, for providers
 * and SCIM validators that read it before provisioning. Static documents describing the subset
 * src/sso/scim-routes.ts implements; behind the same `scim:write` key as every SCIM route (RFC 7644
 * lets a provider choose), so an anonymous caller learns nothing about the account's provisioning.
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { requireAccountKey } from "../middleware/authorize";
import type { App, AppEnv } from "../platform/app-env";
import { PERMISSION_EXTENSION } from "../routes/account-route";
import { SCIM_GROUP, SCIM_LIST, SCIM_USER, scimContent, scimErrorResponses } from "./scim-schemas";

const SERVICE_PROVIDER_CONFIG = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
const RESOURCE_TYPE = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
const SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema";

const gate = requireAccountKey("members:provision");
const discoveryRoute = <const R extends Parameters<typeof createRoute>[0]>(route: R) =>
	createRoute({
		...route,
		tags: ["SCIM"],
		middleware: [gate] as [typeof gate],
		[PERMISSION_EXTENSION]: "members:provision",
	});

const Supported = z.object({
	supported: z.boolean().openapi({ description: "Whether it is supported", example: true }),
});
const ServiceProviderConfigSchema = z
	.object({
		schemas: z.array(z.string()).openapi({ description: "The resource's schema", example: [SERVICE_PROVIDER_CONFIG] }),
		documentationUri: z
			.string()
			.openapi({ description: "The deployment's API reference", example: "https://keyward.example.com/docs" }),
		patch: Supported.openapi({ description: "PATCH: supported" }),
		bulk: Supported.extend({
			maxOperations: z.number().int().openapi({ description: "Operations in one request", example: 0 }),
			maxPayloadSize: z.number().int().openapi({ description: "Bytes in one request", example: 0 }),
		}).openapi({ description: "Bulk: not supported" }),
		filter: Supported.extend({
			maxResults: z.number().int().openapi({ description: "Results in one page at most", example: 200 }),
		}).openapi({ description: "Filters: `eq` on the documented attributes" }),
		changePassword: Supported.openapi({ description: "Password changes: not supported (a person resets their own)" }),
		sort: Supported.openapi({ description: "Sorting: not supported" }),
		etag: Supported.openapi({ description: "ETags: not supported (`meta.version` is informational)" }),
		authenticationSchemes: z
			.array(
				z.object({
					type: z.string().openapi({ description: "The scheme", example: "oauthbearertoken" }),
					name: z.string().openapi({ description: "Its name", example: "Keyward API key" }),
					description: z.string().openapi({ description: "What to send", example: "A key with scim:write" }),
					primary: z.boolean().openapi({ description: "The one to use", example: true }),
				}),
			)
			.openapi({ description: "How to authenticate" }),
		meta: z
			.object({
				resourceType: z.string().openapi({ description: "Its type", example: "ServiceProviderConfig" }),
				location: z.string().openapi({
					description: "Its URL",
					example: "https://keyward.example.com/scim/v2/ServiceProviderConfig",
				}),
			})
			.openapi({ description: "Where it lives" }),
	})
	.openapi("ScimServiceProviderConfig", { description: "What the SCIM service supports (RFC 7643 §5)" });

const AnyList = (name: string, description: string) =>
	z
		.object({
			schemas: z.array(z.string()).openapi({ description: "The list's schema", example: [SCIM_LIST] }),
			totalResults: z.number().int().openapi({ description: "How many there are", example: 2 }),
			startIndex: z.number().int().openapi({ description: "Always 1", example: 1 }),
			itemsPerPage: z.number().int().openapi({ description: "How many are here", example: 2 }),
			Resources: z
				.array(z.record(z.string(), z.unknown()))
				.openapi({ description, example: [{ id: "User", name: "User" }] }),
		})
		.openapi(name, { description });

export const serviceProviderConfigRoute = discoveryRoute({
	method: "get",
	path: "/scim/v2/ServiceProviderConfig",
	summary: "What Keyward's SCIM service supports: PATCH and eq filters; no bulk, sort, ETags or password changes",
	responses: {
		200: scimContent(ServiceProviderConfigSchema, "The configuration"),
		...scimErrorResponses(401, 403),
	},
});

export const resourceTypesRoute = discoveryRoute({
	method: "get",
	path: "/scim/v2/ResourceTypes",
	summary: "The resource types: User and Group",
	responses: {
		200: scimContent(AnyList("ScimResourceTypeList", "The resource types (RFC 7643 §6)"), "The resource types"),
		...scimErrorResponses(401, 403),
	},
});

export const schemasRoute = discoveryRoute({
	method: "get",
	path: "/scim/v2/Schemas",
	summary: "The User and Group attributes Keyward reads and returns",
	responses: {
		200: scimContent(AnyList("ScimSchemaList", "The schemas (RFC 7643 §7)"), "The schemas"),
		...scimErrorResponses(401, 403),
	},
});

type Attribute = {
	name: string;
	type: "string" | "boolean" | "complex" | "reference";
	multiValued?: boolean;
	required?: boolean;
	mutability?: "readOnly" | "readWrite" | "immutable";
	uniqueness?: "none" | "server";
	description: string;
	subAttributes?: Attribute[];
};

/** An attribute in RFC 7643 §7's form, with the defaults it names spelled out. */
const attribute = (a: Attribute): Record<string, unknown> => ({
	name: a.name,
	type: a.type,
	multiValued: a.multiValued ?? false,
	description: a.description,
	required: a.required ?? false,
	caseExact: false,
	mutability: a.mutability ?? "readWrite",
	returned: "default",
	uniqueness: a.uniqueness ?? "none",
	...(a.subAttributes ? { subAttributes: a.subAttributes.map(attribute) } : {}),
});

const USER_ATTRIBUTES: Attribute[] = [
	{
		name: "userName",
		type: "string",
		required: true,
		mutability: "immutable",
		uniqueness: "server",
		description: "The person's email address in a domain the account holds verified; it never changes",
	},
	{
		name: "name",
		type: "complex",
		description: "The person's name parts",
		subAttributes: [
			{ name: "givenName", type: "string", description: "Given name" },
			{ name: "familyName", type: "string", description: "Family name" },
		],
	},
	{ name: "displayName", type: "string", description: "The name to show" },
	{ name: "active", type: "boolean", description: "false ends the person's sessions and revokes their keys" },
	{
		name: "roles",
		type: "complex",
		multiValued: true,
		description: "The Keyward role (admin, member or readonly; never owner)",
		subAttributes: [{ name: "value", type: "string", description: "The role" }],
	},
	{
		name: "emails",
		type: "complex",
		multiValued: true,
		mutability: "readOnly",
		description: "The address (userName), as one primary email",
		subAttributes: [{ name: "value", type: "string", description: "The address" }],
	},
	{
		name: "groups",
		type: "complex",
		multiValued: true,
		mutability: "readOnly",
		description: "The SCIM groups the person is in",
		subAttributes: [
			{ name: "value", type: "string", description: "The group's id" },
			{ name: "display", type: "string", description: "Its name" },
		],
	},
];

const GROUP_ATTRIBUTES: Attribute[] = [
	{ name: "displayName", type: "string", required: true, description: "Its name; scimGroupRoles maps it to a role" },
	{
		name: "members",
		type: "complex",
		multiValued: true,
		description: "People this account provisioned through SCIM",
		subAttributes: [{ name: "value", type: "string", description: "The person's id" }],
	},
];

const list = (resources: Record<string, unknown>[]) => ({
	schemas: [SCIM_LIST],
	totalResults: resources.length,
	startIndex: 1,
	itemsPerPage: resources.length,
	Resources: resources,
});
const base = (c: Context<AppEnv>) => `${new URL(c.req.url).origin}/scim/v2`;

export function registerScimDiscovery(app: App) {
	app.openapi(serviceProviderConfigRoute, (c) =>
		c.json(
			{
				schemas: [SERVICE_PROVIDER_CONFIG],
				documentationUri: `${new URL(c.req.url).origin}/docs`,
				patch: { supported: true },
				bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
				filter: { supported: true, maxResults: 200 },
				changePassword: { supported: false },
				sort: { supported: false },
				etag: { supported: false },
				authenticationSchemes: [
					{
						type: "oauthbearertoken",
						name: "Keyward API key",
						description: "Authorization: Bearer <a key of the account with the scim:write scope>",
						primary: true,
					},
				],
				meta: { resourceType: "ServiceProviderConfig", location: `${base(c)}/ServiceProviderConfig` },
			},
			200,
			{ "Content-Type": "application/scim+json" },
		),
	);

	app.openapi(resourceTypesRoute, (c) =>
		c.json(
			list(
				[
					["User", "/Users", SCIM_USER, "A person of the account"],
					["Group", "/Groups", SCIM_GROUP, "A group whose name may map to a role"],
				].map(([name, endpoint, schema, description]) => ({
					schemas: [RESOURCE_TYPE],
					id: name,
					name,
					endpoint,
					description,
					schema,
					meta: { resourceType: "ResourceType", location: `${base(c)}/ResourceTypes/${name}` },
				})),
			),
			200,
			{ "Content-Type": "application/scim+json" },
		),
	);

	app.openapi(schemasRoute, (c) =>
		c.json(
			list(
				(
					[
						[SCIM_USER, "User", "User Account", USER_ATTRIBUTES],
						[SCIM_GROUP, "Group", "Group", GROUP_ATTRIBUTES],
					] as const
				).map(([id, name, description, attributes]) => ({
					schemas: [SCHEMA],
					id,
					name,
					description,
					attributes: attributes.map(attribute),
					meta: { resourceType: "Schema", location: `${base(c)}/Schemas/${id}` },
				})),
			),
			200,
			{ "Content-Type": "application/scim+json" },
		),
	);
}
