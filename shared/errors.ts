/**
 * The one error hierarchy of the service and its catalogue of problem codes.
 *
 * Every expected failure is an {@link AuthError} whose `code` is a key of {@link ERRORS}: the
 * catalogue gives each code its HTTP status, default detail and, for 401s, its bearer challenge
 * (RFC 6750 §3). Codes are snake_case and never renamed once published; clients switch on them.
 * The HTTP layer turns an `AuthError` into an RFC 9457 problem+json body; anything else becomes a
 * generic 500 whose cause goes to the log only. Modelled on better-auth's `BASE_ERROR_CODES` table
 * and jose's `JOSEError.code`.
 *
 * Pure data and classes: no HTTP framework, no I/O. Crypto and use-cases throw by code; only the
 * catalogue knows what status a code maps to.
 */

/** Parameters of a `WWW-Authenticate: Bearer …` challenge (RFC 6750 §3). */
export interface BearerChallenge {
  realm?: string;
  /** RFC 6750 §3.1 error code, e.g. `invalid_token`. */
  error?: string;
  description?: string;
}

/** One catalogue entry: the status a code answers with, its default detail, its challenge. */
export interface ErrorEntry {
  status: number;
  detail: string;
  /** The `WWW-Authenticate` challenge of a 401. */
  challenge?: BearerChallenge;
}

/**
 * Every problem `code` the service can answer, in one table (status, default detail, challenge).
 * The OpenAPI document lists, per route, the codes it may answer from this table.
 */
export const ERRORS = {
  // Request shape (shared/http)
  bad_request: { status: 400, detail: "Bad request" },
  malformed_body: { status: 400, detail: "The request body could not be parsed" },
  not_found: { status: 404, detail: "No such route" },
  method_not_allowed: { status: 405, detail: "This method is not allowed on this path" },
  not_acceptable: { status: 406, detail: "This resource has no representation of the requested media type" },
  payload_too_large: { status: 413, detail: "The request body is too large" },
  unsupported_media_type: { status: 415, detail: "Unsupported Content-Type" },
  validation_failed: { status: 422, detail: "The request is invalid" },
  cross_site_request: { status: 403, detail: "Cross-site form submissions are not accepted" },
  rate_limited: { status: 429, detail: "Too many requests" },
  // Credentials and sessions
  unauthorized: {
    status: 401,
    detail: "A valid bearer access token is required",
    challenge: { realm: "api" },
  },
  invalid_token: {
    status: 401,
    detail: "The access token is invalid or expired",
    challenge: { error: "invalid_token" },
  },
  token_revoked: {
    status: 401,
    detail: "The access token has been revoked",
    challenge: { error: "invalid_token", description: "revoked" },
  },
  invalid_credentials: {
    status: 401,
    detail: "Incorrect username or password",
    challenge: { realm: "api" },
  },
  invalid_grant: {
    status: 401,
    detail: "The refresh token is invalid, expired or revoked",
    challenge: { realm: "api", error: "invalid_token" },
  },
  unsupported_grant_type: { status: 400, detail: "Only grant_type=refresh_token is supported here" },
  incorrect_password: { status: 403, detail: "The current password is incorrect" },
  email_not_verified: { status: 403, detail: "Verify your email address before logging in" },
  too_many_attempts: { status: 429, detail: "Too many failed attempts; try again later" },
  conflict: { status: 409, detail: "The resource was changed by a concurrent request; retry" },
  // Second factor (DESIGN.md §10)
  mfa_required: {
    status: 403,
    detail: "A second factor is required: send mfa_token with a code to POST /{kind}/mfa/verify",
  },
  invalid_mfa_token: {
    status: 401,
    detail: "The MFA token is invalid, used or expired; log in again",
    challenge: { realm: "api" },
  },
  invalid_mfa_code: { status: 400, detail: "The code is invalid, expired or already used" },
  mfa_method_not_enrolled: { status: 422, detail: "This second-factor method is not enrolled" },
  mfa_not_enabled: { status: 409, detail: "No second factor is enrolled" },
  mfa_already_enabled: { status: 409, detail: "This second factor is already enabled" },
  mfa_setup_required: {
    status: 409,
    detail: "No pending authenticator setup: start with POST /{kind}/mfa/totp/setup",
  },
  phone_not_verified: { status: 409, detail: "Verify a phone number before using it for SMS codes" },
  // Input values
  invalid_email: { status: 422, detail: "The email address is not valid" },
  invalid_password: { status: 422, detail: "The password must not be empty" },
  password_too_long: { status: 422, detail: "The password is too long" },
  weak_password: { status: 422, detail: "The password is too weak" },
  // Emailed links and SMS codes
  invalid_or_expired_token: { status: 400, detail: "This link is invalid or has expired" },
  invalid_otp: { status: 400, detail: "The code is invalid or has expired; request a new one" },
  otp_cooldown: { status: 429, detail: "A code was sent recently; wait before asking for another" },
  otp_daily_limit: { status: 429, detail: "Too many codes were sent to this number today" },
  // SMS destination rules and budgets (shared/accounts/sms-guard.ts)
  sms_country_not_allowed: { status: 422, detail: "Text messages cannot be sent to numbers of this country" },
  sms_number_type_not_allowed: {
    status: 422,
    detail: "Text messages can only be sent to mobile numbers",
  },
  sms_account_daily_limit: { status: 429, detail: "This account has been sent too many text messages today" },
  sms_number_account_daily_limit: {
    status: 429,
    detail: "This account has been sent too many text messages to this number today",
  },
  sms_budget_exhausted: { status: 503, detail: "Text messages are paused for a while; try again later" },
  // Background deliveries (answers to QStash)
  invalid_signature: { status: 401, detail: "The Upstash-Signature is missing or invalid" },
  delivery_in_progress: { status: 503, detail: "This message is being delivered by another attempt" },
  provider_unavailable: { status: 503, detail: "The provider is unavailable; retry later" },
  delivery_failed: { status: 500, detail: "The delivery failed; retry later" },
  // Scheduled jobs (answers to QStash)
  job_in_progress: { status: 503, detail: "Another delivery of this job run is working; retry later" },
  job_failed: { status: 500, detail: "The job part failed; a retry resumes from its saved progress" },
  // Dependencies and faults
  service_unavailable: { status: 503, detail: "A required service is unavailable; try again shortly" },
  queue_unavailable: { status: 503, detail: "The message queue is unavailable" },
  decryption_failed: { status: 500, detail: "Protected data could not be decrypted or verified" },
  internal_error: { status: 500, detail: "An unexpected error occurred" },
} as const satisfies Record<string, ErrorEntry>;

