/**
 * The metric families this service exposes at `/metrics`, and the per-request HTTP counter.
 *
 * How a request is counted (counts are buffered per instance and flushed at most every few
 * seconds: `metrics.ts`): when the request starts it is added, optimistically under
 * `status_class="2xx"`, and if the instance's flush is due, the flush starts then, so its one HTTP
 * request runs beside the request's own work instead of after it; when the request ends with
 * another class, a correction is recorded in memory only (2xx −1, real class +1, same minute
 * bucket), never a write after the response is known. The app awaits the started flush before
 * returning the response, because on Lambda work still running after the response may be frozen
 * and never finish. A request costs no Redis command of its own; one request every few seconds
 * carries the instance's flush. Consequences, documented in the README: a request in flight when a
 * flush runs shows as 2xx until the next one, and one killed by a platform timeout (which this
 * code never sees end) stays counted as 2xx if a flush carried its start.
 */
import { type Metrics, seriesKey, statusClass } from "./metrics";

/** HTTP responses, by route pattern, method and status class. */
export const HTTP_REQUESTS_METRIC = "auth_http_requests_total";
/** Audit events, by event (`login_failure`, `rate_limited`, …) and user kind. */
export const EVENTS_METRIC = "auth_events_total";
/** SMS the SMS guard refused, by refusal code and user kind (`shared/accounts/sms-guard.ts`). */
export const SMS_REFUSALS_METRIC = "auth_sms_refusals_total";
/** The window the sums cover, seconds. */
export const WINDOW_METRIC = "auth_metrics_window_seconds";

/** `# HELP`/`# TYPE` of every family `/metrics` renders, in exposition order. */
export function metricFamilies(windowMinutes: number) {
  const over = `over the last ${windowMinutes} minutes, summed across all instances`;
  // Typed gauge, not counter: a sum over a sliding window goes down as old minutes leave it, and
  // Prometheus' rate() would misread that as counter resets. Read the values as they are.
  return {
    [HTTP_REQUESTS_METRIC]: {
      help: `HTTP requests ${over}, by route pattern, method and status class.`,
      type: "gauge" as const,
    },
    [EVENTS_METRIC]: {
      help: `Security-relevant events (the audit trail's actions and outcomes) ${over}, by event and user kind.`,
      type: "gauge" as const,
    },
    [SMS_REFUSALS_METRIC]: {
      help: `SMS sends refused by the destination rules and budgets ${over}, by problem code and user kind.`,
      type: "gauge" as const,
    },
    [WINDOW_METRIC]: {
      help: "Length of the window the other values are summed over, in seconds.",
      type: "gauge" as const,
    },
  };
}

const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/** The series of one HTTP request. `route` is the route PATTERN (bounded cardinality), never the raw path. */
export function httpRequestSeries(route: string, method: string, status: string): string {
  const m = method.toUpperCase();
  return seriesKey(HTTP_REQUESTS_METRIC, {
    route,
    method: METHODS.has(m) ? m : "OTHER",
    status_class: status,
  });
}

/** The series of one audit event. */
export function eventSeries(event: string, kind: string | null): string {
  return seriesKey(EVENTS_METRIC, { event, kind: kind ?? "none" });
}

/** The series of one refused SMS: `code` is the problem code (`sms_country_not_allowed`, `otp_daily_limit`, …). */
export function smsRefusalSeries(code: string, kind: string): string {
  return seriesKey(SMS_REFUSALS_METRIC, { code, kind });
}

/** A request being counted. */
export interface RequestCount {
  /** Settles the count with the final status (never rejects). */
  finish(status: number): Promise<void>;
}

/**
 * Starts counting one request now (see the file comment): the 2xx increment is added at once (and
 * the instance's flush started if due, not awaited here); {@link RequestCount.finish} awaits that
 * flush and, for a non-2xx status, records the correction in memory in the same bucket (or only
 * the real class when the flush carrying the increment failed and dropped it).
 */
export function countRequest(
  metrics: Metrics,
  route: string,
  method: string,
  nowMs = Date.now(),
): RequestCount {
  const success = httpRequestSeries(route, method, "2xx");
  const started = metrics.add({ [success]: 1 }, nowMs);
  return {
    async finish(status) {
      const cls = statusClass(status);
      const counted = await started;
      if (cls === "2xx") return;
      const actual = httpRequestSeries(route, method, cls);
      metrics.record(counted ? { [success]: -1, [actual]: 1 } : { [actual]: 1 }, nowMs);
    },
  };
}
