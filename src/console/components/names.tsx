/** Ids as people know them: a member by name and email, a key by name and label, linked to its page. */
import type { Child } from "hono/jsx";
import type { Result } from "../client/api";
import type * as ui from "./render";

type AuditEventView = Result<"auditEvents", "list">["data"][number];

/** Who or what an id is, as people know it: a member's name and email, a key's name and label. */
export type Names = Map<string, Child>;

export async function namesOf(me: ui.SignedIn, accountId: string): Promise<Names> {
	const [members, keys] = await Promise.all([
		me.api.call((api) => api.members.list({ accountId, query: { limit: 100 } })),
		me.api.call((api) => api.keys.list({ accountId, query: { limit: 100 } })),
	]);
	const names: Names = new Map();
	for (const m of members.ok ? members.data.data : [])
		names.set(
			m.userId,
			<>
				{m.name} <span class="muted">{m.email}</span>
			</>,
		);
	for (const k of keys.ok ? keys.data.data : [])
		names.set(
			k.id,
			<>
				<a href={`/console/a/${accountId}/keys/${k.id}`}>{k.name}</a>{" "}
				<code>
					{k.start}…{k.last4 ?? ""}
				</code>
			</>,
		);
	return names;
}

const ACTOR_KIND = { user: "person", key: "key", system: "Keyward" } as const;

export function actorOf(e: AuditEventView, names: Names): Child {
	const who = e.actor.id ? (names.get(e.actor.id) ?? <code>{e.actor.id}</code>) : ACTOR_KIND[e.actor.type];
	return (
		<>
			{who}
			{e.actor.ip && <span class="muted"> from {e.actor.ip}</span>}
		</>
	);
}

export const targetOf = (e: AuditEventView, names: Names): Child =>
	e.target ? (names.get(e.target.id) ?? `${e.target.type} ${e.target.id}`) : "—";
