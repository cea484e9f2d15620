/**
 * IPv4 and IPv6 CIDR parsing and matching, as plain functions. Addresses are
 * compared as 128-bit integers; IPv4 (and IPv4-mapped IPv6) live in
 * ::ffff:0:0/96 so "10.0.0.0/8" also matches "::ffff:10.1.2.3".
 */

function parseIpv4(text: string): bigint | null {
	const parts = text.split(".");
	if (parts.length !== 4) return null;
	let value = 0n;
	for (const part of parts) {
		if (!/^\d{1,3}$/.test(part) || (part.length > 1 && part.startsWith("0"))) return null;
		const n = Number(part);
		if (n > 255) return null;
		value = (value << 8n) | BigInt(n);
	}
	return value;
}

function parseIpv6(text: string): bigint | null {
	let head = text;
	let tailV4: bigint | null = null;
	const lastColon = text.lastIndexOf(":");
	if (text.includes(".")) {
		tailV4 = parseIpv4(text.slice(lastColon + 1));
		if (tailV4 === null) return null;
		head = `${text.slice(0, lastColon + 1)}0:0`;
	}
	const halves = head.split("::");
	if (halves.length > 2) return null;
	const parse = (s: string) => (s === "" ? [] : s.split(":"));
	const left = parse(halves[0] ?? "");
	const right = halves.length === 2 ? parse(halves[1] ?? "") : [];
	const missing = 8 - left.length - right.length;
	if ((halves.length === 1 && missing !== 0) || (halves.length === 2 && missing < 1)) return null;
	const groups = [...left, ...Array(halves.length === 2 ? missing : 0).fill("0"), ...right];
	let value = 0n;
	for (const g of groups) {
		if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
		value = (value << 16n) | BigInt(Number.parseInt(g, 16));
	}
	if (tailV4 !== null) value = (value & ~0xffffffffn) | tailV4;
	return value;
}

const V4_MAPPED = 0xffffn << 32n;

/** An address as a 128-bit integer (IPv4 mapped into ::ffff:0:0/96), or null if it is not one. */
export function parseIp(text: string): bigint | null {
	const v4 = parseIpv4(text);
	if (v4 !== null) return V4_MAPPED | v4;
	return text.includes(":") ? parseIpv6(text) : null;
}

export interface Cidr {
	base: bigint;
	prefix: number; // out of 128
}

export function parseCidr(text: string): Cidr | null {
	const [address, bits, extra] = text.split("/");
	if (!address || extra !== undefined) return null;
	const isV4 = parseIpv4(address) !== null;
	const ip = parseIp(address);
	if (ip === null) return null;
	const max = isV4 ? 32 : 128;
	const length = bits === undefined ? max : /^\d{1,3}$/.test(bits) ? Number(bits) : Number.NaN;
	if (!Number.isInteger(length) || length < 0 || length > max) return null;
	const prefix = isV4 ? length + 96 : length;
	const mask = prefix === 0 ? 0n : ((1n << 128n) - 1n) ^ ((1n << BigInt(128 - prefix)) - 1n);
	// Host bits set ("10.0.0.1/8", "::ffff:10.0.0.0/8") mean the range is not what the writer thinks: refuse it.
	if ((ip & mask) !== ip) return null;
	return { base: ip, prefix };
}

export function cidrContains(cidr: Cidr, ip: bigint): boolean {
	if (cidr.prefix === 0) return true;
	const shift = BigInt(128 - cidr.prefix);
	return ip >> shift === cidr.base >> shift;
}

/** True when the allowlist is empty (no restriction) or the address is inside one of its ranges. */
export function ipAllowed(allowlist: readonly string[], ip: string | null): boolean {
	if (allowlist.length === 0) return true;
	const address = ip ? parseIp(ip) : null;
	if (address === null) return false;
	return allowlist.some((entry) => {
		const cidr = parseCidr(entry);
		return cidr !== null && cidrContains(cidr, address);
	});
}

/** True when every address of `inner` is inside `outer` (a narrower or equal range). */
export const cidrWithin = (inner: Cidr, outer: Cidr): boolean =>
	inner.prefix >= outer.prefix && cidrContains(outer, inner.base);

/**
 * True when the allowlist `narrower` admits no address that `wider` refuses. An empty list admits
 * every address, so it is within only another empty list.
 */
export function allowlistWithin(narrower: readonly string[], wider: readonly string[]): boolean {
	if (wider.length === 0) return true;
	if (narrower.length === 0) return false;
	const outer = wider.map(parseCidr).filter((c): c is Cidr => c !== null);
	return narrower.every((entry) => {
		const inner = parseCidr(entry);
		return inner !== null && outer.some((o) => cidrWithin(inner, o));
	});
}

/**
 * The key a per-address throttle counts under: the full address for IPv4, the /64 prefix for IPv6
 * (ASVS 6.1.1 and 6.3.1: one IPv6 customer holds a whole /64, and would otherwise get 2^64 fresh
 * budgets). Anything that is not an address is counted as itself.
 */
export function throttleKeyOf(ip: string): string {
	const address = parseIp(ip);
	if (address === null) return `raw:${ip.slice(0, 64)}`;
	// IPv4 whatever its spelling (`1.2.3.4`, `::ffff:1.2.3.4`): one address, one key.
	if (address >> 32n === 0xffffn) {
		const v4 = Number(address & 0xffffffffn);
		return `v4:${[24, 16, 8, 0].map((shift) => (v4 >>> shift) & 255).join(".")}`;
	}
	return `v6:${(address >> 64n).toString(16)}::/64`;
}
