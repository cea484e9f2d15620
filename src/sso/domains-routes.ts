import { z } from "@hono/zod-openapi";
import { AccountParams } from "../accounts/schemas";
import { callerMembership } from "../middleware/authorize";
import type { App } from "../platform/app-env";
import { ApiError } from "../problems";
import { accountRoute } from "../routes/account-route";
import { Id, IssuedId, jsonBody, jsonContent, problemResponses, Timestamp } from "../routes/openapi-shared";
import {
	addDomain,
	challengeName,
	DOMAINS_PER_ACCOUNT,
	getDomain,
	listDomains,
	publicDomain,
	removeDomain,
	verifyDomain,
} from "./domains";

const DomainParams = AccountParams.extend({
	domainId: Id("dom").openapi({ description: "The domain's id (`dom_` and 16 characters)" }),
});

/** Names that can never be an organisation's mail domain (RFC 6761 special-use, and bare IP addresses). */
const SPECIAL_USE = /(^|\.)(invalid|localhost|local|test|example|onion|internal|arpa)$/;
const LABEL = "[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?";
const HOSTNAME = new RegExp(`^(?:${LABEL}\\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])$`);

export const DomainName = z
	.string()
	.trim()
	.toLowerCase()
	.max(253)
	.refine((v) => HOSTNAME.test(v.replace(/\.$/, "")), {
		message: "Must be a domain name such as example.com: letters, digits and hyphens, in two or more labels",
	})
	.refine((v) => !SPECIAL_USE.test(v.replace(/\.$/, "")), {
		message: "Reserved names (.invalid, .localhost, .test, .example, .local, .internal…) cannot be claimed",
	})
	.transform((v) => v.replace(/\.$/, ""))
	.openapi({
		description:
			"The email domain, as in people's addresses (`example.com`): lowercase letters, digits and hyphens in two " +
			"or more labels, at most 253 characters; an internationalised name in its `xn--` form. Subdomains are " +
			"separate domains. Reserved names (`.invalid`, `.localhost`, `.test`, `.example`, `.local`) are refused.",
		example: "example.com",
	});

export const DomainSchema = z
	.object({
		id: IssuedId("dom", "The domain's id"),
		domain: z.string().openapi({ description: "The domain", example: "example.com" }),
		status: z.enum(["pending", "verified"]).openapi({
			description: "`pending` until the TXT record was found by `…/verify`; then `verified`",
			example: "pending",
		}),
		record: z
			.object({
				type: z.literal("TXT").openapi({ description: "The record type", example: "TXT" }),
				name: z.string().openapi({
					description: "Where to publish it",
					example: "_keyward-challenge.example.com",
				}),
				value: z.string().openapi({
					description: "What it must say, exactly",
					example: "keyward-domain-verification=3kq7m2xw5vhz4tna3kq7m2xw5vhz4tna",
				}),
			})
			.openapi({ description: "The DNS record that proves control of the domain (keep it while the domain is used)" }),
		createdAt: Timestamp("When it was claimed", "2026-12-01T09:30:00.000Z"),
		verifiedAt: z
			.string()
			.nullable()
			.openapi({ format: "date-time", description: "When the record was found; null while pending", example: null }),
		lastCheckedAt: z.string().nullable().openapi({
			format: "date-time",
			description:
				"When the record was last looked for (`…/verify`, or the daily re-check of a verified domain); null before the first look",
			example: null,
		}),
		recordMissingSince: z
			.string()
			.nullable()
			.openapi({
				format: "date-time",
				description:
					"A verified domain whose record the daily re-check no longer finds: since when. Seven days after, the domain " +
					"lapses (pending again); null while the record is there",
				example: null,
			}),
	})
	.openapi("Domain", { description: "An email domain the account claims, with the DNS record that proves it" });

export const listDomainsRoute = accountRoute("account:read", {
	method: "get",
	path: "/v1/accounts/{accountId}/domains",
	tags: ["Domains"],
	summary: "The email domains the account claims, pending or verified",
	request: { params: AccountParams },
	responses: {
		200: jsonContent(z.object({ data: z.array(DomainSchema).openapi({ description: "Oldest first" }) }), "Domains"),
		...problemResponses(401, 403, 404),
	},
});

