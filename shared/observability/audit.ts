/**
 * Recording audit events (OWASP Logging Cheat Sheet, "which events to log"): the one entry point
 * code uses, whatever the store. It builds the event (id, time, truncated client address), writes
 * it through the {@link AuditLog} port, counts it in the cross-instance metrics
 * (`auth_events_total{event,kind}`), and NEVER fails the caller's request because of auditing.
 *
 * Where events come from:
 * - account routes: one generic place, the account function kit (`shared/http/account-function.ts`),
 *   records `{action: the endpoint spec's audit action, outcome: from the status}` for every
 *   request of an audited function;
 * - what the HTTP layer cannot see: refresh-token reuse (`shared/accounts/refresh.ts`), a
 *   rate-limit refusal (the `onRefused` hook of `shared/http/rate-limit.ts`), a rejected QStash
 *   signature (`shared/notifications/consume.ts`).
 *
 * Not audited: reading one's own profile (the hot authenticated read path; it changes nothing) and
 * opening the reset form page (the reset itself is audited).
 */

import { settleWithin } from "../async";
import { hashOpaqueToken, randomId } from "../crypto/random";
import type { AuditAction, AuditEvent, AuditLog, AuditOutcome } from "../ports/audit";
import { eventSeries } from "./http-metrics";
import { errorFields, type Logger } from "./logger";
import type { Metrics } from "./metrics";

export { settleWithin };

/** What a caller knows about an event; the recorder adds id, time and the truncated address. */
export interface AuditInput {
  /** User kind, or `null` outside the account routes. */
  kind: string | null;
  action: AuditAction;
  outcome: AuditOutcome;
  /** `usr_…` user id, `eidx_<blind index>`, or `null`/absent when unknown. */
  actor?: string | null;
  /** The client address as the platform reported it; truncated here ({@link truncateClientAddress}), never stored whole. */
  clientAddress?: string | null;
  /** Problem code or refusing policy (see {@link AuditEvent.code}). */
  code?: string | null;
  requestId?: string | null;
}

/** Records audit events; see the file comment. */
export interface AuditRecorder {
  /**
   * Writes the event and counts it. Resolves when both are done or after the recorder's wait bound
   * (the write then finishes in the background); NEVER rejects: a failed write is logged (warn) and
   * the event is lost.
   */
  record(input: AuditInput): Promise<void>;
  /**
   * Counts one occurrence in the aggregated event of its window: ONE stored event per (action,
   * kind, client network, code) and window of `windowSeconds` (aligned to the epoch), whose
   * `count` is the number of occurrences ({@link AuditLog.recordAggregated}). For detections a
   * client can repeat at will (a rejected QStash signature), so a flood adds to one row instead of
   * writing one row per request. Metrics still count every occurrence. Same guarantees as
   * {@link AuditRecorder.record}: bounded wait, NEVER rejects.
   */
  recordAggregated(input: AuditInput & { windowSeconds: number }): Promise<void>;
}

/** Options of {@link createAuditRecorder}. */
export interface AuditRecorderOptions {
  /** The store port, resolved on first use. */
  auditLog: () => Promise<AuditLog>;
  /** Cross-instance counters; events are not counted without it. */
  metrics?: Metrics;
  log: Logger;
  /** Longest `record` waits for the write, milliseconds. @default 1000 */
  waitMs?: number;
  /** Current time, epoch milliseconds. @default Date.now */
  nowMs?: () => number;
}

/** Actions whose outcome is always `failure` (detections and refusals): their event name is the action alone. */
const DETECTIONS = new Set<AuditAction>(["rate_limited", "signature_rejected", "refresh_reuse_detected"]);

/** The metric event name: `login_failure`, `register_success`, … and `rate_limited` for detections. */
export function auditEventName(action: AuditAction, outcome: AuditOutcome): string {
  return DETECTIONS.has(action) ? action : `${action}_${outcome}`;
}

