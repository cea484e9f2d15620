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
              /** @enum {string} */
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
          to: string;
          limit?: number;
        };
      };
      responses: {
        /** @description Newest first */
        200: {
          content: {
            "application/json": {
              data: {
                  to: string;
                  subject: string;
                  text: string;
                  /** Format: date-time */
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
              indexed: number;
              archived: number;
              outbox: number;
              deadLetters: number;
              /** @description What this isolate has sent to the audit queue since it started */
              queue: {
                sendBatches: number;
                messages: number;
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
    /** Memory and storage sizes of an account's guard object (local development only; 404 everywhere else) */
    get: {
      parameters: {
        query: {
          accountId: string;
        };
      };
      responses: {
        /** @description Entries held in memory and rows in the object's storage */
        200: {
          content: {
            "application/json": {
              keys: number;
              windows: number;
              pendingUsage: number;
              pendingLastUsed: number;
              storedKeys: number;
              storedWindows: number;
              /** @description D1 reads the object made to load the account's key set */
              d1Loads: number;
              keySetComplete: boolean;
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
            /** Format: email */
            email: string;
            password: string;
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
              account: {
                id: string;
                name: string;
                createdAt: string;
              };
              session: components["schemas"]["NewSession"];
              /** @description What to do next for the account's safety; empty when nothing is left */
              recommendations: ({
                  /** @enum {string} */
                  id: "change_breached_password" | "verify_email" | "enable_mfa";
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
            /** Format: email */
            email: string;
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
              /** @enum {boolean} */
              mfaRequired: true;
              challenge: {
                token: string;
                methods: ("totp" | "recovery_code" | "email_code")[];
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
            challengeToken: string;
            /** @enum {string} */
            method: "totp" | "recovery_code" | "email_code";
            code: string;
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
  "/v1/auth/not-me": {
    /**
     * "This wasn't me": signs the user out everywhere, stops the password working and starts a reset
     * @description For the code in a new-device notice. Whoever signed in knew the password, so ending that one session is not enough: every session of the user ends, pending sign-ins end, the password stops working, devices stop being known to the address, and a reset code goes to the address.
     */
    post: {
      requestBody: {
        content: {
          "application/json": {
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
            /** Format: email */
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
            token: string;
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
                  /** @enum {string} */
                  id: "change_breached_password" | "verify_email" | "enable_mfa";
                  detail: string;
                })[];
              memberships: ({
                  accountId: string;
                  accountName: string;
                  /** @enum {string} */
                  role: "owner" | "admin" | "member" | "readonly";
                })[];
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
  "/v1/me/password": {
    /**
     * Change the password; other sessions end unless revokeOtherSessions is false
     * @description **Credentials:** a session (bearer token or cookie). An API key is refused with 401 `invalid_token`.
     */
    post: {
      requestBody: {
        content: {
          "application/json": {
            currentPassword: string;
            newPassword: string;
            /** @default true */
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
            password: string;
          };
        };
      };
      responses: {
        /** @description Scan the QR code or type the secret */
        200: {
          content: {
            "application/json": {
              secret: string;
              uri: string;
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
            password: string;
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
            code: string;
          };
        };
      };
      responses: {
        /** @description MFA enabled */
        200: {
          content: {
            "application/json": {
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
            password: string;
            recoveryCode: string;
          };
        };
      };
      responses: {
        /** @description The old authenticator is retired; scan the new one and confirm */
        200: {
          content: {
            "application/json": {
              secret: string;
              uri: string;
              qrSvg: string;
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
            password: string;
            code: string;
          };
        };
      };
      responses: {
        /** @description New codes, shown once */
        200: {
          content: {
            "application/json": {
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
     * @description Send `{password}`, and with a second factor `{password, method: "totp" | "recovery_code", code}`: both factors, never one alone. Five failures in this session end it. The new session counts as a proof for ten minutes for every route that hands power out (keys with a reserved scope, invitations, role changes, settings, webhooks, lifting a lockdown, ownership, deleting an account) and for ending other sessions or changing the email.
     *
     * **Credentials:** a session (bearer token or cookie). An API key is refused with 401 `invalid_token`.
     */
    post: {
      requestBody: {
        content: {
          "application/json": {
            password: string;
            /**
             * @description With a second factor: which one
             * @enum {string}
             */
            method?: "totp" | "recovery_code";
            /** @description With a second factor: its current code */
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
            /** Format: email */
            email: string;
          };
        };
      };
      responses: {
        /** @description Confirmation sent */
        202: {
          content: {
            "application/json": {
              pending: {
                email: string;
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
     * @description Admins and the owner may rename the account and change key and alert policies. The settings that decide who can get in (`ipAllowlist`, `requireMfa`, `sessionIdleMinutes`, `sessionMaxAgeHours`) are the owner's alone (403 naming each field), so no admin can lock the owner out. An `ipAllowlist` that excludes the caller's own address, and `requireMfa` by an owner without two-factor, are 400.
     *
     * **Credentials:** a session (bearer token or cookie). No API key can call this route, whatever its scopes.
     */
    patch: {
      parameters: {
        path: {
          accountId: string;
        };
      };
      requestBody: {
        content: {
          "application/json": {
            name?: string;
            settings?: {
              requireMfa?: boolean;
              sessionIdleMinutes?: number;
              sessionMaxAgeHours?: number;
              keyMaxLifetimeDays?: number;
              keyInactivityDays?: number;
              rotationGraceHours?: number;
              ipAllowlist?: string[];
              passwordComposition?: boolean;
              /** @description Members may finish a sign-in with an emailed code instead of their authenticator */
              emailCodeSecondFactor?: boolean;
              failedLoginAlertThreshold?: number;
              failedLoginAlertWindowMinutes?: number;
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
          accountId: string;
        };
      };
      requestBody: {
        content: {
          "application/json": {
            /** @example usr_abcdefgh23456723 */
            userId: string;
          };
        };
      };
      responses: {
        /** @description Transferred */
        200: {
          content: {
            "application/json": {
              ownerId: string;
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
     * Members with role, MFA status, joined and last-active times
     * @description **Credentials:** a session (bearer token or cookie), or an API key holding the reserved `members:read` scope, which acts with its creator's current role in this account.
     */
    get: {
      parameters: {
        query?: {
          limit?: number;
          cursor?: string;
        };
        path: {
          accountId: string;
        };
      };
      responses: {
        /** @description Members */
        200: {
          content: {
            "application/json": {
              data: components["schemas"]["Member"][];
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
          accountId: string;
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
          accountId: string;
          userId: string;
        };
      };
      requestBody: {
        content: {
          "application/json": {
            /** @enum {string} */
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
  "/v1/accounts/{accountId}/invitations": {
    /**
     * Pending invitations
     * @description **Credentials:** a session (bearer token or cookie), or an API key holding the reserved `members:read` scope, which acts with its creator's current role in this account.
     */
    get: {
      parameters: {
        query?: {
          limit?: number;
          cursor?: string;
        };
        path: {
          accountId: string;
        };
      };
      responses: {
        /** @description Pending */
        200: {
          content: {
            "application/json": {
              data: components["schemas"]["Invitation"][];
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
          accountId: string;
        };
      };
      requestBody: {
        content: {
          "application/json": {
            /** Format: email */
            email: string;
            /** @enum {string} */
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
          accountId: string;
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
  "/v1/invitations/accept": {
    /**
     * Join the account; the signed-in user's verified email must be the invited one
     * @description **Credentials:** a session (bearer token or cookie). An API key is refused with 401 `invalid_token`.
     */
    post: {
      requestBody: {
        content: {
          "application/json": {
            token: string;
          };
        };
      };
      responses: {
        /** @description Joined */
        200: {
          content: {
            "application/json": {
              membership: {
                accountId: string;
                accountName: string;
                /** @enum {string} */
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
          status?: "active" | "expired" | "revoked";
          environment?: "production" | "staging" | "development" | "ci";
          createdBy?: string;
          limit?: number;
          cursor?: string;
        };
        path: {
          accountId: string;
        };
      };
      responses: {
        /** @description A page of keys */
        200: {
          content: {
            "application/json": {
              data: components["schemas"]["ApiKey"][];
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
     * @description Scopes are `resource:action`, `resource:*` or `*` (`*` is refused on production keys). The reserved scopes `keys:read`, `keys:write`, `members:read`, `members:write`, `audit:read` and `account:read` open the management API; they are granted only by name (`*` and `keys:*` cover product scopes, never reserved ones), only by someone whose role holds them, and a key is never used beyond its creator's current role. A key caller (`keys:write`) can create only keys that fit inside itself: scopes it holds, its environment, an IP allowlist inside its own, a rate limit no higher and a lifetime no longer than its own (the default lifetime is cut to the caller's). Refused while the account is locked down (423) or until its owner's email is verified (403).
     *
     * **Credentials:** a session (bearer token or cookie), or an API key holding the reserved `keys:write` scope, which acts with its creator's current role in this account.
     */
    post: {
      parameters: {
        path: {
          accountId: string;
        };
      };
      requestBody: {
        content: {
          "application/json": {
            name: string;
            /** @enum {string} */
            environment: "production" | "staging" | "development" | "ci";
            scopes: string[];
            expiresInDays?: number;
            /** @default [] */
            ipAllowlist?: string[];
            /**
             * @default {
             *   "limit": 1000,
             *   "windowSeconds": 3600
             * }
             */
            rateLimit?: {
              limit: number;
              windowSeconds: number;
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
              /** @description Shown only here */
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
          accountId: string;
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
     * Rename a key or change its scopes, IP allowlist or rate limit (members: their own keys only)
     * @description **Credentials:** a session (bearer token or cookie), or an API key holding the reserved `keys:write` scope, which acts with its creator's current role in this account.
     */
    patch: {
      parameters: {
        path: {
          accountId: string;
          keyId: string;
        };
      };
      requestBody: {
        content: {
          "application/json": {
            name?: string;
            scopes?: string[];
            ipAllowlist?: string[];
            rateLimit?: {
              limit: number;
              windowSeconds: number;
            };
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
          accountId: string;
          keyId: string;
        };
      };
      requestBody: {
        content: {
          "application/json": {
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
              /** @description Shown only here */
              secret: string;
              previous: {
                id: string;
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
  "/v1/accounts/{accountId}/keys/{keyId}/revoke": {
    /**
     * Revoke a key (idempotent); refused on the very next verify, everywhere
     * @description **Credentials:** a session (bearer token or cookie), or an API key holding the reserved `keys:write` scope, which acts with its creator's current role in this account.
     */
    post: {
      parameters: {
        path: {
          accountId: string;
          keyId: string;
        };
      };
      requestBody: {
        content: {
          "application/json": {
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
            key: string;
            /** @default [] */
            requiredScopes?: string[];
            ip?: string;
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
          action?: "http.request" | "auth.signup" | "auth.login.succeeded" | "auth.login.failed" | "auth.lockout" | "auth.mfa.enabled" | "auth.mfa.disabled" | "auth.mfa.failed" | "auth.password.changed" | "auth.reauthenticated" | "auth.mfa.fallback_used" | "auth.mfa.recovery_codes_replaced" | "auth.email_change.requested" | "auth.email_change.confirmed" | "auth.email_change.cancelled" | "auth.new_device" | "auth.not_me" | "auth.breach_check_skipped" | "session.revoked" | "member.invited" | "member.joined" | "member.role_changed" | "member.removed" | "account.settings_changed" | "account.ownership_transferred" | "account.lockdown" | "account.lockdown_lifted" | "account.created" | "account.deleted" | "member.invitation_cancelled" | "key.created" | "key.rotated" | "key.revoked" | "key.expired" | "key.swept" | "key.updated" | "key.verified" | "webhook.created" | "webhook.deleted" | "key.inactivity_warned" | "alert.failed_logins_spike" | "alert.key_created" | "alert.member_changed" | "alert.key_expiring" | "alert.lockdown";
          actorId?: string | "system";
          keyId?: string;
          since?: string;
          until?: string;
          limit?: number;
          cursor?: string;
        };
        path: {
          accountId: string;
        };
      };
      responses: {
        /** @description A page of events */
        200: {
          content: {
            "application/json": {
              data: components["schemas"]["AuditEvent"][];
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
          since?: string;
          until?: string;
        };
        path: {
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
          accountId: string;
        };
      };
      responses: {
        /** @description Webhooks */
        200: {
          content: {
            "application/json": {
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
          accountId: string;
        };
      };
      requestBody: {
        content: {
          "application/json": {
            /**
             * @description https:// only; loopback, private, link-local, CGNAT and cloud-metadata hosts are refused
             * @example https://hooks.example.com/keyward
             */
            url: string;
            events: ("alert.failed_logins_spike" | "alert.key_created" | "alert.member_changed" | "alert.key_expiring" | "alert.lockdown")[];
          };
        };
      };
      responses: {
        /** @description Created; store the secret now */
        201: {
          content: {
            "application/json": {
              webhook: components["schemas"]["Webhook"];
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
     * Remove a webhook endpoint; queued deliveries to it are dropped
     * @description **Credentials:** a session (bearer token or cookie). No API key can call this route, whatever its scopes.
     */
    delete: {
      parameters: {
        path: {
          accountId: string;
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
  };
  "/v1/accounts/{accountId}/webhooks/{webhookId}/deliveries": {
    /**
     * The latest 50 deliveries of an endpoint, newest first, with status and attempts
     * @description **Credentials:** a session (bearer token or cookie). No API key can call this route, whatever its scopes.
     */
    get: {
      parameters: {
        path: {
          accountId: string;
          webhookId: string;
        };
      };
      responses: {
        /** @description Deliveries */
        200: {
          content: {
            "application/json": {
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
  "/v1/accounts/{accountId}/security-report": {
    /**
     * The monthly security checklist, computed now from current data
     * @description **Credentials:** a session (bearer token or cookie), or an API key holding the reserved `audit:read` scope, which acts with its creator's current role in this account.
     */
    get: {
      parameters: {
        path: {
          accountId: string;
        };
      };
      responses: {
        /** @description The report */
        200: {
          content: {
            "application/json": {
              generatedAt: string;
              checks: components["schemas"]["SecurityCheck"][];
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
          accountId: string;
        };
      };
      requestBody: {
        content: {
          "application/json": {
            reason: string;
          };
        };
      };
      responses: {
        /** @description Lifted */
        200: {
          content: {
            "application/json": {
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
          accountId: string;
        };
      };
      requestBody: {
        content: {
          "application/json": {
            reason: string;
            /**
             * @description End every session of every member (default)
             * @default true
             */
            revokeSessions?: boolean;
            /**
             * @description "all" (default), "none", or the ids of the keys to revoke
             * @default all
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
              sessionsRevoked: number;
              keysRevoked: number;
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
}

export type webhooks = Record<string, never>;

export interface components {
  schemas: {
    Problem: {
      /** @example https://keyward.dev/problems/validation */
      type: string;
      title: string;
      status: number;
      detail: string;
      requestId: string;
      /**
       * @description On a 401 about the credential, why it was refused: `missing_credentials` (none sent), `malformed_authorization` (the header is not `Bearer <token>`), `invalid_token` (not a token Keyward issued, or not valid for this use), `session_expired` (idle timeout or lifetime: sign in again), `session_revoked` (signed out, ended from another session, or the account was locked down), `key_revoked`, `key_expired` (create or rotate a key). Absent on other problems.
       * @example session_expired
       * @enum {string}
       */
      code?: "missing_credentials" | "malformed_authorization" | "invalid_token" | "session_expired" | "session_revoked" | "key_revoked" | "key_expired";
      errors?: {
          path: string;
          message: string;
        }[];
    };
    User: {
      id: string;
      email: string;
      name: string;
      emailVerified: boolean;
      mfaEnabled: boolean;
      /** Format: date-time */
      createdAt: string;
      /** @description A sign-in found the password in known data breaches: change it (POST /v1/me/password) */
      passwordBreached: boolean;
    };
    NewSession: {
      id: string;
      /** @description Shown only here. Send as Authorization: Bearer. */
      token: string;
      /** Format: date-time */
      expiresAt: string;
    };
    Session: {
      id: string;
      current: boolean;
      createdAt: string;
      lastSeenAt: string;
      expiresAt: string;
      ip: string | null;
      userAgent: string | null;
      country: string | null;
    };
    Account: {
      id: string;
      name: string;
      createdAt: string;
      settings: components["schemas"]["AccountSettings"];
      /** @description Set by POST …/lockdown; null when never locked down */
      lockedDownAt: string | null;
      lockedDownReason: string | null;
    };
    AccountSettings: {
      requireMfa: boolean;
      sessionIdleMinutes: number;
      sessionMaxAgeHours: number;
      keyMaxLifetimeDays: number;
      keyInactivityDays: number;
      rotationGraceHours: number;
      ipAllowlist: string[];
      passwordComposition: boolean;
      /** @description Members may finish a sign-in with an emailed code instead of their authenticator */
      emailCodeSecondFactor: boolean;
      failedLoginAlertThreshold: number;
      failedLoginAlertWindowMinutes: number;
    };
    Member: {
      userId: string;
      email: string;
      name: string;
      /** @enum {string} */
      role: "owner" | "admin" | "member" | "readonly";
      mfaEnabled: boolean;
      joinedAt: string;
      lastActiveAt: string | null;
    };
    Invitation: {
      id: string;
      email: string;
      /** @enum {string} */
      role: "admin" | "member" | "readonly";
      expiresAt: string;
    };
    ApiKey: {
      id: string;
      name: string;
      /**
       * @description The key's first 12 characters: its class and the start of its account part, the same for every key of the account
       * @example kw_live_abcd
       */
      start: string;
      /**
       * @description The key's last 4 characters (the end of its CRC32 checksum: about 24 of its 300-odd bits), to tell keys apart; shown as `kw_live_abcd…Xy9Z`. Null for keys made before it was kept.
       * @example Xy9Z
       */
      last4: string | null;
      /** @enum {string} */
      environment: "production" | "staging" | "development" | "ci";
      scopes: string[];
      /** @enum {string} */
      status: "active" | "expired" | "revoked";
      createdAt: string;
      createdBy: string;
      expiresAt: string;
      lastUsedAt: string | null;
      revokedAt: string | null;
      revokedReason: string | null;
      rotatedFrom: string | null;
      rotatedTo: string | null;
      ipAllowlist: string[];
      rateLimit: {
        limit: number;
        windowSeconds: number;
      };
    };
    KeyUsage: {
      requests24h: number;
      denied24h: number;
      lastUsedAt: string | null;
      byCode: {
        [key: string]: number;
      };
    };
    VerifyResult: {
      valid: boolean;
      /** @enum {string} */
      code: "VALID" | "NOT_FOUND" | "EXPIRED" | "REVOKED" | "IP_NOT_ALLOWED" | "INSUFFICIENT_SCOPE" | "RATE_LIMITED";
      keyId?: string;
      accountId?: string;
      /** @enum {string} */
      environment?: "production" | "staging" | "development" | "ci";
      scopes?: string[];
      expiresAt?: string;
      ratelimit?: {
        limit: number;
        remaining: number;
        resetAt: string;
      };
    };
    AuditEvent: {
      id: string;
      /** Format: date-time */
      time: string;
      /** @enum {string} */
      action: "http.request" | "auth.signup" | "auth.login.succeeded" | "auth.login.failed" | "auth.lockout" | "auth.mfa.enabled" | "auth.mfa.disabled" | "auth.mfa.failed" | "auth.password.changed" | "auth.reauthenticated" | "auth.mfa.fallback_used" | "auth.mfa.recovery_codes_replaced" | "auth.email_change.requested" | "auth.email_change.confirmed" | "auth.email_change.cancelled" | "auth.new_device" | "auth.not_me" | "auth.breach_check_skipped" | "session.revoked" | "member.invited" | "member.joined" | "member.role_changed" | "member.removed" | "account.settings_changed" | "account.ownership_transferred" | "account.lockdown" | "account.lockdown_lifted" | "account.created" | "account.deleted" | "member.invitation_cancelled" | "key.created" | "key.rotated" | "key.revoked" | "key.expired" | "key.swept" | "key.updated" | "key.verified" | "webhook.created" | "webhook.deleted" | "key.inactivity_warned" | "alert.failed_logins_spike" | "alert.key_created" | "alert.member_changed" | "alert.key_expiring" | "alert.lockdown";
      /** @enum {string} */
      outcome: "success" | "failure";
      actor: {
        /** @enum {string} */
        type: "user" | "key" | "system";
        id: string | null;
        ip: string | null;
        userAgent: string | null;
      };
      target: {
        type: string;
        id: string;
      } | null;
      requestId: string | null;
      metadata: {
        [key: string]: unknown;
      };
    };
    Webhook: {
      id: string;
      url: string;
      events: ("alert.failed_logins_spike" | "alert.key_created" | "alert.member_changed" | "alert.key_expiring" | "alert.lockdown")[];
      createdAt: string;
      createdBy: string;
    };
    WebhookDelivery: {
      id: string;
      event: string;
      /** @enum {string} */
      status: "pending" | "delivered" | "retrying" | "failed";
      attempts: number;
      lastStatusCode: number | null;
      lastError: string | null;
      createdAt: string;
      updatedAt: string;
    };
    SecurityCheck: {
      id: string;
      /** @enum {string} */
      status: "pass" | "warn" | "fail";
      title: string;
      detail: string;
      /** @description The offending key ids, user ids, invitation ids or windows */
      items: string[];
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
