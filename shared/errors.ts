/**
 * The one error hierarchy of the service. Every expected failure is an {@link AuthError} with a
 * stable, machine-readable `code` (snake_case, never renamed once published) and the HTTP status
 * it maps to. The HTTP layer turns it into an RFC 9457 problem+json body; anything that is not an
 * `AuthError` becomes a generic 500 whose cause goes to the log only.
 *
 * Modelled on jose's `JOSEError` (`code`) and Hono's `HTTPException` (`status`).
 */
export class AuthError extends Error {
  /** Stable snake_case identifier, e.g. `invalid_credentials`. Part of the public API. */
  readonly code: string;
  /** HTTP status code this error maps to (4xx for client faults, 5xx for dependency faults). */
  readonly status: number;
  /** Extra, client-safe members for the problem body (e.g. `errors` for validation). */
  readonly extensions: Record<string, unknown>;
  /** Extra response headers (e.g. `WWW-Authenticate`, `Retry-After`). */
  readonly headers: Record<string, string>;

  constructor(
    code: string,
    status: number,
    detail: string,
    options: { cause?: unknown; extensions?: Record<string, unknown>; headers?: Record<string, string> } = {},
  ) {
    super(detail, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "AuthError";
    this.code = code;
    this.status = status;
    this.extensions = options.extensions ?? {};
    this.headers = options.headers ?? {};
  }
}

/**
 * Any failure to decrypt, unwrap or verify protected data. Deliberately opaque: the message never
 * says which check failed (tag, AAD, key id, format), so it cannot serve as an oracle. Maps to 500
 * when it escapes to HTTP, because it means stored data or keys are wrong, not the request.
 */
export class CryptoError extends AuthError {
  constructor(cause?: unknown) {
    super("decryption_failed", 500, "Protected data could not be decrypted or verified", { cause });
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
