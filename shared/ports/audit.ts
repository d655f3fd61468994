/**
 * The audit log port: an append-only record of security-relevant actions (who, what, when,
 * outcome, from where), kept for a retention period (`AUDIT_RETENTION_DAYS`). Adapters: embedded
 * SQLite (`shared/adapters/sqlite-audit-log.ts`, a table beside the users) and MongoDB
 * (`shared/adapters/mongo-audit-log.ts`, a collection with a TTL index on the event time). Both pass
 * `test/contract/audit-log.contract.ts`.
 *
 * Events carry no personal data: the actor is a user id or the email's keyed blind index, the client
 * address is truncated (IPv4 /24, IPv6 /48), and no free text is stored (OWASP Logging Cheat Sheet,
 * "which events to log" and "data to exclude").
 */

/** What happened. One name per security-relevant action of the service. */
export type AuditAction =
  | "register"
  | "verify_email"
  | "login"
  | "logout"
  | "logout_all"
  | "token_refresh"
  | "refresh_reuse_detected"
  | "password_reset_request"
  | "password_reset"
  | "password_change"
  | "otp_send"
  | "otp_verify"
  | "mfa_change"
  | "mfa_challenge"
  | "mfa_verify"
  | "profile_update"
  | "account_delete"
  | "rate_limited"
  | "signature_rejected"
  | "account_purge";

/** Every {@link AuditAction}, for validation and documentation. */
export const AUDIT_ACTIONS: readonly AuditAction[] = [
  "register",
  "verify_email",
  "login",
  "logout",
  "logout_all",
  "token_refresh",
  "refresh_reuse_detected",
  "password_reset_request",
  "password_reset",
  "password_change",
  "otp_send",
  "otp_verify",
  "mfa_change",
  "mfa_challenge",
  "mfa_verify",
  "profile_update",
  "account_delete",
  "rate_limited",
  "signature_rejected",
  "account_purge",
];

/** How it ended: `success` (2xx), `failure` (refused: 4xx, a detection), `error` (the service failed: 5xx). */
export type AuditOutcome = "success" | "failure" | "error";

/** One stored audit event. Times are epoch milliseconds. */
export interface AuditEvent {
  /** `aud_` + 128 random bits, base64url. Unique. */
  id: string;
  /** When it happened, epoch milliseconds. */
  atMs: number;
  /** User kind (`User1`), or `null` outside the account routes (e.g. a QStash callback). */
  kind: string | null;
  action: AuditAction;
  outcome: AuditOutcome;
  /**
   * Who: a user id (`usr_…`), or `eidx_` + the email's blind index when only the address typed is
   * known (login, register, forgot password), or `null` when nobody can be named.
   */
  actor: string | null;
  /** Client network: `203.0.113.0/24` or `2001:db8:1::/48`; `null` when the platform gave none. */
  client: string | null;
  /**
   * Machine-readable reason: the problem `code` of a refused request (`invalid_credentials`), the
   * policy that refused a rate-limited one (`login`, `global`), or `null`.
   */
  code: string | null;
  /** The request id (`X-Request-Id`) to correlate with the logs, or `null`. */
  requestId: string | null;
  /**
   * How many occurrences this event stands for: set (≥ 2) only on an aggregated event
   * ({@link AuditLog.recordAggregated}) that counted more than one; absent means one. An aggregated
   * event's `atMs` is the start of its window and its `requestId` that of its first occurrence.
   */
  count?: number;
}

/**
 * Narrow persistence port of the audit trail. Methods throw only on infrastructure faults; callers
 * that must not fail because of auditing go through `shared/observability/audit.ts`, which logs and
 * swallows a failed write.
 */
export interface AuditLog {
  /** Appends one event. Idempotent per `id` (a second write of the same id is ignored). */
  record(event: AuditEvent): Promise<void>;
  /**
   * Counts one more occurrence of an aggregated event: stores `event` with count `event.count ?? 1`
   * when its `id` is new, else adds `event.count ?? 1` to the stored event's count (its other fields
   * stay those of the first write). Atomic under concurrent writers of the same id. Used for events
   * that would otherwise flood the trail, e.g. rejected QStash signatures: one row per client
   * network per minute.
   */
  recordAggregated(event: AuditEvent): Promise<void>;
  /**
   * The newest `limit` events (1–1000) of one actor of one kind, newest first (a user's data export
   * asks for both its user id and its `eidx_` blind index).
   * @throws RangeError when `limit` is not an integer from 1 to 1000.
   */
  listForActor(kind: string, actor: string, limit: number): Promise<AuditEvent[]>;
  /** Deletes every event older than `epochMs` (strictly before it); returns how many were removed. */
  purgeOlderThan(epochMs: number): Promise<number>;
  /** Releases connections/file handles (tests, dev server shutdown). */
  close(): Promise<void>;
}