export const addDomainRoute = accountRoute(
	"domains:manage",
	{
		method: "post",
		path: "/v1/accounts/{accountId}/domains",
		tags: ["Domains"],
		summary: "Claim an email domain: answers the DNS TXT record that proves it",
		description:
			"Only the owner, with a proof of identity from the last ten minutes. Publish the answer's `record` in the " +
			"domain's DNS, then call `…/verify`. A verified domain lets SCIM provision its addresses into the account " +
			`(and only its addresses). At most ${DOMAINS_PER_ACCOUNT} domains per account (409 beyond).`,
		request: { params: AccountParams, body: jsonBody(z.strictObject({ domain: DomainName })) },
		responses: {
			201: jsonContent(z.object({ domain: DomainSchema }), "Claimed, pending"),
			...problemResponses(400, 401, 403, 404, 409, 423),
		},
	},
	{ grants: "setting", reauthenticate: "claim a domain" },
);

export const verifyDomainRoute = accountRoute(
	"domains:manage",
	{
		method: "post",
		path: "/v1/accounts/{accountId}/domains/{domainId}/verify",
		tags: ["Domains"],
		summary: "Look for the domain's TXT record now; verified when it is there",
		description:
			"Looks the record up over DNS over HTTPS. 200 with `status: verified` when found (or already verified); 409 " +
			"when the record is not there yet (DNS changes can take minutes to be seen) or another account holds the " +
			"domain verified; 503 when the resolver did not answer.",
		request: { params: DomainParams },
		responses: {
			200: jsonContent(z.object({ domain: DomainSchema }), "Verified"),
			...problemResponses(401, 403, 404, 409, 423, 503),
		},
	},
	{ grants: "setting", reauthenticate: "verify a domain" },
);

export const removeDomainRoute = accountRoute("domains:manage", {
	method: "delete",
	path: "/v1/accounts/{accountId}/domains/{domainId}",
	tags: ["Domains"],
	summary: "Give a domain up: SCIM can no longer provision its addresses",
	description: "People already provisioned stay members until they are deprovisioned or removed.",
	request: { params: DomainParams },
	responses: { 204: { description: "Removed" }, ...problemResponses(401, 403, 404) },
});

export function registerDomains(app: App) {
	app.openapi(listDomainsRoute, async (c) => {
		const { accountId } = c.req.valid("param");
		const rows = await listDomains(c.get("services").db, accountId);
		return c.json({ data: rows.map(publicDomain) }, 200);
	});

	app.openapi(addDomainRoute, async (c) => {
		const { accountId } = c.req.valid("param");
		const { domain } = c.req.valid("json");
		const { db, clock } = c.get("services");
		const caller = callerMembership(c, accountId);
		const row = await addDomain(db, accountId, caller.principal.userId, domain, clock.now());
		c.get("audit").record({ action: "domain.added", target: { type: "domain", id: row.id }, metadata: { domain } });
		return c.json({ domain: publicDomain(row) }, 201);
	});

	app.openapi(verifyDomainRoute, async (c) => {
		const { accountId, domainId } = c.req.valid("param");
		const { db, clock, fetch } = c.get("services");
		const row = await getDomain(db, accountId, domainId);
		if (!row) throw new ApiError("not-found", { detail: "No such domain" });
		const caller = callerMembership(c, accountId);
		const outcome = await verifyDomain(db, c.env, fetch, row, caller.principal.userId, clock.now());
		if ("takenElsewhere" in outcome)
			throw new ApiError("conflict", {
				detail: `Another account holds ${row.domain} verified; it must remove the domain first`,
			});
		if ("unavailable" in outcome)
			throw new ApiError("service-unavailable", {
				detail: `The DNS could not be checked (${outcome.unavailable}); try again shortly`,
				headers: { "Retry-After": "30" },
			});
		if ("notFound" in outcome)
			throw new ApiError("conflict", {
				detail:
					`No TXT record at ${challengeName(row.domain)} says "${publicDomain(row).record.value}" yet; ` +
					"DNS changes can take a few minutes to be seen",
			});
		if (outcome.now)
			c.get("audit").record({
				action: "domain.verified",
				target: { type: "domain", id: row.id },
				metadata: { domain: row.domain },
			});
		return c.json({ domain: publicDomain(outcome.verified) }, 200);
	});

	app.openapi(removeDomainRoute, async (c) => {
		const { accountId, domainId } = c.req.valid("param");
		const { db } = c.get("services");
		const row = await getDomain(db, accountId, domainId);
		if (!row) throw new ApiError("not-found", { detail: "No such domain" });
		if (!(await removeDomain(db, row, callerMembership(c, accountId).principal.userId)))
			throw new ApiError("not-found", { detail: "No such domain" });
		c.get("audit").record({
			action: "domain.removed",
			target: { type: "domain", id: row.id },
			metadata: { domain: row.domain, wasVerified: row.verifiedAt !== null },
		});
		return c.body(null, 204);
	});
}
