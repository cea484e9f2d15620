/** The WebAuthn objects the passkey routes take and give, as JSON (WebAuthn L3 `toJSON()` shapes). */
import { z } from "@hono/zod-openapi";
import { Id, IssuedId, Timestamp } from "../routes/openapi-shared";

const Base64url = (max: number, description: string, example: string) =>
	z
		.string()
		.min(1)
		.max(max)
		.regex(/^[A-Za-z0-9_-]+={0,2}$/, { message: "Must be base64url" })
		.openapi({ description: `${description} (base64url)`, example });

const CredentialId = Base64url(1400, "The credential's id, as the browser gives it", "tJk2yW5wQb6Y4rE3xN0pZg");

const Transports = z
	.array(z.string().max(32).openapi({ description: "A transport hint", example: "internal" }))
	.max(10)
	.openapi({
		description:
			"The transports the authenticator reported (`internal`, `hybrid`, `usb`, `nfc`, `ble`); unknown ones are dropped",
		example: ["internal", "hybrid"],
	});

const ExtensionResults = z.record(z.string().max(64), z.unknown()).openapi({
	description: "The client's extension results; none are used",
	example: {},
});

const Attachment = z.string().max(32).nullable().openapi({
	description: "`platform` or `cross-platform`, as the browser reports it; informational",
	example: "platform",
});

const PublicKeyType = z.literal("public-key").openapi({ description: "Always `public-key`", example: "public-key" });

/** `PublicKeyCredential.toJSON()` of `navigator.credentials.create()`. */
export const RegistrationCredential = z
	.strictObject({
		id: CredentialId,
		rawId: CredentialId.openapi({ description: "The same id as `id` (base64url)" }),
		type: PublicKeyType,
		response: z
			.strictObject({
				clientDataJSON: Base64url(4096, "The client data the browser built", "eyJ0eXBlIjoid2ViYXV0aG4uY3JlYXRlIn0"),
				attestationObject: Base64url(16_384, "The attestation object (CBOR)", "o2NmbXRkbm9uZWdhdHRTdG10oGhhdXRoRGF0YQ"),
				transports: Transports.optional(),
				authenticatorData: Base64url(16_384, "A copy of the authenticator data; not used", "SZYN5YgO").optional(),
				publicKey: Base64url(4096, "A copy of the public key (SPKI); not used", "MFkwEwYHKoZI").optional(),
				publicKeyAlgorithm: z
					.number()
					.int()
					.optional()
					.openapi({ description: "A copy of the key's COSE algorithm; not used", example: -7 }),
			})
			.openapi({ description: "The authenticator's attestation response" }),
		authenticatorAttachment: Attachment.optional(),
		clientExtensionResults: ExtensionResults.optional(),
	})
	.openapi({ description: "What `navigator.credentials.create()` resolved with, as `toJSON()` gives it" });

/** `PublicKeyCredential.toJSON()` of `navigator.credentials.get()`. */
export const AssertionCredential = z
	.strictObject({
		id: CredentialId,
		rawId: CredentialId.openapi({ description: "The same id as `id` (base64url)" }),
		type: PublicKeyType,
		response: z
			.strictObject({
				clientDataJSON: Base64url(4096, "The client data the browser built", "eyJ0eXBlIjoid2ViYXV0aG4uZ2V0In0"),
				authenticatorData: Base64url(
					16_384,
					"The authenticator data",
					"SZYN5YgOjGh0NBcPZHZgW4_krrmihjLHmVzzuoMdl2MFAAAAAQ",
				),
				signature: Base64url(1024, "The assertion signature", "MEUCIQDf3k"),
				userHandle: Base64url(128, "The user handle of a discoverable credential", "dXNyXzdoZDJrcTV4bTN3ejZ2cGE")
					.nullable()
					.optional(),
			})
			.openapi({ description: "The authenticator's assertion response" }),
		authenticatorAttachment: Attachment.optional(),
		clientExtensionResults: ExtensionResults.optional(),
	})
	.openapi({ description: "What `navigator.credentials.get()` resolved with, as `toJSON()` gives it" });

export type AssertionCredentialJson = z.infer<typeof AssertionCredential>;

const Challenge = z.string().openapi({
	description: "A single-use challenge (32 random bytes, base64url), valid 5 minutes. The example is made up.",
	example: "p2v8QmW3kF1xN6tR9yB4cH7jL0sD5gA2eZ3uV8iO1qM",
});

const Descriptor = z
	.object({
		type: PublicKeyType,
		id: CredentialId,
		transports: Transports,
	})
	.openapi({ description: "A credential the ceremony allows or excludes" });

