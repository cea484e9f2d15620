/**
 * A session's device in words ("Chrome on macOS"), from its User-Agent, for the sessions list. Only
 * the browser or client and the operating system: enough to recognise one's own devices, and no
 * more than the list needs. An unrecognised string is "Unknown browser" / "unknown system", never
 * the raw text.
 */

const BROWSERS: [RegExp, string][] = [
	[/\bEdg(?:e|A|iOS)?\//, "Edge"],
	[/\bOPR\/|\bOpera\b/, "Opera"],
	[/\bSamsungBrowser\//, "Samsung Internet"],
	[/\bFirefox\/|\bFxiOS\//, "Firefox"],
	[/\bCriOS\/|\b(?:Headless)?Chrome\/|\bChromium\//, "Chrome"],
	[/\bVersion\/[\d.]+.*\bSafari\//, "Safari"],
	[/^curl\//, "curl"],
	[/\bPostmanRuntime\//, "Postman"],
	[/\bkeyward-sdk\b|@keyward\/sdk/i, "Keyward SDK"],
	[/^node\b|\bundici\b|\bnode-fetch\b/i, "Node.js"],
	[/^python-requests\/|^python-httpx\//, "Python"],
	[/^Go-http-client\//, "Go"],
];

const SYSTEMS: [RegExp, string][] = [
	[/\biPhone\b|\biPad\b|\biPod\b/, "iOS"],
	[/\bAndroid\b/, "Android"],
	[/\bCrOS\b/, "ChromeOS"],
	[/\bWindows\b/, "Windows"],
	[/\bMac OS X\b|\bMacintosh\b/, "macOS"],
	[/\bLinux\b|\bX11\b/, "Linux"],
];

export function describeDevice(userAgent: string | null | undefined): string {
	if (!userAgent) return "Unknown device";
	const browser = BROWSERS.find(([re]) => re.test(userAgent))?.[1];
	const system = SYSTEMS.find(([re]) => re.test(userAgent))?.[1];
	if (browser && system) return `${browser} on ${system}`;
	if (browser) return browser;
	if (system) return `A browser on ${system}`;
	return "Unknown device";
}
