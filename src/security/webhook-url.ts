/**
 * Validation of customer-supplied webhook URLs, against server-side request
 * forgery (SSRF). The Worker POSTs to these URLs, so a URL that points back
 * into a private network, at a loopback service or at a cloud metadata
 * endpoint (169.254.169.254, metadata.google.internal, fd00:ec2::254) could
 * turn Keyward into a proxy that reads or writes things the customer cannot
 * reach themselves.
 *
 * Every check runs on the WHATWG-normalised URL, never on the raw text: the
 * parser already turns "https://2130706433/", "https://0x7f000001/",
 * "https://0177.0.0.1/" and "https://127.1/" into "127.0.0.1", decodes
 * percent-escapes and IDNA in host names, and drops "\" tricks, so checking
 * what fetch() will actually connect to closes the parser-differential gap.
 *
 * This is a lexical check only: a public name that resolves (or is rebound)
 * to a private address is not caught here.
 */
import { type Cidr, cidrContains, parseCidr, parseIp } from "./cidr";

/** A short human-readable reason the URL is refused. */
export type WebhookUrlProblem = string;

export const WEBHOOK_URL_MAX_LENGTH = 2048;

interface Block {
	cidr: Cidr;
	what: string;
}

function range(text: string): Cidr {
	const cidr = parseCidr(text);
	if (cidr === null) throw new Error(`bad built-in range ${text}`);
	return cidr;
}

function blocks(entries: readonly (readonly [string, string])[]): readonly Block[] {
	return entries.map(([text, what]) => ({ cidr: range(text), what }));
}

// First match wins, so the narrow metadata and broadcast entries come before
// the ranges that contain them and give the more useful reason.
const IPV4_BLOCKS = blocks([
	["169.254.169.254/32", "a cloud metadata address"],
	["100.100.100.200/32", "a cloud metadata address"],
	["255.255.255.255/32", "the broadcast address"],
	["0.0.0.0/8", "an unspecified address"],
	["10.0.0.0/8", "a private address"],
	["100.64.0.0/10", "a carrier-grade NAT address"],
	["127.0.0.0/8", "a loopback address"],
	["169.254.0.0/16", "a link-local address"],
	["172.16.0.0/12", "a private address"],
	["192.0.0.0/24", "a reserved address"],
	["192.0.2.0/24", "a documentation address"],
	["192.88.99.0/24", "a 6to4 relay address"],
	["192.168.0.0/16", "a private address"],
	["198.18.0.0/15", "a benchmarking address"],
	["198.51.100.0/24", "a documentation address"],
	["203.0.113.0/24", "a documentation address"],
	["224.0.0.0/4", "a multicast address"],
	["240.0.0.0/4", "a reserved address"],
]);

// IPv4-mapped and NAT64 addresses are refused whole rather than unwrapped and
// re-checked: no legitimate webhook host needs them, and unwrapping is where
// bypasses hide (WHATWG prints [::ffff:127.0.0.1] as [::ffff:7f00:1]).
const IPV6_BLOCKS = blocks([
	["fd00:ec2::254/128", "a cloud metadata address"],
	["::/128", "an unspecified address"],
	["::1/128", "a loopback address"],
	["::ffff:0:0/96", "an IPv4-mapped address"],
	["::/96", "an IPv4-compatible address"],
	["64:ff9b::/96", "a NAT64 address"],
	["64:ff9b:1::/48", "a NAT64 address"],
	["fc00::/7", "a private (unique local) address"],
	["fe80::/10", "a link-local address"],
	["fec0::/10", "a site-local address"],
	["ff00::/8", "a multicast address"],
	["2001:db8::/32", "a documentation address"],
	["2002::/16", "a 6to4 address"],
	["2001::/32", "a Teredo address"],
]);

// Anything outside 2000::/3 is not routable global unicast today; refusing it
// catches reserved space the list above does not name (100::/64 and friends).
const IPV6_GLOBAL_UNICAST = range("2000::/3");

