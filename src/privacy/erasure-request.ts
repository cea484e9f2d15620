/**
 * The one statement `npm run privacy:erase` sends through `wrangler d1 execute`
 * (scripts/privacy-erase.ts), built here so the tests run the same text. It
 * imports nothing: Node runs it from the script as well as workerd from the cron's side.
 */

/** A user id as Keyward issues them; anything else is refused before it is put into SQL. */
export const USER_ID = /^usr_[a-z0-9]{8,40}$/;
const REQUEST_ID = /^era_[a-z0-9]{8,40}$/;

/** The operator's name, reduced to characters that cannot leave a SQL string. */
export const operatorName = (name: string): string => name.replace(/[^A-Za-z0-9._@-]/g, "").slice(0, 64) || "unknown";

/**
 * An address as the script accepts it: the characters addresses are made of and nothing that can
 * leave a SQL string. Stricter than what signup takes; an address outside it is erased by user id.
 */
export const ERASABLE_EMAIL = /^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,24}$/;

export function erasureRequestSql(
	request: { id: string; by: string; at: number } & ({ userId: string } | { email: string }),
): string {
	if ("userId" in request && !USER_ID.test(request.userId)) throw new Error(`not a user id: ${request.userId}`);
	if ("email" in request && !ERASABLE_EMAIL.test(request.email)) throw new Error("not an address");
	if (!REQUEST_ID.test(request.id)) throw new Error(`not a request id: ${request.id}`);
	if (!Number.isSafeInteger(request.at)) throw new Error("not a time");
	const [userId, email] = "userId" in request ? [`'${request.userId}'`, "NULL"] : ["''", `'${request.email}'`];
	return (
		"INSERT INTO erasure_requests (id, user_id, email, requested_at, requested_by) " +
		`VALUES ('${request.id}', ${userId}, ${email}, ${request.at}, '${operatorName(request.by)}');`
	);
}
