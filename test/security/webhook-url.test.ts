import { describe, expect, it } from "vitest";
import { webhookUrlProblem } from "../../src/security/webhook-url";

const LONG_URL = `https://example.com/${"a".repeat(3000)}`;

describe("WHATWG URL normalisation the checks rely on", () => {
	it.each([
		["https://2130706433/", "127.0.0.1"],
		["https://0x7f000001/", "127.0.0.1"],
		["https://0177.0.0.1/", "127.0.0.1"],
		["https://017700000001/", "127.0.0.1"],
		["https://127.1/", "127.0.0.1"],
		["https://0x7f.1/", "127.0.0.1"],
		["https://127.0.0.1./", "127.0.0.1"],
		["https://%31%32%37.0.0.1/", "127.0.0.1"],
		["https://\uff11\uff12\uff17.\uff10.\uff10.\uff11/", "127.0.0.1"],
		["https://LOCALHOST./", "localhost."],
		["https://[::ffff:127.0.0.1]/", "[::ffff:7f00:1]"],
		["https://[0:0:0:0:0:0:0:1]/", "[::1]"],
	])("%s has hostname %s", (raw, hostname) => {
		expect(new URL(raw).hostname).toBe(hostname);
	});
});

describe("webhookUrlProblem refuses", () => {
	it.each([
		// not https, not a URL, too long
		["http://example.com/hook"],
		["ftp://example.com/hook"],
		["javascript:alert(1)"],
		["data:text/plain,hello"],
		["file:///etc/passwd"],
		["not a url"],
		[""],
		["https://"],
		[LONG_URL],
		// credentials
		["https://user@example.com/"],
		["https://user:pass@example.com/"],
		["https://:pass@example.com/"],
		["https://example.com@127.0.0.1/"],
		// ports
		["https://example.com:22/"],
		["https://example.com:25/"],
		["https://example.com:80/"],
		["https://example.com:0/"],
		["https://example.com:1023/"],
		// non-public names
		["https://localhost/"],
		["https://LOCALHOST./"],
		["https://localhost../"],
		["https://foo.localhost/"],
		["https://printer.local/"],
		["https://foo.internal/"],
		["https://metadata.google.internal/computeMetadata/v1/"],
		["https://metadata/"],
		["https://intranet/"],
		["https://db.localdomain/"],
		["https://nas.home.arpa/"],
		["https://127.0.0.1.nip.io/"],
		// found in the #24 attacker round: loopback and rebinding services, private and special-use names, and
		// text the parser would quietly rewrite
		["https://localh.st/"],
		["https://127.0.0.1.traefik.me/"],
		["https://7f000001.c0a80001.rbndr.us/"],
		["https://make-127-0-0-1-rr.1u.ms/"],
		["https://git.corp/"],
		["https://router.lan/"],
		["https://nas.home/"],
		["https://wiki.intranet/"],
		["https://kubernetes.default.svc/"],
		["https://1.0.0.127.in-addr.arpa/"],
		["https://hooks.test/"],
		["https://hooks.invalid/"],
		["https://abcdefghijklmnop.onion/"],
		[" https://hooks.example.com/"],
		["https://hooks.example.com/\n"],
		["https://a.example.com\\@127.0.0.1/"],
		["https://10-0-0-1.sslip.io/"],
		["https://7f000001.xip.io/"],
		["https://localtest.me/"],
		["https://app.localtest.me/"],
		["https://%6c%6fcalhost/"],
		// IPv4 in every spelling WHATWG accepts
		["https://127.0.0.1/"],
		["https://127.1/"],
		["https://2130706433/"],
		["https://0x7f000001/"],
		["https://0177.0.0.1/"],
		["https://017700000001/"],
		["https://127.0.0.1./"],
		["https://127.0.0.1\\@example.com/"],
		["https://0.0.0.0/"],
		["https://0.1.2.3/"],
		["https://10.0.0.1/"],
		["https://100.64.0.1/"],
		["https://100.127.255.255/"],
		["https://100.100.100.200/"],
		["https://169.254.169.254/latest/meta-data/"],
		["https://169.254.1.1/"],
		["https://172.16.5.4/"],
		["https://172.31.255.255/"],
		["https://192.0.0.8/"],
		["https://192.0.2.1/"],
		["https://192.88.99.1/"],
		["https://192.168.1.1/"],
		["https://198.18.0.1/"],
		["https://198.19.255.255/"],
		["https://198.51.100.1/"],
		["https://203.0.113.1/"],
		["https://224.0.0.1/"],
		["https://239.255.255.250/"],
		["https://240.0.0.1/"],
		["https://255.255.255.255/"],
		// IPv6 literals
		["https://[::1]/"],
		["https://[::]/"],
		["https://[0:0:0:0:0:0:0:1]/"],
		["https://[::ffff:127.0.0.1]/"],
		["https://[::ffff:7f00:1]/"],
		["https://[::ffff:169.254.169.254]/"],
		["https://[::ffff:8.8.8.8]/"],
		["https://[::127.0.0.1]/"],
		["https://[64:ff9b::a9fe:a9fe]/"],
		["https://[64:ff9b:1::1]/"],
		["https://[fc00::1]/"],
		["https://[fd12:3456::1]/"],
		["https://[fd00:ec2::254]/"],
		["https://[fe80::1]/"],
		["https://[febf::1]/"],
		["https://[fec0::1]/"],
		["https://[ff02::1]/"],
		["https://[2001:db8::1]/"],
		["https://[2002:7f00:1::]/"],
		["https://[2001:0:4136:e378::1]/"],
		["https://[100::1]/"],
	])("%s", (raw) => {
		expect(webhookUrlProblem(raw)).not.toBeNull();
	});
});

