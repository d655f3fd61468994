/**
 * The metric families this service exposes at `/metrics`, and the per-request HTTP counter.
 *
 * How a request is counted without adding a Redis round trip after its response is known: the
 * increment is STARTED when the request starts, optimistically under `status_class="2xx"`, so its
 * HTTP request to Redis runs in parallel with the request's own work instead of after it; when
 * the request ends with another class, one correction moves it (2xx −1, real class
 * +1, same minute bucket). The app awaits both before returning the response, because on Lambda
 * work still running after the response may be frozen and never finish. A success therefore costs
 * no sequential round trip; an error costs one. Consequences, documented in the README: a request
 * still in flight shows as 2xx for its duration, and one killed by a platform timeout (which this
 * code never sees end) stays counted as 2xx.
 */
import { type Metrics, seriesKey, statusClass } from "./metrics";

/** HTTP responses, by route pattern, method and status class. */
export const HTTP_REQUESTS_METRIC = "auth_http_requests_total";
/** Audit events, by event (`login_failure`, `rate_limited`, …) and user kind. */
export const EVENTS_METRIC = "auth_events_total";
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

/** A request being counted. */
export interface RequestCount {
  /** Settles the count with the final status (never rejects). */
  finish(status: number): Promise<void>;
}

/**
 * Starts counting one request now (see the file comment): the 2xx increment is issued at once and
 * not awaited here; {@link RequestCount.finish} awaits it and, for a non-2xx status, applies the
 * correction in the same bucket (or only the real class when the first write failed).
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
      await metrics.add(counted ? { [success]: -1, [actual]: 1 } : { [actual]: 1 }, nowMs);
    },
  };
}
