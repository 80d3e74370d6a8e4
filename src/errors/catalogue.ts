/**
 * The one catalogue of error codes on the wire. Every error a client can see is
 * listed here with its HTTP status, a generic human message and the anchor of
 * its entry in docs/errors.md (a test keeps the two in step).
 */

export interface CatalogueEntry {
  readonly status: number;
  readonly message: string;
  readonly title: string;
}

export const errorCatalogue = {
  VALIDATION_FAILED: { status: 400, title: "Validation failed", message: "The request is not valid." },
  WEBHOOK_SIGNATURE_INVALID: { status: 400, title: "Webhook signature invalid", message: "The webhook signature could not be verified." },
  UNAUTHENTICATED: { status: 401, title: "Unauthenticated", message: "Authentication is required." },
  INVALID_CREDENTIALS: { status: 401, title: "Invalid credentials", message: "The email or password is incorrect." },
  TOKEN_EXPIRED: { status: 401, title: "Token expired", message: "The token has expired." },
  TOKEN_REVOKED: { status: 401, title: "Token revoked", message: "The token has been revoked." },
  REFRESH_TOKEN_REUSED: { status: 401, title: "Refresh token reused", message: "The refresh token was already used; the session has been ended." },
  INVALID_MFA_CODE: { status: 401, title: "Invalid MFA code", message: "The verification code is incorrect." },
  FORBIDDEN: { status: 403, title: "Forbidden", message: "You do not have permission to do this." },
  EMAIL_NOT_VERIFIED: { status: 403, title: "Email not verified", message: "Verify the email address of this account before logging in." },
  NOT_FOUND: { status: 404, title: "Not found", message: "The resource was not found." },
  REQUEST_TIMEOUT: { status: 408, title: "Request timeout", message: "The request did not arrive in time." },
  CONFLICT: { status: 409, title: "Conflict", message: "The request conflicts with the current state." },
  EMAIL_TAKEN: { status: 409, title: "Email taken", message: "An account with this email already exists." },
  IDEMPOTENCY_IN_FLIGHT: { status: 409, title: "Idempotent request in flight", message: "A request with this idempotency key is still being processed." },
  PAYLOAD_TOO_LARGE: { status: 413, title: "Payload too large", message: "The request body is too large." },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: "Unsupported media type", message: "The content type is not supported." },
  UNSUPPORTED_FILE_TYPE: { status: 415, title: "Unsupported file type", message: "The file type is not allowed." },
  IDEMPOTENCY_KEY_REUSED: { status: 422, title: "Idempotency key reused", message: "The idempotency key was used with a different request." },
  ACCOUNT_LOCKED: { status: 423, title: "Account locked", message: "The account is temporarily locked." },
  MFA_LOCKED: { status: 423, title: "Second factor locked", message: "Too many wrong verification codes; try again later." },
  RATE_LIMITED: { status: 429, title: "Rate limited", message: "Too many requests; try again later." },
  QUOTA_EXCEEDED: { status: 429, title: "Quota exceeded", message: "The usage quota is exhausted." },
  HEADERS_TOO_LARGE: { status: 431, title: "Request headers too large", message: "The request headers are too large." },
  INTERNAL_ERROR: { status: 500, title: "Internal error", message: "An unexpected error occurred." },
  SERVICE_UNAVAILABLE: { status: 503, title: "Service unavailable", message: "The service is temporarily unavailable." },
} as const satisfies Record<string, CatalogueEntry>;

export type ErrorCode = keyof typeof errorCatalogue;

export const errorCodes = Object.keys(errorCatalogue) as ErrorCode[];

/** Stable problem type URI (RFC 9457 §3.1.1) for a code; the docs anchor is the lower-cased code. */
export function problemType(code: ErrorCode): string {
  return `urn:rampart:error:${code.toLowerCase()}`;
}

/** Anchor of the code's entry in docs/errors.md. */
export function docsAnchor(code: ErrorCode): string {
  return `docs/errors.md#${code.toLowerCase()}`;
}