describe("webhookUrlProblem explains", () => {
	it.each([
		["http://example.com/", "must use https"],
		["not a url", "is not a valid URL"],
		[LONG_URL, "must be at most 2048 characters"],
		["https://example.com@127.0.0.1/", "must not contain a user name or password"],
		["https://example.com:22/", "must use port 443 or a port from 1024 to 65535"],
		["https://metadata/", "must use a fully qualified host name"],
		["https://intranet/", "points at a non-public host name (intranet)"],
		["https://LOCALHOST./", "points at a non-public host name (localhost)"],
		["https://127.0.0.1.nip.io/", "points at a non-public host name (nip.io)"],
		["https://0x7f000001/", "points at a loopback address"],
		["https://192.168.1.1/", "points at a private address"],
		["https://100.64.0.1/", "points at a carrier-grade NAT address"],
		["https://169.254.169.254/latest/meta-data/", "points at a cloud metadata address"],
		["https://100.100.100.200/", "points at a cloud metadata address"],
		["https://255.255.255.255/", "points at the broadcast address"],
		["https://[fd00:ec2::254]/", "points at a cloud metadata address"],
		["https://[::1]/", "points at a loopback address"],
		["https://[::ffff:127.0.0.1]/", "points at an IPv4-mapped address"],
		["https://[64:ff9b::a9fe:a9fe]/", "points at a NAT64 address"],
		["https://[fc00::1]/", "points at a private (unique local) address"],
		["https://[100::1]/", "points at a reserved address"],
	])("%s: %s", (raw, reason) => {
		expect(webhookUrlProblem(raw)).toBe(reason);
	});
});

describe("webhookUrlProblem accepts", () => {
	it.each([
		["https://example.com/hooks"],
		["https://hooks.slack.com/services/T000/B000/XXX"],
		["https://api.customer.io:8443/webhook?x=1"],
		["https://example.com:443/hook"],
		["https://example.com:1024/hook"],
		["https://example.com:65535/hook"],
		["HTTPS://EXAMPLE.COM/hook"],
		["https://example.com./hook"],
		["https://8.8.8.8/hook"],
		["https://[2606:4700:4700::1111]/hook"],
		["https://xn--bcher-kva.example/hook"],
		["https://bücher.example/hook"],
		["https://sub.domain.co.uk/path#frag"],
		["https://localhost.example.com/hook"],
		["https://nip.io.example.com/hook"],
		// just outside the private and shared ranges
		["https://172.15.255.255/"],
		["https://172.32.0.0/"],
		["https://100.63.255.255/"],
		["https://100.128.0.0/"],
		["https://169.253.255.255/"],
		["https://198.17.255.255/"],
		["https://198.20.0.0/"],
		["https://223.255.255.255/"],
		["https://11.0.0.1/"],
		["https://[2001:4860:4860::8888]/"],
		["https://[2a00:1450:4001::1]/"],
		[`https://example.com/${"a".repeat(2000)}`],
	])("%s", (raw) => {
		expect(webhookUrlProblem(raw)).toBeNull();
	});
});