/** `success` for 1xx–3xx, `failure` for 4xx, `error` for 5xx. */
export function outcomeOfStatus(status: number): AuditOutcome {
  return status >= 500 ? "error" : status >= 400 ? "failure" : "success";
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/**
 * The network of a client address, so the audit trail can tell networks apart without storing
 * the address itself: IPv4 by /24 (`203.0.113.7` → `203.0.113.0/24`), IPv6 by /48
 * (`2001:db8:1:2::7` → `2001:db8:1::/48`, one site). IPv4-mapped IPv6 is treated as IPv4.
 * @returns `null` for `"unknown"` or anything that is not an IP literal.
 */
export function truncateClientAddress(ip: string | null | undefined): string | null {
  if (!ip) return null;
  const bare = ip
    .replace(/^\[|\]$/g, "")
    .replace(/%.*$/, "")
    .replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, "$1");
  const v4 = IPV4.exec(bare);
  if (v4) {
    const octets = v4.slice(1, 5).map(Number);
    if (octets.some((o) => o > 255)) return null;
    return `${octets[0]}.${octets[1]}.${octets[2]}.0/24`;
  }
  if (!bare.includes(":") || !/^[0-9a-fA-F:]+$/.test(bare) || bare.split("::").length > 2) return null;
  const [head = "", tail = ""] = bare.split("::");
  const left = head.split(":").filter((g) => g !== "");
  const right = tail.split(":").filter((g) => g !== "");
  if (left.length + right.length > 8 || [...left, ...right].some((g) => g.length > 4)) return null;
  const groups = [...left, ...Array(8 - left.length - right.length).fill("0"), ...right];
  const prefix = groups.slice(0, 3).map((g) => Number.parseInt(g, 16).toString(16));
  return `${prefix.join(":")}::/48`;
}

/** Builds the {@link AuditRecorder} (see the file comment). */
export function createAuditRecorder(options: AuditRecorderOptions): AuditRecorder {
  const { log } = options;
  const now = options.nowMs ?? Date.now;
  const waitMs = options.waitMs ?? 1000;
  const write = async (event: AuditEvent, aggregated: boolean) => {
    const fields = {
      request_id: event.requestId,
      action: event.action,
      outcome: event.outcome,
      kind: event.kind,
      code: event.code,
    };
    const written = options
      .auditLog()
      .then((auditLog) => (aggregated ? auditLog.recordAggregated(event) : auditLog.record(event)))
      .then(
        () => log.debug("audit event recorded", { event: "audit", ...fields }),
        // The ONE place an audit failure is swallowed: losing this event (logged, so an outage is
        // visible) beats failing the user's request, which has already happened or been refused.
        (err: unknown) =>
          log.warn("audit write failed; event lost", {
            event: "audit_write_failed",
            ...fields,
            ...errorFields(err),
          }),
      );
    const counted = options.metrics?.add(
      { [eventSeries(auditEventName(event.action, event.outcome), event.kind)]: 1 },
      now(),
    );
    if (!(await settleWithin(Promise.all([written, counted]), waitMs))) {
      log.warn("audit write still running; not waiting longer", { event: "audit_write_slow", ...fields });
    }
  };
  return {
    async recordAggregated(input) {
      const windowMs = input.windowSeconds * 1000;
      const startMs = Math.floor(now() / windowMs) * windowMs;
      const client = truncateClientAddress(input.clientAddress);
      const identity = [input.action, input.kind, client, input.code ?? null, windowMs, startMs];
      await write(
        {
          // Deterministic: every occurrence of the window names the same stored event.
          id: `aud_${hashOpaqueToken(JSON.stringify(identity))}`,
          atMs: startMs,
          kind: input.kind,
          action: input.action,
          outcome: input.outcome,
          actor: input.actor ?? null,
          client,
          code: input.code ?? null,
          requestId: input.requestId ?? null,
        },
        true,
      );
    },
    async record(input) {
      const event: AuditEvent = {
        id: randomId("aud"),
        atMs: now(),
        kind: input.kind,
        action: input.action,
        outcome: input.outcome,
        actor: input.actor ?? null,
        client: truncateClientAddress(input.clientAddress),
        code: input.code ?? null,
        requestId: input.requestId ?? null,
      };
      await write(event, false);
    },
  };
}