const Expires = Timestamp("When the challenge expires: 5 minutes from now", "2026-03-02T09:35:00.000Z");

export const CreationOptions = z
	.object({
		publicKey: z
			.object({
				challenge: Challenge,
				rp: z
					.object({
						id: z.string().openapi({ description: "The relying party id (`WEBAUTHN_RP_ID`)", example: "keyward.dev" }),
						name: z.string().openapi({ description: "The name the browser shows", example: "Keyward" }),
					})
					.openapi({ description: "Who the passkey is for" }),
				user: z
					.object({
						id: z.string().openapi({
							description: "The user handle: the user's id as UTF-8, base64url",
							example: "dXNyXzdoZDJrcTV4bTN3ejZ2cGE",
						}),
						name: z.string().openapi({ description: "The user's email address", example: "ada@example.com" }),
						displayName: z.string().openapi({ description: "The user's name", example: "Ada Lovelace" }),
					})
					.openapi({ description: "Whose passkey it is" }),
				pubKeyCredParams: z
					.array(
						z
							.object({
								type: PublicKeyType,
								alg: z.number().int().openapi({ description: "A COSE algorithm", example: -7 }),
							})
							.openapi({ description: "An accepted key type" }),
					)
					.openapi({ description: "Ed25519 (-8), ES256 (-7) and RS256 (-257), in that order of preference" }),
				timeout: z.number().int().openapi({ description: "Milliseconds the browser may wait", example: 300_000 }),
				attestation: z.literal("none").openapi({ description: "No attestation is asked for", example: "none" }),
				authenticatorSelection: z
					.object({
						residentKey: z.literal("required").openapi({
							description: "A discoverable credential, so sign-in needs no email",
							example: "required",
						}),
						requireResidentKey: z.literal(true).openapi({ description: "The same, for older browsers", example: true }),
						userVerification: z.literal("preferred").openapi({
							description: "Asked for; a passkey made without it can still be a second factor",
							example: "preferred",
						}),
					})
					.openapi({ description: "What kind of authenticator is wanted" }),
				excludeCredentials: z
					.array(Descriptor)
					.openapi({ description: "The user's passkeys already registered: the browser will not make a second" }),
			})
			.openapi({
				description:
					"Pass to `PublicKeyCredential.parseCreationOptionsFromJSON()`, then to `navigator.credentials.create()`",
			}),
		expiresAt: Expires,
	})
	.openapi({ description: "Options for registering a passkey" });

export const RequestOptions = z
	.object({
		publicKey: z
			.object({
				challenge: Challenge,
				rpId: z.string().openapi({ description: "The relying party id", example: "keyward.dev" }),
				timeout: z.number().int().openapi({ description: "Milliseconds the browser may wait", example: 300_000 }),
				userVerification: z.enum(["required", "preferred"]).openapi({
					description:
						"`required` for a sign-in with the passkey alone (it is both factors then); `preferred` as a second factor",
					example: "required",
				}),
				allowCredentials: z.array(Descriptor).openapi({
					description:
						"Empty for a sign-in (any of the user's discoverable passkeys); the user's passkeys as a second factor",
				}),
			})
			.openapi({
				description:
					"Pass to `PublicKeyCredential.parseRequestOptionsFromJSON()`, then to `navigator.credentials.get()`",
			}),
		expiresAt: Expires,
	})
	.openapi({ description: "Options for signing with a passkey" });

export const PasskeySchema = z
	.object({
		id: IssuedId("pky", "The passkey's id"),
		name: z.string().openapi({ description: "The name the user gave it", example: "MacBook Touch ID" }),
		createdAt: Timestamp("When it was added", "2026-02-03T14:20:00.000Z"),
		lastUsedAt: z.string().nullable().openapi({
			format: "date-time",
			description: "Its last sign-in or proof; null when never used",
			example: "2026-03-02T09:30:00.000Z",
		}),
		backupEligible: z.boolean().openapi({
			description: "Whether it can be synced to other devices (a synced passkey rather than a device-bound key)",
			example: true,
		}),
		backedUp: z.boolean().openapi({ description: "Whether it is backed up or synced now", example: true }),
	})
	.openapi("Passkey", {
		description: "A passkey of the signed-in user. Nothing secret: the private key never leaves the authenticator.",
	});

export const PasskeyParams = z.strictObject({
	passkeyId: Id("pky").openapi({ description: "The passkey's id (`pky_` and 16 characters)" }),
});
