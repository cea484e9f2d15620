/**
 * A passkey ceremony as a form: the options ride in a data attribute, the page's one script
 * (layout.tsx) runs `navigator.credentials.create()` or `.get()` when the button is pressed (or,
 * for sign-in, through the browser's autofill), writes the credential's JSON into the hidden field
 * and submits. Without WebAuthn in the browser the button stays hidden.
 */
import type { Child } from "hono/jsx";

export const PasskeyForm = ({
	action,
	ceremony,
	options,
	label,
	conditional = false,
	children,
}: {
	action: string;
	ceremony: "create" | "get";
	options: unknown;
	label: string;
	/** Offer the user's passkeys in the email field's autofill too (sign-in only). */
	conditional?: boolean;
	children?: Child;
}) => (
	<form
		method="post"
		action={action}
		data-passkey={ceremony}
		data-options={JSON.stringify(options)}
		data-conditional={conditional ? "on" : undefined}
	>
		{children}
		<input type="hidden" name="credential" value="" />
		<button type="button" data-passkey-start hidden>
			{label}
		</button>
		<p class="muted" data-passkey-error role="alert" hidden />
	</form>
);

/** The `credential` a passkey form posted, parsed (the API names what is wrong with it). */
export function postedCredential(form: Record<string, string>): unknown {
	try {
		return JSON.parse(form.credential ?? "");
	} catch {
		return {};
	}
}
