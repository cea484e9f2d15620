/** A browser for the console's pages: keeps cookies, sends same-origin form posts, follows nothing by itself. */
import { BASE } from "./app";

type Request = (path: string, init?: RequestInit) => Promise<Response>;

/** The `name=value` pair of a cookie a response sets (not one it clears), or undefined. */
export const cookieOf = (res: Response, name: string) =>
	res.headers
		.getSetCookie()
		.map((c) => c.split(";")[0] ?? "")
		.find((c) => c.startsWith(`${name}=`) && c.length > name.length + 1);

export function formBrowser(request: Request) {
	const jar = new Map<string, string>();
	const take = (res: Response) => {
		for (const cookie of res.headers.getSetCookie()) {
			const [pair = ""] = cookie.split(";");
			const at = pair.indexOf("=");
			const name = pair.slice(0, at);
			const value = pair.slice(at + 1);
			if (value === "" || /max-age=0/i.test(cookie)) jar.delete(name);
			else jar.set(name, value);
		}
		return res;
	};
	const headers = () => ({
		Cookie: [...jar].map(([k, v]) => `${k}=${v}`).join("; "),
		Origin: new URL(BASE).origin,
		"Content-Type": "application/x-www-form-urlencoded",
	});
	return {
		jar,
		get: async (path: string) => take(await request(path, { headers: headers(), redirect: "manual" })),
		post: async (path: string, form: Record<string, string> = {}) =>
			take(
				await request(path, {
					method: "POST",
					headers: headers(),
					body: new URLSearchParams(form).toString(),
					redirect: "manual",
				}),
			),
	};
}

/** The hidden fields of a page's forms, by name (the proof-of-identity prompt keeps a form's fields there). */
export const hiddenFields = (html: string): Record<string, string> =>
	Object.fromEntries(
		[...html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)].map((m) => [m[1] ?? "", m[2] ?? ""]),
	);
