/**
 * Counters shared by every instance: one Redis hash per minute (`metrics:<epochMinute>`), one field
 * per series (`auth_http_requests_total{route="/User1/login",method="POST",status_class="4xx"}`),
 * incremented with HINCRBY and expiring a few hours after its minute. Any instance can sum the last
 * N buckets, so a scrape of one Lambda sees the traffic of all of them (a per-process counter would
 * see one instance and reset at every cold start: STYLE anti-pattern 3).
 *
 * Round trips: the increments of one call are issued in one tick, so `@upstash/redis`
 * auto-pipelining sends them (and any other write of that tick) as ONE HTTP request; reading is one
 * explicit pipeline of HGETALLs. Runtime-neutral (Web APIs and the REST client only).
 */
import type { Redis } from "@upstash/redis";
import { errorFields, type Logger } from "./logger";

/** Length of one bucket, milliseconds. */
export const METRICS_BUCKET_MS = 60_000;
/** How long a bucket lives after its last write, seconds (3 hours): the longest window that can be read. */
export const METRICS_BUCKET_TTL_SECONDS = 3 * 3600;
/** The window `/metrics` sums when none is asked for, minutes. */
export const DEFAULT_METRICS_WINDOW_MINUTES = 60;
/** The longest readable window, minutes (buckets expire after {@link METRICS_BUCKET_TTL_SECONDS}). */
export const MAX_METRICS_WINDOW_MINUTES = 180;

/** Series name → amount to add (may be negative). */
export type MetricDeltas = Record<string, number>;

/** Cross-instance counters. */
export interface Metrics {
  /**
   * Adds the deltas to the bucket of `atMs` (default now) in one auto-pipelined write. Never
   * rejects: resolves `true` when Redis applied them, `false` when it could not (logged, at most
   * one warning per minute, since during an outage every request would log it).
   */
  add(deltas: MetricDeltas, atMs?: number): Promise<boolean>;
  /**
   * Sums every series over the last `windowMinutes` buckets, the current one included, across all
   * instances: one pipelined read. Values may briefly include requests still in flight (see
   * `request-metrics.ts`).
   * @throws Error when Redis cannot answer; RangeError for a window outside 1..{@link MAX_METRICS_WINDOW_MINUTES}.
   */
  sum(windowMinutes: number, nowMs?: number): Promise<Map<string, number>>;
}

/** Options of {@link createMetrics}. */
export interface MetricsOptions {
  /** The REST client, resolved on first use (so a function that never counts never builds it). */
  redis: () => Redis;
  /** Key prefix before `<epochMinute>`. @default "metrics:" */
  prefix?: string;
  /** Where a failed write is reported. */
  log?: Logger;
  /** Current time, epoch milliseconds. @default Date.now */
  nowMs?: () => number;
}

/** The bucket (epoch minute) an instant falls into. */
export function bucketOf(epochMs: number): number {
  return Math.floor(epochMs / METRICS_BUCKET_MS);
}

