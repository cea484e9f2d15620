import { describe, expect, it } from "vitest";
import { ipAllowed, parseCidr, parseIp } from "../../src/security/cidr";

describe("CIDR matching", () => {
	it.each([
		[["203.0.113.0/24"], "203.0.113.77", true],
		[["203.0.113.0/24"], "203.0.114.1", false],
		[["10.0.0.0/8"], "10.255.0.1", true],
		[["10.0.0.0/8"], "::ffff:10.1.2.3", true],
		[["198.51.100.7"], "198.51.100.7", true],
		[["198.51.100.7/32"], "198.51.100.8", false],
		[["0.0.0.0/0"], "8.8.8.8", true],
		[["2001:db8::/32"], "2001:db8:abcd::1", true],
		[["2001:db8::/32"], "2001:db9::1", false],
		[["2001:db8:0:0:0:0:0:1/128"], "2001:db8::1", true],
		[["::1/128"], "::1", true],
		[["fe80::/10"], "fe80::1234:5678", true],
		[["fe80::/10"], "fec0::1", false],
		[[], "1.2.3.4", true],
		[["203.0.113.0/24"], null, false],
		[["203.0.113.0/24"], "not-an-ip", false],
	])("%j allows %s: %s", (list, ip, expected) => {
		expect(ipAllowed(list, ip)).toBe(expected);
	});

	it("refuses malformed ranges and addresses", () => {
		for (const bad of [
			"300.1.1.1/8",
			"1.2.3.4/33",
			"2001:db8::/129",
			"1.2.3/24",
			"01.2.3.4/8",
			"2001:::1/64",
			"1.2.3.4/8/9",
			"::g/64",
			"",
		]) {
			expect(parseCidr(bad), bad).toBeNull();
		}
		expect(parseIp("1:2:3:4:5:6:7:8:9")).toBeNull();
		expect(parseIp("::")).toBe(0n);
	});
});
