/**
 * Run-time checks shared by the audit-log adapters, so both refuse the same malformed input the
 * same way (TypeError / RangeError: programming errors, never expected outcomes).
 */
import { AUDIT_ACTIONS, type AuditEvent } from "../ports/audit";

/** One day in milliseconds. */
export const DAY_MS = 86_400_000;

/** Largest page `listForActor` returns. */
export const MAX_AUDIT_LIST_LIMIT = 1000;

const OUTCOMES = new Set(["success", "failure", "error"]);
const ACTIONS = new Set<string>(AUDIT_ACTIONS);
const ID = /^aud_[A-Za-z0-9_-]{22,86}$/;

const nullableString = (v: unknown) => v === null || (typeof v === "string" && v.length <= 256);

/**
 * Checks an event's shape before it is stored: id `aud_…`, a finite `atMs`, a known action and
 * outcome, and strings (≤ 256 chars) or `null` elsewhere — so no object (e.g. a `{"$ne": …}`)
 * reaches a query or document.
 * @throws TypeError naming the first bad field.
 */
export function assertAuditEvent(event: AuditEvent): void {
  const e = event as unknown as Record<string, unknown>;
  if (typeof e.id !== "string" || !ID.test(e.id)) throw new TypeError("audit event id must be aud_…");
  if (typeof e.atMs !== "number" || !Number.isFinite(e.atMs))
    throw new TypeError("audit atMs must be a number");
  if (typeof e.action !== "string" || !ACTIONS.has(e.action)) throw new TypeError("unknown audit action");
  if (typeof e.outcome !== "string" || !OUTCOMES.has(e.outcome)) throw new TypeError("unknown audit outcome");
  for (const field of ["kind", "actor", "client", "code", "requestId"] as const) {
    if (!nullableString(e[field])) throw new TypeError(`audit ${field} must be a short string or null`);
  }
  if (e.count !== undefined && !(Number.isSafeInteger(e.count) && (e.count as number) >= 1))
    throw new TypeError("audit count must be a positive integer");
}

/** @throws RangeError unless `limit` is an integer from 1 to {@link MAX_AUDIT_LIST_LIMIT}. */
export function assertListLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_AUDIT_LIST_LIMIT) {
    throw new RangeError(`limit must be an integer from 1 to ${MAX_AUDIT_LIST_LIMIT}`);
  }
}
