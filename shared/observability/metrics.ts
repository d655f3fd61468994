/**
 * Counters shared by every instance: one Redis hash per minute (`metrics:<epochMinute>`), one field
 * per series (`auth_http_requests_total{route="/User1/login",method="POST",status_class="4xx"}`),
 * incremented with HINCRBY and expiring a few hours after its minute. Any instance can sum the last
 * N buckets, so a scrape of one Lambda sees the traffic of all of them (a per-process counter would
 * see one instance and reset at every cold start: STYLE anti-pattern 3).
 *
 * No Redis write per request (DESIGN.md §6; Upstash bills per command): each instance adds counts
 * into memory, per minute bucket, and FLUSHES them, every series of every pending bucket, in one
 * auto-pipelined batch (HINCRBY per series + EXPIRE per bucket; one HTTP request, shared with any
 * other command of that tick), at most once per `flushIntervalMs` (default 5 s):
 * - when a count is made and the interval has elapsed (`add`, `flushIfDue`): the caller awaits the
 *   returned promise before its response, so on Lambda no flush is left running after the
 *   response (work still running then may be frozen and never finish); no timer is ever armed;
 * - on demand (`flush`), and before every `sum`, so a scrape includes the scraped instance's counts.
 * What this costs in accuracy: another instance's counts reach Redis with its next flush, i.e. up
 * to one interval late while it is busy, and an instance retired by the platform loses what it had
 * not flushed (at most one interval of its own traffic). A failed flush drops its counts (logged),
 * as a failed write did before: retrying a flush whose reply was lost could count twice.
 *
 * Runtime-neutral (Web APIs and the REST client only).
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

/** The longest an instance keeps counts in memory before a count makes it flush them, milliseconds. */
export const DEFAULT_METRICS_FLUSH_INTERVAL_MS = 5_000;

/** Series name → amount to add (may be negative). */
export type MetricDeltas = Record<string, number>;

/** Cross-instance counters, buffered per instance (see the file comment). */
export interface Metrics {
  /**
   * Adds the deltas to the bucket of `atMs` (default now) in memory and, when the flush interval
   * has elapsed, flushes everything pending (these deltas included). Never rejects: resolves
   * `false` only when the flush it waited for failed (its counts, these included, are lost:
   * logged, at most one warning per minute), otherwise `true`.
   */
  add(deltas: MetricDeltas, atMs?: number): Promise<boolean>;
  /** Adds the deltas in memory only: no I/O, whatever the interval (for work after the response is known). */
  record(deltas: MetricDeltas, atMs?: number): void;
  /**
   * Flushes when counts are pending and the interval has elapsed since the last flush started;
   * otherwise does nothing. Never rejects: `false` when that flush failed.
   */
  flushIfDue(): Promise<boolean>;
  /**
   * Sends every pending count now, in one auto-pipelined batch (after any flush in progress).
   * Never rejects: `true` when Redis applied them (or nothing was pending), `false` when not.
   */
  flush(): Promise<boolean>;
  /**
   * Sums every series over the last `windowMinutes` buckets, the current one included, across all
   * instances: flushes this instance's pending counts, then one pipelined read. Other instances'
   * counts are included up to their last flush; values may briefly include requests still in
   * flight (see `http-metrics.ts`).
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
  /**
   * Least time between two flushes, milliseconds; 0 flushes at every `add` (a write per count).
   * The first flush of an instance comes this long after it was created.
   * @default DEFAULT_METRICS_FLUSH_INTERVAL_MS
   */
  flushIntervalMs?: number;
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
 * {@link METRICS_BUCKET_TTL_SECONDS} after its last write, with counts buffered in memory between
 * flushes (see the file comment).
 * @throws RangeError when `flushIntervalMs` is negative or not finite.
 */
export function createMetrics(options: MetricsOptions): Metrics {
  const prefix = options.prefix ?? "metrics:";
  const now = options.nowMs ?? Date.now;
  const interval = options.flushIntervalMs ?? DEFAULT_METRICS_FLUSH_INTERVAL_MS;
  if (!(interval >= 0 && Number.isFinite(interval)))
    throw new RangeError("flushIntervalMs must be a finite number ≥ 0");
  let lastWarnedBucket = -1;
  /** bucket → series → delta, not yet sent. */
  let pending = new Map<number, Map<string, number>>();
  let lastFlushMs = now();
  let inFlight: Promise<boolean> | undefined;

  const record = (deltas: MetricDeltas, atMs?: number) => {
    const bucket = bucketOf(atMs ?? now());
    for (const [series, n] of Object.entries(deltas)) {
      if (!Number.isInteger(n) || n === 0) continue;
      const counts = pending.get(bucket) ?? new Map<string, number>();
      pending.set(bucket, counts);
      counts.set(series, (counts.get(series) ?? 0) + n);
    }
  };

  const send = async (batch: Map<number, Map<string, number>>): Promise<boolean> => {
    try {
      const redis = options.redis();
      const writes: Promise<unknown>[] = [];
      // Issued in one tick: auto-pipelining sends them (with whatever else this tick sends) as one HTTP request.
      for (const [bucket, counts] of batch) {
        const key = `${prefix}${bucket}`;
        // A +1/−1 pair that cancelled out is still written (by 0): the series exists, at 0, as before.
        for (const [series, n] of counts) writes.push(redis.hincrby(key, series, n));
        writes.push(redis.expire(key, METRICS_BUCKET_TTL_SECONDS));
      }
      await Promise.all(writes);
      return true;
    } catch (err) {
      const bucket = bucketOf(now());
      if (bucket !== lastWarnedBucket) {
        lastWarnedBucket = bucket;
        options.log?.warn("metrics flush failed (the counts it carried are lost)", {
          event: "metrics_unavailable",
          service: "redis",
          ...errorFields(err),
          err_stack: undefined,
        });
      }
      return false;
    }
  };

  const startFlush = (): Promise<boolean> => {
    const batch = pending;
    pending = new Map();
    lastFlushMs = now();
    const flight = send(batch).finally(() => {
      if (inFlight === flight) inFlight = undefined;
    });
    inFlight = flight;
    return flight;
  };

  const flushIfDue = (): Promise<boolean> => {
    if (inFlight !== undefined || pending.size === 0 || now() - lastFlushMs < interval) {
      return Promise.resolve(true);
    }
    return startFlush();
  };

  const flush = async (): Promise<boolean> => {
    if (inFlight !== undefined) await inFlight;
    return pending.size === 0 ? true : startFlush();
  };

  return {
    add(deltas, atMs) {
      record(deltas, atMs);
      return flushIfDue();
    },
    record,
    flushIfDue,
    flush,

    async sum(windowMinutes, nowMs) {
      if (
        !Number.isInteger(windowMinutes) ||
        windowMinutes < 1 ||
        windowMinutes > MAX_METRICS_WINDOW_MINUTES
      ) {
        throw new RangeError(`windowMinutes must be an integer from 1 to ${MAX_METRICS_WINDOW_MINUTES}`);
      }
      await flush(); // failure logged; the sum is then what Redis has
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