// Names that never resolve to a public host, plus wildcard DNS services that
// answer any embedded address ("127.0.0.1.nip.io" resolves to 127.0.0.1).
// metadata.google.internal is covered by "internal".
const BLOCKED_SUFFIXES = [
	"localhost",
	"local",
	"internal",
	"localdomain",
	"home.arpa",
	"nip.io",
	"sslip.io",
	"xip.io",
	"localtest.me",
	// Public names that point at loopback on purpose (found in review: lvh.me resolves to 127.0.0.1).
	"lvh.me",
	"vcap.me",
	"lacolhost.com",
	"localhost.direct",
	// Found in the #24 attacker round: more loopback and rebinding services…
	"localh.st",
	"traefik.me",
	"rbndr.us",
	"1u.ms",
	// …and names that only resolve inside a network, or never (RFC 6761, RFC 7686, common private TLDs).
	"arpa",
	"corp",
	"home",
	"lan",
	"intranet",
	"private",
	"svc",
	"test",
	"invalid",
	"onion",
];

function parse(raw: string): URL | null {
	try {
		return new URL(raw);
	} catch {
		return null;
	}
}

function portProblem(url: URL): WebhookUrlProblem | null {
	// url.port is "" for the scheme default, including an explicit ":443".
	if (url.port === "") return null;
	const port = Number(url.port);
	// Low ports are system services (ssh, smtp, …): a webhook has no business there.
	return port === 443 || port >= 1024 ? null : "must use port 443 or a port from 1024 to 65535";
}

function firstBlock(table: readonly Block[], address: bigint): Block | undefined {
	return table.find((block) => cidrContains(block.cidr, address));
}

function ipv6Problem(literal: string): WebhookUrlProblem | null {
	const address = parseIp(literal);
	if (address === null) return "has an unreadable IPv6 address";
	const block = firstBlock(IPV6_BLOCKS, address);
	if (block) return `points at ${block.what}`;
	return cidrContains(IPV6_GLOBAL_UNICAST, address) ? null : "points at a reserved address";
}

function ipv4Problem(address: bigint): WebhookUrlProblem | null {
	const block = firstBlock(IPV4_BLOCKS, address);
	return block ? `points at ${block.what}` : null;
}

function nameProblem(hostname: string): WebhookUrlProblem | null {
	// "localhost." is the same host as "localhost" to a resolver.
	const name = hostname.replace(/\.+$/, "");
	const blocked = BLOCKED_SUFFIXES.find((suffix) => name === suffix || name.endsWith(`.${suffix}`));
	if (blocked) return `points at a non-public host name (${blocked})`;
	// A single label ("intranet", "metadata") is completed by the resolver's search domains.
	return name.includes(".") ? null : "must use a fully qualified host name";
}

function hostProblem(hostname: string): WebhookUrlProblem | null {
	if (hostname.startsWith("[")) return ipv6Problem(hostname.slice(1, -1));
	// WHATWG has already rewritten every IPv4 spelling to canonical dotted
	// decimal, which is exactly what parseIp accepts; any other name is a domain.
	const v4 = parseIp(hostname);
	if (v4 !== null) return ipv4Problem(v4);
	return nameProblem(hostname);
}

/**
 * A URL as it will be called, for storing and showing: parsed and serialised (punycode host,
 * normalised path), never as typed, so what the account sees is what Keyward connects to. Call it
 * only on a URL `webhookUrlProblem` accepted.
 */
export const callableUrl = (raw: string): string => new URL(raw).href;

/** Why a customer-supplied webhook URL must not be called, or null if it is acceptable. */
export function webhookUrlProblem(raw: string): WebhookUrlProblem | null {
	if (raw.length > WEBHOOK_URL_MAX_LENGTH) return `must be at most ${WEBHOOK_URL_MAX_LENGTH} characters`;
	const url = parse(raw);
	if (url === null) return "is not a valid URL";
	// The parser would strip or rewrite these; what is stored and shown must be what is called.
	if (/[\s\\\p{Cc}]/u.test(raw)) return "must not contain spaces, control characters or backslashes";
	if (url.protocol !== "https:") return "must use https";
	if (url.username !== "" || url.password !== "") return "must not contain a user name or password";
	// Normalisation can lengthen the URL (punycode, percent-encoding).
	if (url.href.length > WEBHOOK_URL_MAX_LENGTH) return `must be at most ${WEBHOOK_URL_MAX_LENGTH} characters`;
	return portProblem(url) ?? hostProblem(url.hostname);
}