/** A problem code of the catalogue, e.g. `"invalid_credentials"`. */
export type ErrorCode = keyof typeof ERRORS;

/**
 * What sending an SMS code can be refused with (the SMS guard, `shared/accounts/sms-guard.ts`):
 * destination rules (422), the cool-down and the daily caps (429), the hourly budget (503), and the
 * queue being down. Every route that sends one lists them in its spec.
 */
export const SMS_SEND_CODES = [
  "sms_country_not_allowed",
  "sms_number_type_not_allowed",
  "otp_cooldown",
  "sms_account_daily_limit",
  "sms_number_account_daily_limit",
  "otp_daily_limit",
  "sms_budget_exhausted",
  "queue_unavailable",
] as const satisfies readonly ErrorCode[];

/** Whether `code` is a catalogue code (e.g. to check a code read from a response). */
export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERRORS, code);
}

/**
 * Formats a bearer challenge (RFC 6750 §3): `Bearer realm="api", error="invalid_token", …`.
 * The one place `WWW-Authenticate` values are written.
 */
export function bearerChallenge(challenge: BearerChallenge): string {
  const params = [
    ...(challenge.realm ? [`realm="${challenge.realm}"`] : []),
    ...(challenge.error ? [`error="${challenge.error}"`] : []),
    ...(challenge.description ? [`error_description="${challenge.description}"`] : []),
  ];
  return params.length > 0 ? `Bearer ${params.join(", ")}` : "Bearer";
}

/** Options of an {@link AuthError} beyond its code. */
export interface AuthErrorOptions {
  /** Replaces the catalogue's default detail (client-safe text only: never echo input or internals). */
  detail?: string;
  /** The underlying fault, for the log only. */
  cause?: unknown;
  /** Extra, client-safe members of the problem body (e.g. `errors` for validation). */
  extensions?: Record<string, unknown>;
  /** Extra response headers (e.g. `Allow`, `RateLimit-*`). */
  headers?: Record<string, string>;
  /** Seconds the client should wait: sent as `Retry-After` (RFC 9110 §10.2.3). */
  retryAfterSeconds?: number;
  /** Replaces the catalogue challenge's realm (e.g. `operations` for operator endpoints). */
  realm?: string;
}

/**
 * An expected failure with a catalogue `code`. Its HTTP status, default detail and 401 challenge
 * come from {@link ERRORS}, so no call site picks a status by hand.
 */
export class AuthError extends Error {
  /** Stable snake_case identifier from {@link ERRORS}. Part of the public API. */
  readonly code: ErrorCode;
  /** HTTP status code this error maps to (from the catalogue). */
  readonly status: number;
  /** Extra, client-safe members for the problem body (e.g. `errors` for validation). */
  readonly extensions: Record<string, unknown>;
  /** Response headers: the catalogue's `WWW-Authenticate`, `Retry-After`, and any given. */
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode, options: AuthErrorOptions = {}) {
    const entry: ErrorEntry = ERRORS[code];
    super(options.detail ?? entry.detail, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "AuthError";
    this.code = code;
    this.status = entry.status;
    this.extensions = options.extensions ?? {};
    const headers: Record<string, string> = {};
    if (entry.challenge) {
      headers["WWW-Authenticate"] = bearerChallenge({
        ...entry.challenge,
        ...(options.realm ? { realm: options.realm } : {}),
      });
    }
    if (options.retryAfterSeconds !== undefined) headers["Retry-After"] = String(options.retryAfterSeconds);
    this.headers = { ...headers, ...options.headers };
  }
}

/**
 * Any failure to decrypt, unwrap or verify protected data. Deliberately opaque: the message never
 * says which check failed (tag, AAD, key id, format), so it cannot serve as an oracle. Maps to 500
 * when it escapes to HTTP, because it means stored data or keys are wrong, not the request.
 */
export class CryptoError extends AuthError {
  constructor(cause?: unknown) {
    super("decryption_failed", { cause });
    this.name = "CryptoError";
  }
}

/** Thrown by configuration parsing; its message names every offending variable. */
export class ConfigError extends Error {
  /** One entry per offending variable: `NAME: what it expects`. */
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
    this.problems = problems;
  }
}

/** A 422 `validation_failed` naming one field, in the shape schema validation uses. */
export function invalidField(field: string, message: string, code: string): AuthError {
  return new AuthError("validation_failed", { extensions: { errors: [{ field, message, code }] } });
}
