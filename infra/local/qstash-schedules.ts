import { Cron } from "croner";
import { randomId } from "./qstash-delivery";
import { parseDurationMs, parsePublish, recordableHeaders } from "./qstash-publish";

/** A schedule as `GET /v2/schedules` returns it (the fields the `@upstash/qstash` `Schedule` type reads). */
export interface ScheduleView {
  scheduleId: string;
  cron: string;
  /** Unix milliseconds. */
  createdAt: number;
  destination: string;
  method: string;
  /** Headers delivered with each message (content type and un-prefixed forwards). */
  header: Record<string, string[]>;
  body: string;
  retries: number;
  /** Delay of each fired message, seconds. */
  delay?: number;
  isPaused: boolean;
  /** Unix milliseconds of the last firing. */
  lastScheduleTime?: number;
  /** Unix milliseconds of the next cron tick (absent while paused). */
  nextScheduleTime?: number;
}

interface ScheduleRecord {
  scheduleId: string;
  cron: string;
  destination: string;
  /** Publish headers minus `Upstash-Cron`/`Upstash-Schedule-Id`, replayed on every firing. */
  headers: Headers;
  body: Uint8Array;
  createdAtMs: number;
  lastScheduleTimeMs?: number;
  job: Cron;
}

/** Options of {@link createScheduleStore}. */
export interface ScheduleStoreOptions {
  /** Publishes one message for the schedule; returns its message id. */
  fire: (input: { scheduleId: string; destination: string; headers: Headers; body: Uint8Array }) => string;
  log?: (line: string) => void;
}

/** The schedules of the emulator, ticking with croner. */
export interface ScheduleStore {
  /** Creates or replaces (same `Upstash-Schedule-Id`) a schedule. */
  create(
    destination: string,
    headers: Headers,
    body: Uint8Array,
  ): { ok: true; scheduleId: string } | { ok: false; error: string };
  list(): ScheduleView[];
  get(scheduleId: string): ScheduleView | undefined;
  remove(scheduleId: string): boolean;
  setPaused(scheduleId: string, paused: boolean): boolean;
  /** Fires the schedule now, as a cron tick would; returns the message id, or `undefined` when unknown. */
  trigger(scheduleId: string): string | undefined;
  /** Stops every cron job. */
  close(): void;
}

/**
 * Splits QStash's optional `CRON_TZ=<zone> ` prefix off a cron expression; QStash crons are UTC
 * otherwise.
 */
function splitTimezone(expression: string): { pattern: string; timezone: string } {
  const match = /^CRON_TZ=(\S+)\s+(.*)$/.exec(expression.trim());
  return match
    ? { pattern: match[2] ?? "", timezone: match[1] ?? "UTC" }
    : { pattern: expression.trim(), timezone: "UTC" };
}

/**
 * Creates the schedule store. Cron expressions are the standard five fields (QStash's format),
 * parsed and ticked by `croner` with timers that do not keep the process alive. Each tick (or a
 * test's {@link ScheduleStore.trigger}) publishes a new message carrying `Upstash-Schedule-Id`.
 */
export function createScheduleStore(options: ScheduleStoreOptions): ScheduleStore {
  const schedules = new Map<string, ScheduleRecord>();
  const log = options.log ?? (() => {});

  function fire(record: ScheduleRecord): string {
    record.lastScheduleTimeMs = Date.now();
    const messageId = options.fire({
      scheduleId: record.scheduleId,
      destination: record.destination,
      headers: record.headers,
      body: record.body,
    });
    log(`qstash: schedule ${record.scheduleId} fired ${messageId}`);
    return messageId;
  }

  function view(record: ScheduleRecord): ScheduleView {
    const parsed = parsePublish(
      record.destination,
      record.headers,
      record.body,
      Date.now(),
      record.scheduleId,
    );
    const spec = parsed.ok ? parsed.spec : undefined;
    const delayText = record.headers.get("upstash-delay");
    const delayMs = delayText === null ? null : parseDurationMs(delayText);
    const next = record.job.isRunning() ? record.job.nextRun() : null;
    return {
      scheduleId: record.scheduleId,
      cron: record.cron,
      createdAt: record.createdAtMs,
      destination: record.destination,
      method: spec?.method ?? "POST",
      header: Object.fromEntries(Object.entries(spec?.deliveryHeaders ?? {}).map(([k, v]) => [k, [v]])),
      body: new TextDecoder().decode(record.body),
      retries: spec?.retries ?? 0,
      ...(delayMs === null ? {} : { delay: Math.floor(delayMs / 1000) }),
      isPaused: !record.job.isRunning(),
      ...(record.lastScheduleTimeMs === undefined ? {} : { lastScheduleTime: record.lastScheduleTimeMs }),
      ...(next === null ? {} : { nextScheduleTime: next.getTime() }),
    };
  }

  return {
    create(destination, headers, body) {
      const cron = headers.get("upstash-cron");
      if (cron === null || cron.trim() === "") return { ok: false, error: "Upstash-Cron header is required" };
      const scheduleId = headers.get("upstash-schedule-id") || randomId("scd");
      const replay = new Headers(recordableHeaders(headers));
      replay.delete("upstash-cron");
      replay.delete("upstash-schedule-id");
      const parsed = parsePublish(destination, replay, body, Date.now(), scheduleId);
      if (!parsed.ok) return parsed;
      const { pattern, timezone } = splitTimezone(cron);
      let job: Cron;
      try {
        job = new Cron(pattern, { timezone, mode: "5-part", protect: true, unref: true, catch: true }, () => {
          const record = schedules.get(scheduleId);
          if (record?.job === job) fire(record);
        });
      } catch (error) {
        return {
          ok: false,
          error: `invalid cron: ${error instanceof Error ? error.message : String(error)}`,
        };
      }
      schedules.get(scheduleId)?.job.stop();
      schedules.set(scheduleId, {
        scheduleId,
        cron,
        destination,
        headers: replay,
        body,
        createdAtMs: Date.now(),
        job,
      });
      log(`qstash: schedule ${scheduleId} (${cron}) → ${destination}`);
      return { ok: true, scheduleId };
    },
    list() {
      return [...schedules.values()].map(view);
    },
    get(scheduleId) {
      const record = schedules.get(scheduleId);
      return record && view(record);
    },
    remove(scheduleId) {
      const record = schedules.get(scheduleId);
      if (!record) return false;
      record.job.stop();
      schedules.delete(scheduleId);
      return true;
    },
    setPaused(scheduleId, paused) {
      const record = schedules.get(scheduleId);
      if (!record) return false;
      if (paused) record.job.pause();
      else record.job.resume();
      return true;
    },
    trigger(scheduleId) {
      const record = schedules.get(scheduleId);
      return record && fire(record);
    },
    close() {
      for (const record of schedules.values()) record.job.stop();
    },
  };
}