/** Escapes a label value for the Prometheus text format (backslash, double quote, newline). */
export function escapeLabelValue(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * The series identifier, exactly as a Prometheus sample line starts: `name{a="x",b="y"}` (labels in
 * the order given, values escaped). It is also the Redis hash field.
 * @throws TypeError for a metric or label name outside the Prometheus grammar.
 */
export function seriesKey(name: string, labels: Record<string, string> = {}): string {
  if (!METRIC_NAME.test(name)) throw new TypeError(`invalid metric name ${JSON.stringify(name)}`);
  const parts = Object.entries(labels).map(([label, value]) => {
    if (!LABEL_NAME.test(label)) throw new TypeError(`invalid label name ${JSON.stringify(label)}`);
    return `${label}="${escapeLabelValue(value)}"`;
  });
  return parts.length === 0 ? name : `${name}{${parts.join(",")}}`;
}

/** The metric name of a series identifier (the part before `{`). */
export function familyOf(series: string): string {
  const brace = series.indexOf("{");
  return brace === -1 ? series : series.slice(0, brace);
}

/** `2xx`, `4xx`, … for an HTTP status. */
export function statusClass(status: number): string {
  return `${Math.min(5, Math.max(1, Math.floor(status / 100)))}xx`;
}

/** Reads an HGETALL reply in either shape the client returns (object, or flat [field, value, …] without deserialization). */
function hashEntries(reply: unknown): [string, number][] {
  if (reply === null || reply === undefined) return [];
  if (Array.isArray(reply)) {
    const out: [string, number][] = [];
    for (let i = 0; i + 1 < reply.length; i += 2) out.push([String(reply[i]), Number(reply[i + 1])]);
    return out;
  }
  if (typeof reply === "object") {
    return Object.entries(reply as Record<string, unknown>).map(([k, v]) => [k, Number(v)]);
  }
  return [];
}

/**
 * Builds {@link Metrics} over Redis hashes, one per minute, each expiring
 * {@link METRICS_BUCKET_TTL_SECONDS} after its last write.
 */
export function createMetrics(options: MetricsOptions): Metrics {
  const prefix = options.prefix ?? "metrics:";
  const now = options.nowMs ?? Date.now;
  let lastWarnedBucket = -1;

  return {
    async add(deltas, atMs) {
      const entries = Object.entries(deltas).filter(([, n]) => Number.isInteger(n) && n !== 0);
      if (entries.length === 0) return true;
      const bucket = bucketOf(atMs ?? now());
      try {
        const redis = options.redis();
        const key = `${prefix}${bucket}`;
        // Issued in one tick: auto-pipelining sends them as one HTTP request.
        await Promise.all([
          ...entries.map(([series, n]) => redis.hincrby(key, series, n)),
          redis.expire(key, METRICS_BUCKET_TTL_SECONDS),
        ]);
        return true;
      } catch (err) {
        if (bucket !== lastWarnedBucket) {
          lastWarnedBucket = bucket;
          options.log?.warn("metrics write failed (counts of this request are lost)", {
            event: "metrics_unavailable",
            service: "redis",
            ...errorFields(err),
            err_stack: undefined,
          });
        }
        return false;
      }
    },

    async sum(windowMinutes, nowMs) {
      if (
        !Number.isInteger(windowMinutes) ||
        windowMinutes < 1 ||
        windowMinutes > MAX_METRICS_WINDOW_MINUTES
      ) {
        throw new RangeError(`windowMinutes must be an integer from 1 to ${MAX_METRICS_WINDOW_MINUTES}`);
      }
      const current = bucketOf(nowMs ?? now());
      const pipeline = options.redis().pipeline();
      for (let i = 0; i < windowMinutes; i++) pipeline.hgetall(`${prefix}${current - i}`);
      const replies = (await pipeline.exec()) as unknown[];
      const totals = new Map<string, number>();
      for (const reply of replies) {
        for (const [series, value] of hashEntries(reply)) {
          if (Number.isFinite(value)) totals.set(series, (totals.get(series) ?? 0) + value);
        }
      }
      return totals;
    },
  };
}

/** HELP text and TYPE of a metric family in the exposition. */
export interface MetricFamily {
  help: string;
  type: "counter" | "gauge";
}

/** `Content-Type` of the Prometheus text exposition format 0.0.4. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/**
 * Renders totals in the Prometheus text exposition format 0.0.4: for each family in `families`
 * (in that order) a `# HELP` and a `# TYPE` line, then its samples sorted by series. Series of
 * unknown families are left out (a newer deployment may write names this one does not describe).
 * Negative totals (a correction racing an expired bucket) are shown as 0.
 */
export function renderPrometheus(
  totals: Map<string, number>,
  families: Record<string, MetricFamily>,
): string {
  const lines: string[] = [];
  const bySeries = [...totals.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [name, family] of Object.entries(families)) {
    lines.push(`# HELP ${name} ${family.help.replaceAll("\\", "\\\\").replaceAll("\n", "\\n")}`);
    lines.push(`# TYPE ${name} ${family.type}`);
    for (const [series, value] of bySeries) {
      if (familyOf(series) === name) lines.push(`${series} ${Math.max(0, value)}`);
    }
  }
  return `${lines.join("\n")}\n`;
}
