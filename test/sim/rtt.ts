/**
 * Round-trip times between regions for the simulation (ms, average ping between cloud virtual
 * machines). Source: the AWS inter-region latency table published in "AWS Regions",
 * https://acomputerscientistlearnsaws.blogspot.com/2017/04/aws-regions.html (table "FROM/TO
 * (average latency in ms)", taken from the blog post "Latency Between AWS Global Regions"); where
 * the two directions differ the table's mean is used. Each region stands for the Durable Objects
 * location hint of its continent (https://developers.cloudflare.com/durable-objects/reference/data-location/):
 * Virginia `enam`, Oregon `wnam`, Frankfurt `weur`, Tokyo `apac`, Sydney `oc`, São Paulo `sam`.
 *
 * Within one region the table has 0; a Worker's call to an object in its own region is taken as
 * LOCAL_RTT_MS, an assumption (not a measurement) to be replaced by one from the platform.
 */
export const REGIONS = ["enam", "wnam", "weur", "apac", "oc", "sam"] as const;
export type Region = (typeof REGIONS)[number];

export const LOCAL_RTT_MS = 2;

const TABLE: Record<string, number> = {
	"enam-wnam": 87.8, // N. Virginia – Oregon: 86.98 / 88.68
	"enam-weur": 88.6, // N. Virginia – Frankfurt: 88.66 / 88.62
	"enam-apac": 145.3, // N. Virginia – Tokyo
	"enam-oc": 229.9, // N. Virginia – Sydney: 230 / 229.7
	"enam-sam": 119.5, // N. Virginia – São Paulo
	"wnam-weur": 159.5, // Oregon – Frankfurt
	"wnam-apac": 89.1, // Oregon – Tokyo: 89.1 / 89.16
	"wnam-oc": 162.1, // Oregon – Sydney: 162.2 / 161.9
	"wnam-sam": 182.7, // Oregon – São Paulo
	"weur-apac": 236.6, // Frankfurt – Tokyo: 236.5 / 236.6
	"weur-oc": 323.4, // Frankfurt – Sydney: 323.5 / 323.2
	"weur-sam": 194.9, // Frankfurt – São Paulo
	"apac-oc": 103.9, // Tokyo – Sydney
	"apac-sam": 256.8, // Tokyo – São Paulo
	"oc-sam": 322.5, // Sydney – São Paulo
};

/** The round trip between two regions (LOCAL_RTT_MS within one). */
export function rtt(a: Region, b: Region): number {
	if (a === b) return LOCAL_RTT_MS;
	const ms = TABLE[`${a}-${b}`] ?? TABLE[`${b}-${a}`];
	if (ms === undefined) throw new Error(`no round trip for ${a}–${b}`);
	return ms;
}
