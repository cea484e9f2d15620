/**
 * What the account's home object and its regional guards say to each other (docs/GLOBAL.md), kept
 * apart from both classes so that each can name the other's side without an import cycle.
 */
import type { Returned } from "./key-store";

/** The guard of an account in a region: one object per (account, region). */
export const regionalGuardName = (accountId: string, region: string) => `${accountId}:${region}`;

/** A guard as a share holder: its region and this run's incarnation (a restarted guard is another). */
export const guardId = (region: string, incarnation: string) => `${region}:${incarnation}`;

export function guardOf(id: string): { region: string; incarnation: string } {
	const at = id.indexOf(":");
	return { region: id.slice(0, at), incarnation: id.slice(at + 1) };
}

/** The guard's side of a recall, as the home calls it. */
export interface RecallTarget extends Rpc.DurableObjectBranded {
	/**
	 * Drops the keys and answers each held one's final reports; null when `incarnation` is not this
	 * run's (the shares the home knows of belong to a run that no longer exists).
	 */
	recall(hashes: string[], incarnation: string): Promise<Record<string, Returned> | null>;
}
