/**
 * The Keyward API's types, generated from sdk/openapi.json by `npm run sdk:types`.
 * Do not edit: `npm test` fails when this file is stale.
 */

export interface paths {
  "/health": {
    /** Liveness check (no authentication) */
    get: {
      responses: {
        /** @description The Worker is up and configured */
        200: {
          content: {
            "application/json": {
              /**
               * @description Always `ok`: the Worker is up and its configuration passed the checks (else 503)
               * @example ok
               * @enum {string}
               */
              status: "ok";
            };
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/dev/outbox": {
    /** Emails that would have been sent (local development only; 404 everywhere else) */
    get: {
      parameters: {
        query: {
          /** @description Whose emails: the recipient's address */
          to: string;
          /** @description At most this many emails: 1 to 100 (default 50) */
          limit?: number;
        };
      };
      responses: {
        /** @description Newest first */
        200: {
          content: {
            "application/json": {
              /** @description The emails, newest first */
              data: {
                  /**
                   * @description The recipient, lowercased
                   * @example ada@example.com
                   */
                  to: string;
                  /**
                   * @description The subject line
                   * @example Keyward: confirm your email address
                   */
                  subject: string;
                  /**
                   * @description The plain-text body, codes included (this is development)
                   * @example Confirm your email address for Keyward with this code (valid 24 hours):
                   *
                   * exampleexample…
                   */
                  text: string;
                  /**
                   * Format: date-time
                   * @description When it would have been sent
                   * @example 2026-03-02T09:30:00.000Z
                   */
                  sentAt: string;
                }[];
            };
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Not found, or not visible to the caller */
        404: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/dev/audit-stats": {
    /** Audit pipeline counters for a stream (local development only; 404 everywhere else) */
    get: {
      parameters: {
        query?: {
          /** @description The trail to count: an account id, or `system` (the default) */
          stream?: string;
          /** @description Count only this action (e.g. http.request) */
          action?: string;
        };
      };
      responses: {
        /** @description Counts in the D1 index, the fallback outbox and the dead-letter table, and the isolate's queue sends */
        200: {
          content: {
            "application/json": {
              /**
               * @description Events of the stream in the D1 index
               * @example 1280
               */
              indexed: number;
              /**
               * @description Of those, the ones already in the R2 archive
               * @example 1275
               */
              archived: number;
              /**
               * @description Events waiting in the fallback outbox (every stream)
               * @example 0
               */
              outbox: number;
              /**
               * @description Events in the dead-letter table (every stream)
               * @example 0
               */
              deadLetters: number;
              /** @description What this isolate has sent to the audit queue since it started */
              queue: {
                /**
                 * @description Batch sends to the queue
                 * @example 41
                 */
                sendBatches: number;
                /**
                 * @description Queue messages sent
                 * @example 96
                 */
                messages: number;
                /**
                 * @description Events in those messages
                 * @example 1302
                 */
                events: number;
              };
            };
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Not found, or not visible to the caller */
        404: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/dev/object-stats": {
    /** Memory and storage sizes of an account's guard object and its other shards (local development only; 404 everywhere else) */
    get: {
      parameters: {
        query: {
          /** @description The account whose guard object to read */
          accountId: string;
        };
      };
      responses: {
        /** @description Entries held in memory and rows in the object's storage */
        200: {
          content: {
            "application/json": {
              /**
               * @description Key records held in memory
               * @example 12
               */
              keys: number;
              /**
               * @description Rate-limit windows held in memory
               * @example 12
               */
              windows: number;
              /**
               * @description Usage counts in memory not yet written to storage
               * @example 3
               */
              pendingUsage: number;
              /**
               * @description Last-use times in memory not yet written to storage
               * @example 2
               */
              pendingLastUsed: number;
              /**
               * @description Key records in the object's storage
               * @example 40
               */
              storedKeys: number;
              /**
               * @description Rate-limit windows in the object's storage
               * @example 15
               */
              storedWindows: number;
              /**
               * @description D1 reads the object made to load the account's key set
               * @example 1
               */
              d1Loads: number;
              /**
               * @description Whether the object has loaded the account's whole key set from D1
               * @example true
               */
              keySetComplete: boolean;
              /**
               * @description Which of the account's shards this object is (0: the home)
               * @example 0
               */
              shard: number;
              /**
               * @description The account's shard count as this object knows it
               * @example 4
               */
              shards: number;
              /**
               * @description Slots of key hashes (of 256) this object answers for
               * @example 64
               */
              ownedSlots: number;
              /**
               * @description The same sizes (without `guards` and `others`) for each of the account's other shards (docs/GLOBAL.md §7)
               * @example [
               *   {
               *     "shard": 1,
               *     "shards": 4,
               *     "ownedSlots": 64,
               *     "storedKeys": 10,
               *     "keySetComplete": true
               *   }
               * ]
               */
              others: ({
                  [key: string]: number | boolean;
                })[];
              /** @description The account's regional guards in the regions of `DEV_VERIFY_REGIONS` (docs/GLOBAL.md) */
              guards: {
                  /**
                   * @description The guard's region (a location hint)
                   * @example weur
                   */
                  region: string;
                  /**
                   * @description Keys the guard holds
                   * @example 3
                   */
                  keys: number;
                  /**
                   * @description Keys it holds shares of
                   * @example 2
                   */
                  lent: number;
                  /**
                   * @description Verifies it decided on its own since it started
                   * @example 950
                   */
                  answeredHere: number;
                  /**
                   * @description Verifies it sent to the home since it started
                   * @example 12
                   */
                  answeredHome: number;
                  /**
                   * @description Requests for shares it sent the home since it started (first ones and renewals)
                   * @example 40
                   */
                  lends: number;
                }[];
            };
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Not found, or not visible to the caller */
        404: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/auth/signup": {
    /** Create a user, their personal account and a session; a verification email is sent */
    post: {
      requestBody: {
        content: {
          "application/json": {
            /**
             * Format: email
             * @description The new user's email address (at most 254 characters). A verification code goes there; until the address is verified, the user's accounts grant nothing. An address already in use is 409.
             * @example ada@example.com
             */
            email: string;
            /**
             * @description The new password: 12 to 256 characters (a deployment may raise the minimum), any characters, never truncated. Refused (400, naming each broken rule) when it is one of the most common passwords, is mostly the email address, contains the product's name (`keyward`), has appeared in known data breaches (when the deployment checks), or, where one of the user's accounts sets `passwordComposition`, lacks a lowercase letter, an uppercase letter, a digit or a symbol. A few unrelated words make a strong one; do not copy the example.
             * @example plum tractor violet harbour
             */
            password: string;
            /**
             * @description The user's name: 1 to 100 characters after trimming, no control characters
             * @example Ada Lovelace
             */
            name: string;
          };
        };
      };
      responses: {
        /** @description Signed up */
        201: {
          content: {
            "application/json": {
              user: components["schemas"]["User"];
              /** @description The personal account made for the new user, who owns it */
              account: {
                /**
                 * @description The account's id
                 * @example acc_3kq7m2xw5vhz4tna
                 */
                id: string;
                /**
                 * @description Named after the user: `<name>'s account`
                 * @example Ada Lovelace's account
                 */
                name: string;
                /**
                 * Format: date-time
                 * @description When it was made: at sign-up
                 * @example 2026-01-12T08:15:00.000Z
                 */
                createdAt: string;
              };
              session: components["schemas"]["NewSession"];
              /** @description What to do next for the account's safety; empty when nothing is left */
              recommendations: ({
                  /**
                   * @description `change_breached_password` (the password is in known breaches), `verify_email` (the address is not verified yet) or `enable_mfa` (no second factor)
                   * @example enable_mfa
                   * @enum {string}
                   */
                  id: "change_breached_password" | "verify_email" | "enable_mfa";
                  /**
                   * @description What to do, in a sentence for the user
                   * @example Turn on two-factor authentication (POST /v1/me/mfa/totp): a password alone is one phishing email away
                   */
                  detail: string;
                })[];
            };
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Conflict */
        409: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Rate limited or locked out; see Retry-After */
        429: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/auth/verify-email": {
    /**
     * Confirm the email address with the emailed token (single use, 24 hours), signed in as its user
     * @description Needs the session of the user the email was sent to. Anyone can sign up with someone else's address; if the address's real owner could verify it with the emailed code alone, the squatter's session would inherit a verified account. The real owner claims such an address with a password reset instead, which undoes what was set up before the proof.
     *
     * **Credentials:** a session (bearer token or cookie). An API key is refused with 401 `invalid_token`.
     */
    post: {
      requestBody: {
        content: {
          "application/json": {
            /**
             * @description The code from the verification email (single use, 24 hours). The example is made up.
             * @example exampleexampleexampleexampleexampleexampleexampleexa
             */
            token: string;
          };
        };
      };
      responses: {
        /** @description Verified */
        204: {
          content: never;
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/auth/verify-email/resend": {
    /**
     * Send the signed-in user a new verification email (3 an hour); the earlier code stops working
     * @description **Credentials:** a session (bearer token or cookie). An API key is refused with 401 `invalid_token`.
     */
    post: {
      responses: {
        /** @description Sent (or already verified: nothing to send) */
        202: {
          content: never;
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Rate limited or locked out; see Retry-After */
        429: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/auth/login": {
    /** Password login; answers a second-factor challenge instead of a session when the user has MFA */
    post: {
      requestBody: {
        content: {
          "application/json": {
            /**
             * Format: email
             * @description The user's email address (any case)
             * @example ada@example.com
             */
            email: string;
            /**
             * @description The user's password. A wrong email and a wrong password get the same 401; repeated failures are throttled per email and per address (429 with Retry-After).
             * @example plum tractor violet harbour
             */
            password: string;
          };
        };
      };
      responses: {
        /** @description A session, or a second-factor challenge */
        200: {
          content: {
            "application/json": {
              session: components["schemas"]["NewSession"];
              user: components["schemas"]["User"];
            } | ({
              /**
               * @description Present, and true, when the user has a second factor: no session yet
               * @example true
               * @enum {boolean}
               */
              mfaRequired: true;
              /** @description The second-factor challenge to answer */
              challenge: {
                /**
                 * @description Send it as `challengeToken` to POST /v1/auth/mfa/verify (and to POST /v1/auth/mfa/email-code for an emailed code). Single use. The example is made up.
                 * @example exampleexampleexampleexampleexampleexampleexampleexa
                 */
                token: string;
                /**
                 * @description The second factors that can finish this sign-in: `passkey` when the user has one (options from POST /v1/auth/mfa/passkey-options), `totp` and `recovery_code` with an authenticator app, and `email_code` when the address is verified and none of the user's accounts turns `emailCodeSecondFactor` off
                 * @example [
                 *   "passkey",
                 *   "totp",
                 *   "recovery_code",
                 *   "email_code"
                 * ]
                 */
                methods: ("passkey" | "totp" | "recovery_code" | "email_code")[];
                /**
                 * Format: date-time
                 * @description When the challenge expires: 10 minutes after the password was accepted
                 * @example 2026-03-02T09:40:00.000Z
                 */
                expiresAt: string;
              };
            });
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Rate limited or locked out; see Retry-After */
        429: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/auth/logout": {
    /**
     * End the current session everywhere at once
     * @description **Credentials:** a session (bearer token or cookie). An API key is refused with 401 `invalid_token`.
     */
    post: {
      responses: {
        /** @description Logged out */
        204: {
          content: never;
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/auth/mfa/email-code": {
    /** Email a 6-digit code for this challenge (valid 10 minutes, single use, 5 attempts) */
    post: {
      requestBody: {
        content: {
          "application/json": {
            /**
             * @description The `challenge.token` from the login answer (single use, 10 minutes). The example is made up.
             * @example exampleexampleexampleexampleexampleexampleexampleexa
             */
            challengeToken: string;
          };
        };
      };
      responses: {
        /** @description Sent */
        202: {
          content: never;
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Rate limited or locked out; see Retry-After */
        429: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/auth/mfa/verify": {
    /** Answer the second-factor challenge; a session on success */
    post: {
      requestBody: {
        content: {
          "application/json": {
            /**
             * @description The `challenge.token` from the login answer (single use, 10 minutes). The example is made up.
             * @example exampleexampleexampleexampleexampleexampleexampleexa
             */
            challengeToken: string;
            /**
             * @description What answers the challenge: `passkey` (send `credential`, the browser's answer to the options from POST /v1/auth/mfa/passkey-options), or a `code`: `totp` (the authenticator app's current code), `recovery_code` (one of the user's recovery codes, used up by this) or `email_code` (the code from POST /v1/auth/mfa/email-code). It must be one of the challenge's `methods` (else 400).
             * @example totp
             * @enum {string}
             */
            method: "passkey" | "totp" | "recovery_code" | "email_code";
            /**
             * @description For every method but `passkey`: 6 digits for `totp` and `email_code`; for `recovery_code`, the code as shown (`xxxx-xxxx-xxxx-xxxx-xxxx-xxxx`; case, spaces and dashes do not matter). Five wrong answers in a row lock second-factor checks for 15 minutes (429).
             * @example 123456
             */
            code?: string;
            /** @description For `passkey` only: what `navigator.credentials.get()` resolved with, as `toJSON()` gives it */
            credential?: {
              /**
               * @description The credential's id, as the browser gives it (base64url)
               * @example tJk2yW5wQb6Y4rE3xN0pZg
               */
              id: string;
              /**
               * @description The same id as `id` (base64url)
               * @example tJk2yW5wQb6Y4rE3xN0pZg
               */
              rawId: string;
              /**
               * @description Always `public-key`
               * @example public-key
               * @enum {string}
               */
              type: "public-key";
              /** @description The authenticator's assertion response */
              response: {
                /**
                 * @description The client data the browser built (base64url)
                 * @example eyJ0eXBlIjoid2ViYXV0aG4uZ2V0In0
                 */
                clientDataJSON: string;
                /**
                 * @description The authenticator data (base64url)
                 * @example SZYN5YgOjGh0NBcPZHZgW4_krrmihjLHmVzzuoMdl2MFAAAAAQ
                 */
                authenticatorData: string;
                /**
                 * @description The assertion signature (base64url)
                 * @example MEUCIQDf3k
                 */
                signature: string;
                /**
                 * @description The user handle of a discoverable credential (base64url)
                 * @example dXNyXzdoZDJrcTV4bTN3ejZ2cGE
                 */
                userHandle?: string | null;
              };
              /**
               * @description `platform` or `cross-platform`, as the browser reports it; informational
               * @example platform
               */
              authenticatorAttachment?: string | null;
              /**
               * @description The client's extension results; none are used
               * @example {}
               */
              clientExtensionResults?: {
                [key: string]: unknown;
              };
            };
          };
        };
      };
      responses: {
        /** @description Signed in */
        200: {
          content: {
            "application/json": {
              session: components["schemas"]["NewSession"];
              user: components["schemas"]["User"];
            };
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Rate limited or locked out; see Retry-After */
        429: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/me/passkeys/options": {
    /**
     * Start adding a passkey: creation options with a single-use challenge (5 minutes)
     * @description Needs a recent proof of identity (POST /v1/me/reauthenticate within ten minutes, or a fresh sign-in): a stolen session must not add a way in. A user who already has a passkey needs that proof made with a passkey or a recovery code (else 403 `reauthentication-required`): a phished password and code must not add the phisher's passkey. At most 20 passkeys per user (409).
     *
     * **Credentials:** a session (bearer token or cookie). An API key is refused with 401 `invalid_token`.
     */
    post: {
      responses: {
        /** @description Options for the browser */
        200: {
          content: {
            "application/json": {
              /** @description Pass to `PublicKeyCredential.parseCreationOptionsFromJSON()`, then to `navigator.credentials.create()` */
              publicKey: {
                /**
                 * @description A single-use challenge (32 random bytes, base64url), valid 5 minutes. The example is made up.
                 * @example p2v8QmW3kF1xN6tR9yB4cH7jL0sD5gA2eZ3uV8iO1qM
                 */
                challenge: string;
                /** @description Who the passkey is for */
                rp: {
                  /**
                   * @description The relying party id (`WEBAUTHN_RP_ID`)
                   * @example keyward.dev
                   */
                  id: string;
                  /**
                   * @description The name the browser shows
                   * @example Keyward
                   */
                  name: string;
                };
                /** @description Whose passkey it is */
                user: {
                  /**
                   * @description The user handle: the user's id as UTF-8, base64url
                   * @example dXNyXzdoZDJrcTV4bTN3ejZ2cGE
                   */
                  id: string;
                  /**
                   * @description The user's email address
                   * @example ada@example.com
                   */
                  name: string;
                  /**
                   * @description The user's name
                   * @example Ada Lovelace
                   */
                  displayName: string;
                };
                /** @description Ed25519 (-8), ES256 (-7) and RS256 (-257), in that order of preference */
                pubKeyCredParams: {
                    /**
                     * @description Always `public-key`
                     * @example public-key
                     * @enum {string}
                     */
                    type: "public-key";
                    /**
                     * @description A COSE algorithm
                     * @example -7
                     */
                    alg: number;
                  }[];
                /**
                 * @description Milliseconds the browser may wait
                 * @example 300000
                 */
                timeout: number;
                /**
                 * @description No attestation is asked for
                 * @example none
                 * @enum {string}
                 */
                attestation: "none";
                /** @description What kind of authenticator is wanted */
                authenticatorSelection: {
                  /**
                   * @description A discoverable credential, so sign-in needs no email
                   * @example required
                   * @enum {string}
                   */
                  residentKey: "required";
                  /**
                   * @description The same, for older browsers
                   * @example true
                   * @enum {boolean}
                   */
                  requireResidentKey: true;
                  /**
                   * @description Asked for; a passkey made without it can still be a second factor
                   * @example preferred
                   * @enum {string}
                   */
                  userVerification: "preferred";
                };
                /** @description The user's passkeys already registered: the browser will not make a second */
                excludeCredentials: {
                    /**
                     * @description Always `public-key`
                     * @example public-key
                     * @enum {string}
                     */
                    type: "public-key";
                    /**
                     * @description The credential's id, as the browser gives it (base64url)
                     * @example tJk2yW5wQb6Y4rE3xN0pZg
                     */
                    id: string;
                    /**
                     * @description The transports the authenticator reported (`internal`, `hybrid`, `usb`, `nfc`, `ble`); unknown ones are dropped
                     * @example [
                     *   "internal",
                     *   "hybrid"
                     * ]
                     */
                    transports: string[];
                  }[];
              };
              /**
               * Format: date-time
               * @description When the challenge expires: 5 minutes from now
               * @example 2026-03-02T09:35:00.000Z
               */
              expiresAt: string;
            };
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Conflict */
        409: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/me/passkeys": {
    /**
     * The signed-in user's passkeys
     * @description **Credentials:** a session (bearer token or cookie). An API key is refused with 401 `invalid_token`.
     */
    get: {
      responses: {
        /** @description The passkeys */
        200: {
          content: {
            "application/json": {
              /** @description Oldest first; at most 20 */
              data: components["schemas"]["Passkey"][];
            };
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
    /**
     * Finish adding a passkey with the browser's answer to the options
     * @description Checks the client data (type, one of the configured origins, the challenge from POST /v1/me/passkeys/options, spent by this whatever the outcome), the rpId hash and user presence, and takes the public key (ES256, RS256 or Ed25519). Attestation is not asked for and not trusted. Audited and emailed.
     *
     * **Credentials:** a session (bearer token or cookie). An API key is refused with 401 `invalid_token`.
     */
    post: {
      requestBody: {
        content: {
          "application/json": {
            /**
             * @description A name to tell it apart: 1 to 64 characters after trimming, no control characters
             * @example MacBook Touch ID
             */
            name: string;
            /** @description What `navigator.credentials.create()` resolved with, as `toJSON()` gives it */
            credential: {
              /**
               * @description The credential's id, as the browser gives it (base64url)
               * @example tJk2yW5wQb6Y4rE3xN0pZg
               */
              id: string;
              /**
               * @description The same id as `id` (base64url)
               * @example tJk2yW5wQb6Y4rE3xN0pZg
               */
              rawId: string;
              /**
               * @description Always `public-key`
               * @example public-key
               * @enum {string}
               */
              type: "public-key";
              /** @description The authenticator's attestation response */
              response: {
                /**
                 * @description The client data the browser built (base64url)
                 * @example eyJ0eXBlIjoid2ViYXV0aG4uY3JlYXRlIn0
                 */
                clientDataJSON: string;
                /**
                 * @description The attestation object (CBOR) (base64url)
                 * @example o2NmbXRkbm9uZWdhdHRTdG10oGhhdXRoRGF0YQ
                 */
                attestationObject: string;
                /**
                 * @description The transports the authenticator reported (`internal`, `hybrid`, `usb`, `nfc`, `ble`); unknown ones are dropped
                 * @example [
                 *   "internal",
                 *   "hybrid"
                 * ]
                 */
                transports?: string[];
                /**
                 * @description A copy of the authenticator data; not used (base64url)
                 * @example SZYN5YgO
                 */
                authenticatorData?: string;
                /**
                 * @description A copy of the public key (SPKI); not used (base64url)
                 * @example MFkwEwYHKoZI
                 */
                publicKey?: string;
                /**
                 * @description A copy of the key's COSE algorithm; not used
                 * @example -7
                 */
                publicKeyAlgorithm?: number;
              };
              /**
               * @description `platform` or `cross-platform`, as the browser reports it; informational
               * @example platform
               */
              authenticatorAttachment?: string | null;
              /**
               * @description The client's extension results; none are used
               * @example {}
               */
              clientExtensionResults?: {
                [key: string]: unknown;
              };
            };
          };
        };
      };
      responses: {
        /** @description Added */
        201: {
          content: {
            "application/json": {
              passkey: components["schemas"]["Passkey"];
            };
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Conflict */
        409: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/me/passkeys/{passkeyId}": {
    /**
     * Remove a passkey (needs a recent proof made with a passkey or a recovery code; audited and emailed)
     * @description **Credentials:** a session (bearer token or cookie). An API key is refused with 401 `invalid_token`.
     */
    delete: {
      parameters: {
        path: {
          /** @description The passkey's id (`pky_` and 16 characters) */
          passkeyId: string;
        };
      };
      responses: {
        /** @description Removed */
        204: {
          content: never;
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Not found, or not visible to the caller */
        404: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
    /**
     * Rename a passkey (audited and emailed)
     * @description **Credentials:** a session (bearer token or cookie). An API key is refused with 401 `invalid_token`.
     */
    patch: {
      parameters: {
        path: {
          /** @description The passkey's id (`pky_` and 16 characters) */
          passkeyId: string;
        };
      };
      requestBody: {
        content: {
          "application/json": {
            /**
             * @description A name to tell it apart: 1 to 64 characters after trimming, no control characters
             * @example MacBook Touch ID
             */
            name: string;
          };
        };
      };
      responses: {
        /** @description Renamed */
        200: {
          content: {
            "application/json": {
              passkey: components["schemas"]["Passkey"];
            };
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Not found, or not visible to the caller */
        404: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/auth/passkey/options": {
    /**
     * Start a sign-in with a passkey alone: discoverable-credential options, no email needed
     * @description The options suit conditional mediation (autofill) as well as a button. 600 an hour per address, shared with POST /v1/auth/mfa/passkey-options (429). The challenge is single use and lasts 5 minutes.
     */
    post: {
      responses: {
        /** @description Options for the browser */
        200: {
          content: {
            "application/json": {
              /** @description Pass to `PublicKeyCredential.parseRequestOptionsFromJSON()`, then to `navigator.credentials.get()` */
              publicKey: {
                /**
                 * @description A single-use challenge (32 random bytes, base64url), valid 5 minutes. The example is made up.
                 * @example p2v8QmW3kF1xN6tR9yB4cH7jL0sD5gA2eZ3uV8iO1qM
                 */
                challenge: string;
                /**
                 * @description The relying party id
                 * @example keyward.dev
                 */
                rpId: string;
                /**
                 * @description Milliseconds the browser may wait
                 * @example 300000
                 */
                timeout: number;
                /**
                 * @description `required` for a sign-in with the passkey alone (it is both factors then); `preferred` as a second factor
                 * @example required
                 * @enum {string}
                 */
                userVerification: "required" | "preferred";
                /** @description Empty for a sign-in (any of the user's discoverable passkeys); the user's passkeys as a second factor */
                allowCredentials: {
                    /**
                     * @description Always `public-key`
                     * @example public-key
                     * @enum {string}
                     */
                    type: "public-key";
                    /**
                     * @description The credential's id, as the browser gives it (base64url)
                     * @example tJk2yW5wQb6Y4rE3xN0pZg
                     */
                    id: string;
                    /**
                     * @description The transports the authenticator reported (`internal`, `hybrid`, `usb`, `nfc`, `ble`); unknown ones are dropped
                     * @example [
                     *   "internal",
                     *   "hybrid"
                     * ]
                     */
                    transports: string[];
                  }[];
              };
              /**
               * Format: date-time
               * @description When the challenge expires: 5 minutes from now
               * @example 2026-03-02T09:35:00.000Z
               */
              expiresAt: string;
            };
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Rate limited or locked out; see Retry-After */
        429: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/auth/passkey/verify": {
    /**
     * Sign in with a passkey: a session when it verifies
     * @description The passkey must verify the user (PIN or biometrics: the `UV` flag), since it stands for both factors. Checked: the client data (type, origin, the challenge, spent by this), the rpId hash, user presence and verification, the signature, and the signature counter, which must move forward when the authenticator keeps one (else it may be a clone, and it is refused). Failures count against the address like failed password sign-ins (429 with Retry-After), and every attempt is audited.
     */
    post: {
      requestBody: {
        content: {
          "application/json": {
            /** @description What `navigator.credentials.get()` resolved with, as `toJSON()` gives it */
            credential: {
              /**
               * @description The credential's id, as the browser gives it (base64url)
               * @example tJk2yW5wQb6Y4rE3xN0pZg
               */
              id: string;
              /**
               * @description The same id as `id` (base64url)
               * @example tJk2yW5wQb6Y4rE3xN0pZg
               */
              rawId: string;
              /**
               * @description Always `public-key`
               * @example public-key
               * @enum {string}
               */
              type: "public-key";
              /** @description The authenticator's assertion response */
              response: {
                /**
                 * @description The client data the browser built (base64url)
                 * @example eyJ0eXBlIjoid2ViYXV0aG4uZ2V0In0
                 */
                clientDataJSON: string;
                /**
                 * @description The authenticator data (base64url)
                 * @example SZYN5YgOjGh0NBcPZHZgW4_krrmihjLHmVzzuoMdl2MFAAAAAQ
                 */
                authenticatorData: string;
                /**
                 * @description The assertion signature (base64url)
                 * @example MEUCIQDf3k
                 */
                signature: string;
                /**
                 * @description The user handle of a discoverable credential (base64url)
                 * @example dXNyXzdoZDJrcTV4bTN3ejZ2cGE
                 */
                userHandle?: string | null;
              };
              /**
               * @description `platform` or `cross-platform`, as the browser reports it; informational
               * @example platform
               */
              authenticatorAttachment?: string | null;
              /**
               * @description The client's extension results; none are used
               * @example {}
               */
              clientExtensionResults?: {
                [key: string]: unknown;
              };
            };
          };
        };
      };
      responses: {
        /** @description Signed in */
        200: {
          content: {
            "application/json": {
              session: components["schemas"]["NewSession"];
              user: components["schemas"]["User"];
            };
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Rate limited or locked out; see Retry-After */
        429: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/auth/mfa/passkey-options": {
    /**
     * Options for answering a sign-in's second-factor challenge with a passkey
     * @description After a password sign-in answered `mfaRequired` with `passkey` among its methods. The options list the user's passkeys; send the browser's answer to POST /v1/auth/mfa/verify with `method: "passkey"`.
     */
    post: {
      requestBody: {
        content: {
          "application/json": {
            /**
             * @description The `challenge.token` from the login answer (single use, 10 minutes). The example is made up.
             * @example exampleexampleexampleexampleexampleexampleexampleexa
             */
            challengeToken: string;
          };
        };
      };
      responses: {
        /** @description Options for the browser */
        200: {
          content: {
            "application/json": {
              /** @description Pass to `PublicKeyCredential.parseRequestOptionsFromJSON()`, then to `navigator.credentials.get()` */
              publicKey: {
                /**
                 * @description A single-use challenge (32 random bytes, base64url), valid 5 minutes. The example is made up.
                 * @example p2v8QmW3kF1xN6tR9yB4cH7jL0sD5gA2eZ3uV8iO1qM
                 */
                challenge: string;
                /**
                 * @description The relying party id
                 * @example keyward.dev
                 */
                rpId: string;
                /**
                 * @description Milliseconds the browser may wait
                 * @example 300000
                 */
                timeout: number;
                /**
                 * @description `required` for a sign-in with the passkey alone (it is both factors then); `preferred` as a second factor
                 * @example required
                 * @enum {string}
                 */
                userVerification: "required" | "preferred";
                /** @description Empty for a sign-in (any of the user's discoverable passkeys); the user's passkeys as a second factor */
                allowCredentials: {
                    /**
                     * @description Always `public-key`
                     * @example public-key
                     * @enum {string}
                     */
                    type: "public-key";
                    /**
                     * @description The credential's id, as the browser gives it (base64url)
                     * @example tJk2yW5wQb6Y4rE3xN0pZg
                     */
                    id: string;
                    /**
                     * @description The transports the authenticator reported (`internal`, `hybrid`, `usb`, `nfc`, `ble`); unknown ones are dropped
                     * @example [
                     *   "internal",
                     *   "hybrid"
                     * ]
                     */
                    transports: string[];
                  }[];
              };
              /**
               * Format: date-time
               * @description When the challenge expires: 5 minutes from now
               * @example 2026-03-02T09:35:00.000Z
               */
              expiresAt: string;
            };
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Rate limited or locked out; see Retry-After */
        429: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/auth/not-me": {
    /**
     * "This wasn't me": signs the user out everywhere, stops the password working and starts a reset
     * @description For the code in a new-device notice. Whoever signed in knew the password, so ending that one session is not enough: every session of the user ends, pending sign-ins end, the password stops working, every passkey is removed, devices stop being known to the address, and a reset code goes to the address.
     */
    post: {
      requestBody: {
        content: {
          "application/json": {
            /**
             * @description The code from the new-device notice (single use, 7 days). The example is made up.
             * @example exampleexampleexampleexampleexampleexampleexampleexa
             */
            token: string;
          };
        };
      };
      responses: {
        /** @description The session ended; a reset code went to the address */
        204: {
          content: never;
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/auth/password-reset": {
    /** Email a reset token if the address has an account; always 202 (no account enumeration) */
    post: {
      requestBody: {
        content: {
          "application/json": {
            /**
             * Format: email
             * @description The address to reset. The answer is 202 whether or not it has an account. At most 3 requests an hour for one address, and 10 from one client address (then 429).
             * @example ada@example.com
             */
            email: string;
          };
        };
      };
      responses: {
        /** @description Accepted */
        202: {
          content: never;
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Rate limited or locked out; see Retry-After */
        429: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/auth/password-reset/confirm": {
    /**
     * Set a new password with the emailed token (single use, 30 minutes); every session of the user ends
     * @description The token proves the address. For a user whose address was not yet verified, it becomes verified, and everything set up before that proof is undone: the keys, invitations, webhooks and other members of the accounts they own, and their second factor (a squatter may have enrolled their own authenticator).
     */
    post: {
      requestBody: {
        content: {
          "application/json": {
            /**
             * @description The code from the reset email (single use, 30 minutes). The example is made up.
             * @example exampleexampleexampleexampleexampleexampleexampleexa
             */
            token: string;
            /**
             * @description The new password: 12 to 256 characters (a deployment may raise the minimum), any characters, never truncated. Refused (400, naming each broken rule) when it is one of the most common passwords, is mostly the email address, contains the product's name (`keyward`), has appeared in known data breaches (when the deployment checks), or, where one of the user's accounts sets `passwordComposition`, lacks a lowercase letter, an uppercase letter, a digit or a symbol. A few unrelated words make a strong one; do not copy the example.
             * @example plum tractor violet harbour
             */
            newPassword: string;
          };
        };
      };
      responses: {
        /** @description Password changed */
        204: {
          content: never;
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/me": {
    /**
     * The signed-in user and their memberships
     * @description **Credentials:** a session (bearer token or cookie). An API key is refused with 401 `invalid_token`.
     */
    get: {
      responses: {
        /** @description You */
        200: {
          content: {
            "application/json": {
              user: components["schemas"]["User"];
              /** @description What to do next for the account's safety; empty when nothing is left */
              recommendations: ({
                  /**
                   * @description `change_breached_password` (the password is in known breaches), `verify_email` (the address is not verified yet) or `enable_mfa` (no second factor)
                   * @example enable_mfa
                   * @enum {string}
                   */
                  id: "change_breached_password" | "verify_email" | "enable_mfa";
                  /**
                   * @description What to do, in a sentence for the user
                   * @example Turn on two-factor authentication (POST /v1/me/mfa/totp): a password alone is one phishing email away
                   */
                  detail: string;
                })[];
              /** @description Every account the user belongs to */
              memberships: ({
                  /**
                   * @description The account's id
                   * @example acc_3kq7m2xw5vhz4tna
                   */
                  accountId: string;
                  /**
                   * @description The account's name
                   * @example Acme Corp
                   */
                  accountName: string;
                  /**
                   * @description The user's role there: `owner`, `admin`, `member` or `readonly`
                   * @example admin
                   * @enum {string}
                   */
                  role: "owner" | "admin" | "member" | "readonly";
                })[];
              /**
               * @description Whether the user's address is in a domain with a single sign-on connection: they may sign in, and prove it is them again (`POST /v1/me/reauthenticate/sso`), through its identity provider
               * @example false
               */
              singleSignOn: boolean;
            };
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
    /**
     * Erase yourself: sessions, factors, memberships, your keys and your personal data (needs a recent proof of identity)
     * @description Ends every session, removes passkeys, the authenticator and recovery codes, ends every membership (the keys you made there are revoked; keys of service accounts stay), deletes the accounts you own alone, and destroys your data key, so your address, IP addresses and browsers in every audit trail read `[erased]` from now on while the trail still verifies. The address can sign up again as a new person. Refused with 409, naming each account, while you are the only owner of an account that has other members: transfer ownership or remove them first. Recorded as `user.erased` (counts only) and confirmed by a last email.
     *
     * **Credentials:** a session (bearer token or cookie). An API key is refused with 401 `invalid_token`.
     */
    delete: {
      responses: {
        /** @description Erased; the session that asked has ended too */
        204: {
          content: never;
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Conflict */
        409: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/me/password": {
    /**
     * Change the password; other sessions end unless revokeOtherSessions is false
     * @description **Credentials:** a session (bearer token or cookie). An API key is refused with 401 `invalid_token`.
     */
    post: {
      requestBody: {
        content: {
          "application/json": {
            /**
             * @description The user's current password. Five wrong answers in a row end this session.
             * @example plum tractor violet harbour
             */
            currentPassword: string;
            /**
             * @description The new password: 12 to 256 characters (a deployment may raise the minimum), any characters, never truncated. Refused (400, naming each broken rule) when it is one of the most common passwords, is mostly the email address, contains the product's name (`keyward`), has appeared in known data breaches (when the deployment checks), or, where one of the user's accounts sets `passwordComposition`, lacks a lowercase letter, an uppercase letter, a digit or a symbol. A few unrelated words make a strong one; do not copy the example.
             * @example plum tractor violet harbour
             */
            newPassword: string;
            /**
             * @description End every other session of the user (default true); this one stays
             * @default true
             * @example true
             */
            revokeOtherSessions?: boolean;
          };
        };
      };
      responses: {
        /** @description Changed */
        204: {
          content: never;
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Rate limited or locked out; see Retry-After */
        429: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/me/mfa/totp": {
    /**
     * Start TOTP enrolment (not active until confirmed)
     * @description **Credentials:** a session (bearer token or cookie). An API key is refused with 401 `invalid_token`.
     */
    post: {
      requestBody: {
        content: {
          "application/json": {
            /**
             * @description The user's current password. Five wrong answers in a row end this session.
             * @example plum tractor violet harbour
             */
            password: string;
          };
        };
      };
      responses: {
        /** @description Scan the QR code or type the secret */
        200: {
          content: {
            "application/json": {
              /**
               * @description The TOTP secret in base32 (RFC 4648, 32 characters), to type into an authenticator app. Shown only now. The example is made up.
               * @example EXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAM
               */
              secret: string;
              /**
               * @description The same secret as an `otpauth://totp/` URI (issuer Keyward, SHA-1, 6 digits, 30 seconds), for apps that open links
               * @example otpauth://totp/Keyward:ada%40example.com?issuer=Keyward&algorithm=SHA1&secret=EXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAM&period=30&digits=6
               */
              uri: string;
              /**
               * @description An SVG image of a QR code of `uri`, to scan (the example is shortened)
               * @example <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 410 410"><rect fill="white" width="410" height="410"/><path fill="black" d="M40,40h10v10h-10z…"/></svg>
               */
              qrSvg: string;
            };
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Conflict */
        409: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Rate limited or locked out; see Retry-After */
        429: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
    /**
     * Turn TOTP off (needs the password and a current code)
     * @description **Credentials:** a session (bearer token or cookie). An API key is refused with 401 `invalid_token`.
     */
    delete: {
      requestBody: {
        content: {
          "application/json": {
            /**
             * @description The user's current password. Five wrong answers in a row end this session.
             * @example plum tractor violet harbour
             */
            password: string;
            /**
             * @description A current 6-digit code from the authenticator app. Five wrong codes in a row end this session.
             * @example 123456
             */
            code: string;
          };
        };
      };
      responses: {
        /** @description MFA disabled */
        204: {
          content: never;
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Conflict */
        409: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Rate limited or locked out; see Retry-After */
        429: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/me/mfa/totp/confirm": {
    /**
     * Confirm enrolment with a current code; MFA is on and ten recovery codes are shown once
     * @description **Credentials:** a session (bearer token or cookie). An API key is refused with 401 `invalid_token`.
     */
    post: {
      requestBody: {
        content: {
          "application/json": {
            /**
             * @description A current 6-digit code from the newly enrolled app; it proves the app holds the secret. Five wrong codes in a row end this session.
             * @example 123456
             */
            code: string;
          };
        };
      };
      responses: {
        /** @description MFA enabled */
        200: {
          content: {
            "application/json": {
              /**
               * @description Ten single-use recovery codes, shown only now. Each stands in once for the authenticator: to finish a sign-in (`recovery_code`) or to replace a lost authenticator. Six groups of four characters. The examples are made up.
               * @example [
               *   "abcd-efgh-jkmn-pqrs-tvwx-yz00",
               *   "abcd-efgh-jkmn-pqrs-tvwx-yz01",
               *   "abcd-efgh-jkmn-pqrs-tvwx-yz02",
               *   "abcd-efgh-jkmn-pqrs-tvwx-yz03",
               *   "abcd-efgh-jkmn-pqrs-tvwx-yz04",
               *   "abcd-efgh-jkmn-pqrs-tvwx-yz05",
               *   "abcd-efgh-jkmn-pqrs-tvwx-yz06",
               *   "abcd-efgh-jkmn-pqrs-tvwx-yz07",
               *   "abcd-efgh-jkmn-pqrs-tvwx-yz08",
               *   "abcd-efgh-jkmn-pqrs-tvwx-yz09"
               * ]
               */
              recoveryCodes: string[];
            };
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Conflict */
        409: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Rate limited or locked out; see Retry-After */
        429: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/me/mfa/totp/replace": {
    /**
     * Lost authenticator: a recovery code retires it and starts enrolling a new one
     * @description Needs the password and one recovery code. The lost authenticator and every recovery code stop working, every other session ends, the change is audited and emailed, and the answer starts a new enrolment (confirm it with `POST /v1/me/mfa/totp/confirm`). Until then the account has no second factor.
     *
     * **Credentials:** a session (bearer token or cookie). An API key is refused with 401 `invalid_token`.
     */
    post: {
      requestBody: {
        content: {
          "application/json": {
            /**
             * @description The user's current password. Five wrong answers in a row end this session.
             * @example plum tractor violet harbour
             */
            password: string;
            /**
             * @description One of the user's recovery codes (`xxxx-xxxx-xxxx-xxxx-xxxx-xxxx`; case, spaces and dashes do not matter), used up by this. Five wrong codes in a row end this session.
             * @example abcd-efgh-jkmn-pqrs-tvwx-yz00
             */
            recoveryCode: string;
          };
        };
      };
      responses: {
        /** @description The old authenticator is retired; scan the new one and confirm */
        200: {
          content: {
            "application/json": {
              /**
               * @description The TOTP secret in base32 (RFC 4648, 32 characters), to type into an authenticator app. Shown only now. The example is made up.
               * @example EXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAM
               */
              secret: string;
              /**
               * @description The same secret as an `otpauth://totp/` URI (issuer Keyward, SHA-1, 6 digits, 30 seconds), for apps that open links
               * @example otpauth://totp/Keyward:ada%40example.com?issuer=Keyward&algorithm=SHA1&secret=EXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAM&period=30&digits=6
               */
              uri: string;
              /**
               * @description An SVG image of a QR code of `uri`, to scan (the example is shortened)
               * @example <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 410 410"><rect fill="white" width="410" height="410"/><path fill="black" d="M40,40h10v10h-10z…"/></svg>
               */
              qrSvg: string;
              /**
               * @description How many of the user's other sessions ended
               * @example 2
               */
              sessionsEnded: number;
            };
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Conflict */
        409: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Rate limited or locked out; see Retry-After */
        429: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/me/mfa/recovery-codes": {
    /**
     * Replace the recovery codes; the old ones stop working
     * @description Needs the password and a current code from the authenticator app: recovery codes replace the authenticator (`POST /v1/me/mfa/totp/replace`), so minting them takes the authenticator itself, not the password alone. Audited, and mailed to the user.
     *
     * **Credentials:** a session (bearer token or cookie). An API key is refused with 401 `invalid_token`.
     */
    post: {
      requestBody: {
        content: {
          "application/json": {
            /**
             * @description The user's current password. Five wrong answers in a row end this session.
             * @example plum tractor violet harbour
             */
            password: string;
            /**
             * @description A current 6-digit code from the authenticator app. Five wrong codes in a row end this session.
             * @example 123456
             */
            code: string;
          };
        };
      };
      responses: {
        /** @description New codes, shown once */
        200: {
          content: {
            "application/json": {
              /**
               * @description Ten single-use recovery codes, shown only now. Each stands in once for the authenticator: to finish a sign-in (`recovery_code`) or to replace a lost authenticator. Six groups of four characters. The examples are made up.
               * @example [
               *   "abcd-efgh-jkmn-pqrs-tvwx-yz00",
               *   "abcd-efgh-jkmn-pqrs-tvwx-yz01",
               *   "abcd-efgh-jkmn-pqrs-tvwx-yz02",
               *   "abcd-efgh-jkmn-pqrs-tvwx-yz03",
               *   "abcd-efgh-jkmn-pqrs-tvwx-yz04",
               *   "abcd-efgh-jkmn-pqrs-tvwx-yz05",
               *   "abcd-efgh-jkmn-pqrs-tvwx-yz06",
               *   "abcd-efgh-jkmn-pqrs-tvwx-yz07",
               *   "abcd-efgh-jkmn-pqrs-tvwx-yz08",
               *   "abcd-efgh-jkmn-pqrs-tvwx-yz09"
               * ]
               */
              recoveryCodes: string[];
            };
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Conflict */
        409: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Rate limited or locked out; see Retry-After */
        429: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/me/reauthenticate": {
    /**
     * Prove it is you again; answers a new session, and the presented one ends
     * @description Send `{password}`, and with TOTP `{password, method: "totp" | "recovery_code", code}`: both factors, never one alone. Or `{credential}`: a passkey that verified the user, which is both (a user whose only second factor is a passkey must use it). Five failures in this session end it. The new session counts as a proof for ten minutes for every route that hands power out (keys with a reserved scope, invitations, role changes, settings, webhooks, lifting a lockdown, ownership, deleting an account) and for ending other sessions or changing the email.
     *
     * **Credentials:** a session (bearer token or cookie). An API key is refused with 401 `invalid_token`.
     */
    post: {
      requestBody: {
        content: {
          "application/json": {
            /**
             * @description The user's password (unless `credential` is sent). Five wrong answers in a row end this session.
             * @example plum tractor violet harbour
             */
            password?: string;
            /** @description Instead of the password and code: a passkey's answer (with user verification) to options from POST /v1/auth/passkey/options, from one of the caller's own passkeys. It proves both factors. */
            credential?: {
              /**
               * @description The credential's id, as the browser gives it (base64url)
               * @example tJk2yW5wQb6Y4rE3xN0pZg
               */
              id: string;
              /**
               * @description The same id as `id` (base64url)
               * @example tJk2yW5wQb6Y4rE3xN0pZg
               */
              rawId: string;
              /**
               * @description Always `public-key`
               * @example public-key
               * @enum {string}
               */
              type: "public-key";
              /** @description The authenticator's assertion response */
              response: {
                /**
                 * @description The client data the browser built (base64url)
                 * @example eyJ0eXBlIjoid2ViYXV0aG4uZ2V0In0
                 */
                clientDataJSON: string;
                /**
                 * @description The authenticator data (base64url)
                 * @example SZYN5YgOjGh0NBcPZHZgW4_krrmihjLHmVzzuoMdl2MFAAAAAQ
                 */
                authenticatorData: string;
                /**
                 * @description The assertion signature (base64url)
                 * @example MEUCIQDf3k
                 */
                signature: string;
                /**
                 * @description The user handle of a discoverable credential (base64url)
                 * @example dXNyXzdoZDJrcTV4bTN3ejZ2cGE
                 */
                userHandle?: string | null;
              };
              /**
               * @description `platform` or `cross-platform`, as the browser reports it; informational
               * @example platform
               */
              authenticatorAttachment?: string | null;
              /**
               * @description The client's extension results; none are used
               * @example {}
               */
              clientExtensionResults?: {
                [key: string]: unknown;
              };
            };
            /**
             * @description With a second factor (and only then): which one `code` is, `totp` or `recovery_code` (a recovery code is used up by this)
             * @example totp
             * @enum {string}
             */
            method?: "totp" | "recovery_code";
            /**
             * @description With a second factor (and only then): its current code, 6 digits for `totp`. Five wrong codes in a row end this session.
             * @example 123456
             */
            code?: string;
          };
        };
      };
      responses: {
        /** @description Proved; use the new token from now on */
        200: {
          content: {
            "application/json": {
              session: components["schemas"]["NewSession"];
            };
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Rate limited or locked out; see Retry-After */
        429: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/me/email": {
    /**
     * Change your email address: the new address confirms, the old one is told and can cancel for 72 hours
     * @description Needs a proof of identity from the last ten minutes (`POST /v1/me/reauthenticate`). Nothing changes until the new address confirms (`POST /v1/auth/email-change/confirm`); the old address can cancel the change, and lock the account, with `POST /v1/auth/email-change/cancel`.
     *
     * **Credentials:** a session (bearer token or cookie). An API key is refused with 401 `invalid_token`.
     */
    post: {
      requestBody: {
        content: {
          "application/json": {
            /**
             * Format: email
             * @description The new address (at most 254 characters). It must not be another user's (409); a confirmation code goes to it. At most 5 changes an hour.
             * @example ada.lovelace@example.org
             */
            email: string;
          };
        };
      };
      responses: {
        /** @description Confirmation sent */
        202: {
          content: {
            "application/json": {
              /** @description The change waiting for the new address to confirm it */
              pending: {
                /**
                 * @description The new address, lowercased
                 * @example ada.lovelace@example.org
                 */
                email: string;
                /**
                 * Format: date-time
                 * @description When the confirmation code expires: 24 hours after it was sent
                 * @example 2026-03-03T09:30:00.000Z
                 */
                expiresAt: string;
              };
            };
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Conflict */
        409: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/auth/email-change/confirm": {
    /**
     * Confirm a new email address with the code sent to it; the user's other sessions end
     * @description Needs no credential: the code proves the new address. Sent with one of the user's own sessions, that session stays and every other one ends; sent without, every session of the user ends.
     */
    post: {
      requestBody: {
        content: {
          "application/json": {
            /**
             * @description The code sent to the new address (single use, 24 hours). The example is made up.
             * @example exampleexampleexampleexampleexampleexampleexampleexa
             */
            token: string;
          };
        };
      };
      responses: {
        /** @description The address is changed */
        204: {
          content: never;
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Conflict */
        409: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/auth/email-change/cancel": {
    /** It was not you: undo an email change (72 hours) and lock the account until a password reset */
    post: {
      requestBody: {
        content: {
          "application/json": {
            /**
             * @description The code in the notice sent to the old address (single use, 72 hours). The example is made up.
             * @example exampleexampleexampleexampleexampleexampleexampleexa
             */
            token: string;
          };
        };
      };
      responses: {
        /** @description Cancelled; a reset code went to the old address */
        204: {
          content: never;
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/me/sessions": {
    /**
     * Your live sessions, newest first
     * @description **Credentials:** a session (bearer token or cookie). An API key is refused with 401 `invalid_token`.
     */
    get: {
      responses: {
        /** @description Sessions */
        200: {
          content: {
            "application/json": {
              /** @description The live sessions, newest first */
              data: components["schemas"]["Session"][];
            };
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/me/sessions/{sessionId}": {
    /**
     * End one of your sessions; refused on its very next request
     * @description **Credentials:** a session (bearer token or cookie). An API key is refused with 401 `invalid_token`.
     */
    delete: {
      parameters: {
        path: {
          /** @description The session to end: one of yours (GET /v1/me/sessions). Ending another than the current one needs a proof of identity from the last ten minutes (`POST /v1/me/reauthenticate`). */
          sessionId: string;
        };
      };
      responses: {
        /** @description Ended */
        204: {
          content: never;
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Not found, or not visible to the caller */
        404: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/me/sessions/revoke-others": {
    /**
     * End every session but this one
     * @description Needs a proof of identity from the last ten minutes (`POST /v1/me/reauthenticate`).
     *
     * **Credentials:** a session (bearer token or cookie). An API key is refused with 401 `invalid_token`.
     */
    post: {
      responses: {
        /** @description How many ended */
        200: {
          content: {
            "application/json": {
              /**
               * @description How many sessions ended
               * @example 3
               */
              revoked: number;
            };
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/accounts": {
    /**
     * Create an account; the caller becomes its owner
     * @description **Credentials:** a session (bearer token or cookie). An API key is refused with 401 `invalid_token`.
     */
    post: {
      requestBody: {
        content: {
          "application/json": {
            /**
             * @description The account's name: 1 to 100 characters after trimming, no control characters
             * @example Acme Corp
             */
            name: string;
          };
        };
      };
      responses: {
        /** @description Created */
        201: {
          content: {
            "application/json": {
              account: components["schemas"]["Account"];
            };
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/accounts/{accountId}": {
    /**
     * The account with its settings
     * @description **Credentials:** a session (bearer token or cookie), or an API key holding the reserved `account:read` scope, which acts with its creator's current role in this account.
     */
    get: {
      parameters: {
        path: {
          /** @description The account's id (`acc_` and 16 characters) */
          accountId: string;
        };
      };
      responses: {
        /** @description The account */
        200: {
          content: {
            "application/json": {
              account: components["schemas"]["Account"];
            };
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Not found, or not visible to the caller */
        404: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
    /**
     * Delete the account: every member's access ends at once; the audit trail is kept
     * @description Needs a proof of identity from the last ten minutes (`POST /v1/me/reauthenticate`).
     *
     * **Credentials:** a session (bearer token or cookie). No API key can call this route, whatever its scopes.
     */
    delete: {
      parameters: {
        path: {
          /** @description The account's id (`acc_` and 16 characters) */
          accountId: string;
        };
      };
      responses: {
        /** @description Deleted */
        204: {
          content: never;
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Not found, or not visible to the caller */
        404: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
    /**
     * Rename the account or change its settings (only the fields sent change)
     * @description Admins and the owner may rename the account and change key and alert policies. The settings that decide who can get in (`ipAllowlist`, `requireMfa`, `sessionIdleMinutes`, `sessionMaxAgeHours`, `emailCodeSecondFactor`) are the owner's alone (403 naming each field), so no admin can lock the owner out. An `ipAllowlist` that excludes the caller's own address, and `requireMfa` by an owner without two-factor, are 400.
     *
     * **Credentials:** a session (bearer token or cookie). No API key can call this route, whatever its scopes.
     */
    patch: {
      parameters: {
        path: {
          /** @description The account's id (`acc_` and 16 characters) */
          accountId: string;
        };
      };
      requestBody: {
        content: {
          "application/json": {
            /**
             * @description The account's name: 1 to 100 characters after trimming, no control characters
             * @example Acme Corp
             */
            name?: string;
            /** @description The settings to change; those left out keep their values */
            settings?: {
              /**
               * @description Who must prove more than a password on this account's routes, with sessions and API keys alike: `off` (default); `any`: members without a second factor (TOTP or a passkey) are refused (403); `phishing-resistant`: sessions not made with a passkey are refused (403, saying to add one and sign in with it), and API keys work only while their creator has a passkey. /v1/me* stays open so members can enrol. Only the owner may change it. An owner cannot set `any` without a second factor, nor `phishing-resistant` from a session not made with a passkey (400).
               * @example off
               * @enum {string}
               */
              mfaPolicy?: "off" | "any" | "phishing-resistant";
              /**
               * @description The old form of `mfaPolicy`, still read and accepted: it reads `true` whenever `mfaPolicy` is not `off`. Sent, `true` sets `any` (a stricter policy stays) and `false` sets `off`; sent with a `mfaPolicy` that disagrees, both are refused (400). Settings stored as `requireMfa: true` read as `any`. Only the owner may change it.
               * @example false
               */
              requireMfa?: boolean;
              /**
               * @description A session ends after this many minutes without a request: 5 to 1440, default 30. A member of several accounts gets the strictest value among them, for sessions started after the change. Only the owner may change it.
               * @example 30
               */
              sessionIdleMinutes?: number;
              /**
               * @description A session ends this many hours after sign-in, however it is used: 1 to 720, default 24. The strictest among a member's accounts applies, to sessions started after the change. Only the owner may change it.
               * @example 24
               */
              sessionMaxAgeHours?: number;
              /**
               * @description The longest lifetime of a new key, and the lifetime of a key created without `expiresInDays` and of a rotation's successor: 1 to 365 days, default 90
               * @example 90
               */
              keyMaxLifetimeDays?: number;
              /**
               * @description Keys unused for this many days are revoked by the scheduled sweep (`key.swept`, reason `inactive`) and flagged by the security report: 7 to 365, default 90
               * @example 90
               */
              keyInactivityDays?: number;
              /**
               * @description How long a rotated key keeps working beside its successor when the rotation names no `gracePeriodHours`: 0 to 168 hours, default 24
               * @example 24
               */
              rotationGraceHours?: number;
              /**
               * @description When not empty, requests to this account's routes from other addresses are refused (403), for sessions and API keys alike: at most 100 ranges, default empty (any address). It must contain the caller's own address (400). Only the owner may change it. A key's own allowlist is separate (see the key).
               * @example [
               *   "203.0.113.0/24",
               *   "2001:db8::/32"
               * ]
               */
              ipAllowlist?: string[];
              /**
               * @description Members' new passwords must hold a lowercase letter, an uppercase letter, a digit and a symbol. Default false: NIST advises against such rules.
               * @example false
               */
              passwordComposition?: boolean;
              /**
               * @description Members may finish a sign-in with an emailed code instead of their authenticator (verified addresses only). Default true; a user is offered no emailed code while any of their accounts turns it off. Only the owner may change it.
               * @example true
               */
              emailCodeSecondFactor?: boolean;
              /**
               * @description Failed sign-ins to the account's members within `failedLoginAlertWindowMinutes` that raise `alert.failed_logins_spike`: 3 to 10,000, default 10
               * @example 10
               */
              failedLoginAlertThreshold?: number;
              /**
               * @description The window of that count: 1 to 1440 minutes, default 15
               * @example 15
               */
              failedLoginAlertWindowMinutes?: number;
              /**
               * @description What a live key GitHub secret scanning finds in public becomes: `revoke` (default: refused at once) or `rotate` (it keeps working for one more hour beside a successor whose secret is revealed once in the console; keys that reach the management API, service accounts' keys and keys whose creator may no longer rotate them are revoked anyway). Only the owner may change it.
               * @example revoke
               * @enum {string}
               */
              leakedKeyPolicy?: "revoke" | "rotate";
              /**
               * @description How long the searchable audit index (`GET …/audit-events`, the console's audit log) keeps an event: 90 to 3,650 days, default 365. The cron deletes older rows once they are archived; the archive itself keeps every event (docs/AUDIT.md, "Retention"). Only the owner may change it.
               * @example 365
               */
              auditIndexDays?: number;
              /**
               * @description How long the R2 archive (the hash-chained trail `audit:verify` checks) keeps the account's events: `null` keeps them (the default), else 1 to 100 years. The archive bucket's lifecycle rule deletes objects past it and its lock rule keeps anyone from deleting them sooner; both are applied from this setting by `npm run audit:retention`, so a change takes effect when the operator next runs it (docs/AUDIT.md, "Retention"). Only the owner may change it.
               * @example null
               */
              archiveRetentionYears?: number | null;
              /**
               * @description Which role the members of a SCIM group hold, by the group's `displayName` as the identity provider pushes it: `admin`, `member` or `readonly`, never `owner`; at most 50 groups, default none. A person in several mapped groups holds the highest of their roles; in none, the role of their SCIM `roles` attribute, else `member`. A change applies to each person at the provider's next push that touches them (docs/SSO.md). The owner's own role never changes this way.
               * @example {
               *   "Keyward Admins": "admin",
               *   "Auditors": "readonly"
               * }
               */
              scimGroupRoles?: {
                [key: string]: "admin" | "member" | "readonly";
              };
              /**
               * @description Members whose address is in one of the account's verified domains must sign in through its single sign-on connection: a password or passkey sign-in is refused (403 `sso-required`) after it proves the person. The owner keeps a break-glass path (passkey, or password with an authenticator code), audited and alerted. Needs a connection to turn on. Default false. Only the owner may change it.
               * @example false
               */
              enforceSso?: boolean;
              /**
               * @description Where `POST /v1/keys/verify` is answered for the account's keys: `home` (default) at the account's one object, wherever the caller is; `regional` by a guard near the caller, on shares of each key's rate-limit windows lent by that object, so limits stay exact and a revocation still holds on the next verify after it returns (it may wait up to about 5 s for an unreachable guard). Credits are lent too, never spent past the balance; a guard's answer shows the credits left as of its last renewal. Keys with a window under 60 s are still answered at home. See docs/GLOBAL.md.
               * @example home
               * @enum {string}
               */
              verifyPlacement?: "home" | "regional";
              /**
               * @description How many objects the account's keys are spread over, for verify past one object's throughput (about 1,000 verifies a second): 1 (default), 2, 4, 8 or 16. Each key lives in one of them by its hash, so limits, credits and revocation stay exact. A change moves keys between objects before the request answers; a verify meanwhile is answered once, by the object that holds the key at that moment. Refused while a rotated key and its predecessor, both live, share credits but would land in different objects (keys rotated before shards existed; wait for the old key's grace to end). See docs/GLOBAL.md §7.
               * @example 1
               * @enum {integer}
               */
              verifyShards?: 1 | 2 | 4 | 8 | 16;
            };
          };
        };
      };
      responses: {
        /** @description Updated */
        200: {
          content: {
            "application/json": {
              account: components["schemas"]["Account"];
            };
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Not found, or not visible to the caller */
        404: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Conflict */
        409: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/accounts/{accountId}/transfer-ownership": {
    /**
     * Make another member the owner; the old owner becomes an admin
     * @description **Credentials:** a session (bearer token or cookie). No API key can call this route, whatever its scopes.
     */
    post: {
      parameters: {
        path: {
          /** @description The account's id (`acc_` and 16 characters) */
          accountId: string;
        };
      };
      requestBody: {
        content: {
          "application/json": {
            /**
             * @description The member to make the owner: already a member of this account
             * @example usr_7hd2kq5xm3wz6vpa
             */
            userId: string;
          };
        };
      };
      responses: {
        /** @description Transferred */
        200: {
          content: {
            "application/json": {
              /**
               * @description The new owner
               * @example usr_7hd2kq5xm3wz6vpa
               */
              ownerId: string;
              /**
               * @description The caller, now an admin
               * @example usr_2md6tna3hz7kq5xw
               */
              previousOwnerId: string;
            };
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Not found, or not visible to the caller */
        404: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Conflict */
        409: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/accounts/{accountId}/members": {
    /**
     * Members with role, MFA status, joined and last-active times; service accounts among them, marked
     * @description **Credentials:** a session (bearer token or cookie), or an API key holding the reserved `members:read` scope, which acts with its creator's current role in this account.
     */
    get: {
      parameters: {
        query?: {
          /** @description Items per page: 1 to 100 (default 50) */
          limit?: number;
          /** @description The `nextCursor` of the previous page (opaque; at most 200 characters). Omit it for the first page. */
          cursor?: string;
        };
        path: {
          /** @description The account's id (`acc_` and 16 characters) */
          accountId: string;
        };
      };
      responses: {
        /** @description Members */
        200: {
          content: {
            "application/json": {
              /** @description The members, in the order they joined */
              data: components["schemas"]["Member"][];
              /**
               * @description Send it as `cursor` to get the next page; null on the last page
               * @example bzUw
               */
              nextCursor: string | null;
            };
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Not found, or not visible to the caller */
        404: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/accounts/{accountId}/members/{userId}": {
    /**
     * Remove a member: their access ends at their next request
     * @description Their keys in this account are revoked, and the invitations they sent and the webhooks they added are removed. Grants they had in flight when the removal committed are refused. A retry after a failure finishes revoking their keys; 404 when there is no such member and nothing of theirs left.
     *
     * **Credentials:** a session (bearer token or cookie), or an API key holding the reserved `members:write` scope, which acts with its creator's current role in this account.
     */
    delete: {
      parameters: {
        path: {
          /** @description The account's id (`acc_` and 16 characters) */
          accountId: string;
          /** @description The member's user id (`usr_` and 16 characters) */
          userId: string;
        };
      };
      responses: {
        /** @description Removed */
        204: {
          content: never;
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Not found, or not visible to the caller */
        404: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Conflict */
        409: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
    /**
     * Change a member's role (never to owner; never above your own)
     * @description **Credentials:** a session (bearer token or cookie), or an API key holding the reserved `members:write` scope, which acts with its creator's current role in this account.
     */
    patch: {
      parameters: {
        path: {
          /** @description The account's id (`acc_` and 16 characters) */
          accountId: string;
          /** @description The member's user id (`usr_` and 16 characters) */
          userId: string;
        };
      };
      requestBody: {
        content: {
          "application/json": {
            /**
             * @description The new role: `admin`, `member` or `readonly`. Never `owner` (ownership moves only by transfer-ownership), never above the caller's own role, and never for the owner.
             * @example member
             * @enum {string}
             */
            role: "admin" | "member" | "readonly";
          };
        };
      };
      responses: {
        /** @description Updated */
        200: {
          content: {
            "application/json": {
              member: components["schemas"]["Member"];
            };
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Not found, or not visible to the caller */
        404: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Conflict */
        409: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/accounts/{accountId}/service-accounts": {
    /**
     * The account's service accounts, oldest first, with their live keys and last key use
     * @description **Credentials:** a session (bearer token or cookie), or an API key holding the reserved `members:read` scope, which acts with its creator's current role in this account.
     */
    get: {
      parameters: {
        path: {
          /** @description The account's id (`acc_` and 16 characters) */
          accountId: string;
        };
      };
      responses: {
        /** @description Service accounts */
        200: {
          content: {
            "application/json": {
              /** @description The service accounts */
              data: components["schemas"]["ServiceAccount"][];
            };
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Not found, or not visible to the caller */
        404: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
    /**
     * Make a service account (owner and admins, with a session)
     * @description A service account owns keys (POST …/keys with `owner: {serviceAccountId}`), which act with its role and are not revoked when the person who made them leaves. No API key can manage service accounts. Listed in GET …/members as `type: service_account`.
     *
     * **Credentials:** a session (bearer token or cookie). No API key can call this route, whatever its scopes.
     */
    post: {
      parameters: {
        path: {
          /** @description The account's id (`acc_` and 16 characters) */
          accountId: string;
        };
      };
      requestBody: {
        content: {
          "application/json": {
            /**
             * @description A name to tell it apart: 1 to 100 characters after trimming, no control characters
             * @example billing-worker
             */
            name: string;
            /**
             * @description Its role: `admin`, `member` or `readonly`. Never `owner`, and never above the role of whoever sets it. Its keys act with this role (their reserved scopes are capped by it when made, and at every use).
             * @example member
             * @enum {string}
             */
            role: "admin" | "member" | "readonly";
            /**
             * @description What it is for: at most 500 characters, no control characters
             * @default
             * @example Runs invoicing
             */
            description?: string;
          };
        };
      };
      responses: {
        /** @description Made */
        201: {
          content: {
            "application/json": {
              serviceAccount: components["schemas"]["ServiceAccount"];
            };
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Not found, or not visible to the caller */
        404: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Conflict */
        409: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description The account is locked down (POST …/lockdown); an owner lifts it with POST …/lockdown/lift */
        423: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/accounts/{accountId}/service-accounts/{serviceAccountId}": {
    /**
     * One service account
     * @description **Credentials:** a session (bearer token or cookie), or an API key holding the reserved `members:read` scope, which acts with its creator's current role in this account.
     */
    get: {
      parameters: {
        path: {
          /** @description The account's id (`acc_` and 16 characters) */
          accountId: string;
          /** @description The service account's id (`svc_` and 16 characters) */
          serviceAccountId: string;
        };
      };
      responses: {
        /** @description The service account */
        200: {
          content: {
            "application/json": {
              serviceAccount: components["schemas"]["ServiceAccount"];
            };
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Not found, or not visible to the caller */
        404: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
    /**
     * Delete a service account: its keys are revoked in the same step
     * @description Its keys are refused from the next verify on, everywhere. A retry after a failure finishes revoking them; 404 when there is no such service account and no live key of its left.
     *
     * **Credentials:** a session (bearer token or cookie). No API key can call this route, whatever its scopes.
     */
    delete: {
      parameters: {
        path: {
          /** @description The account's id (`acc_` and 16 characters) */
          accountId: string;
          /** @description The service account's id (`svc_` and 16 characters) */
          serviceAccountId: string;
        };
      };
      responses: {
        /** @description Deleted */
        204: {
          content: never;
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Not found, or not visible to the caller */
        404: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
    /**
     * Rename a service account or change its role (never to owner, never above your own)
     * @description **Credentials:** a session (bearer token or cookie). No API key can call this route, whatever its scopes.
     */
    patch: {
      parameters: {
        path: {
          /** @description The account's id (`acc_` and 16 characters) */
          accountId: string;
          /** @description The service account's id (`svc_` and 16 characters) */
          serviceAccountId: string;
        };
      };
      requestBody: {
        content: {
          "application/json": {
            /**
             * @description A name to tell it apart: 1 to 100 characters after trimming, no control characters
             * @example billing-worker
             */
            name?: string;
            /**
             * @description Its role: `admin`, `member` or `readonly`. Never `owner`, and never above the role of whoever sets it. Its keys act with this role (their reserved scopes are capped by it when made, and at every use).
             * @example member
             * @enum {string}
             */
            role?: "admin" | "member" | "readonly";
            /**
             * @description What it is for: at most 500 characters, no control characters
             * @example Runs invoicing
             */
            description?: string;
          };
        };
      };
      responses: {
        /** @description Updated */
        200: {
          content: {
            "application/json": {
              serviceAccount: components["schemas"]["ServiceAccount"];
            };
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Not found, or not visible to the caller */
        404: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Conflict */
        409: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description The account is locked down (POST …/lockdown); an owner lifts it with POST …/lockdown/lift */
        423: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/accounts/{accountId}/invitations": {
    /**
     * Pending invitations
     * @description **Credentials:** a session (bearer token or cookie), or an API key holding the reserved `members:read` scope, which acts with its creator's current role in this account.
     */
    get: {
      parameters: {
        query?: {
          /** @description Items per page: 1 to 100 (default 50) */
          limit?: number;
          /** @description The `nextCursor` of the previous page (opaque; at most 200 characters). Omit it for the first page. */
          cursor?: string;
        };
        path: {
          /** @description The account's id (`acc_` and 16 characters) */
          accountId: string;
        };
      };
      responses: {
        /** @description Pending */
        200: {
          content: {
            "application/json": {
              /** @description The pending invitations, oldest first */
              data: components["schemas"]["Invitation"][];
              /**
               * @description Send it as `cursor` to get the next page; null on the last page
               * @example bzUw
               */
              nextCursor: string | null;
            };
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Not found, or not visible to the caller */
        404: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
    /**
     * Invite someone by email (token emailed, single use, 7 days); replaces a pending invitation to the same email
     * @description **Credentials:** a session (bearer token or cookie), or an API key holding the reserved `members:write` scope, which acts with its creator's current role in this account.
     */
    post: {
      parameters: {
        path: {
          /** @description The account's id (`acc_` and 16 characters) */
          accountId: string;
        };
      };
      requestBody: {
        content: {
          "application/json": {
            /**
             * Format: email
             * @description The address to invite; the invitation's code is emailed there. A pending invitation to the same address is replaced. At most 30 invitations an hour per account, and 30 per inviter.
             * @example grace@example.com
             */
            email: string;
            /**
             * @description The role the invitee gets: `admin`, `member` or `readonly`, never above the caller's own
             * @example member
             * @enum {string}
             */
            role: "admin" | "member" | "readonly";
          };
        };
      };
      responses: {
        /** @description Invited */
        201: {
          content: {
            "application/json": {
              invitation: components["schemas"]["Invitation"];
            };
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Not found, or not visible to the caller */
        404: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Conflict */
        409: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description The account is locked down (POST …/lockdown); an owner lifts it with POST …/lockdown/lift */
        423: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Rate limited or locked out; see Retry-After */
        429: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/accounts/{accountId}/invitations/{invitationId}": {
    /**
     * Cancel a pending invitation
     * @description **Credentials:** a session (bearer token or cookie), or an API key holding the reserved `members:write` scope, which acts with its creator's current role in this account.
     */
    delete: {
      parameters: {
        path: {
          /** @description The account's id (`acc_` and 16 characters) */
          accountId: string;
          /** @description The invitation's id (`inv_` and 16 characters) */
          invitationId: string;
        };
      };
      responses: {
        /** @description Cancelled */
        204: {
          content: never;
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Not found, or not visible to the caller */
        404: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/invitations/preview": {
    /**
     * What an invitation's code opens: the account, the role, the invited address and the expiry
     * @description For the invitation's holder to check before signing up or joining, with no session needed: the code is the credential (256 random bits, single use, 7 days). A code that is not pending (expired, used, cancelled or replaced) is a 400, like a wrong one. Nothing is changed.
     */
    post: {
      requestBody: {
        content: {
          "application/json": {
            /**
             * @description The code from the invitation email (single use, 7 days). The example is made up.
             * @example exampleexampleexampleexampleexampleexampleexampleexa
             */
            token: string;
          };
        };
      };
      responses: {
        /** @description The invitation */
        200: {
          content: {
            "application/json": {
              /** @description The pending invitation */
              invitation: {
                /**
                 * @description The account the invitation joins
                 * @example acc_3kq7m2xw5vhz4tna
                 */
                accountId: string;
                /**
                 * @description Its name, as its owner wrote it
                 * @example Acme Corp
                 */
                accountName: string;
                /**
                 * @description The role joining gives
                 * @example admin
                 * @enum {string}
                 */
                role: "admin" | "member" | "readonly";
                /**
                 * @description The address the invitation was sent to: sign in or sign up with it, verified
                 * @example bea@example.com
                 */
                email: string;
                /**
                 * @description When the code stops working (ISO 8601, UTC)
                 * @example 2026-03-09T09:30:00.000Z
                 */
                expiresAt: string;
              };
            };
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/invitations/accept": {
    /**
     * Join the account; the signed-in user's verified email must be the invited one
     * @description **Credentials:** a session (bearer token or cookie). An API key is refused with 401 `invalid_token`.
     */
    post: {
      requestBody: {
        content: {
          "application/json": {
            /**
             * @description The code from the invitation email (single use, 7 days). The example is made up.
             * @example exampleexampleexampleexampleexampleexampleexampleexa
             */
            token: string;
          };
        };
      };
      responses: {
        /** @description Joined */
        200: {
          content: {
            "application/json": {
              /** @description The new membership */
              membership: {
                /**
                 * @description The account joined
                 * @example acc_3kq7m2xw5vhz4tna
                 */
                accountId: string;
                /**
                 * @description Its name
                 * @example Acme Corp
                 */
                accountName: string;
                /**
                 * @description The role the invitation gave
                 * @example member
                 * @enum {string}
                 */
                role: "owner" | "admin" | "member" | "readonly";
              };
            };
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Conflict */
        409: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description The account is locked down (POST …/lockdown); an owner lifts it with POST …/lockdown/lift */
        423: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/accounts/{accountId}/keys": {
    /**
     * Keys of the account (metadata only), newest first
     * @description **Credentials:** a session (bearer token or cookie), or an API key holding the reserved `keys:read` scope, which acts with its creator's current role in this account.
     */
    get: {
      parameters: {
        query?: {
          /** @description Only keys with this status */
          status?: "active" | "expired" | "revoked";
          /** @description Only keys of this environment */
          environment?: "production" | "staging" | "development" | "ci";
          /** @description Only keys made (or rotated in) by this user */
          createdBy?: string;
          /** @description Only the keys of this customer (your `externalId`) */
          externalId?: string;
          /** @description Only the keys this service account owns */
          serviceAccountId?: string;
          /** @description Items per page: 1 to 100 (default 50) */
          limit?: number;
          /** @description The `nextCursor` of the previous page (opaque; at most 200 characters). Omit it for the first page. */
          cursor?: string;
        };
        path: {
          /** @description The account's id (`acc_` and 16 characters) */
          accountId: string;
        };
      };
      responses: {
        /** @description A page of keys */
        200: {
          content: {
            "application/json": {
              /** @description The keys, newest first */
              data: components["schemas"]["ApiKey"][];
              /**
               * @description Send it as `cursor` to get the next page; null on the last page
               * @example eyJ0IjoxNzcyNDQzODAwMDAwLCJpZCI6ImtleV81dG0yeHE3a3d6M2RoNG5hIn0
               */
              nextCursor: string | null;
            };
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Not found, or not visible to the caller */
        404: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
    /**
     * Create a key; the secret is returned once
     * @description Scopes are `resource:action`, `resource:*` or `*` (`*` is refused on production keys). The reserved scopes `keys:read`, `keys:write`, `members:read`, `members:write`, `audit:read` and `account:read` open the management API, and `keys:verify` lets a key vouch for the `ip` it sends to verify; they are granted only by name (`*` and `keys:*` cover product scopes, never reserved ones), only by someone whose role holds them, and a key is never used beyond its creator's current role. A key caller (`keys:write`) can create only keys that fit inside itself: scopes it holds, its environment, an IP allowlist inside its own, a rate limit no higher and a lifetime no longer than its own (the default lifetime is cut to the caller's). Refused while the account is locked down (423) or until its owner's email is verified (403).
     *
     * **Credentials:** a session (bearer token or cookie), or an API key holding the reserved `keys:write` scope, which acts with its creator's current role in this account.
     */
    post: {
      parameters: {
        path: {
          /** @description The account's id (`acc_` and 16 characters) */
          accountId: string;
        };
      };
      requestBody: {
        content: {
          "application/json": {
            /**
             * @description A name to tell the key apart: 1 to 100 characters after trimming, no control characters
             * @example orders-service production
             */
            name: string;
            /**
             * @description The key's environment: `production` keys start `kw_live_`, the others (`staging`, `development`, `ci`) `kw_test_`. A key used on the management API manages only keys of its own environment.
             * @example production
             * @enum {string}
             */
            environment: "production" | "staging" | "development" | "ci";
            /**
             * @description What the key may do: 1 to 50 scopes, each `resource:action`, `resource:*` (every action on the resource) or `*` (every product scope). Each side starts with a lowercase letter and holds only `a-z`, `0-9` and `-`, at most 32 characters. `*` is refused on production keys. The reserved scopes `keys:read`, `keys:write`, `members:read`, `members:write`, `audit:read`, `account:read`, `scim:write` open the management API (the routes under /v1/accounts/{accountId} that name them), and `keys:verify` lets the key vouch for the `ip` it sends to POST /v1/keys/verify. Reserved scopes are granted only by name (`*` and `keys:*` never cover them), only by someone whose role holds what they open, and with a proof of identity from the last ten minutes when a person grants them; the key never acts beyond its creator's current role.
             * @example [
             *   "orders:read",
             *   "orders:write"
             * ]
             */
            scopes: string[];
            /**
             * @description Days until the key expires: 1 to 365, and no more than the account's `keyMaxLifetimeDays` (90 unless changed). Default: that maximum. A key made by another key never outlives it.
             * @example 30
             */
            expiresInDays?: number;
            /**
             * @description For a short-lived key: seconds until it expires, 60 up to the account's `keyMaxLifetimeDays` in seconds. Give this or `expiresInDays`, not both.
             * @example 900
             */
            expiresIn?: number;
            /**
             * @description The addresses the key may be used from, as CIDR ranges (at most 50); empty: any address. From elsewhere, verify answers `IP_NOT_ALLOWED` and the management API refuses the key.
             * @default []
             * @example [
             *   "203.0.113.0/24"
             * ]
             */
            ipAllowlist?: string[];
            /** @description The limit named `default`. The key's rate limit, a sliding window: in no window of `windowSeconds` ending at any instant are more than `limit` uses admitted (a verify answered `VALID`, or a management API call the key authenticates), across every location at once. Past it, verify answers `RATE_LIMITED`. Default: 1000 per 3600 seconds. Give this or `rateLimits`. */
            rateLimit?: {
              /**
               * @description Uses admitted per window: 1 to 1,000,000
               * @example 1000
               */
              limit: number;
              /**
               * @description The window's length in seconds: 1 to 86,400 (a day)
               * @example 3600
               */
              windowSeconds: number;
            };
            /**
             * @description The key's rate limits, 1 to 5, each named: a use must fit every limit it is checked against (by default, all of them). Replaces `rateLimit`, which is the limit named `default`; give one or the other.
             * @example [
             *   {
             *     "name": "default",
             *     "limit": 1000,
             *     "windowSeconds": 3600
             *   },
             *   {
             *     "name": "burst",
             *     "limit": 20,
             *     "windowSeconds": 1
             *   }
             * ]
             */
            rateLimits?: {
                /**
                 * @description The limit's name: a lowercase letter, then up to 31 of `a-z`, `0-9` and `-`
                 * @example burst
                 */
                name: string;
                /**
                 * @description Uses admitted per window: 1 to 1,000,000
                 * @example 1000
                 */
                limit: number;
                /**
                 * @description The window's length in seconds: 1 to 86,400 (a day)
                 * @example 3600
                 */
                windowSeconds: number;
              }[];
            /** @description Make the key for a service account (admins and the owner only): it acts with the service account's role, its reserved scopes are capped by that role, and removing its creator does not touch it. A service account's own key makes keys for that service account only (the default for it). */
            owner?: {
              /**
               * @description The service account that will own the key
               * @example svc_2kx7mq5hw3zd6tna
               */
              serviceAccountId: string;
            };
            /**
             * @description Your customer's id for the key (1 to 255 printable ASCII characters, no spaces): verify returns it, and GET …/keys?externalId= lists that customer's keys
             * @example cus_8f3a21
             */
            externalId?: string;
            /**
             * @description Your JSON object about the key (at most 4 KB as JSON, 8 levels), returned by a `VALID` verify. It must not hold a credential: a field named like a secret (`password`, `token`, `apiKey`, …) or a value that looks like one (a bearer header, a JWT, a private key, a vendor key) is refused with its path, never stored or scrubbed.
             * @example {
             *   "plan": "pro",
             *   "region": "eu"
             * }
             */
            meta?: {
              [key: string]: unknown;
            };
            /** @description The key's credits: each `VALID` verify spends its `cost` (default 1) in the same step as the rate-limit check, exactly under any concurrency; a verify they cannot cover answers `USAGE_EXCEEDED` and spends nothing. Setting them (on create or update) sets the balance. Absent: unlimited. */
            credits?: {
              /**
               * @description Credits the key has now: 0 to 1,000,000,000
               * @example 5000
               */
              remaining: number;
              /** @description When the balance is set back to `amount`; null or absent: never */
              refill?: ({
                /**
                 * @description What the balance is set to at each refill (not added)
                 * @example 5000
                 */
                amount: number;
                /**
                 * @description `daily`: at 00:00 UTC; `monthly`: on `day` at 00:00 UTC
                 * @example monthly
                 * @enum {string}
                 */
                interval: "daily" | "monthly";
                /**
                 * @description For `monthly`: the day of the month (1 to 31; in shorter months, their last day). Default 1.
                 * @example 1
                 */
                day?: number;
              }) | null;
            };
          };
        };
      };
      responses: {
        /** @description Created */
        201: {
          content: {
            "application/json": {
              key: components["schemas"]["ApiKey"];
              /**
               * @description The API key itself, 73 characters: shown only here, so store it now (Keyward keeps only a keyed hash). The example is made up and fails the checksum.
               * @example kw_live_3kq7m2xw5vhz4tnaThisIsAnExampleKeyNotARealSecretDoNotUse00000Xy9Z
               */
              secret: string;
            };
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Not found, or not visible to the caller */
        404: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Conflict */
        409: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description The account is locked down (POST …/lockdown); an owner lifts it with POST …/lockdown/lift */
        423: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/accounts/{accountId}/keys/{keyId}": {
    /**
     * One key with its usage over the last 24 hours
     * @description **Credentials:** a session (bearer token or cookie), or an API key holding the reserved `keys:read` scope, which acts with its creator's current role in this account.
     */
    get: {
      parameters: {
        path: {
          /** @description The account's id (`acc_` and 16 characters) */
          accountId: string;
          /** @description The key's id (`key_` and 16 characters), not its secret */
          keyId: string;
        };
      };
      responses: {
        /** @description The key */
        200: {
          content: {
            "application/json": {
              key: components["schemas"]["ApiKey"];
              usage: components["schemas"]["KeyUsage"];
            };
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Not found, or not visible to the caller */
        404: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
    /**
     * Change a key: name, scopes, IP allowlist, limits, customer id, metadata, credits, enabled (members: their own keys only)
     * @description Renaming, narrowing and disabling are always allowed to whoever manages the key. Anything that widens it (a scope, a looser limit, more credits, enabling it) is a grant of the whole resulting key, under the same rules as creating one. A key disabled by someone is enabled again only by them, an admin or the owner. Setting `credits` sets the balance; `null` removes them (unlimited) and is a widening. Disabling and enabling are audited as `key.disabled` and `key.enabled`.
     *
     * **Credentials:** a session (bearer token or cookie), or an API key holding the reserved `keys:write` scope, which acts with its creator's current role in this account.
     */
    patch: {
      parameters: {
        path: {
          /** @description The account's id (`acc_` and 16 characters) */
          accountId: string;
          /** @description The key's id (`key_` and 16 characters), not its secret */
          keyId: string;
        };
      };
      requestBody: {
        content: {
          "application/json": {
            /**
             * @description A name to tell the key apart: 1 to 100 characters after trimming, no control characters
             * @example orders-service production
             */
            name?: string;
            /**
             * @description What the key may do: 1 to 50 scopes, each `resource:action`, `resource:*` (every action on the resource) or `*` (every product scope). Each side starts with a lowercase letter and holds only `a-z`, `0-9` and `-`, at most 32 characters. `*` is refused on production keys. The reserved scopes `keys:read`, `keys:write`, `members:read`, `members:write`, `audit:read`, `account:read`, `scim:write` open the management API (the routes under /v1/accounts/{accountId} that name them), and `keys:verify` lets the key vouch for the `ip` it sends to POST /v1/keys/verify. Reserved scopes are granted only by name (`*` and `keys:*` never cover them), only by someone whose role holds what they open, and with a proof of identity from the last ten minutes when a person grants them; the key never acts beyond its creator's current role.
             * @example [
             *   "orders:read",
             *   "orders:write"
             * ]
             */
            scopes?: string[];
            /**
             * @description The addresses the key may be used from, as CIDR ranges (at most 50); empty: any address. From elsewhere, verify answers `IP_NOT_ALLOWED` and the management API refuses the key.
             * @example [
             *   "203.0.113.0/24"
             * ]
             */
            ipAllowlist?: string[];
            /** @description Replaces every limit with this one, named `default`. The key's rate limit, a sliding window: in no window of `windowSeconds` ending at any instant are more than `limit` uses admitted (a verify answered `VALID`, or a management API call the key authenticates), across every location at once. Past it, verify answers `RATE_LIMITED`. */
            rateLimit?: {
              /**
               * @description Uses admitted per window: 1 to 1,000,000
               * @example 1000
               */
              limit: number;
              /**
               * @description The window's length in seconds: 1 to 86,400 (a day)
               * @example 3600
               */
              windowSeconds: number;
            };
            /**
             * @description The key's rate limits, 1 to 5, each named: a use must fit every limit it is checked against (by default, all of them). Replaces `rateLimit`, which is the limit named `default`; give one or the other.
             * @example [
             *   {
             *     "name": "default",
             *     "limit": 1000,
             *     "windowSeconds": 3600
             *   },
             *   {
             *     "name": "burst",
             *     "limit": 20,
             *     "windowSeconds": 1
             *   }
             * ]
             */
            rateLimits?: {
                /**
                 * @description The limit's name: a lowercase letter, then up to 31 of `a-z`, `0-9` and `-`
                 * @example burst
                 */
                name: string;
                /**
                 * @description Uses admitted per window: 1 to 1,000,000
                 * @example 1000
                 */
                limit: number;
                /**
                 * @description The window's length in seconds: 1 to 86,400 (a day)
                 * @example 3600
                 */
                windowSeconds: number;
              }[];
            /**
             * @description Your customer's id; null clears it
             * @example cus_8f3a21
             */
            externalId?: string | null;
            /**
             * @description Replaces the metadata; null clears it
             * @example {
             *   "plan": "pro",
             *   "region": "eu"
             * }
             */
            meta?: {
              [key: string]: unknown;
            } | null;
            /** @description Sets the balance (and refill); null removes the credits: the key becomes unlimited */
            credits?: ({
              /**
               * @description Credits the key has now: 0 to 1,000,000,000
               * @example 5000
               */
              remaining: number;
              /** @description When the balance is set back to `amount`; null or absent: never */
              refill?: ({
                /**
                 * @description What the balance is set to at each refill (not added)
                 * @example 5000
                 */
                amount: number;
                /**
                 * @description `daily`: at 00:00 UTC; `monthly`: on `day` at 00:00 UTC
                 * @example monthly
                 * @enum {string}
                 */
                interval: "daily" | "monthly";
                /**
                 * @description For `monthly`: the day of the month (1 to 31; in shorter months, their last day). Default 1.
                 * @example 1
                 */
                day?: number;
              }) | null;
            }) | null;
            /**
             * @description false: verify answers `DISABLED` until it is set back to true (unlike a revocation)
             * @example false
             */
            enabled?: boolean;
          };
        };
      };
      responses: {
        /** @description Updated */
        200: {
          content: {
            "application/json": {
              key: components["schemas"]["ApiKey"];
            };
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Not found, or not visible to the caller */
        404: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Conflict */
        409: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/accounts/{accountId}/keys/{keyId}/rotate": {
    /**
     * Make a successor; the old key keeps working for the grace period and then stops
     * @description **Credentials:** a session (bearer token or cookie), or an API key holding the reserved `keys:write` scope, which acts with its creator's current role in this account.
     */
    post: {
      parameters: {
        path: {
          /** @description The account's id (`acc_` and 16 characters) */
          accountId: string;
          /** @description The key's id (`key_` and 16 characters), not its secret */
          keyId: string;
        };
      };
      requestBody: {
        content: {
          "application/json": {
            /**
             * @description How long the old key keeps working beside its successor: 0 to 168 hours. Default: the account's `rotationGraceHours` (24 unless changed).
             * @example 24
             */
            gracePeriodHours?: number;
          };
        };
      };
      responses: {
        /** @description Rotated */
        201: {
          content: {
            "application/json": {
              key: components["schemas"]["ApiKey"];
              /**
               * @description The API key itself, 73 characters: shown only here, so store it now (Keyward keeps only a keyed hash). The example is made up and fails the checksum.
               * @example kw_live_3kq7m2xw5vhz4tnaThisIsAnExampleKeyNotARealSecretDoNotUse00000Xy9Z
               */
              secret: string;
              /** @description The key that was rotated */
              previous: {
                /**
                 * @description The old key's id
                 * @example key_5tm2xq7kwz3dh4na
                 */
                id: string;
                /**
                 * Format: date-time
                 * @description When the old key stops working: the end of the grace period
                 * @example 2026-03-03T09:30:00.000Z
                 */
                expiresAt: string;
              };
            };
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Not found, or not visible to the caller */
        404: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Conflict */
        409: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description The account is locked down (POST …/lockdown); an owner lifts it with POST …/lockdown/lift */
        423: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/accounts/{accountId}/keys/{keyId}/reveal-secret": {
    /**
     * Reveal, once, the secret of a key made because its predecessor leaked (`secretWaiting`); a person's session only
     * @description **Credentials:** a session (bearer token or cookie). No API key can call this route, whatever its scopes.
     */
    post: {
      parameters: {
        path: {
          /** @description The account's id (`acc_` and 16 characters) */
          accountId: string;
          /** @description The key's id (`key_` and 16 characters), not its secret */
          keyId: string;
        };
      };
      responses: {
        /** @description The secret, now no longer kept */
        200: {
          content: {
            "application/json": {
              key: components["schemas"]["ApiKey"];
              /**
               * @description The API key itself, 73 characters: shown only here, so store it now (Keyward keeps only a keyed hash). The example is made up and fails the checksum.
               * @example kw_live_3kq7m2xw5vhz4tnaThisIsAnExampleKeyNotARealSecretDoNotUse00000Xy9Z
               */
              secret: string;
            };
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Not found, or not visible to the caller */
        404: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/accounts/{accountId}/keys/{keyId}/revoke": {
    /**
     * Revoke a key (idempotent); refused on the very next verify, everywhere
     * @description **Credentials:** a session (bearer token or cookie), or an API key holding the reserved `keys:write` scope, which acts with its creator's current role in this account.
     */
    post: {
      parameters: {
        path: {
          /** @description The account's id (`acc_` and 16 characters) */
          accountId: string;
          /** @description The key's id (`key_` and 16 characters), not its secret */
          keyId: string;
        };
      };
      requestBody: {
        content: {
          "application/json": {
            /**
             * @description Why, kept on the key as `revokedReason` and in the audit trail: 1 to 200 characters after trimming, no control characters
             * @example Leaked in a CI log
             */
            reason: string;
          };
        };
      };
      responses: {
        /** @description Revoked */
        200: {
          content: {
            "application/json": {
              key: components["schemas"]["ApiKey"];
            };
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Not found, or not visible to the caller */
        404: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/keys/verify": {
    /**
     * Check a key presented to your service; 200 for every outcome
     * @description Needs no credential. Rate-limit headers of the key's limit are sent only with `VALID` and `RATE_LIMITED`. The body's `ip` is honoured only when the caller sends, as `Authorization: Bearer`, a key of the same account with the reserved `keys:verify` scope (a root key of your service; its creator must be an admin or the owner), or calls through the service binding; otherwise the key's IP allowlist is checked against the address the request comes from.
     */
    post: {
      requestBody: {
        content: {
          "application/json": {
            /**
             * @description The API key your service was given (`kw_live_…` or `kw_test_…`). One with the wrong shape or checksum is `NOT_FOUND` without any lookup. The example is made up and fails the checksum.
             * @example kw_live_3kq7m2xw5vhz4tnaThisIsAnExampleKeyNotARealSecretDoNotUse00000Xy9Z
             */
            key: string;
            /**
             * @description The scopes this use needs, all of them: each `resource:action` (no wildcards), at most 50, default none. `orders:read` is satisfied by `orders:read`, `orders:*` or `*`; a reserved scope only by itself.
             * @default []
             * @example [
             *   "orders:read"
             * ]
             */
            requiredScopes?: string[];
            /**
             * @description The address of the client that presented the key, checked against the key's IP allowlist. Honoured only when this request carries, as Authorization: Bearer, a key of the same account with `keys:verify` (or comes through the service binding); otherwise the address this request comes from is used.
             * @example 203.0.113.7
             */
            ip?: string;
            /**
             * @description Credits this use spends, for a key with credits: 0 to 1,000,000, default 1; 0 checks the key without spending. Spent only when the verdict is `VALID`.
             * @default 1
             * @example 1
             */
            cost?: number;
            /**
             * @description The key's named limits to check, by name or as `{name, cost}`, at most 5. Default: every limit of the key, at cost 1. A name the key does not have is skipped (the verdict's `ratelimits` lists what was checked).
             * @example [
             *   "default",
             *   {
             *     "name": "burst",
             *     "cost": 1
             *   }
             * ]
             */
            ratelimits?: (string | {
                /**
                 * @description The limit's name: a lowercase letter, then up to 31 of `a-z`, `0-9` and `-`
                 * @example burst
                 */
                name: string;
                /**
                 * @description Uses this counts against the limit: 0 to 1,000,000, default 1
                 * @default 1
                 * @example 1
                 */
                cost?: number;
              })[];
          };
        };
      };
      responses: {
        /** @description The verdict */
        200: {
          content: {
            "application/json": components["schemas"]["VerifyResult"];
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/accounts/{accountId}/audit-events": {
    /**
     * Audit events of the account, newest first
     * @description **Credentials:** a session (bearer token or cookie), or an API key holding the reserved `audit:read` scope, which acts with its creator's current role in this account.
     */
    get: {
      parameters: {
        query?: {
          /** @description Only events of this action (`key.revoked`), or of every action under a prefix ending in a dot (`key.` or `key.*`: key.created, key.rotated, key.revoked, …). A prefix no action starts with is a 400. */
          action?: ("http.request" | "auth.signup" | "auth.login.succeeded" | "auth.login.failed" | "auth.lockout" | "auth.mfa.enabled" | "auth.mfa.disabled" | "auth.mfa.failed" | "auth.password.changed" | "auth.reauthenticated" | "auth.mfa.fallback_used" | "auth.mfa.recovery_codes_replaced" | "auth.email_change.requested" | "auth.email_change.confirmed" | "auth.email_change.cancelled" | "auth.new_device" | "auth.not_me" | "auth.breach_check_skipped" | "auth.passkey.added" | "auth.passkey.renamed" | "auth.passkey.removed" | "session.revoked" | "member.invited" | "member.joined" | "member.role_changed" | "member.removed" | "account.settings_changed" | "account.ownership_transferred" | "account.lockdown" | "account.lockdown_lifted" | "account.created" | "account.deleted" | "member.invitation_cancelled" | "key.created" | "key.rotated" | "key.revoked" | "key.expired" | "key.swept" | "key.updated" | "key.verified" | "key.secret_revealed" | "webhook.created" | "webhook.deleted" | "webhook.updated" | "webhook.secret_rotated" | "webhook.disabled" | "webhook.tested" | "webhook.redelivered" | "log_stream.created" | "log_stream.updated" | "log_stream.deleted" | "log_stream.disabled" | "audit.read" | "auth.data_exported" | "user.erased" | "key.inactivity_warned" | "key.disabled" | "key.enabled" | "service_account.created" | "service_account.updated" | "service_account.deleted" | "domain.added" | "domain.verified" | "domain.removed" | "domain.record_missing" | "domain.lapsed" | "scim.user_provisioned" | "scim.user_updated" | "scim.user_deactivated" | "scim.user_reactivated" | "scim.user_deleted" | "scim.group_created" | "scim.group_updated" | "scim.group_deleted" | "sso.connection_created" | "sso.connection_updated" | "sso.connection_deleted" | "auth.sso.failed" | "auth.sso.break_glass" | "alert.failed_logins_spike" | "alert.key_created" | "alert.member_changed" | "alert.key_expiring" | "alert.lockdown" | "alert.key_leaked" | "alert.sso_break_glass" | "alert.domain_lapsing") | string;
          /** @description `exclude` leaves out the one-per-request events (`http.request`, `key.verified`), for a log of security events only; `include` (the default) keeps every event */
          requests?: "include" | "exclude";
          /** @description Only events by this actor: a user id, a key id, or `system` */
          actorId?: string | "system";
          /** @description Only events about this key: as their target, in their metadata, or as the actor */
          keyId?: string;
          /** @description Only events at or after this time: an ISO 8601 date and time with `Z` or an offset */
          since?: string;
          /** @description Only events at or before this time: an ISO 8601 date and time with `Z` or an offset */
          until?: string;
          /** @description Items per page: 1 to 100 (default 50) */
          limit?: number;
          /** @description The `nextCursor` of the previous page (opaque; at most 200 characters). Omit it for the first page. */
          cursor?: string;
        };
        path: {
          /** @description The account's id (`acc_` and 16 characters) */
          accountId: string;
        };
      };
      responses: {
        /** @description A page of events */
        200: {
          content: {
            "application/json": {
              /** @description The events, newest first */
              data: components["schemas"]["AuditEvent"][];
              /**
               * @description Send it as `cursor` to get the next page; null on the last page
               * @example eyJ0IjoxNzcyNDQyODQ3NTEyLCJpZCI6ImV2dF80bXo3a3EyeGg1d2Qzdm5hIn0
               */
              nextCursor: string | null;
            };
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Not found, or not visible to the caller */
        404: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/accounts/{accountId}/audit-events/export": {
    /**
     * Archived audit events as NDJSON, oldest first, read from the tamper-evident archive
     * @description **Credentials:** a session (bearer token or cookie), or an API key holding the reserved `audit:read` scope, which acts with its creator's current role in this account.
     */
    get: {
      parameters: {
        query?: {
          /** @description The start of the range (an ISO 8601 date and time with `Z` or an offset); default 30 days before `until` */
          since?: string;
          /** @description The end of the range (an ISO 8601 date and time with `Z` or an offset); default now. At most 366 days after `since`. */
          until?: string;
        };
        path: {
          /** @description The account's id (`acc_` and 16 characters) */
          accountId: string;
        };
      };
      responses: {
        /** @description One event per line (default range: the last 30 days; at most 366 days) */
        200: {
          content: {
            "application/x-ndjson": string;
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Not found, or not visible to the caller */
        404: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/accounts/{accountId}/webhooks": {
    /**
     * The account's webhook endpoints (never their secrets)
     * @description **Credentials:** a session (bearer token or cookie). No API key can call this route, whatever its scopes.
     */
    get: {
      parameters: {
        path: {
          /** @description The account's id (`acc_` and 16 characters) */
          accountId: string;
        };
      };
      responses: {
        /** @description Webhooks */
        200: {
          content: {
            "application/json": {
              /** @description The endpoints, oldest first */
              data: components["schemas"]["Webhook"][];
            };
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Not found, or not visible to the caller */
        404: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
    /**
     * Add a webhook endpoint; the signing secret is returned once
     * @description **Credentials:** a session (bearer token or cookie). No API key can call this route, whatever its scopes.
     */
    post: {
      parameters: {
        path: {
          /** @description The account's id (`acc_` and 16 characters) */
          accountId: string;
        };
      };
      requestBody: {
        content: {
          "application/json": {
            /**
             * @description Where deliveries are POSTed: https:// only, at most 2048 characters; loopback, private, link-local, CGNAT and cloud-metadata hosts are refused
             * @example https://hooks.example.com/keyward
             */
            url: string;
            /**
             * @description What to deliver, at least one entry, each at most once: an event of `GET /v1/webhook-events` (`key.revoked`), a group (`auth.*`, `session.*`, `member.*`, `account.*`, `key.*`, `webhook.*`, `log_stream.*`, `audit.*`, `user.*`, `service_account.*`, `domain.*`, `scim.*`, `sso.*`, `alert.*`) or `*` for every event
             * @example [
             *   "key.*",
             *   "alert.lockdown"
             * ]
             */
            events: string[];
          };
        };
      };
      responses: {
        /** @description Created; store the secret now */
        201: {
          content: {
            "application/json": {
              webhook: components["schemas"]["Webhook"];
              /**
               * @description The signing secret, shown only here. Each delivery carries `Keyward-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, keyed with this whole string. The example is made up.
               * @example whsec_exampleexampleexampleexampleexampleexampleexampleexa
               */
              secret: string;
            };
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Not found, or not visible to the caller */
        404: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Conflict */
        409: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description The account is locked down (POST …/lockdown); an owner lifts it with POST …/lockdown/lift */
        423: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/accounts/{accountId}/webhooks/{webhookId}": {
    /**
     * One webhook endpoint, with its failure budget and whether it is enabled
     * @description **Credentials:** a session (bearer token or cookie). No API key can call this route, whatever its scopes.
     */
    get: {
      parameters: {
        path: {
          /** @description The account's id (`acc_` and 16 characters) */
          accountId: string;
          /** @description The webhook's id (`whk_` and 16 characters) */
          webhookId: string;
        };
      };
      responses: {
        /** @description The webhook */
        200: {
          content: {
            "application/json": {
              webhook: components["schemas"]["Webhook"];
            };
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Not found, or not visible to the caller */
        404: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
    /**
     * Remove a webhook endpoint; queued deliveries to it are dropped
     * @description **Credentials:** a session (bearer token or cookie). No API key can call this route, whatever its scopes.
     */
    delete: {
      parameters: {
        path: {
          /** @description The account's id (`acc_` and 16 characters) */
          accountId: string;
          /** @description The webhook's id (`whk_` and 16 characters) */
          webhookId: string;
        };
      };
      responses: {
        /** @description Removed */
        204: {
          content: never;
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Not found, or not visible to the caller */
        404: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
    /**
     * Change what an endpoint receives, or disable or enable it
     * @description **Credentials:** a session (bearer token or cookie). No API key can call this route, whatever its scopes.
     */
    patch: {
      parameters: {
        path: {
          /** @description The account's id (`acc_` and 16 characters) */
          accountId: string;
          /** @description The webhook's id (`whk_` and 16 characters) */
          webhookId: string;
        };
      };
      requestBody: {
        content: {
          "application/json": {
            /**
             * @description What to deliver, at least one entry, each at most once: an event of `GET /v1/webhook-events` (`key.revoked`), a group (`auth.*`, `session.*`, `member.*`, `account.*`, `key.*`, `webhook.*`, `log_stream.*`, `audit.*`, `user.*`, `service_account.*`, `domain.*`, `scim.*`, `sso.*`, `alert.*`) or `*` for every event
             * @example [
             *   "key.*",
             *   "alert.lockdown"
             * ]
             */
            events?: string[];
            /**
             * @description `true` turns a disabled endpoint back on with a fresh failure budget (refused during a lockdown); `false` pauses it
             * @example true
             */
            enabled?: boolean;
          };
        };
      };
      responses: {
        /** @description Changed */
        200: {
          content: {
            "application/json": {
              webhook: components["schemas"]["Webhook"];
            };
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Not found, or not visible to the caller */
        404: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Conflict */
        409: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description The account is locked down (POST …/lockdown); an owner lifts it with POST …/lockdown/lift */
        423: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/accounts/{accountId}/webhooks/{webhookId}/rotate-secret": {
    /**
     * A new signing secret, returned once; the old one keeps signing for the overlap (default 24 h)
     * @description **Credentials:** a session (bearer token or cookie). No API key can call this route, whatever its scopes.
     */
    post: {
      parameters: {
        path: {
          /** @description The account's id (`acc_` and 16 characters) */
          accountId: string;
          /** @description The webhook's id (`whk_` and 16 characters) */
          webhookId: string;
        };
      };
      requestBody: {
        content: {
          "application/json": {
            /**
             * @description How long the old secret keeps signing beside the new one, in seconds (0 to 86400, default 86400). During the overlap each delivery carries two `v1=` signatures; 0 retires the old secret at once
             * @example 3600
             */
            overlapSeconds?: number;
          };
        };
      };
      responses: {
        /** @description Rotated; store the new secret now */
        200: {
          content: {
            "application/json": {
              webhook: components["schemas"]["Webhook"];
              /**
               * @description The signing secret, shown only here. Each delivery carries `Keyward-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, keyed with this whole string. The example is made up.
               * @example whsec_exampleexampleexampleexampleexampleexampleexampleexa
               */
              secret: string;
              /**
               * Format: date-time
               * @description While a rotated secret still signs beside the new one, when it stops; null otherwise
               * @example 2026-03-03T09:30:00.000Z
               */
              previousSecretExpiresAt: string | null;
            };
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Not found, or not visible to the caller */
        404: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Conflict */
        409: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description The account is locked down (POST …/lockdown); an owner lifts it with POST …/lockdown/lift */
        423: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/accounts/{accountId}/webhooks/{webhookId}/deliveries": {
    /**
     * The latest 50 deliveries of an endpoint, newest first, with status and attempts
     * @description **Credentials:** a session (bearer token or cookie). No API key can call this route, whatever its scopes.
     */
    get: {
      parameters: {
        path: {
          /** @description The account's id (`acc_` and 16 characters) */
          accountId: string;
          /** @description The webhook's id (`whk_` and 16 characters) */
          webhookId: string;
        };
      };
      responses: {
        /** @description Deliveries */
        200: {
          content: {
            "application/json": {
              /** @description The latest 50 deliveries, newest first */
              data: components["schemas"]["WebhookDelivery"][];
            };
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Not found, or not visible to the caller */
        404: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/accounts/{accountId}/log-streams": {
    /**
     * The account's log streams, with how far each has got and whether it is failing (never their secrets)
     * @description **Credentials:** a session (bearer token or cookie). No API key can call this route, whatever its scopes.
     */
    get: {
      parameters: {
        path: {
          /** @description The account's id (`acc_` and 16 characters) */
          accountId: string;
        };
      };
      responses: {
        /** @description Log streams */
        200: {
          content: {
            "application/json": {
              /** @description The streams, oldest first */
              data: components["schemas"]["LogStream"][];
            };
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Not found, or not visible to the caller */
        404: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
    /**
     * Copy the account's audit archive to a SIEM or bucket (at most 5 streams)
     * @description Batches are archive objects, in chain order, at least once: each carries its chain header and `Keyward-Batch: <stream>:<seq>` (deduplicate resends by it), so the copy verifies with `npm run audit:verify -- --file <ndjson>`. The destination's credentials are stored encrypted and never returned.
     *
     * **Credentials:** a session (bearer token or cookie). No API key can call this route, whatever its scopes.
     */
    post: {
      parameters: {
        path: {
          /** @description The account's id (`acc_` and 16 characters) */
          accountId: string;
        };
      };
      requestBody: {
        content: {
          "application/json": components["schemas"]["LogStreamCreate"];
        };
      };
      responses: {
        /** @description Added; for an HMAC-signed stream, store the secret now */
        201: {
          content: {
            "application/json": {
              logStream: components["schemas"]["LogStream"];
              /**
               * @description For an `http` stream with `auth: hmac`, the signing secret, shown only here (`Keyward-Signature` as for webhooks); null for every other stream. The example is made up.
               * @example whsec_exampleexampleexampleexampleexampleexampleexampleexa
               */
              secret: string | null;
            };
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Not found, or not visible to the caller */
        404: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Conflict */
        409: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description The account is locked down (POST …/lockdown); an owner lifts it with POST …/lockdown/lift */
        423: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/accounts/{accountId}/log-streams/{streamId}": {
    /**
     * One log stream, with its cursor and its last error
     * @description **Credentials:** a session (bearer token or cookie). No API key can call this route, whatever its scopes.
     */
    get: {
      parameters: {
        path: {
          /** @description The account's id (`acc_` and 16 characters) */
          accountId: string;
          /** @description The log stream's id (`lgs_` and 16 characters) */
          streamId: string;
        };
      };
      responses: {
        /** @description The log stream */
        200: {
          content: {
            "application/json": {
              logStream: components["schemas"]["LogStream"];
            };
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Not found, or not visible to the caller */
        404: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
    /**
     * Remove a log stream; what it delivered stays at the destination
     * @description **Credentials:** a session (bearer token or cookie). No API key can call this route, whatever its scopes.
     */
    delete: {
      parameters: {
        path: {
          /** @description The account's id (`acc_` and 16 characters) */
          accountId: string;
          /** @description The log stream's id (`lgs_` and 16 characters) */
          streamId: string;
        };
      };
      responses: {
        /** @description Removed */
        204: {
          content: never;
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Not found, or not visible to the caller */
        404: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
    /**
     * Pause a log stream, or resume it where it stopped
     * @description **Credentials:** a session (bearer token or cookie). No API key can call this route, whatever its scopes.
     */
    patch: {
      parameters: {
        path: {
          /** @description The account's id (`acc_` and 16 characters) */
          accountId: string;
          /** @description The log stream's id (`lgs_` and 16 characters) */
          streamId: string;
        };
      };
      requestBody: {
        content: {
          "application/json": {
            /**
             * @description `false` pauses the stream; `true` resumes it where its cursor stands, with a fresh backoff (refused during a lockdown)
             * @example true
             */
            enabled: boolean;
          };
        };
      };
      responses: {
        /** @description Changed */
        200: {
          content: {
            "application/json": {
              logStream: components["schemas"]["LogStream"];
            };
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Not found, or not visible to the caller */
        404: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Conflict */
        409: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description The account is locked down (POST …/lockdown); an owner lifts it with POST …/lockdown/lift */
        423: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/me/export": {
    /**
     * Everything Keyward holds about you, as one JSON document (needs a recent proof of identity)
     * @description A `keyward.personal-data-export` document, streamed: `user`, `secondFactors` (never a secret), `memberships`, `sessions`, `invitations` (received and sent), `keys` you made (never a secret or hash) and `auditEvents` you acted in or were the target of, oldest first, from the audit index (older events are in the archive). Where someone else acted on you, their address is masked and their browser left out. The export is itself audited.
     *
     * **Credentials:** a session (bearer token or cookie). An API key is refused with 401 `invalid_token`.
     */
    get: {
      responses: {
        /** @description The document (application/json, streamed) */
        200: {
          content: {
            "application/json": {
              [key: string]: unknown;
            };
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/accounts/{accountId}/webhooks/{webhookId}/test": {
    /**
     * Queue a signed `webhook.test` event to one endpoint, tried once (even a disabled one; not counted against its budget; at most 20 tests and redeliveries an hour)
     * @description **Credentials:** a session (bearer token or cookie). No API key can call this route, whatever its scopes.
     */
    post: {
      parameters: {
        path: {
          /** @description The account's id (`acc_` and 16 characters) */
          accountId: string;
          /** @description The webhook's id (`whk_` and 16 characters) */
          webhookId: string;
        };
      };
      responses: {
        /** @description Queued; follow it in the deliveries */
        202: {
          content: {
            "application/json": {
              delivery: components["schemas"]["WebhookDelivery"];
            };
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Not found, or not visible to the caller */
        404: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Rate limited or locked out; see Retry-After */
        429: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/accounts/{accountId}/webhooks/{webhookId}/deliveries/{deliveryId}/redeliver": {
    /**
     * Send a delivery's payload again, byte for byte, as a new delivery (same payload `id`, new `Keyward-Delivery`)
     * @description **Credentials:** a session (bearer token or cookie). No API key can call this route, whatever its scopes.
     */
    post: {
      parameters: {
        path: {
          /** @description The account's id (`acc_` and 16 characters) */
          accountId: string;
          /** @description The webhook's id (`whk_` and 16 characters) */
          webhookId: string;
          /** @description The delivery's id (`dlv_` and 16 characters) */
          deliveryId: string;
        };
      };
      responses: {
        /** @description Queued; follow it in the deliveries */
        202: {
          content: {
            "application/json": {
              delivery: components["schemas"]["WebhookDelivery"];
            };
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Not found, or not visible to the caller */
        404: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Conflict */
        409: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Rate limited or locked out; see Retry-After */
        429: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/webhook-events": {
    /** Every event a webhook can receive (no authentication: it is the same for everyone) */
    get: {
      responses: {
        /** @description The catalogue */
        200: {
          content: {
            "application/json": {
              /** @description The events, in the audit trail's order */
              data: components["schemas"]["WebhookEventType"][];
            };
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/secret-scanning/github": {
    /**
     * GitHub secret scanning reports Keyward keys found in public; each live one is revoked (signed by GitHub, no credential)
     * @description GitHub's secret-scanning partner protocol. The body must carry `Github-Public-Key-Identifier` and `Github-Public-Key-Signature` (ECDSA P-256, SHA-256, over the raw body) made with a key GitHub publishes. A token that is a Keyward key is revoked (`key.revoked`, `alert.key_leaked`); any other leaves only a count.
     */
    post: {
      requestBody: {
        content: {
          "application/json": {
              /**
               * @description The string GitHub found (it matched Keyward's key pattern)
               * @example kw_live_mfrggzdfmztwq2lkAbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefg1a2B3c
               */
              token: string;
              /**
               * @description The pattern's name
               * @example keyward_api_key
               */
              type: string;
              /**
               * @description Where it was found, publicly
               * @example https://github.com/octocat/hello/blob/0123abc/config.js
               */
              url: string;
              /**
               * @description What kind of place
               * @example content
               */
              source?: string;
            }[];
        };
      };
      responses: {
        /** @description One verdict per reported token, in order */
        200: {
          content: {
            "application/json": components["schemas"]["SecretScanningVerdict"][];
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/accounts/{accountId}/security-report": {
    /**
     * The monthly security checklist, computed now from current data
     * @description **Credentials:** a session (bearer token or cookie), or an API key holding the reserved `audit:read` scope, which acts with its creator's current role in this account.
     */
    get: {
      parameters: {
        path: {
          /** @description The account's id (`acc_` and 16 characters) */
          accountId: string;
        };
      };
      responses: {
        /** @description The report */
        200: {
          content: {
            "application/json": {
              /**
               * Format: date-time
               * @description When the report was computed: at this request
               * @example 2026-03-02T09:30:00.000Z
               */
              generatedAt: string;
              /** @description Every check, in a fixed order */
              checks: components["schemas"]["SecurityCheck"][];
              /** @description Each member's strongest sign-in factor, in joining order */
              memberFactors: ({
                  /**
                   * @description The member's user id
                   * @example usr_7hd2kq5xm3wz6vpa
                   */
                  userId: string;
                  /**
                   * @description `passkey`, `totp` (password and authenticator app) or `password` alone
                   * @example passkey
                   * @enum {string}
                   */
                  strongestFactor: "passkey" | "totp" | "password";
                })[];
              /** @description Every service account, with its keys' ages and last use */
              serviceAccounts: ({
                  /**
                   * @description The service account's id
                   * @example svc_2kx7mq5hw3zd6tna
                   */
                  id: string;
                  /**
                   * @description Its name
                   * @example billing-worker
                   */
                  name: string;
                  /**
                   * @description Its role
                   * @example member
                   * @enum {string}
                   */
                  role: "admin" | "member" | "readonly";
                  /**
                   * @description Its live keys
                   * @example 2
                   */
                  liveKeys: number;
                  /**
                   * @description The age in days of its oldest live key; null without live keys
                   * @example 41
                   */
                  oldestKeyAgeDays: number | null;
                  /**
                   * Format: date-time
                   * @description The last use of any of its live keys; null if none
                   * @example 2026-03-01T12:00:00.000Z
                   */
                  lastKeyUsedAt: string | null;
                  /**
                   * @description No key of it used for 90 days (counted from its creation when never used): the `service_accounts_idle` check
                   * @example false
                   */
                  idle: boolean;
                })[];
              /** @description Every log stream and whether it delivers (the `log_streams_failing` check) */
              logStreams: ({
                  /**
                   * @description The log stream's id
                   * @example lgs_5kw2hx7qm3zd6tna
                   */
                  id: string;
                  /**
                   * @description The destination's kind
                   * @example splunk-hec
                   * @enum {string}
                   */
                  type: "http" | "splunk-hec" | "datadog" | "s3";
                  /**
                   * @description Where it delivers
                   * @example splunk.example.com:8088
                   */
                  host: string;
                  /**
                   * @description `failing` while it backs off after failed attempts, `disabled` while stopped
                   * @example healthy
                   * @enum {string}
                   */
                  status: "healthy" | "failing" | "disabled";
                  /**
                   * @description Events delivered since it was added
                   * @example 311
                   */
                  deliveredEvents: number;
                  /**
                   * Format: date-time
                   * @description When the destination last accepted a batch; null before the first
                   * @example 2026-03-02T09:31:00.000Z
                   */
                  lastDeliveredAt: string | null;
                  /**
                   * Format: date-time
                   * @description When its current run of failures began; null while healthy
                   * @example 2026-03-01T09:31:00.000Z
                   */
                  failingSince: string | null;
                  /**
                   * @description Why its last attempt failed, or why it was stopped; null while healthy
                   * @example null
                   */
                  lastError: string | null;
                })[];
            };
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Not found, or not visible to the caller */
        404: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/accounts/{accountId}/lockdown/lift": {
    /**
     * Lift a lockdown (owner only): keys, invitations and webhooks can be made again
     * @description Sessions the lockdown cut off stay cut off (their owners sign in again), and revoked keys stay revoked. 409 when the account is not locked down.
     *
     * **Credentials:** a session (bearer token or cookie). No API key can call this route, whatever its scopes.
     */
    post: {
      parameters: {
        path: {
          /** @description The account's id (`acc_` and 16 characters) */
          accountId: string;
        };
      };
      requestBody: {
        content: {
          "application/json": {
            /**
             * @description Why it is lifted, for the audit trail and the alert: 1 to 500 characters
             * @example Laptop recovered; credentials rotated
             */
            reason: string;
          };
        };
      };
      responses: {
        /** @description Lifted */
        200: {
          content: {
            "application/json": {
              /**
               * Format: date-time
               * @description When the lockdown was lifted
               * @example 2026-03-02T15:45:00.000Z
               */
              liftedAt: string;
            };
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Not found, or not visible to the caller */
        404: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Conflict */
        409: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/accounts/{accountId}/lockdown": {
    /**
     * Lock the account down: end members' sessions and revoke the chosen keys, effective on the next request
     * @description **Credentials:** a session (bearer token or cookie). No API key can call this route, whatever its scopes.
     */
    post: {
      parameters: {
        path: {
          /** @description The account's id (`acc_` and 16 characters) */
          accountId: string;
        };
      };
      requestBody: {
        content: {
          "application/json": {
            /**
             * @description Why, for the audit trail and the alert: 1 to 500 characters after trimming, no control characters
             * @example An admin's laptop was stolen
             */
            reason: string;
            /**
             * @description Cut off every member's sessions (default true): sessions started before the lockdown no longer reach this account, and a member who belongs to no other account is signed out everywhere. Other accounts are not touched.
             * @default true
             * @example true
             */
            revokeSessions?: boolean;
            /**
             * @description "all" (default): every live key of the account; "none"; or the ids of the keys to revoke (1 to 50, each a key of this account, else 400)
             * @default all
             * @example all
             */
            revokeKeys?: ("all" | "none") | string[];
          };
        };
      };
      responses: {
        /** @description Locked down */
        200: {
          content: {
            "application/json": {
              /**
               * @description Sessions ended or cut off from this account
               * @example 7
               */
              sessionsRevoked: number;
              /**
               * @description Keys revoked
               * @example 12
               */
              keysRevoked: number;
              /**
               * Format: date-time
               * @description When the lockdown took effect
               * @example 2026-03-02T09:30:00.000Z
               */
              lockedDownAt: string;
            };
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Not found, or not visible to the caller */
        404: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/accounts/{accountId}/domains": {
    /**
     * The email domains the account claims, pending or verified
     * @description **Credentials:** a session (bearer token or cookie), or an API key holding the reserved `account:read` scope, which acts with its creator's current role in this account.
     */
    get: {
      parameters: {
        path: {
          /** @description The account's id (`acc_` and 16 characters) */
          accountId: string;
        };
      };
      responses: {
        /** @description Domains */
        200: {
          content: {
            "application/json": {
              /** @description Oldest first */
              data: components["schemas"]["Domain"][];
            };
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Not found, or not visible to the caller */
        404: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
    /**
     * Claim an email domain: answers the DNS TXT record that proves it
     * @description Only the owner, with a proof of identity from the last ten minutes. Publish the answer's `record` in the domain's DNS, then call `…/verify`. A verified domain lets SCIM provision its addresses into the account (and only its addresses). At most 20 domains per account (409 beyond).
     *
     * **Credentials:** a session (bearer token or cookie). No API key can call this route, whatever its scopes.
     */
    post: {
      parameters: {
        path: {
          /** @description The account's id (`acc_` and 16 characters) */
          accountId: string;
        };
      };
      requestBody: {
        content: {
          "application/json": {
            /**
             * @description The email domain, as in people's addresses (`example.com`): lowercase letters, digits and hyphens in two or more labels, at most 253 characters; an internationalised name in its `xn--` form. Subdomains are separate domains. Reserved names (`.invalid`, `.localhost`, `.test`, `.example`, `.local`) are refused.
             * @example example.com
             */
            domain: string;
          };
        };
      };
      responses: {
        /** @description Claimed, pending */
        201: {
          content: {
            "application/json": {
              domain: components["schemas"]["Domain"];
            };
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Not found, or not visible to the caller */
        404: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Conflict */
        409: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description The account is locked down (POST …/lockdown); an owner lifts it with POST …/lockdown/lift */
        423: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/accounts/{accountId}/domains/{domainId}/verify": {
    /**
     * Look for the domain's TXT record now; verified when it is there
     * @description Looks the record up over DNS over HTTPS. 200 with `status: verified` when found (or already verified); 409 when the record is not there yet (DNS changes can take minutes to be seen) or another account holds the domain verified; 503 when the resolver did not answer.
     *
     * **Credentials:** a session (bearer token or cookie). No API key can call this route, whatever its scopes.
     */
    post: {
      parameters: {
        path: {
          /** @description The account's id (`acc_` and 16 characters) */
          accountId: string;
          /** @description The domain's id (`dom_` and 16 characters) */
          domainId: string;
        };
      };
      responses: {
        /** @description Verified */
        200: {
          content: {
            "application/json": {
              domain: components["schemas"]["Domain"];
            };
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Not found, or not visible to the caller */
        404: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Conflict */
        409: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description The account is locked down (POST …/lockdown); an owner lifts it with POST …/lockdown/lift */
        423: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/accounts/{accountId}/domains/{domainId}": {
    /**
     * Give a domain up: SCIM can no longer provision its addresses
     * @description People already provisioned stay members until they are deprovisioned or removed.
     *
     * **Credentials:** a session (bearer token or cookie). No API key can call this route, whatever its scopes.
     */
    delete: {
      parameters: {
        path: {
          /** @description The account's id (`acc_` and 16 characters) */
          accountId: string;
          /** @description The domain's id (`dom_` and 16 characters) */
          domainId: string;
        };
      };
      responses: {
        /** @description Removed */
        204: {
          content: never;
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Not found, or not visible to the caller */
        404: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/scim/v2/Users": {
    /**
     * People the provider provisioned into the key's account
     * @description **Credentials:** an API key holding the reserved `scim:write` scope (its account is the key's own), acting with its creator's current role. A session is refused with 401 `invalid_token`.
     */
    get: {
      parameters: {
        query?: {
          /** @description `userName eq "…"` or `externalId eq "…"` (Users), `displayName eq "…"` or `externalId eq "…"` (Groups); other filters are refused (400 `invalidFilter`) */
          filter?: string;
          /** @description 1-based index of the first result (default 1) */
          startIndex?: number;
          /** @description At most this many results (default 100, at most 200) */
          count?: number | null;
          /** @description `members` leaves groups' members out */
          excludedAttributes?: string;
          /** @description Read and ignored: whole resources are returned */
          attributes?: string;
        };
      };
      responses: {
        /** @description A page of people */
        200: {
          content: {
            "application/scim+json": components["schemas"]["ScimUserList"];
          };
        };
        /** @description Invalid request (`scimType` says how) */
        400: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description No usable API key */
        401: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description The key may not do this, or the address's domain is not verified */
        403: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description The key is over its rate limit (see Retry-After) or out of credits */
        429: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
      };
    };
    /**
     * Provision a person: a member of the account from this answer on (when active)
     * @description The address's domain must be verified for the account (403 otherwise). A Keyward user who already proved the address is linked and keeps their role unless `roles` says otherwise; one who never proved it is refused (409) so that nobody can squat an address to be handed its membership. A new person has no password until they reset one from their address. `roles` never grants `owner` nor a role above the key's creator (403); while the account is locked down nobody is added (423).
     *
     * **Credentials:** an API key holding the reserved `scim:write` scope (its account is the key's own), acting with its creator's current role. A session is refused with 401 `invalid_token`.
     */
    post: {
      requestBody: {
        content: {
          "application/scim+json": components["schemas"]["ScimUserInput"];
        };
      };
      responses: {
        /** @description Provisioned */
        201: {
          content: {
            "application/scim+json": components["schemas"]["ScimUser"];
          };
        };
        /** @description Invalid request (`scimType` says how) */
        400: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description No usable API key */
        401: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description The key may not do this, or the address's domain is not verified */
        403: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description It exists already, or changed meanwhile (`uniqueness`) */
        409: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description The account is locked down: nobody can be added or raised until the owner lifts it */
        423: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description The key is over its rate limit (see Retry-After) or out of credits */
        429: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
      };
    };
  };
  "/scim/v2/Users/{id}": {
    /**
     * One provisioned person
     * @description **Credentials:** an API key holding the reserved `scim:write` scope (its account is the key's own), acting with its creator's current role. A session is refused with 401 `invalid_token`.
     */
    get: {
      parameters: {
        query?: {
          /** @description `members` leaves groups' members out */
          excludedAttributes?: string;
          /** @description Read and ignored: whole resources are returned */
          attributes?: string;
        };
        path: {
          /** @description The person's user id (`usr_…`) */
          id: string;
        };
      };
      responses: {
        /** @description The person */
        200: {
          content: {
            "application/scim+json": components["schemas"]["ScimUser"];
          };
        };
        /** @description Invalid request (`scimType` says how) */
        400: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description No usable API key */
        401: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description The key may not do this, or the address's domain is not verified */
        403: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description No such resource in this account */
        404: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description The key is over its rate limit (see Retry-After) or out of credits */
        429: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
      };
    };
    /**
     * Replace a person's attributes; `active: false` ends their access before the answer
     * @description `userName` cannot change (400 `mutability`). Deactivating runs the same offboarding as removing a member: their sessions end and the keys they made in the account are revoked before this answers; service accounts' keys stay. The owner cannot be deactivated (403 or 409).
     *
     * **Credentials:** an API key holding the reserved `scim:write` scope (its account is the key's own), acting with its creator's current role. A session is refused with 401 `invalid_token`.
     */
    put: {
      parameters: {
        path: {
          /** @description The person's user id (`usr_…`) */
          id: string;
        };
      };
      requestBody: {
        content: {
          "application/scim+json": components["schemas"]["ScimUserInput"];
        };
      };
      responses: {
        /** @description Replaced */
        200: {
          content: {
            "application/scim+json": components["schemas"]["ScimUser"];
          };
        };
        /** @description Invalid request (`scimType` says how) */
        400: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description No usable API key */
        401: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description The key may not do this, or the address's domain is not verified */
        403: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description No such resource in this account */
        404: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description It exists already, or changed meanwhile (`uniqueness`) */
        409: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description The account is locked down: nobody can be added or raised until the owner lifts it */
        423: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description The key is over its rate limit (see Retry-After) or out of credits */
        429: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
      };
    };
    /**
     * Deprovision a person: their access ends (as a deactivation) and the account forgets their SCIM record
     * @description **Credentials:** an API key holding the reserved `scim:write` scope (its account is the key's own), acting with its creator's current role. A session is refused with 401 `invalid_token`.
     */
    delete: {
      parameters: {
        path: {
          /** @description The person's user id (`usr_…`) */
          id: string;
        };
      };
      responses: {
        /** @description Deleted */
        204: {
          content: never;
        };
        /** @description Invalid request (`scimType` says how) */
        400: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description No usable API key */
        401: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description The key may not do this, or the address's domain is not verified */
        403: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description No such resource in this account */
        404: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description It exists already, or changed meanwhile (`uniqueness`) */
        409: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description The key is over its rate limit (see Retry-After) or out of credits */
        429: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
      };
    };
    /**
     * Change a person (`active`, names, `externalId`, `roles`): Okta's and Entra ID's PatchOp
     * @description Operations apply in order, all or none. `active: false` ends the person's access before the answer (as PUT). Attributes Keyward does not keep are accepted and ignored.
     *
     * **Credentials:** an API key holding the reserved `scim:write` scope (its account is the key's own), acting with its creator's current role. A session is refused with 401 `invalid_token`.
     */
    patch: {
      parameters: {
        path: {
          /** @description The person's user id (`usr_…`) */
          id: string;
        };
      };
      requestBody: {
        content: {
          "application/scim+json": components["schemas"]["ScimPatchInput"];
        };
      };
      responses: {
        /** @description Changed */
        200: {
          content: {
            "application/scim+json": components["schemas"]["ScimUser"];
          };
        };
        /** @description Invalid request (`scimType` says how) */
        400: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description No usable API key */
        401: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description The key may not do this, or the address's domain is not verified */
        403: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description No such resource in this account */
        404: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description It exists already, or changed meanwhile (`uniqueness`) */
        409: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description The account is locked down: nobody can be added or raised until the owner lifts it */
        423: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description The key is over its rate limit (see Retry-After) or out of credits */
        429: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
      };
    };
  };
  "/scim/v2/Groups": {
    /**
     * The provider's groups in the key's account
     * @description **Credentials:** an API key holding the reserved `scim:write` scope (its account is the key's own), acting with its creator's current role. A session is refused with 401 `invalid_token`.
     */
    get: {
      parameters: {
        query?: {
          /** @description `userName eq "…"` or `externalId eq "…"` (Users), `displayName eq "…"` or `externalId eq "…"` (Groups); other filters are refused (400 `invalidFilter`) */
          filter?: string;
          /** @description 1-based index of the first result (default 1) */
          startIndex?: number;
          /** @description At most this many results (default 100, at most 200) */
          count?: number | null;
          /** @description `members` leaves groups' members out */
          excludedAttributes?: string;
          /** @description Read and ignored: whole resources are returned */
          attributes?: string;
        };
      };
      responses: {
        /** @description A page of groups */
        200: {
          content: {
            "application/scim+json": components["schemas"]["ScimGroupList"];
          };
        };
        /** @description Invalid request (`scimType` says how) */
        400: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description No usable API key */
        401: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description The key may not do this, or the address's domain is not verified */
        403: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description The key is over its rate limit (see Retry-After) or out of credits */
        429: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
      };
    };
    /**
     * Push a group; its members take the role `scimGroupRoles` maps its name to
     * @description **Credentials:** an API key holding the reserved `scim:write` scope (its account is the key's own), acting with its creator's current role. A session is refused with 401 `invalid_token`.
     */
    post: {
      requestBody: {
        content: {
          "application/scim+json": components["schemas"]["ScimGroupInput"];
        };
      };
      responses: {
        /** @description Created */
        201: {
          content: {
            "application/scim+json": components["schemas"]["ScimGroup"];
          };
        };
        /** @description Invalid request (`scimType` says how) */
        400: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description No usable API key */
        401: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description The key may not do this, or the address's domain is not verified */
        403: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description It exists already, or changed meanwhile (`uniqueness`) */
        409: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description The account is locked down: nobody can be added or raised until the owner lifts it */
        423: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description The key is over its rate limit (see Retry-After) or out of credits */
        429: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
      };
    };
  };
  "/scim/v2/Groups/{id}": {
    /**
     * One group, with its members unless `excludedAttributes=members`
     * @description **Credentials:** an API key holding the reserved `scim:write` scope (its account is the key's own), acting with its creator's current role. A session is refused with 401 `invalid_token`.
     */
    get: {
      parameters: {
        query?: {
          /** @description `members` leaves groups' members out */
          excludedAttributes?: string;
          /** @description Read and ignored: whole resources are returned */
          attributes?: string;
        };
        path: {
          /** @description The group's id (`grp_…`) */
          id: string;
        };
      };
      responses: {
        /** @description The group */
        200: {
          content: {
            "application/scim+json": components["schemas"]["ScimGroup"];
          };
        };
        /** @description Invalid request (`scimType` says how) */
        400: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description No usable API key */
        401: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description The key may not do this, or the address's domain is not verified */
        403: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description No such resource in this account */
        404: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description The key is over its rate limit (see Retry-After) or out of credits */
        429: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
      };
    };
    /**
     * Replace a group's name and members; the roles of the people it touched follow
     * @description **Credentials:** an API key holding the reserved `scim:write` scope (its account is the key's own), acting with its creator's current role. A session is refused with 401 `invalid_token`.
     */
    put: {
      parameters: {
        path: {
          /** @description The group's id (`grp_…`) */
          id: string;
        };
      };
      requestBody: {
        content: {
          "application/scim+json": components["schemas"]["ScimGroupInput"];
        };
      };
      responses: {
        /** @description Replaced */
        200: {
          content: {
            "application/scim+json": components["schemas"]["ScimGroup"];
          };
        };
        /** @description Invalid request (`scimType` says how) */
        400: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description No usable API key */
        401: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description The key may not do this, or the address's domain is not verified */
        403: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description No such resource in this account */
        404: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description It exists already, or changed meanwhile (`uniqueness`) */
        409: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description The account is locked down: nobody can be added or raised until the owner lifts it */
        423: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description The key is over its rate limit (see Retry-After) or out of credits */
        429: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
      };
    };
    /**
     * Delete a group; its former members' roles follow
     * @description **Credentials:** an API key holding the reserved `scim:write` scope (its account is the key's own), acting with its creator's current role. A session is refused with 401 `invalid_token`.
     */
    delete: {
      parameters: {
        path: {
          /** @description The group's id (`grp_…`) */
          id: string;
        };
      };
      responses: {
        /** @description Deleted */
        204: {
          content: never;
        };
        /** @description Invalid request (`scimType` says how) */
        400: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description No usable API key */
        401: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description The key may not do this, or the address's domain is not verified */
        403: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description No such resource in this account */
        404: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description It exists already, or changed meanwhile (`uniqueness`) */
        409: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description The account is locked down: nobody can be added or raised until the owner lifts it */
        423: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description The key is over its rate limit (see Retry-After) or out of credits */
        429: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
      };
    };
    /**
     * Add or remove members, or rename: Okta's and Entra ID's PatchOp
     * @description **Credentials:** an API key holding the reserved `scim:write` scope (its account is the key's own), acting with its creator's current role. A session is refused with 401 `invalid_token`.
     */
    patch: {
      parameters: {
        path: {
          /** @description The group's id (`grp_…`) */
          id: string;
        };
      };
      requestBody: {
        content: {
          "application/scim+json": components["schemas"]["ScimPatchInput"];
        };
      };
      responses: {
        /** @description Changed */
        200: {
          content: {
            "application/scim+json": components["schemas"]["ScimGroup"];
          };
        };
        /** @description Invalid request (`scimType` says how) */
        400: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description No usable API key */
        401: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description The key may not do this, or the address's domain is not verified */
        403: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description No such resource in this account */
        404: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description It exists already, or changed meanwhile (`uniqueness`) */
        409: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description The account is locked down: nobody can be added or raised until the owner lifts it */
        423: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description The key is over its rate limit (see Retry-After) or out of credits */
        429: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
      };
    };
  };
  "/scim/v2/ServiceProviderConfig": {
    /**
     * What Keyward's SCIM service supports: PATCH and eq filters; no bulk, sort, ETags or password changes
     * @description **Credentials:** an API key holding the reserved `scim:write` scope (its account is the key's own), acting with its creator's current role. A session is refused with 401 `invalid_token`.
     */
    get: {
      responses: {
        /** @description The configuration */
        200: {
          content: {
            "application/scim+json": components["schemas"]["ScimServiceProviderConfig"];
          };
        };
        /** @description No usable API key */
        401: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description The key may not do this, or the address's domain is not verified */
        403: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description The key is over its rate limit (see Retry-After) or out of credits */
        429: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
      };
    };
  };
  "/scim/v2/ResourceTypes": {
    /**
     * The resource types: User and Group
     * @description **Credentials:** an API key holding the reserved `scim:write` scope (its account is the key's own), acting with its creator's current role. A session is refused with 401 `invalid_token`.
     */
    get: {
      responses: {
        /** @description The resource types */
        200: {
          content: {
            "application/scim+json": components["schemas"]["ScimResourceTypeList"];
          };
        };
        /** @description No usable API key */
        401: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description The key may not do this, or the address's domain is not verified */
        403: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description The key is over its rate limit (see Retry-After) or out of credits */
        429: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
      };
    };
  };
  "/scim/v2/Schemas": {
    /**
     * The User and Group attributes Keyward reads and returns
     * @description **Credentials:** an API key holding the reserved `scim:write` scope (its account is the key's own), acting with its creator's current role. A session is refused with 401 `invalid_token`.
     */
    get: {
      responses: {
        /** @description The schemas */
        200: {
          content: {
            "application/scim+json": components["schemas"]["ScimSchemaList"];
          };
        };
        /** @description No usable API key */
        401: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description The key may not do this, or the address's domain is not verified */
        403: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description The key is over its rate limit (see Retry-After) or out of credits */
        429: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/scim+json": components["schemas"]["ScimError"];
          };
        };
      };
    };
  };
  "/v1/accounts/{accountId}/sso-connections": {
    /**
     * The account's OIDC connection (none or one)
     * @description **Credentials:** a session (bearer token or cookie), or an API key holding the reserved `account:read` scope, which acts with its creator's current role in this account.
     */
    get: {
      parameters: {
        path: {
          /** @description The account's id (`acc_` and 16 characters) */
          accountId: string;
        };
      };
      responses: {
        /** @description Connections */
        200: {
          content: {
            "application/json": {
              /** @description The connection, if there is one */
              data: components["schemas"]["SsoConnection"][];
            };
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Not found, or not visible to the caller */
        404: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
    /**
     * Connect an OIDC identity provider
     * @description Only the owner, with a proof of identity from the last ten minutes. Reads the issuer's discovery document and JWKS first (400 naming `issuer` when they cannot be used). One connection per account (409 for a second). People of the account's verified domains then sign in through it at `/v1/auth/sso/start`.
     *
     * **Credentials:** a session (bearer token or cookie). No API key can call this route, whatever its scopes.
     */
    post: {
      parameters: {
        path: {
          /** @description The account's id (`acc_` and 16 characters) */
          accountId: string;
        };
      };
      requestBody: {
        content: {
          "application/json": {
            /**
             * @description The provider's issuer URL, exactly as its ID tokens name it (`iss`): https, public. Its discovery document (`/.well-known/openid-configuration`) and JWKS are read when it is set
             * @example https://acme.okta.com
             */
            issuer: string;
            /**
             * @description The client id the provider issued to Keyward
             * @example 0oa1b2c3d4e5f6g7h8i9
             */
            clientId: string;
            /**
             * @description The client secret: stored sealed, never shown again
             * @example s3cr3t-from-the-provider
             */
            clientSecret: string;
            /**
             * @description The scopes asked for (default openid, email, profile); must include openid and email
             * @example [
             *   "openid",
             *   "email",
             *   "profile",
             *   "groups"
             * ]
             */
            scopes?: string[];
            roleMapping?: components["schemas"]["SsoRoleMapping"];
          };
        };
      };
      responses: {
        /** @description Connected */
        201: {
          content: {
            "application/json": {
              connection: components["schemas"]["SsoConnection"];
            };
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Not found, or not visible to the caller */
        404: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Conflict */
        409: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description The account is locked down (POST …/lockdown); an owner lifts it with POST …/lockdown/lift */
        423: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/accounts/{accountId}/sso-connections/{connectionId}": {
    /**
     * Remove the connection; sign-ins in flight through it end
     * @description Only the owner, with a fresh proof. Sessions already signed in stay until they end.
     *
     * **Credentials:** a session (bearer token or cookie). No API key can call this route, whatever its scopes.
     */
    delete: {
      parameters: {
        path: {
          /** @description The account's id (`acc_` and 16 characters) */
          accountId: string;
          /** @description The connection's id (`sso_` and 16 characters) */
          connectionId: string;
        };
      };
      responses: {
        /** @description Removed */
        204: {
          content: never;
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Not found, or not visible to the caller */
        404: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
    /**
     * Change the connection: issuer, client, secret, scopes or role mapping
     * @description Only the owner, with a fresh proof. A new issuer is read from its discovery document again.
     *
     * **Credentials:** a session (bearer token or cookie). No API key can call this route, whatever its scopes.
     */
    patch: {
      parameters: {
        path: {
          /** @description The account's id (`acc_` and 16 characters) */
          accountId: string;
          /** @description The connection's id (`sso_` and 16 characters) */
          connectionId: string;
        };
      };
      requestBody: {
        content: {
          "application/json": {
            /**
             * @description The provider's issuer URL, exactly as its ID tokens name it (`iss`): https, public. Its discovery document (`/.well-known/openid-configuration`) and JWKS are read when it is set
             * @example https://acme.okta.com
             */
            issuer?: string;
            /**
             * @description The client id the provider issued to Keyward
             * @example 0oa1b2c3d4e5f6g7h8i9
             */
            clientId?: string;
            /**
             * @description The client secret: stored sealed, never shown again
             * @example s3cr3t-from-the-provider
             */
            clientSecret?: string;
            /**
             * @description The scopes asked for (default openid, email, profile); must include openid and email
             * @example [
             *   "openid",
             *   "email",
             *   "profile",
             *   "groups"
             * ]
             */
            scopes?: string[];
            roleMapping?: components["schemas"]["SsoRoleMapping"];
          };
        };
      };
      responses: {
        /** @description Changed */
        200: {
          content: {
            "application/json": {
              connection: components["schemas"]["SsoConnection"];
            };
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Not found, or not visible to the caller */
        404: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Conflict */
        409: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description The account is locked down (POST …/lockdown); an owner lifts it with POST …/lockdown/lift */
        423: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/auth/sso/start": {
    /**
     * Start a single sign-on: redirects to the identity provider of the address's domain
     * @description The address's domain must be verified by an account with a single sign-on connection (404 otherwise). Answers 302 to the provider: for OIDC its authorization endpoint (code flow, PKCE S256, `state`, `nonce`, `login_hint`); for SAML its single sign-on URL with an AuthnRequest (HTTP-Redirect) and the `RelayState`. Sets a short-lived cookie that ties the sign-in to this browser. Open it in the browser, not from a script.
     */
    get: {
      parameters: {
        query: {
          /** @description The person's work address */
          email: string;
        };
      };
      responses: {
        /** @description To the identity provider (`Location`) */
        302: {
          content: never;
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Not found, or not visible to the caller */
        404: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Rate limited or locked out; see Retry-After */
        429: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/me/reauthenticate/sso": {
    /**
     * Prove it is you again through the identity provider: answers where to send the browser
     * @description For a person whose address is in a domain with a single sign-on connection (404 otherwise), with a session. Answers the provider's URL (`max_age=0`, and `prompt=login` for every provider but Google, which refuses it: the provider asks again even with a live session of its own; for SAML, `ForceAuthn`) and sets the browser cookie; open `location` in the same browser. At the callback (or the SAML ACS URL) the provider must name this same person and an `auth_time` (SAML: `AuthnInstant`) after the start; then a new session carries the proof (ten minutes for the routes that need one), the presented one ends, and the page continues to `returnTo` in the console.
     *
     * **Credentials:** a session (bearer token or cookie). An API key is refused with 401 `invalid_token`.
     */
    post: {
      requestBody: {
        content: {
          "application/json": {
            /**
             * @description Where the console continues afterwards (default: the console's start)
             * @example /console/a/acc_k3q7m2xw5vhz4tna/keys
             */
            returnTo?: string;
          };
        };
      };
      responses: {
        /** @description Go to the provider */
        200: {
          content: {
            "application/json": {
              /**
               * @description The provider's authorization URL: send the browser there
               * @example https://acme.okta.com/oauth2/v1/authorize?response_type=code&prompt=login&max_age=0
               */
              location: string;
            };
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Not found, or not visible to the caller */
        404: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Rate limited or locked out; see Retry-After */
        429: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/auth/sso/callback": {
    /**
     * Where the identity provider sends the browser back: checks everything, then signs in
     * @description Redeems the code (with the PKCE verifier), checks the ID token (RS256 or ES256 signature against the provider's JWKS; `iss`, `aud`, `exp`, `iat`, `nonce`; a verified email in a domain the account holds verified), then starts a session (cookie) and answers a page that continues to the console. A first sign-in creates the membership with the role the connection's `roleMapping` gives (never owner). Each refusal is a problem naming the check that failed, and is audited (`auth.sso.failed`).
     */
    get: {
      parameters: {
        query: {
          /** @description The `state` the sign-in started with */
          state: string;
          /** @description The authorization code */
          code?: string;
          /** @description The provider's error, when it refused */
          error?: string;
          /** @description Ignored */
          error_description?: string;
          /** @description RFC 9207 issuer identifier (ignored) */
          iss?: string;
          /** @description Ignored */
          session_state?: string;
          /** @description Ignored */
          scope?: string;
        };
      };
      responses: {
        /** @description Signed in: a page that continues to the console */
        200: {
          content: {
            "text/html": string;
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Conflict */
        409: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description The account is locked down (POST …/lockdown); an owner lifts it with POST …/lockdown/lift */
        423: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/accounts/{accountId}/saml-connections": {
    /**
     * The account's SAML connection (none or one)
     * @description **Credentials:** a session (bearer token or cookie), or an API key holding the reserved `account:read` scope, which acts with its creator's current role in this account.
     */
    get: {
      parameters: {
        path: {
          /** @description The account's id (`acc_` and 16 characters) */
          accountId: string;
        };
      };
      responses: {
        /** @description Connections */
        200: {
          content: {
            "application/json": {
              /** @description The connection, if there is one */
              data: components["schemas"]["SamlConnection"][];
            };
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Not found, or not visible to the caller */
        404: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
    /**
     * Connect a SAML 2.0 identity provider
     * @description Only the owner, with a proof of identity from the last ten minutes. One connection per account, OIDC or SAML (409 for a second). Register the answer's `entityId` and `acsUrl` (or import `metadataUrl`) at the provider; assertions must be signed with the pinned certificate and not encrypted.
     *
     * **Credentials:** a session (bearer token or cookie). No API key can call this route, whatever its scopes.
     */
    post: {
      parameters: {
        path: {
          /** @description The account's id (`acc_` and 16 characters) */
          accountId: string;
        };
      };
      requestBody: {
        content: {
          "application/json": {
            /**
             * @description The provider's entity id, exactly as its assertions name it (`Issuer`)
             * @example http://www.okta.com/exk1a2b3c4d5e6f7g8h9
             */
            idpEntityId: string;
            /**
             * @description The provider's single sign-on URL for the HTTP-Redirect binding: https, public
             * @example https://acme.okta.com/app/acme_keyward/exk1a2b3c4d5e6f7g8h9/sso/saml
             */
            ssoUrl: string;
            /**
             * @description The provider's signing certificate (X.509, RSA key), PEM or the bare base64 of its metadata. Signatures are checked against it alone, never against a key named inside an assertion
             * @example MIIDOTCCAiGgAwIBAgIUIg5NOoZ77CPXOTEO1N1gEPsfFSgwDQYJKoZIhvcNAQELBQAwLDEqMCgGA1UEAwwhS2V5d2FyZCB0ZXN0IElkUCAobm90IGEgcmVhbCBrZXkpMB4XDTI2MTIwNDAzMDk0MloXDTM2MTIwMTAzMDk0MlowLDEqMCgGA1UEAwwhS2V5d2FyZCB0ZXN0IElkUCAobm90IGEgcmVhbCBrZXkpMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAyD+6WfzzVU4AjwsR5MBq0/FsL6T6hYslFHLZxe1jXQYZKLormDLZS3+0fNarrcb+Fs46cI3InPPNWQWc4c2odmQnh5Eh/TU9uo3jsNN8QmOPRDWcGe42gOE+Wz4/3eJcARLvveXeeg++2vVR9agAgXWz3GUq5oEmJP8FzGKqV0lUKjN5ZMgJ2yKDadHRCJ/s3lHd7eUiThx27Ywc0UAQAfpbx9ijGEgoruEIzV9kBekruNvDfEdfS1gDlQeleQ5c3TAoyiW5D8A7KqMd45b5R2vx+KhnJIcEtoHDLwARvKviG8m06ShSxVB4ek/wfrvyp7O26YYR1ydmgxUPCfsZNQIDAQABo1MwUTAdBgNVHQ4EFgQU7pBHKMJRoHmFKV962DWgH/aSjLgwHwYDVR0jBBgwFoAU7pBHKMJRoHmFKV962DWgH/aSjLgwDwYDVR0TAQH/BAUwAwEB/zANBgkqhkiG9w0BAQsFAAOCAQEAqJlfT7Gq+zDft3uN5alohUdYYeL2DEQgQ0jPJoaAYiMfKj0ydKDiua607d5GKZofhldhP5ff3sXqZuCUJ0y932vQd0wt9Zkw7KxlpFQuXBmAjy9CkKEyv36wgBdabICpufaiL1JKGFIseSvMnC1iIfCaox+kUGtyWVGvUDcNhvsXO9s7zLK7r9QqeUCI5Fzfa+Y7gW42bRGUFxiM0a9zjgW7qkJsJwcz+ec1wvKGDxmgj8w2OB633I2d2pjr0+s4TohzcWLNpNgujFvhIhKjGFrZ929G2xVcIuMkHmV8n2xVrSZeuXbGDqcleQvl8woFNIrBWwKp3L+1yBcViMJFUQ==
             */
            certificate: string;
            roleMapping?: components["schemas"]["SsoRoleMapping"];
          };
        };
      };
      responses: {
        /** @description Connected */
        201: {
          content: {
            "application/json": {
              connection: components["schemas"]["SamlConnection"];
            };
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Not found, or not visible to the caller */
        404: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Conflict */
        409: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description The account is locked down (POST …/lockdown); an owner lifts it with POST …/lockdown/lift */
        423: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/accounts/{accountId}/saml-connections/{connectionId}": {
    /**
     * Remove the SAML connection; sign-ins in flight through it end
     * @description Only the owner, with a fresh proof. Sessions already signed in stay until they end.
     *
     * **Credentials:** a session (bearer token or cookie). No API key can call this route, whatever its scopes.
     */
    delete: {
      parameters: {
        path: {
          /** @description The account's id (`acc_` and 16 characters) */
          accountId: string;
          /** @description The connection's id (`sso_` and 16 characters) */
          connectionId: string;
        };
      };
      responses: {
        /** @description Removed */
        204: {
          content: never;
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Not found, or not visible to the caller */
        404: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
    /**
     * Change the SAML connection: entity id, URL, certificate or role mapping
     * @description Only the owner, with a fresh proof. A new certificate replaces the old one at once.
     *
     * **Credentials:** a session (bearer token or cookie). No API key can call this route, whatever its scopes.
     */
    patch: {
      parameters: {
        path: {
          /** @description The account's id (`acc_` and 16 characters) */
          accountId: string;
          /** @description The connection's id (`sso_` and 16 characters) */
          connectionId: string;
        };
      };
      requestBody: {
        content: {
          "application/json": {
            /**
             * @description The provider's entity id, exactly as its assertions name it (`Issuer`)
             * @example http://www.okta.com/exk1a2b3c4d5e6f7g8h9
             */
            idpEntityId?: string;
            /**
             * @description The provider's single sign-on URL for the HTTP-Redirect binding: https, public
             * @example https://acme.okta.com/app/acme_keyward/exk1a2b3c4d5e6f7g8h9/sso/saml
             */
            ssoUrl?: string;
            /**
             * @description The provider's signing certificate (X.509, RSA key), PEM or the bare base64 of its metadata. Signatures are checked against it alone, never against a key named inside an assertion
             * @example MIIDOTCCAiGgAwIBAgIUIg5NOoZ77CPXOTEO1N1gEPsfFSgwDQYJKoZIhvcNAQELBQAwLDEqMCgGA1UEAwwhS2V5d2FyZCB0ZXN0IElkUCAobm90IGEgcmVhbCBrZXkpMB4XDTI2MTIwNDAzMDk0MloXDTM2MTIwMTAzMDk0MlowLDEqMCgGA1UEAwwhS2V5d2FyZCB0ZXN0IElkUCAobm90IGEgcmVhbCBrZXkpMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAyD+6WfzzVU4AjwsR5MBq0/FsL6T6hYslFHLZxe1jXQYZKLormDLZS3+0fNarrcb+Fs46cI3InPPNWQWc4c2odmQnh5Eh/TU9uo3jsNN8QmOPRDWcGe42gOE+Wz4/3eJcARLvveXeeg++2vVR9agAgXWz3GUq5oEmJP8FzGKqV0lUKjN5ZMgJ2yKDadHRCJ/s3lHd7eUiThx27Ywc0UAQAfpbx9ijGEgoruEIzV9kBekruNvDfEdfS1gDlQeleQ5c3TAoyiW5D8A7KqMd45b5R2vx+KhnJIcEtoHDLwARvKviG8m06ShSxVB4ek/wfrvyp7O26YYR1ydmgxUPCfsZNQIDAQABo1MwUTAdBgNVHQ4EFgQU7pBHKMJRoHmFKV962DWgH/aSjLgwHwYDVR0jBBgwFoAU7pBHKMJRoHmFKV962DWgH/aSjLgwDwYDVR0TAQH/BAUwAwEB/zANBgkqhkiG9w0BAQsFAAOCAQEAqJlfT7Gq+zDft3uN5alohUdYYeL2DEQgQ0jPJoaAYiMfKj0ydKDiua607d5GKZofhldhP5ff3sXqZuCUJ0y932vQd0wt9Zkw7KxlpFQuXBmAjy9CkKEyv36wgBdabICpufaiL1JKGFIseSvMnC1iIfCaox+kUGtyWVGvUDcNhvsXO9s7zLK7r9QqeUCI5Fzfa+Y7gW42bRGUFxiM0a9zjgW7qkJsJwcz+ec1wvKGDxmgj8w2OB633I2d2pjr0+s4TohzcWLNpNgujFvhIhKjGFrZ929G2xVcIuMkHmV8n2xVrSZeuXbGDqcleQvl8woFNIrBWwKp3L+1yBcViMJFUQ==
             */
            certificate?: string;
            roleMapping?: components["schemas"]["SsoRoleMapping"];
          };
        };
      };
      responses: {
        /** @description Changed */
        200: {
          content: {
            "application/json": {
              connection: components["schemas"]["SamlConnection"];
            };
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Not found, or not visible to the caller */
        404: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Conflict */
        409: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description The account is locked down (POST …/lockdown); an owner lifts it with POST …/lockdown/lift */
        423: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/auth/sso/saml/{connectionId}/metadata": {
    /** Keyward's SAML service provider metadata for one connection (also its entity id) */
    get: {
      parameters: {
        path: {
          /** @description The SAML connection's id (`sso_` and 16 characters) */
          connectionId: string;
        };
      };
      responses: {
        /** @description SAML metadata */
        200: {
          content: {
            "application/samlmetadata+xml": string;
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Not found, or not visible to the caller */
        404: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
  "/v1/auth/sso/saml/{connectionId}/acs": {
    /**
     * Where the SAML provider posts the assertion: checks everything, then signs in
     * @description The provider's auto-submitted form (HTTP-POST binding). The response must answer a sign-in started here in this browser (`RelayState`, `InResponseTo`, ten minutes, once) and hold exactly one assertion, signed (RSA-SHA256 or RSA-SHA512) with the connection's certificate, issued by its entity id, for this audience and ACS URL, within its time bounds; facts are read only from what the signature covers. The address must be in a domain the account holds verified. Then as the OIDC callback: a session and a page that continues to the console. Each refusal is a problem naming the check that failed, audited as `auth.sso.failed`.
     */
    post: {
      parameters: {
        path: {
          /** @description The SAML connection's id (`sso_` and 16 characters) */
          connectionId: string;
        };
      };
      requestBody: {
        content: {
          "application/x-www-form-urlencoded": {
            /**
             * @description The base64 SAML Response
             * @example PHNhbWxwOlJlc3BvbnNlIC4uLg==
             */
            SAMLResponse: string;
            /**
             * @description The sign-in's state
             * @example k3q7m2xw5vhz4tnak3q7m2xw5vhz4tna
             */
            RelayState: string;
          };
        };
      };
      responses: {
        /** @description Signed in: a page that continues to the console */
        200: {
          content: {
            "text/html": string;
          };
        };
        /** @description Invalid request: `errors` names every bad field */
        400: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description No or bad credentials */
        401: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Authenticated but not allowed */
        403: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Conflict */
        409: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body larger than 64 KiB */
        413: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description Body is not application/json */
        415: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description The account is locked down (POST …/lockdown); an owner lifts it with POST …/lockdown/lift */
        423: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
        /** @description A dependency is down or the deployment is misconfigured */
        503: {
          content: {
            "application/problem+json": components["schemas"]["Problem"];
          };
        };
      };
    };
  };
}
/** OneOf type helpers */
type Without<T, U> = { [P in Exclude<keyof T, keyof U>]?: never };
type XOR<T, U> = (T | U) extends object ? (Without<T, U> & U) | (Without<U, T> & T) : T | U;
type OneOf<T extends any[]> = T extends [infer Only] ? Only : T extends [infer A, infer B, ...infer Rest] ? OneOf<[XOR<A, B>, ...Rest]> : never;


export interface webhooks {
  "auth.signup": {
    /** A person signed up */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "auth.login.succeeded": {
    /** A member signed in */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "auth.login.failed": {
    /** A sign-in failed (wrong password or code) */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "auth.lockout": {
    /** Sign-in was locked for a while after repeated failures */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "auth.mfa.enabled": {
    /** A member turned on two-factor authentication */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "auth.mfa.disabled": {
    /** A member turned off two-factor authentication */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "auth.mfa.failed": {
    /** A second-factor code was wrong */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "auth.password.changed": {
    /** A member changed or reset their password */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "auth.reauthenticated": {
    /** A member proved their identity again before a sensitive action */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "auth.mfa.fallback_used": {
    /** A member signed in with a recovery code or an email code */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "auth.mfa.recovery_codes_replaced": {
    /** A member replaced their recovery codes */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "auth.email_change.requested": {
    /** A member asked to change their email address */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "auth.email_change.confirmed": {
    /** A member's new email address was confirmed */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "auth.email_change.cancelled": {
    /** An email change was cancelled from the old address (a reported takeover) */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "auth.new_device": {
    /** A member signed in from a device not seen before */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "auth.not_me": {
    /** A member reported a sign-in as not theirs */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "auth.breach_check_skipped": {
    /** The breached-password check could not run for a password */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "auth.passkey.added": {
    /** A member added a passkey */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "auth.passkey.renamed": {
    /** A member renamed a passkey */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "auth.passkey.removed": {
    /** A member removed a passkey */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "session.revoked": {
    /** A session was ended by its owner, an admin or an incident action */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "member.invited": {
    /** Someone was invited to the account */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "member.joined": {
    /** An invitation was accepted */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "member.role_changed": {
    /** A member's role changed */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "member.removed": {
    /** A member was removed (offboarded) */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "account.settings_changed": {
    /** The account's security settings changed */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "account.ownership_transferred": {
    /** The account's ownership moved to another member */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "account.lockdown": {
    /** The account was locked down */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "account.lockdown_lifted": {
    /** A lockdown was lifted */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "account.created": {
    /** The account was created */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "account.deleted": {
    /** The account was deleted */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "member.invitation_cancelled": {
    /** An invitation was cancelled */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "key.created": {
    /** An API key was created */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "key.rotated": {
    /** An API key was rotated */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "key.revoked": {
    /** An API key was revoked */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "key.expired": {
    /** An API key reached its expiry */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "key.swept": {
    /** An unused API key was revoked by the inactivity sweep */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "key.updated": {
    /** An API key's settings changed */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "key.secret_revealed": {
    /** The parked secret of a leaked key's successor was revealed, once */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "webhook.created": {
    /** A webhook endpoint was added */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "webhook.deleted": {
    /** A webhook endpoint was removed */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "webhook.updated": {
    /** A webhook endpoint's events changed, or it was disabled or enabled by a person */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "webhook.secret_rotated": {
    /** A webhook endpoint's signing secret was rotated */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "webhook.disabled": {
    /** A webhook endpoint was disabled: its failure budget ran out, or the person who added it was demoted */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "webhook.tested": {
    /** A test event was sent to a webhook endpoint */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "webhook.redelivered": {
    /** A webhook delivery was sent again by a person */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "log_stream.created": {
    /** A log stream was added: the audit archive is copied to a SIEM or bucket */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "log_stream.updated": {
    /** A log stream was paused or resumed by a person */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "log_stream.deleted": {
    /** A log stream was removed */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "log_stream.disabled": {
    /** A log stream stopped because the person who added it was demoted or removed */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "audit.read": {
    /** An owner or admin read other people's personal data unmasked: the audit log, its export or the member list */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "auth.data_exported": {
    /** A member exported everything Keyward holds about them (GET /v1/me/export) */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "user.erased": {
    /** A person was erased (DELETE /v1/me, or an operator's privacy:erase; target `invitee` for an address that never became a user): counts only, no personal data; their memberships end with member.removed */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "key.inactivity_warned": {
    /** An API key's creator was warned that it will be swept for inactivity */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "key.disabled": {
    /** An API key was disabled */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "key.enabled": {
    /** An API key was enabled again */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "service_account.created": {
    /** A service account was created */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "service_account.updated": {
    /** A service account's name, description or role changed */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "service_account.deleted": {
    /** A service account was deleted, with its keys */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "domain.added": {
    /** The owner claimed an email domain (pending until its DNS record is found) */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "domain.verified": {
    /** An email domain's DNS record was found: SCIM may provision its addresses */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "domain.removed": {
    /** The owner gave an email domain up */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "domain.record_missing": {
    /** A verified email domain's DNS record is no longer published (the daily re-check): it lapses in seven days */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "domain.lapsed": {
    /** A verified email domain's record was missing for seven days: it is pending again, and routes no sign-ins */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "scim.user_provisioned": {
    /** The identity provider added a person through SCIM */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "scim.user_updated": {
    /** The identity provider changed a person's attributes or role through SCIM */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "scim.user_deactivated": {
    /** The identity provider deactivated a person: their access and keys ended before it was answered */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "scim.user_reactivated": {
    /** The identity provider reactivated a person */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "scim.user_deleted": {
    /** The identity provider deleted a person from the account */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "scim.group_created": {
    /** The identity provider pushed a group */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "scim.group_updated": {
    /** The identity provider changed a group's name or members */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "scim.group_deleted": {
    /** The identity provider deleted a group */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "sso.connection_created": {
    /** The owner connected an OIDC identity provider for single sign-on */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "sso.connection_updated": {
    /** The owner changed the single sign-on connection (issuer, client, scopes or role mapping) */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "sso.connection_deleted": {
    /** The owner removed the single sign-on connection */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "auth.sso.failed": {
    /** A single sign-on was refused (the reason names the check that failed) */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "auth.sso.break_glass": {
    /** The owner signed in with a passkey or password and authenticator while single sign-on is enforced */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "alert.failed_logins_spike": {
    /** Alert: failed sign-ins spiked */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "alert.key_created": {
    /** Alert: an API key was created */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "alert.member_changed": {
    /** Alert: a member joined, left or changed role */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "alert.key_expiring": {
    /** Alert: an API key expires soon */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "alert.lockdown": {
    /** Alert: the account was locked down */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "alert.key_leaked": {
    /** Alert: a key was found in public (GitHub secret scanning) and revoked */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "alert.sso_break_glass": {
    /** Alert: the owner signed in without single sign-on while it is enforced (break-glass) */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "alert.domain_lapsing": {
    /** Alert: a verified email domain's record went missing, or the domain lapsed */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
  "webhook.test": {
    /** A test event, sent by POST …/webhooks/{webhookId}/test */
    post: {
      requestBody: {
        content: {
          "application/json": components["schemas"]["WebhookPayload"];
        };
      };
      responses: {
        /** @description Any 2xx acknowledges the delivery; anything else is retried */
        200: {
          content: never;
        };
      };
    };
  };
}

export interface components {
  schemas: {
    /** @description A delivery's JSON body, signed in `Keyward-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">` (two `v1=` while a rotated secret overlaps) */
    WebhookPayload: {
      /**
       * @description The event's id (the audit event's); the same on every endpoint and redelivery: deduplicate by it
       * @example evt_mfrggzdfmztwq2lk
       */
      id: string;
      /**
       * @description The event's name
       * @example key.revoked
       */
      type: string;
      /**
       * Format: date-time
       * @description When it happened
       * @example 2026-03-02T09:30:00.000Z
       */
      createdAt: string;
      /**
       * @description The account it happened in
       * @example acc_3kq7m2xw5vhz4tna
       */
      accountId: string;
      /**
       * @description The audit event's metadata: never a secret, password, code or token
       * @example {
       *   "keyId": "key_mfrggzdfmztwq2lk",
       *   "reason": "rotated out"
       * }
       */
      data: {
        [key: string]: unknown;
      };
      /**
       * @description Whether the action succeeded (absent on `webhook.test`)
       * @example success
       * @enum {string}
       */
      outcome?: "success" | "failure";
      /** @description Who acted, as in the audit trail (absent on `webhook.test`) */
      actor?: {
        /**
         * @description Who acted
         * @example user
         * @enum {string}
         */
        type: "user" | "key" | "system";
        /**
         * @description Their id
         * @example usr_mfrggzdfmztwq2lk
         */
        id: string | null;
        /**
         * @description Their IP address
         * @example 203.0.113.7
         */
        ip: string | null;
        /**
         * @description Their user agent
         * @example curl/8.5
         */
        userAgent: string | null;
      };
      /** @description What was acted on, as in the audit trail */
      target?: {
        /**
         * @description What was acted on
         * @example key
         */
        type: string;
        /**
         * @description Its id
         * @example key_mfrggzdfmztwq2lk
         */
        id: string;
      } | null;
      /**
       * @description The request that did it; null for the system's own actions
       * @example req_3f2a
       */
      requestId?: string | null;
    };
    /** @description An RFC 9457 problem: the body of every error (application/problem+json) */
    Problem: {
      /**
       * @description What went wrong, as a URI under https://keyward.dev/problems/ (`validation`, `unauthorized`, `forbidden`, `not-found`, `conflict`, `locked`, `email-unverified`, `reauthentication-required`, `quota-exceeded`, …). Branch on this, not on `title` or `detail`.
       * @example https://keyward.dev/problems/validation
       */
      type: string;
      /**
       * @description A short, fixed summary of the problem type
       * @example Invalid request
       */
      title: string;
      /**
       * @description The HTTP status code, repeated
       * @example 400
       */
      status: number;
      /**
       * @description What happened to this request, in a sentence for a person
       * @example 1 field is invalid
       */
      detail: string;
      /**
       * @description The request's id, also sent as the `X-Request-Id` header; quote it when asking for help
       * @example req_6f1c2d9a8b7e4c3fa2d15e0b9c8a7f64
       */
      requestId: string;
      /**
       * @description On a 401 about the credential, why it was refused: `missing_credentials` (none sent), `malformed_authorization` (the header is not `Bearer <token>`), `invalid_token` (not a token Keyward issued, or not valid for this use), `session_expired` (idle timeout or lifetime: sign in again), `session_revoked` (signed out, ended from another session, or the account was locked down), `key_revoked`, `key_expired` (create or rotate a key), `key_disabled` (enable it again). Absent on other problems.
       * @example session_expired
       * @enum {string}
       */
      code?: "missing_credentials" | "malformed_authorization" | "invalid_token" | "session_expired" | "session_revoked" | "key_revoked" | "key_expired" | "key_disabled";
      /** @description On a 400 (and a 403 that refuses some fields): one entry per bad field */
      errors?: {
          /**
           * @description The bad field, as a dotted path into the body, query or path (array items by index)
           * @example scopes.0
           */
          path: string;
          /**
           * @description What is wrong with that field
           * @example A scope is resource:action, resource:* or *
           */
          message: string;
        }[];
    };
    /** @description A person who signs in */
    User: {
      /**
       * @description The user's id
       * @example usr_7hd2kq5xm3wz6vpa
       */
      id: string;
      /**
       * @description The user's email address, lowercased
       * @example ada@example.com
       */
      email: string;
      /**
       * @description The user's name, as given at sign-up
       * @example Ada Lovelace
       */
      name: string;
      /**
       * @description Whether the user proved the address (with the emailed code, or a password reset). Until the owner's address is verified, the accounts they own grant nothing (no keys, invitations, webhooks or settings changes).
       * @example true
       */
      emailVerified: boolean;
      /**
       * @description Whether the user has a second factor (a TOTP authenticator or a passkey): a password sign-in then asks for it
       * @example true
       */
      mfaEnabled: boolean;
      /**
       * @description Whether the user has a TOTP authenticator app (with its recovery codes)
       * @example false
       */
      totpEnabled: boolean;
      /**
       * @description How many passkeys the user has (GET /v1/me/passkeys lists them)
       * @example 1
       */
      passkeys: number;
      /**
       * Format: date-time
       * @description When the user signed up
       * @example 2026-01-12T08:15:00.000Z
       */
      createdAt: string;
      /**
       * @description A sign-in found the password in known data breaches: change it (POST /v1/me/password)
       * @example false
       */
      passwordBreached: boolean;
    };
    /** @description A session just started. Its token is never shown again. */
    NewSession: {
      /**
       * @description The session's id (not secret): it names the session in GET /v1/me/sessions
       * @example ses_2wq6hz5mk7xd3tpa
       */
      id: string;
      /**
       * @description Shown only here. Send as Authorization: Bearer. It names its user and session (`usr_….ses_….<32 characters>`). The example is made up.
       * @example usr_7hd2kq5xm3wz6vpa.ses_2wq6hz5mk7xd3tpa.exampleexampleexampleexampleexam
       */
      token: string;
      /**
       * Format: date-time
       * @description The latest the session can last: the strictest `sessionMaxAgeHours` among the user's accounts (24 hours by default) after it started. It ends sooner after `sessionIdleMinutes` without a request (30 by default).
       * @example 2026-03-03T09:30:00.000Z
       */
      expiresAt: string;
    };
    /** @description A passkey of the signed-in user. Nothing secret: the private key never leaves the authenticator. */
    Passkey: {
      /**
       * @description The passkey's id
       * @example pky_6tq3hx7mz2kw5dna
       */
      id: string;
      /**
       * @description The name the user gave it
       * @example MacBook Touch ID
       */
      name: string;
      /**
       * Format: date-time
       * @description When it was added
       * @example 2026-02-03T14:20:00.000Z
       */
      createdAt: string;
      /**
       * Format: date-time
       * @description Its last sign-in or proof; null when never used
       * @example 2026-03-02T09:30:00.000Z
       */
      lastUsedAt: string | null;
      /**
       * @description Whether it can be synced to other devices (a synced passkey rather than a device-bound key)
       * @example true
       */
      backupEligible: boolean;
      /**
       * @description Whether it is backed up or synced now
       * @example true
       */
      backedUp: boolean;
    };
    /** @description A live session of the signed-in user. Its token is never shown again. */
    Session: {
      /**
       * @description The session's id
       * @example ses_2wq6hz5mk7xd3tpa
       */
      id: string;
      /**
       * @description True for the session this request came with
       * @example true
       */
      current: boolean;
      /**
       * Format: date-time
       * @description When it started (the sign-in)
       * @example 2026-03-02T09:30:00.000Z
       */
      createdAt: string;
      /**
       * Format: date-time
       * @description When it was last used (recorded at most once a minute)
       * @example 2026-03-02T09:52:13.000Z
       */
      lastSeenAt: string;
      /**
       * Format: date-time
       * @description When it ends unless used again: the earlier of the end of its lifetime and its last use plus the idle timeout
       * @example 2026-03-02T10:22:13.000Z
       */
      expiresAt: string;
      /**
       * @description The address it signed in from; null when unknown
       * @example 203.0.113.7
       */
      ip: string | null;
      /**
       * @description The User-Agent it signed in with (first 256 characters); null when none was sent
       * @example Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15
       */
      userAgent: string | null;
      /**
       * @description The country it signed in from, as Cloudflare tells it (two letters); null when unknown
       * @example GB
       */
      country: string | null;
    };
    /** @description An account: the tenant its members, keys, webhooks and audit trail belong to */
    Account: {
      /**
       * @description The account's id
       * @example acc_3kq7m2xw5vhz4tna
       */
      id: string;
      /**
       * @description The account's name
       * @example Acme Corp
       */
      name: string;
      /**
       * Format: date-time
       * @description When the account was made
       * @example 2026-01-12T08:15:00.000Z
       */
      createdAt: string;
      settings: components["schemas"]["AccountSettings"];
      /**
       * Format: date-time
       * @description Set by POST …/lockdown; null when never locked down, or since the lockdown was lifted
       * @example null
       */
      lockedDownAt: string | null;
      /**
       * @description The `reason` given to the lockdown; null when not locked down
       * @example null
       */
      lockedDownReason: string | null;
    };
    /** @description The account's policies. Each has a default. */
    AccountSettings: {
      /**
       * @description Who must prove more than a password on this account's routes, with sessions and API keys alike: `off` (default); `any`: members without a second factor (TOTP or a passkey) are refused (403); `phishing-resistant`: sessions not made with a passkey are refused (403, saying to add one and sign in with it), and API keys work only while their creator has a passkey. /v1/me* stays open so members can enrol. Only the owner may change it. An owner cannot set `any` without a second factor, nor `phishing-resistant` from a session not made with a passkey (400).
       * @example off
       * @enum {string}
       */
      mfaPolicy: "off" | "any" | "phishing-resistant";
      /**
       * @description The old form of `mfaPolicy`, still read and accepted: it reads `true` whenever `mfaPolicy` is not `off`. Sent, `true` sets `any` (a stricter policy stays) and `false` sets `off`; sent with a `mfaPolicy` that disagrees, both are refused (400). Settings stored as `requireMfa: true` read as `any`. Only the owner may change it.
       * @example false
       */
      requireMfa: boolean;
      /**
       * @description A session ends after this many minutes without a request: 5 to 1440, default 30. A member of several accounts gets the strictest value among them, for sessions started after the change. Only the owner may change it.
       * @example 30
       */
      sessionIdleMinutes: number;
      /**
       * @description A session ends this many hours after sign-in, however it is used: 1 to 720, default 24. The strictest among a member's accounts applies, to sessions started after the change. Only the owner may change it.
       * @example 24
       */
      sessionMaxAgeHours: number;
      /**
       * @description The longest lifetime of a new key, and the lifetime of a key created without `expiresInDays` and of a rotation's successor: 1 to 365 days, default 90
       * @example 90
       */
      keyMaxLifetimeDays: number;
      /**
       * @description Keys unused for this many days are revoked by the scheduled sweep (`key.swept`, reason `inactive`) and flagged by the security report: 7 to 365, default 90
       * @example 90
       */
      keyInactivityDays: number;
      /**
       * @description How long a rotated key keeps working beside its successor when the rotation names no `gracePeriodHours`: 0 to 168 hours, default 24
       * @example 24
       */
      rotationGraceHours: number;
      /**
       * @description When not empty, requests to this account's routes from other addresses are refused (403), for sessions and API keys alike: at most 100 ranges, default empty (any address). It must contain the caller's own address (400). Only the owner may change it. A key's own allowlist is separate (see the key).
       * @example [
       *   "203.0.113.0/24",
       *   "2001:db8::/32"
       * ]
       */
      ipAllowlist: string[];
      /**
       * @description Members' new passwords must hold a lowercase letter, an uppercase letter, a digit and a symbol. Default false: NIST advises against such rules.
       * @example false
       */
      passwordComposition: boolean;
      /**
       * @description Members may finish a sign-in with an emailed code instead of their authenticator (verified addresses only). Default true; a user is offered no emailed code while any of their accounts turns it off. Only the owner may change it.
       * @example true
       */
      emailCodeSecondFactor: boolean;
      /**
       * @description Failed sign-ins to the account's members within `failedLoginAlertWindowMinutes` that raise `alert.failed_logins_spike`: 3 to 10,000, default 10
       * @example 10
       */
      failedLoginAlertThreshold: number;
      /**
       * @description The window of that count: 1 to 1440 minutes, default 15
       * @example 15
       */
      failedLoginAlertWindowMinutes: number;
      /**
       * @description What a live key GitHub secret scanning finds in public becomes: `revoke` (default: refused at once) or `rotate` (it keeps working for one more hour beside a successor whose secret is revealed once in the console; keys that reach the management API, service accounts' keys and keys whose creator may no longer rotate them are revoked anyway). Only the owner may change it.
       * @example revoke
       * @enum {string}
       */
      leakedKeyPolicy: "revoke" | "rotate";
      /**
       * @description How long the searchable audit index (`GET …/audit-events`, the console's audit log) keeps an event: 90 to 3,650 days, default 365. The cron deletes older rows once they are archived; the archive itself keeps every event (docs/AUDIT.md, "Retention"). Only the owner may change it.
       * @example 365
       */
      auditIndexDays: number;
      /**
       * @description How long the R2 archive (the hash-chained trail `audit:verify` checks) keeps the account's events: `null` keeps them (the default), else 1 to 100 years. The archive bucket's lifecycle rule deletes objects past it and its lock rule keeps anyone from deleting them sooner; both are applied from this setting by `npm run audit:retention`, so a change takes effect when the operator next runs it (docs/AUDIT.md, "Retention"). Only the owner may change it.
       * @example null
       */
      archiveRetentionYears: number | null;
      /**
       * @description Which role the members of a SCIM group hold, by the group's `displayName` as the identity provider pushes it: `admin`, `member` or `readonly`, never `owner`; at most 50 groups, default none. A person in several mapped groups holds the highest of their roles; in none, the role of their SCIM `roles` attribute, else `member`. A change applies to each person at the provider's next push that touches them (docs/SSO.md). The owner's own role never changes this way.
       * @example {
       *   "Keyward Admins": "admin",
       *   "Auditors": "readonly"
       * }
       */
      scimGroupRoles: {
        [key: string]: "admin" | "member" | "readonly";
      };
      /**
       * @description Members whose address is in one of the account's verified domains must sign in through its single sign-on connection: a password or passkey sign-in is refused (403 `sso-required`) after it proves the person. The owner keeps a break-glass path (passkey, or password with an authenticator code), audited and alerted. Needs a connection to turn on. Default false. Only the owner may change it.
       * @example false
       */
      enforceSso: boolean;
      /**
       * @description Where `POST /v1/keys/verify` is answered for the account's keys: `home` (default) at the account's one object, wherever the caller is; `regional` by a guard near the caller, on shares of each key's rate-limit windows lent by that object, so limits stay exact and a revocation still holds on the next verify after it returns (it may wait up to about 5 s for an unreachable guard). Credits are lent too, never spent past the balance; a guard's answer shows the credits left as of its last renewal. Keys with a window under 60 s are still answered at home. See docs/GLOBAL.md.
       * @example home
       * @enum {string}
       */
      verifyPlacement: "home" | "regional";
      /**
       * @description How many objects the account's keys are spread over, for verify past one object's throughput (about 1,000 verifies a second): 1 (default), 2, 4, 8 or 16. Each key lives in one of them by its hash, so limits, credits and revocation stay exact. A change moves keys between objects before the request answers; a verify meanwhile is answered once, by the object that holds the key at that moment. Refused while a rotated key and its predecessor, both live, share credits but would land in different objects (keys rotated before shards existed; wait for the old key's grace to end). See docs/GLOBAL.md §7.
       * @example 1
       * @enum {integer}
       */
      verifyShards: 1 | 2 | 4 | 8 | 16;
    };
    /** @description A member of the account */
    Member: {
      /**
       * @description The member's user id (for a service account: its `svc_` id)
       * @example usr_7hd2kq5xm3wz6vpa
       */
      userId: string;
      /**
       * @description `person`, or `service_account`: a non-human member that owns keys (managed under …/service-accounts, never through the member routes)
       * @example person
       * @enum {string}
       */
      type: "person" | "service_account";
      /**
       * @description The member's email address; null for a service account
       * @example grace@example.com
       */
      email: string | null;
      /**
       * @description The member's name
       * @example Grace Hopper
       */
      name: string;
      /**
       * @description The member's role: `owner`, `admin`, `member` or `readonly`
       * @example member
       * @enum {string}
       */
      role: "owner" | "admin" | "member" | "readonly";
      /**
       * @description Whether the member has a second factor (TOTP or a passkey)
       * @example true
       */
      mfaEnabled: boolean;
      /**
       * @description The strongest way the member can sign in: `passkey` (phishing-resistant), `totp` (password and an authenticator app), `password` alone, or `none` (a service account never signs in)
       * @example passkey
       * @enum {string}
       */
      strongestFactor: "passkey" | "totp" | "password" | "none";
      /**
       * Format: date-time
       * @description When they joined the account
       * @example 2026-02-03T14:20:00.000Z
       */
      joinedAt: string;
      /**
       * Format: date-time
       * @description Their last request to this account's routes, with a session or one of their API keys (recorded at most every five minutes); null if none since they joined
       * @example 2026-03-02T09:30:00.000Z
       */
      lastActiveAt: string | null;
    };
    /** @description A non-human member that owns API keys: its keys act with its role and outlive the person who made them */
    ServiceAccount: {
      /**
       * @description The service account's id
       * @example svc_2kx7mq5hw3zd6tna
       */
      id: string;
      /**
       * @description Its name
       * @example billing-worker
       */
      name: string;
      /**
       * @description What it is for (may be empty)
       * @example Runs invoicing
       */
      description: string;
      /**
       * @description Its role: `admin`, `member` or `readonly`. Never `owner`, and never above the role of whoever sets it. Its keys act with this role (their reserved scopes are capped by it when made, and at every use).
       * @example member
       * @enum {string}
       */
      role: "admin" | "member" | "readonly";
      /**
       * @description Who made it (removing them does not touch it or its keys)
       * @example usr_7hd2kq5xm3wz6vpa
       */
      createdBy: string;
      /**
       * Format: date-time
       * @description When it was made
       * @example 2026-03-02T09:30:00.000Z
       */
      createdAt: string;
      /**
       * @description Its keys that are neither revoked nor expired
       * @example 2
       */
      liveKeys: number;
      /**
       * Format: date-time
       * @description The last admitted use of any of its live keys (written in batches, so it may lag); null if none
       * @example 2026-03-02T11:02:41.000Z
       */
      lastKeyUsedAt: string | null;
    };
    /** @description A pending invitation into the account */
    Invitation: {
      /**
       * @description The invitation's id
       * @example inv_6kx3mz2qw7hd5tna
       */
      id: string;
      /**
       * @description The invited address, lowercased: only a user signed in with it, verified, can accept
       * @example grace@example.com
       */
      email: string;
      /**
       * @description The role the invitee gets on accepting
       * @example member
       * @enum {string}
       */
      role: "admin" | "member" | "readonly";
      /**
       * Format: date-time
       * @description When it expires: 7 days after it was sent
       * @example 2026-03-09T09:30:00.000Z
       */
      expiresAt: string;
    };
    /** @description An API key's record. Its secret is never shown after creation or rotation. */
    ApiKey: {
      /**
       * @description The key's id (not secret)
       * @example key_5tm2xq7kwz3dh4na
       */
      id: string;
      /**
       * @description The key's name
       * @example orders-service production
       */
      name: string;
      /**
       * @description The key's first 12 characters: its class and the start of its account part, the same for every key of the account
       * @example kw_live_3kq7
       */
      start: string;
      /**
       * @description The key's last 4 characters (the end of its CRC32 checksum: about 24 of its 300-odd bits), to tell keys apart; shown as `kw_live_3kq7…Xy9Z`. Null for keys made before it was kept.
       * @example Xy9Z
       */
      last4: string | null;
      /**
       * @description The key's environment: `production` keys start `kw_live_`, the others (`staging`, `development`, `ci`) `kw_test_`. A key used on the management API manages only keys of its own environment.
       * @example production
       * @enum {string}
       */
      environment: "production" | "staging" | "development" | "ci";
      /**
       * @description The key's scopes (their grammar: POST /v1/accounts/{accountId}/keys)
       * @example [
       *   "orders:read",
       *   "orders:write"
       * ]
       */
      scopes: string[];
      /**
       * @description `active`, `expired` (past `expiresAt`) or `revoked`
       * @example active
       * @enum {string}
       */
      status: "active" | "expired" | "revoked";
      /**
       * Format: date-time
       * @description When the key was made (for a rotated key: when it was rotated in)
       * @example 2026-03-02T09:30:00.000Z
       */
      createdAt: string;
      /**
       * @description Who made the key (or rotated it in): a user, or the creator of the key that did. The key acts with this user's current role.
       * @example usr_7hd2kq5xm3wz6vpa
       */
      createdBy: string;
      /**
       * Format: date-time
       * @description When the key stops working. Rotating it brings this forward to the end of the grace period (never later).
       * @example 2026-05-31T09:30:00.000Z
       */
      expiresAt: string;
      /**
       * Format: date-time
       * @description Its last admitted use, by verify or on the management API (written in batches, so it may lag); null if never used
       * @example 2026-03-02T11:02:41.000Z
       */
      lastUsedAt: string | null;
      /**
       * Format: date-time
       * @description When it was revoked; null unless revoked
       * @example null
       */
      revokedAt: string | null;
      /**
       * @description The `reason` given to …/revoke, or the system's (`inactive`, `lockdown`, `member_removed`, `address_claimed`, `account_deleted`); null unless revoked
       * @example null
       */
      revokedReason: string | null;
      /**
       * @description The id of the key this one succeeded by rotation; null for a key that was created
       * @example null
       */
      rotatedFrom: string | null;
      /**
       * @description The id of the successor made by rotating this key; null until it is rotated
       * @example null
       */
      rotatedTo: string | null;
      /**
       * @description True on the successor of a key rotated because it leaked (`leakedKeyPolicy: rotate`) until a person reveals its secret once (`POST …/keys/{keyId}/reveal-secret`, the console's key page) or a week passes
       * @example false
       */
      secretWaiting: boolean;
      /**
       * @description The CIDR ranges the key may be used from; empty: any address
       * @example [
       *   "203.0.113.0/24"
       * ]
       */
      ipAllowlist: string[];
      /** @description The first of `rateLimits` (the one named `default` unless renamed). The key's rate limit, a sliding window: in no window of `windowSeconds` ending at any instant are more than `limit` uses admitted (a verify answered `VALID`, or a management API call the key authenticates), across every location at once. Past it, verify answers `RATE_LIMITED`. */
      rateLimit: {
        /**
         * @description Uses admitted per window: 1 to 1,000,000
         * @example 1000
         */
        limit: number;
        /**
         * @description The window's length in seconds: 1 to 86,400 (a day)
         * @example 3600
         */
        windowSeconds: number;
      };
      /**
       * @description Every rate limit of the key, by name
       * @example [
       *   {
       *     "name": "default",
       *     "limit": 1000,
       *     "windowSeconds": 3600
       *   }
       * ]
       */
      rateLimits: {
          /**
           * @description The limit's name
           * @example default
           */
          name: string;
          /**
           * @description Uses admitted per window: 1 to 1,000,000
           * @example 1000
           */
          limit: number;
          /**
           * @description The window's length in seconds: 1 to 86,400 (a day)
           * @example 3600
           */
          windowSeconds: number;
        }[];
      /**
       * @description False while disabled: verify answers `DISABLED` until it is enabled again (unlike a revocation)
       * @example true
       */
      enabled: boolean;
      /** @description Who the key acts as: its creator, or the service account that owns it */
      owner: {
        /**
         * @description `user`: the key acts as its creator; `service_account`: as that service account
         * @example service_account
         * @enum {string}
         */
        type: "user" | "service_account";
        /**
         * @description The user's or service account's id
         * @example svc_2kx7mq5hw3zd6tna
         */
        id: string;
      };
      /**
       * @description Your customer's id for the key; null if none
       * @example cus_8f3a21
       */
      externalId: string | null;
      /**
       * @description Your JSON metadata for the key; null if none
       * @example {
       *   "plan": "pro"
       * }
       */
      meta: {
        [key: string]: unknown;
      } | null;
      /** @description The key's credits; null: unlimited */
      credits: ({
        /**
         * @description The live balance (null when the account's object has not been reached)
         * @example 4210
         */
        remaining: number | null;
        /** @description The refill; null if none */
        refill: ({
          /**
           * @description What each refill sets the balance to
           * @example 5000
           */
          amount: number;
          /**
           * @description How often
           * @example monthly
           * @enum {string}
           */
          interval: "daily" | "monthly";
          /**
           * @description The day of the month, for `monthly`
           * @example 1
           */
          day?: number;
        }) | null;
      }) | null;
    };
    /** @description How the key was used over the last 24 hours */
    KeyUsage: {
      /**
       * @description Verdicts about this key (verify and management API uses, every code) in the current hour and the 23 before it
       * @example 1204
       */
      requests24h: number;
      /**
       * @description Of those, the ones not `VALID`
       * @example 4
       */
      denied24h: number;
      /**
       * Format: date-time
       * @description The key's last admitted use; null if never used
       * @example 2026-03-02T11:02:41.000Z
       */
      lastUsedAt: string | null;
      /**
       * @description The same verdicts by code (`VALID`, `RATE_LIMITED`, `EXPIRED`, …); codes that did not occur are left out
       * @example {
       *   "VALID": 1200,
       *   "INSUFFICIENT_SCOPE": 3,
       *   "RATE_LIMITED": 1
       * }
       */
      byCode: {
        [key: string]: number;
      };
    };
    /** @description A verify verdict. When `valid` is false only `valid`, `code` and (for `RATE_LIMITED` and `USAGE_EXCEEDED`) the limits and credits are present. */
    VerifyResult: {
      /**
       * @description True exactly when `code` is `VALID`
       * @example true
       */
      valid: boolean;
      /**
       * @description The verdict, checked in this order. `NOT_FOUND`: no such key (unknown, malformed, or a wrong checksum). `EXPIRED`: past its `expiresAt` (a rotated key, after its grace period). `REVOKED`: revoked. `DISABLED`: disabled (PATCH `enabled: false`), until it is enabled again. `IP_NOT_ALLOWED`: the client address is outside the key's IP allowlist. `INSUFFICIENT_SCOPE`: the key lacks one of `requiredScopes`. `RATE_LIMITED`: one of the limits checked cannot take this use now. `USAGE_EXCEEDED`: the key's credits cannot cover `cost`. `VALID`: the key may be used, and this use counts against its limits and spends its credits (no other verdict does).
       * @example VALID
       * @enum {string}
       */
      code: "VALID" | "NOT_FOUND" | "EXPIRED" | "REVOKED" | "DISABLED" | "IP_NOT_ALLOWED" | "INSUFFICIENT_SCOPE" | "RATE_LIMITED" | "USAGE_EXCEEDED";
      /**
       * @description With `VALID` only: the key's id
       * @example key_5tm2xq7kwz3dh4na
       */
      keyId?: string;
      /**
       * @description With `VALID` only: the account the key belongs to
       * @example acc_3kq7m2xw5vhz4tna
       */
      accountId?: string;
      /**
       * @description With `VALID` only: the key's environment
       * @example production
       * @enum {string}
       */
      environment?: "production" | "staging" | "development" | "ci";
      /**
       * @description With `VALID` only: the key's scopes
       * @example [
       *   "orders:read",
       *   "orders:write"
       * ]
       */
      scopes?: string[];
      /**
       * Format: date-time
       * @description With `VALID` only: when the key expires
       * @example 2026-05-31T09:30:00.000Z
       */
      expiresAt?: string;
      /** @description With `VALID`, `RATE_LIMITED` and `USAGE_EXCEEDED` only: the tightest limit checked (fewest uses left), the one the headers report */
      ratelimit?: {
        /**
         * @description The key's `rateLimit.limit`
         * @example 1000
         */
        limit: number;
        /**
         * @description Uses left in the window after this one
         * @example 999
         */
        remaining: number;
        /**
         * Format: date-time
         * @description When the oldest use still counted leaves the window, freeing a slot
         * @example 2026-03-02T10:30:00.000Z
         */
        resetAt: string;
      };
      /** @description With `VALID`, `RATE_LIMITED` and `USAGE_EXCEEDED` only: every limit checked */
      ratelimits?: {
          /**
           * @description The limit's name
           * @example default
           */
          name: string;
          /**
           * @description Uses per window
           * @example 1000
           */
          limit: number;
          /**
           * @description The window in seconds
           * @example 3600
           */
          windowSeconds: number;
          /**
           * @description Uses left after this one
           * @example 999
           */
          remaining: number;
          /**
           * Format: date-time
           * @description When the oldest use still counted leaves the window
           * @example 2026-03-02T10:30:00.000Z
           */
          resetAt: string;
        }[];
      /** @description With `VALID` and `USAGE_EXCEEDED`, for a key with credits only: its balance */
      credits?: {
        /**
         * @description Credits left after this use
         * @example 4209
         */
        remaining: number;
      };
      /**
       * @description With `VALID` only: your customer's id for the key (null if none)
       * @example cus_8f3a21
       */
      externalId?: string | null;
      /**
       * @description With `VALID` only: your metadata for the key (null if none)
       * @example {
       *   "plan": "pro"
       * }
       */
      meta?: {
        [key: string]: unknown;
      } | null;
      /**
       * @description With `VALID` only: the service account that owns the key (null: a person's key)
       * @example null
       */
      serviceAccountId?: string | null;
    };
    /** @description One entry of the account's audit trail */
    AuditEvent: {
      /**
       * @description The event's id
       * @example evt_4mz7kq2xh5wd3vna
       */
      id: string;
      /**
       * Format: date-time
       * @description When it happened
       * @example 2026-03-02T09:30:00.000Z
       */
      time: string;
      /**
       * @description What happened: `http.request` (every request to the API), or a named action such as `auth.login.failed`, `key.created`, `key.revoked`, `member.role_changed` or `account.lockdown`
       * @example key.created
       * @enum {string}
       */
      action: "http.request" | "auth.signup" | "auth.login.succeeded" | "auth.login.failed" | "auth.lockout" | "auth.mfa.enabled" | "auth.mfa.disabled" | "auth.mfa.failed" | "auth.password.changed" | "auth.reauthenticated" | "auth.mfa.fallback_used" | "auth.mfa.recovery_codes_replaced" | "auth.email_change.requested" | "auth.email_change.confirmed" | "auth.email_change.cancelled" | "auth.new_device" | "auth.not_me" | "auth.breach_check_skipped" | "auth.passkey.added" | "auth.passkey.renamed" | "auth.passkey.removed" | "session.revoked" | "member.invited" | "member.joined" | "member.role_changed" | "member.removed" | "account.settings_changed" | "account.ownership_transferred" | "account.lockdown" | "account.lockdown_lifted" | "account.created" | "account.deleted" | "member.invitation_cancelled" | "key.created" | "key.rotated" | "key.revoked" | "key.expired" | "key.swept" | "key.updated" | "key.verified" | "key.secret_revealed" | "webhook.created" | "webhook.deleted" | "webhook.updated" | "webhook.secret_rotated" | "webhook.disabled" | "webhook.tested" | "webhook.redelivered" | "log_stream.created" | "log_stream.updated" | "log_stream.deleted" | "log_stream.disabled" | "audit.read" | "auth.data_exported" | "user.erased" | "key.inactivity_warned" | "key.disabled" | "key.enabled" | "service_account.created" | "service_account.updated" | "service_account.deleted" | "domain.added" | "domain.verified" | "domain.removed" | "domain.record_missing" | "domain.lapsed" | "scim.user_provisioned" | "scim.user_updated" | "scim.user_deactivated" | "scim.user_reactivated" | "scim.user_deleted" | "scim.group_created" | "scim.group_updated" | "scim.group_deleted" | "sso.connection_created" | "sso.connection_updated" | "sso.connection_deleted" | "auth.sso.failed" | "auth.sso.break_glass" | "alert.failed_logins_spike" | "alert.key_created" | "alert.member_changed" | "alert.key_expiring" | "alert.lockdown" | "alert.key_leaked" | "alert.sso_break_glass" | "alert.domain_lapsing";
      /**
       * @description `success`, or `failure` for a refused or failed attempt
       * @example success
       * @enum {string}
       */
      outcome: "success" | "failure";
      /** @description Who did it */
      actor: {
        /**
         * @description `user` (a person; `id` is null when they were not signed in), `key` (an API key) or `system` (scheduled work such as the sweeps)
         * @example user
         * @enum {string}
         */
        type: "user" | "key" | "system";
        /**
         * @description The user's or key's id; null for the system or an anonymous request
         * @example usr_7hd2kq5xm3wz6vpa
         */
        id: string | null;
        /**
         * @description The client address; null when unknown
         * @example 203.0.113.7
         */
        ip: string | null;
        /**
         * @description The client's User-Agent (first 256 characters); null when none was sent
         * @example curl/8.7.1
         */
        userAgent: string | null;
      };
      /** @description What it was done to; null when nothing in particular */
      target: {
        /**
         * @description What kind of thing: `key`, `user`, `session`, `account`, `invitation`, `webhook`, …
         * @example key
         */
        type: string;
        /**
         * @description Its id
         * @example key_5tm2xq7kwz3dh4na
         */
        id: string;
      } | null;
      /**
       * @description The request that caused it (its `X-Request-Id`); null for scheduled work
       * @example req_6f1c2d9a8b7e4c3fa2d15e0b9c8a7f64
       */
      requestId: string | null;
      /**
       * @description The action's details (changed fields, a key's scopes and last 4 characters, a request's method and status, …). Never a secret, password, code or token.
       * @example {
       *   "environment": "production",
       *   "scopes": [
       *     "orders:read",
       *     "orders:write"
       *   ],
       *   "expiresAt": "2026-05-31T09:30:00.000Z",
       *   "last4": "Xy9Z"
       * }
       */
      metadata: {
        [key: string]: unknown;
      };
    };
    /** @description An endpoint that receives the account's events. Its secret is never shown again. */
    Webhook: {
      /**
       * @description The webhook's id
       * @example whk_7xq2kd5mw3hz6tna
       */
      id: string;
      /**
       * @description Where deliveries are POSTed
       * @example https://hooks.example.com/keyward
       */
      url: string;
      /**
       * @description What it receives: event names, groups (`key.*`) or `*`
       * @example [
       *   "key.*",
       *   "alert.lockdown"
       * ]
       */
      events: string[];
      /**
       * @description False once disabled (by its failure budget, or by a person): nothing is queued to it then
       * @example true
       */
      enabled: boolean;
      /**
       * Format: date-time
       * @description When it was disabled; null while enabled
       * @example 2026-03-09T09:30:00.000Z
       */
      disabledAt: string | null;
      /**
       * @description Why it was disabled; null while enabled
       * @example null
       */
      disabledReason: string | null;
      /**
       * @description Deliveries in a row that ended failed, since the last success (the failure budget spent)
       * @example 0
       */
      consecutiveFailures: number;
      /**
       * Format: date-time
       * @description When the first of those failures ended; null when the last delivery succeeded
       * @example 2026-03-08T09:30:00.000Z
       */
      failingSince: string | null;
      /**
       * Format: date-time
       * @description While a rotated secret still signs beside the new one, when it stops; null otherwise
       * @example 2026-03-03T09:30:00.000Z
       */
      previousSecretExpiresAt: string | null;
      /**
       * Format: date-time
       * @description When it was added
       * @example 2026-03-02T09:30:00.000Z
       */
      createdAt: string;
      /**
       * @description Who added it, or last turned it back on: it is disabled if they are demoted below admin
       * @example usr_7hd2kq5xm3wz6vpa
       */
      createdBy: string;
    };
    /** @description One event sent, or to be sent, to one endpoint */
    WebhookDelivery: {
      /**
       * @description The delivery's id (the `Keyward-Delivery` header)
       * @example dlv_3hz6kq2xw7md5tpa
       */
      id: string;
      /**
       * @description The event delivered
       * @example key.revoked
       */
      event: string;
      /**
       * @description The payload's `id`: the audit event's id, the same on every endpoint and every redelivery
       * @example evt_mfrggzdfmztwq2lk
       */
      eventId: string | null;
      /**
       * @description On a redelivery, the delivery it repeats; null otherwise
       * @example null
       */
      redeliveryOf: string | null;
      /**
       * @description `pending` (queued), `delivered` (the endpoint answered 2xx), `retrying` (the last attempt failed; it will be tried again later) or `failed` (given up: retries used up, the webhook removed or disabled, or its URL refused)
       * @example delivered
       * @enum {string}
       */
      status: "pending" | "delivered" | "retrying" | "failed";
      /**
       * @description Attempts made so far
       * @example 1
       */
      attempts: number;
      /**
       * @description The HTTP status of the last attempt; null before the first, or when no answer came
       * @example 200
       */
      lastStatusCode: number | null;
      /**
       * @description Why the last attempt failed (`receiver answered 500`, `timed out`, `could not connect`, `redirect not followed`, …); null when it did not
       * @example null
       */
      lastError: string | null;
      /**
       * Format: date-time
       * @description When the event was queued for this endpoint
       * @example 2026-03-02T09:30:00.000Z
       */
      createdAt: string;
      /**
       * Format: date-time
       * @description When the delivery last changed
       * @example 2026-03-02T09:30:02.000Z
       */
      updatedAt: string;
    };
    /** @description A copy of the account's audit archive, kept at a destination of the account's */
    LogStream: {
      /**
       * @description The log stream's id
       * @example lgs_5kw2hx7qm3zd6tna
       */
      id: string;
      /**
       * @description The destination's kind
       * @example http
       * @enum {string}
       */
      type: "http" | "splunk-hec" | "datadog" | "s3";
      /**
       * @description Where batches go (for `s3`, the endpoint)
       * @example https://logs.example.com/keyward
       */
      url: string;
      /**
       * @description The destination's settings that are not secret: `auth` (http), `index` (splunk-hec), `site` (datadog), `bucket`, `region`, `prefix` and `accessKeyId` (s3)
       * @example {
       *   "auth": "hmac"
       * }
       */
      config: {
        [key: string]: string;
      };
      /**
       * @description False while paused or stopped
       * @example true
       */
      enabled: boolean;
      /**
       * Format: date-time
       * @description When it was paused or stopped; null while enabled
       * @example 2026-03-09T09:30:00.000Z
       */
      disabledAt: string | null;
      /**
       * @description Why it was paused or stopped; null while enabled
       * @example null
       */
      disabledReason: string | null;
      /**
       * @description `failing` while its last attempt failed (it backs off and retries), `disabled` while paused
       * @example healthy
       * @enum {string}
       */
      status: "healthy" | "failing" | "disabled";
      /** @description How far the copy has got */
      cursor: {
        /**
         * @description The last archive object delivered (its chain seq; 0 before the first)
         * @example 42
         */
        seq: number;
        /**
         * @description Objects delivered since it was added
         * @example 12
         */
        deliveredObjects: number;
        /**
         * @description Events in those objects
         * @example 311
         */
        deliveredEvents: number;
        /**
         * Format: date-time
         * @description When the destination last accepted an object; null before the first
         * @example 2026-03-02T09:31:00.000Z
         */
        lastDeliveredAt: string | null;
      };
      /**
       * @description Failed attempts in a row
       * @example 0
       */
      failures: number;
      /**
       * Format: date-time
       * @description When the first of those failed; null while healthy
       * @example 2026-03-08T09:30:00.000Z
       */
      failingSince: string | null;
      /**
       * @description Why the last attempt failed (`the destination answered 500`, `the destination timed out`, a broken archive chain, …)
       * @example null
       */
      lastError: string | null;
      /**
       * Format: date-time
       * @description While backing off, when the next attempt may start; null otherwise
       * @example 2026-03-08T09:31:00.000Z
       */
      nextAttemptAt: string | null;
      /**
       * Format: date-time
       * @description When it was added, or last resumed (the resumer answers for it from then on)
       * @example 2026-03-02T09:30:00.000Z
       */
      createdAt: string;
      /**
       * @description Who added it, or last resumed it: it stops if they are demoted below admin or removed
       * @example usr_7hd2kq5xm3wz6vpa
       */
      createdBy: string;
    };
    /**
     * @description A destination: `type` is one of `http`, `splunk-hec`, `datadog`, `s3`
     * @example {
     *   "type": "http",
     *   "url": "https://logs.example.com/keyward",
     *   "auth": "hmac"
     * }
     */
    LogStreamCreate: OneOf<[OneOf<[{
      /**
       * @description NDJSON POSTs of each archive object
       * @example http
       * @enum {string}
       */
      type: "http";
      /**
       * @description Where batches are POSTed: https:// only, at most 2048 characters; loopback, private, link-local, CGNAT and cloud-metadata hosts are refused
       * @example https://logs.example.com/keyward
       */
      url: string;
      /**
       * @description Send `Authorization: Bearer <token>`
       * @example bearer
       * @enum {string}
       */
      auth: "bearer";
      /**
       * @description The bearer token your receiver expects; stored encrypted and never shown again. The example is made up.
       * @example example-receiver-token-1234
       */
      token: string;
      /**
       * @description `now` (the default): from the archive's current end, so events archived after the stream was added; `beginning`: the whole archive first
       * @example now
       * @enum {string}
       */
      startAt?: "now" | "beginning";
    }, {
      /**
       * @description NDJSON POSTs of each archive object
       * @example http
       * @enum {string}
       */
      type: "http";
      /**
       * @description Where batches are POSTed: https:// only, at most 2048 characters; loopback, private, link-local, CGNAT and cloud-metadata hosts are refused
       * @example https://logs.example.com/keyward
       */
      url: string;
      /**
       * @description Sign each batch with `Keyward-Signature`, as webhooks are; Keyward makes the secret and returns it once
       * @example hmac
       * @enum {string}
       */
      auth: "hmac";
      /**
       * @description `now` (the default): from the archive's current end, so events archived after the stream was added; `beginning`: the whole archive first
       * @example now
       * @enum {string}
       */
      startAt?: "now" | "beginning";
    }]>, {
      /**
       * @description Splunk's HTTP Event Collector
       * @example splunk-hec
       * @enum {string}
       */
      type: "splunk-hec";
      /**
       * @description The collector's event endpoint: https:// only, at most 2048 characters; loopback, private, link-local, CGNAT and cloud-metadata hosts are refused
       * @example https://splunk.example.com:8088/services/collector/event
       */
      url: string;
      /**
       * @description The HEC token, sent as `Authorization: Splunk <token>`; stored encrypted and never shown again. The example is made up.
       * @example 00000000-0000-0000-0000-000000000000
       */
      token: string;
      /**
       * @description The index to write to; the token's default when left out
       * @example security
       */
      index?: string;
      /**
       * @description `now` (the default): from the archive's current end, so events archived after the stream was added; `beginning`: the whole archive first
       * @example now
       * @enum {string}
       */
      startAt?: "now" | "beginning";
    }, {
      /**
       * @description Datadog's logs intake (API v2)
       * @example datadog
       * @enum {string}
       */
      type: "datadog";
      /**
       * @description Your Datadog site; `datadoghq.com` when left out
       * @example datadoghq.eu
       * @enum {string}
       */
      site?: "datadoghq.com" | "us3.datadoghq.com" | "us5.datadoghq.com" | "datadoghq.eu" | "ap1.datadoghq.com" | "ddog-gov.com";
      /**
       * @description A Datadog API key, sent as `DD-API-KEY`; stored encrypted and never shown again. The example is made up.
       * @example 0123456789abcdef0123456789abcdef
       */
      apiKey: string;
      /**
       * @description `now` (the default): from the archive's current end, so events archived after the stream was added; `beginning`: the whole archive first
       * @example now
       * @enum {string}
       */
      startAt?: "now" | "beginning";
    }, {
      /**
       * @description Objects in your S3-compatible bucket
       * @example s3
       * @enum {string}
       */
      type: "s3";
      /**
       * @description The bucket service's endpoint (path-style requests; no query or fragment): https:// only, at most 2048 characters; loopback, private, link-local, CGNAT and cloud-metadata hosts are refused
       * @example https://s3.eu-west-1.amazonaws.com
       */
      endpoint: string;
      /**
       * @description The bucket
       * @example acme-keyward-audit
       */
      bucket: string;
      /**
       * @description The signing region; `auto` when left out (R2)
       * @example eu-west-1
       */
      region?: string;
      /**
       * @description Where in the bucket: objects go to `{prefix}{accountId}/{seq}.ndjson`
       * @example keyward/
       */
      prefix?: string;
      /**
       * @description The access key id (not secret; shown in the stream)
       * @example AKIAIOSFODNN7EXAMPLE
       */
      accessKeyId: string;
      /**
       * @description The secret access key; stored encrypted and never shown again. The example is made up.
       * @example wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
       */
      secretAccessKey: string;
      /**
       * @description `now` (the default): from the archive's current end, so events archived after the stream was added; `beginning`: the whole archive first
       * @example now
       * @enum {string}
       */
      startAt?: "now" | "beginning";
    }]>;
    /** @description An event an endpoint can receive */
    WebhookEventType: {
      /**
       * @description The event's name, as in `type` and `Keyward-Event`
       * @example key.revoked
       */
      name: string;
      /**
       * @description Its group: subscribe to all of them with `<group>.*`
       * @example key
       */
      group: string;
      /**
       * @description When it is sent
       * @example An API key was revoked
       */
      description: string;
      /**
       * @description False only for `webhook.test`, which is sent by the test route to one endpoint
       * @example true
       */
      subscribable: boolean;
    };
    /** @description Keyward's answer about one reported token */
    SecretScanningVerdict: {
      /**
       * @description SHA-256 (hex) of the token: the token itself is never sent back
       * @example 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
       */
      token_hash: string;
      /**
       * @description The report's `type`
       * @example keyward_api_key
       */
      token_type: string;
      /**
       * @description `true_positive`: a Keyward key (now revoked, if it was live); `false_positive`: not one
       * @example true_positive
       * @enum {string}
       */
      label: "true_positive" | "false_positive";
    };
    /** @description One check of the security report */
    SecurityCheck: {
      /**
       * @description Which check: `members_with_breached_passwords`, `members_without_mfa`, `members_without_passkey`, `keys_older_than_policy`, `keys_expiring_soon`, `keys_inactive`, `production_wildcard_scopes`, `keys_of_former_members`, `failed_login_spikes`, `stale_invitations`, `log_streams_failing` or `owner_admin_count`
       * @example members_without_mfa
       */
      id: string;
      /**
       * @description `pass`, `warn` (worth a look) or `fail` (fix it)
       * @example fail
       * @enum {string}
       */
      status: "pass" | "warn" | "fail";
      /**
       * @description What the check asks for, in a sentence
       * @example Every member uses two-factor authentication
       */
      title: string;
      /**
       * @description What the result means and what to do
       * @example These members sign in with a password alone. Set mfaPolicy, or ask them to add a passkey or TOTP.
       */
      detail: string;
      /**
       * @description The offending key ids, user ids, invitation ids or windows
       * @example [
       *   "usr_7hd2kq5xm3wz6vpa"
       * ]
       */
      items: string[];
    };
    /** @description An email domain the account claims, with the DNS record that proves it */
    Domain: {
      /**
       * @description The domain's id
       * @example dom_4hq7kx2mz5wd3tna
       */
      id: string;
      /**
       * @description The domain
       * @example example.com
       */
      domain: string;
      /**
       * @description `pending` until the TXT record was found by `…/verify`; then `verified`
       * @example pending
       * @enum {string}
       */
      status: "pending" | "verified";
      /** @description The DNS record that proves control of the domain (keep it while the domain is used) */
      record: {
        /**
         * @description The record type
         * @example TXT
         * @enum {string}
         */
        type: "TXT";
        /**
         * @description Where to publish it
         * @example _keyward-challenge.example.com
         */
        name: string;
        /**
         * @description What it must say, exactly
         * @example keyward-domain-verification=3kq7m2xw5vhz4tna3kq7m2xw5vhz4tna
         */
        value: string;
      };
      /**
       * Format: date-time
       * @description When it was claimed
       * @example 2026-12-01T09:30:00.000Z
       */
      createdAt: string;
      /**
       * Format: date-time
       * @description When the record was found; null while pending
       * @example null
       */
      verifiedAt: string | null;
      /**
       * Format: date-time
       * @description When the record was last looked for (`…/verify`, or the daily re-check of a verified domain); null before the first look
       * @example null
       */
      lastCheckedAt: string | null;
      /**
       * Format: date-time
       * @description A verified domain whose record the daily re-check no longer finds: since when. Seven days after, the domain lapses (pending again); null while the record is there
       * @example null
       */
      recordMissingSince: string | null;
    };
    /** @description A page of resources */
    ScimUserList: {
      /**
       * @description The ListResponse URN
       * @example [
       *   "urn:ietf:params:scim:api:messages:2.0:ListResponse"
       * ]
       */
      schemas: string[];
      /**
       * @description Matches in all
       * @example 1
       */
      totalResults: number;
      /**
       * @description 1-based index of the first one here
       * @example 1
       */
      startIndex: number;
      /**
       * @description How many are here
       * @example 1
       */
      itemsPerPage: number;
      /** @description The matches */
      Resources: components["schemas"]["ScimUser"][];
    };
    /** @description A person the account's identity provider manages */
    ScimUser: {
      /**
       * @description Always the core User schema
       * @example [
       *   "urn:ietf:params:scim:schemas:core:2.0:User"
       * ]
       */
      schemas: string[];
      /**
       * @description The person's Keyward user id
       * @example usr_7hd2kq5xm3wz6vpa
       */
      id: string;
      /**
       * @description The provider's id
       * @example 00u1abcd
       */
      externalId: string | null;
      /**
       * @description The email address
       * @example ada@example.com
       */
      userName: string;
      /**
       * @description The name to show
       * @example Ada Lovelace
       */
      displayName: string | null;
      /** @description Name parts */
      name: {
        /**
         * @description Given name
         * @example Ada
         */
        givenName: string | null;
        /**
         * @description Family name
         * @example Lovelace
         */
        familyName: string | null;
      };
      /** @description The one address: `userName` */
      emails: {
          /**
           * @description The address
           * @example ada@example.com
           */
          value: string;
          /**
           * @description Always true
           * @example true
           */
          primary: boolean;
          /**
           * @description `work`
           * @example work
           */
          type: string;
        }[];
      /**
       * @description Whether they are a member now
       * @example true
       */
      active: boolean;
      /** @description The role they hold (or, deactivated, would hold again): groups mapped to a role decide it first */
      roles: {
          /**
           * @description The role
           * @example member
           */
          value: string;
          /**
           * @description Always true
           * @example true
           */
          primary: boolean;
        }[];
      /** @description The SCIM groups they are in (read-only) */
      groups: {
          /**
           * @description The group's id
           * @example grp_6mz3kq7hx2wd5tpa
           */
          value: string;
          /**
           * @description Its name
           * @example Engineering
           */
          display: string;
        }[];
      /** @description Resource metadata */
      meta: {
        /**
         * @description `User` or `Group`
         * @example User
         */
        resourceType: string;
        /**
         * Format: date-time
         * @description When it was provisioned
         * @example 2026-12-01T09:30:00.000Z
         */
        created: string;
        /**
         * Format: date-time
         * @description When it last changed
         * @example 2026-12-01T09:30:00.000Z
         */
        lastModified: string;
        /**
         * @description Its URL
         * @example https://keyward.example/scim/v2/Users/usr_…
         */
        location: string;
        /**
         * @description A weak ETag of its version
         * @example W/"1"
         */
        version: string;
      };
    };
    /** @description A SCIM error (RFC 7644 §3.12): the SCIM routes' only error shape */
    ScimError: {
      /**
       * @description The SCIM Error URN
       * @example [
       *   "urn:ietf:params:scim:api:messages:2.0:Error"
       * ]
       */
      schemas: string[];
      /**
       * @description The HTTP status, as a string
       * @example 400
       */
      status: string;
      /**
       * @description `invalidValue`, `invalidFilter`, `invalidSyntax`, `mutability`, `uniqueness`, `tooMany`…
       * @example invalidValue
       */
      scimType?: string;
      /**
       * @description What went wrong, naming each bad field
       * @example userName: …
       */
      detail: string;
    };
    /** @description A person as the identity provider sends them. Attributes not listed here are accepted and ignored. */
    ScimUserInput: {
      /**
       * @description The resource's schema URNs (read, not required)
       * @example [
       *   "urn:ietf:params:scim:schemas:core:2.0:User"
       * ]
       */
      schemas?: string[];
      /**
       * Format: email
       * @description The person's email address, which is how Keyward knows them: its domain must be one the account has verified (403 otherwise). It cannot change after provisioning (400 `mutability`).
       * @example ada@example.com
       */
      userName: string;
      /**
       * @description The provider's own id for the person
       * @example 00u1abcd
       */
      externalId?: string | null;
      /**
       * @description The name to show
       * @example Ada Lovelace
       */
      displayName?: string | null;
      /** @description The person's name parts */
      name?: ({
        /**
         * @description Given name
         * @example Ada
         */
        givenName?: string | null;
        /**
         * @description Family name
         * @example Lovelace
         */
        familyName?: string | null;
        /**
         * @description The full name as one string (read, not kept)
         * @example Ada Lovelace
         */
        formatted?: string | null;
      }) | null;
      /** @description Read and ignored: `userName` is the address */
      emails?: {
          /**
           * @description An address; Keyward keeps only `userName`
           * @example ada@example.com
           */
          value: string;
          /**
           * @description Whether it is the primary address
           * @example true
           */
          primary?: boolean;
          /**
           * @description `work`, `home`…
           * @example work
           */
          type?: string;
        }[] | null;
      /**
       * @description false: the person's access ends (default true)
       * @example true
       */
      active?: boolean;
      /** @description The role to hold (the primary one, else the first); default `member` */
      roles?: (({
          /**
           * @description A Keyward role: `admin`, `member` or `readonly`. `owner` is refused (403): ownership moves only by transfer
           * @example member
           * @enum {string}
           */
          value: "owner" | "admin" | "member" | "readonly";
          /**
           * @description The role held (else the first)
           * @example true
           */
          primary?: boolean;
          /**
           * @description Ignored
           * @example Member
           */
          display?: string;
          /**
           * @description Ignored
           * @example WindowsAzureActiveDirectoryRole
           */
          type?: string;
        })[]) | null;
    };
    /** @description A SCIM PatchOp message */
    ScimPatchInput: {
      /**
       * @description The resource's schema URNs (read, not required)
       * @example [
       *   "urn:ietf:params:scim:schemas:core:2.0:User"
       * ]
       */
      schemas?: string[];
      /** @description Applied in order, all or none */
      Operations: ({
          /**
           * @description Case-insensitive
           * @example replace
           * @enum {string}
           */
          op: "add" | "replace" | "remove";
          /**
           * @description The attribute (`active`, `displayName`, `externalId`, `name.givenName`, `name.familyName`, `roles`, `members`, `members[value eq "…"]`); absent, `value` holds the attributes to set
           * @example active
           */
          path?: string;
          /**
           * @description The new value
           * @example false
           */
          value?: unknown;
        })[];
    };
    /** @description A page of resources */
    ScimGroupList: {
      /**
       * @description The ListResponse URN
       * @example [
       *   "urn:ietf:params:scim:api:messages:2.0:ListResponse"
       * ]
       */
      schemas: string[];
      /**
       * @description Matches in all
       * @example 1
       */
      totalResults: number;
      /**
       * @description 1-based index of the first one here
       * @example 1
       */
      startIndex: number;
      /**
       * @description How many are here
       * @example 1
       */
      itemsPerPage: number;
      /** @description The matches */
      Resources: components["schemas"]["ScimGroup"][];
    };
    /** @description A group of the account's identity provider */
    ScimGroup: {
      /**
       * @description Always the core Group schema
       * @example [
       *   "urn:ietf:params:scim:schemas:core:2.0:Group"
       * ]
       */
      schemas: string[];
      /**
       * @description The group's id
       * @example grp_6mz3kq7hx2wd5tpa
       */
      id: string;
      /**
       * @description The provider's id
       * @example 00g1abcd
       */
      externalId: string | null;
      /**
       * @description Its name
       * @example Engineering
       */
      displayName: string;
      /** @description Its members (left out with `excludedAttributes=members`) */
      members?: {
          /**
           * @description A member's user id
           * @example usr_7hd2kq5xm3wz6vpa
           */
          value: string;
          /**
           * @description Their userName
           * @example ada@example.com
           */
          display: string;
        }[];
      /** @description Resource metadata */
      meta: {
        /**
         * @description `User` or `Group`
         * @example User
         */
        resourceType: string;
        /**
         * Format: date-time
         * @description When it was provisioned
         * @example 2026-12-01T09:30:00.000Z
         */
        created: string;
        /**
         * Format: date-time
         * @description When it last changed
         * @example 2026-12-01T09:30:00.000Z
         */
        lastModified: string;
        /**
         * @description Its URL
         * @example https://keyward.example/scim/v2/Users/usr_…
         */
        location: string;
        /**
         * @description A weak ETag of its version
         * @example W/"1"
         */
        version: string;
      };
    };
    /** @description A group as the identity provider sends it */
    ScimGroupInput: {
      /**
       * @description The resource's schema URNs (read, not required)
       * @example [
       *   "urn:ietf:params:scim:schemas:core:2.0:User"
       * ]
       */
      schemas?: string[];
      /**
       * @description The group's name: `scimGroupRoles` maps it to a role
       * @example Engineering
       */
      displayName: string;
      /**
       * @description The provider's own id for the group
       * @example 00g1abcd
       */
      externalId?: string | null;
      /** @description Its members: people this account provisioned through SCIM */
      members?: {
          /**
           * @description A provisioned person's id (`usr_…`)
           * @example usr_7hd2kq5xm3wz6vpa
           */
          value: string;
          /**
           * @description Ignored
           * @example ada@example.com
           */
          display?: string;
        }[] | null;
    };
    /** @description What the SCIM service supports (RFC 7643 §5) */
    ScimServiceProviderConfig: {
      /**
       * @description The resource's schema
       * @example [
       *   "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
       * ]
       */
      schemas: string[];
      /**
       * @description The deployment's API reference
       * @example https://keyward.example.com/docs
       */
      documentationUri: string;
      /** @description PATCH: supported */
      patch: {
        /**
         * @description Whether it is supported
         * @example true
         */
        supported: boolean;
      };
      /** @description Bulk: not supported */
      bulk: {
        /**
         * @description Whether it is supported
         * @example true
         */
        supported: boolean;
        /**
         * @description Operations in one request
         * @example 0
         */
        maxOperations: number;
        /**
         * @description Bytes in one request
         * @example 0
         */
        maxPayloadSize: number;
      };
      /** @description Filters: `eq` on the documented attributes */
      filter: {
        /**
         * @description Whether it is supported
         * @example true
         */
        supported: boolean;
        /**
         * @description Results in one page at most
         * @example 200
         */
        maxResults: number;
      };
      /** @description Password changes: not supported (a person resets their own) */
      changePassword: {
        /**
         * @description Whether it is supported
         * @example true
         */
        supported: boolean;
      };
      /** @description Sorting: not supported */
      sort: {
        /**
         * @description Whether it is supported
         * @example true
         */
        supported: boolean;
      };
      /** @description ETags: not supported (`meta.version` is informational) */
      etag: {
        /**
         * @description Whether it is supported
         * @example true
         */
        supported: boolean;
      };
      /** @description How to authenticate */
      authenticationSchemes: {
          /**
           * @description The scheme
           * @example oauthbearertoken
           */
          type: string;
          /**
           * @description Its name
           * @example Keyward API key
           */
          name: string;
          /**
           * @description What to send
           * @example A key with scim:write
           */
          description: string;
          /**
           * @description The one to use
           * @example true
           */
          primary: boolean;
        }[];
      /** @description Where it lives */
      meta: {
        /**
         * @description Its type
         * @example ServiceProviderConfig
         */
        resourceType: string;
        /**
         * @description Its URL
         * @example https://keyward.example.com/scim/v2/ServiceProviderConfig
         */
        location: string;
      };
    };
    /** @description The resource types (RFC 7643 §6) */
    ScimResourceTypeList: {
      /**
       * @description The list's schema
       * @example [
       *   "urn:ietf:params:scim:api:messages:2.0:ListResponse"
       * ]
       */
      schemas: string[];
      /**
       * @description How many there are
       * @example 2
       */
      totalResults: number;
      /**
       * @description Always 1
       * @example 1
       */
      startIndex: number;
      /**
       * @description How many are here
       * @example 2
       */
      itemsPerPage: number;
      /**
       * @description The resource types (RFC 7643 §6)
       * @example [
       *   {
       *     "id": "User",
       *     "name": "User"
       *   }
       * ]
       */
      Resources: {
          [key: string]: unknown;
        }[];
    };
    /** @description The schemas (RFC 7643 §7) */
    ScimSchemaList: {
      /**
       * @description The list's schema
       * @example [
       *   "urn:ietf:params:scim:api:messages:2.0:ListResponse"
       * ]
       */
      schemas: string[];
      /**
       * @description How many there are
       * @example 2
       */
      totalResults: number;
      /**
       * @description Always 1
       * @example 1
       */
      startIndex: number;
      /**
       * @description How many are here
       * @example 2
       */
      itemsPerPage: number;
      /**
       * @description The schemas (RFC 7643 §7)
       * @example [
       *   {
       *     "id": "User",
       *     "name": "User"
       *   }
       * ]
       */
      Resources: {
          [key: string]: unknown;
        }[];
    };
    /** @description The account's OIDC identity provider; its client secret is never shown */
    SsoConnection: {
      /**
       * @description The connection's id
       * @example sso_3wd7kq5mx2hz6tna
       */
      id: string;
      /**
       * @description The provider's issuer URL
       * @example https://acme.okta.com
       */
      issuer: string;
      /**
       * @description Keyward's client id at the provider
       * @example 0oa1b2c3d4e5f6g7h8i9
       */
      clientId: string;
      /**
       * @description The scopes a sign-in asks for
       * @example [
       *   "openid",
       *   "email",
       *   "profile"
       * ]
       */
      scopes: string[];
      roleMapping: components["schemas"]["SsoRoleMapping"];
      /**
       * @description Register this as the sign-in redirect URI at the provider
       * @example https://keyward.example.com/v1/auth/sso/callback
       */
      redirectUri: string;
      /** @description From the provider's discovery document */
      endpoints: {
        /**
         * @description Where sign-ins start
         * @example https://acme.okta.com/oauth2/v1/authorize
         */
        authorization: string;
        /**
         * @description Where codes are redeemed
         * @example https://acme.okta.com/oauth2/v1/token
         */
        token: string;
        /**
         * @description The provider's signing keys
         * @example https://acme.okta.com/oauth2/v1/keys
         */
        jwks: string;
      };
      /**
       * Format: date-time
       * @description When it was made
       * @example 2026-12-01T09:30:00.000Z
       */
      createdAt: string;
      /**
       * Format: date-time
       * @description When it last changed
       * @example 2026-12-01T09:30:00.000Z
       */
      updatedAt: string;
    };
    /** @description The role a first sign-in creates the membership with; never owner, never above these values */
    SsoRoleMapping: ({
      /**
       * @description The ID token claim (OIDC) or attribute name (SAML) to read: one value or several
       * @example groups
       */
      claim: string;
      /**
       * @description Claim value to role (never owner); the highest matched role wins
       * @example {
       *   "Keyward Admins": "admin",
       *   "Auditors": "readonly"
       * }
       */
      values: {
        [key: string]: "admin" | "member" | "readonly";
      };
      /**
       * @description The role when nothing matches (default member)
       * @default member
       * @example member
       * @enum {string}
       */
      default?: "admin" | "member" | "readonly";
    }) | null;
    /** @description The account's SAML 2.0 identity provider */
    SamlConnection: {
      /**
       * @description The connection's id
       * @example sso_3wd7kq5mx2hz6tna
       */
      id: string;
      /**
       * @description The provider's entity id
       * @example http://www.okta.com/exk1a2b3c4d5e6f7g8h9
       */
      idpEntityId: string;
      /**
       * @description Where sign-ins are sent
       * @example https://acme.okta.com/app/acme_keyward/exk1a2b3c4d5e6f7g8h9/sso/saml
       */
      ssoUrl: string;
      /**
       * @description The SHA-256 fingerprint of the pinned signing certificate
       * @example 5B:2A:…:9F
       */
      certificateFingerprint: string;
      roleMapping: components["schemas"]["SsoRoleMapping"];
      /**
       * @description Keyward's entity id (audience) to register at the provider
       * @example https://keyward.example.com/v1/auth/sso/saml/sso_k3q7m2xw5vhz4tna/metadata
       */
      entityId: string;
      /**
       * @description The assertion consumer service URL (HTTP-POST) to register at the provider
       * @example https://keyward.example.com/v1/auth/sso/saml/sso_k3q7m2xw5vhz4tna/acs
       */
      acsUrl: string;
      /**
       * @description Keyward's service provider metadata, which most providers can import
       * @example https://keyward.example.com/v1/auth/sso/saml/sso_k3q7m2xw5vhz4tna/metadata
       */
      metadataUrl: string;
      /**
       * Format: date-time
       * @description When it was made
       * @example 2026-12-01T09:30:00.000Z
       */
      createdAt: string;
      /**
       * Format: date-time
       * @description When it last changed
       * @example 2026-12-01T09:30:00.000Z
       */
      updatedAt: string;
    };
  };
  responses: never;
  parameters: {
  };
  requestBodies: never;
  headers: never;
  pathItems: never;
}

export type $defs = Record<string, never>;

export type external = Record<string, never>;

export type operations = Record<string, never>;
