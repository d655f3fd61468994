/**
 * The QStash schedules of the scheduled jobs, derived from the manifest (each job function's
 * `schedule`), and the one routine that makes QStash match them: `npm run schedules:sync` after
 * `sst deploy` (against QStash), and `npm run dev` at start (against the local emulator).
 *
 * Stable schedule ids: `<function stem>--<slug of APP_URL>` (e.g.
 * `job-bloom-rebuild--auth-example-com`), so syncing twice updates instead of duplicating, and
 * two deployments sharing one QStash account (staging, production) never touch each other's
 * schedules. A schedule belongs to this deployment when its destination is under
 * `${APP_URL}/jobs/`; only those are updated or removed.
 */
import type { Client } from "@upstash/qstash";
import type { FunctionSpec } from "./functions";

/** One schedule as this deployment wants it. */
export interface DesiredSchedule {
  scheduleId: string;
  /** Five-field cron, UTC. */
  cron: string;
  /** `${APP_URL}/jobs/<name>`. */
  destination: string;
}

/** What {@link syncSchedules} did, by schedule id. */
export interface ScheduleSyncReport {
  created: string[];
  updated: string[];
  unchanged: string[];
  removed: string[];
}

/** `https://auth.example.com/base` → `auth-example-com-base` (lower-case letters, digits and `-`). */
function slugOf(appUrl: string): string {
  const url = new URL(appUrl);
  return `${url.host}${url.pathname}`
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
}

/** The stable schedule id of a job function for a deployment (see the file comment). */
export function scheduleIdOf(functionStem: string, appUrl: string): string {
  return `${functionStem}--${slugOf(appUrl)}`;
}

/** The base every destination of this deployment's jobs starts with. */
export function jobsBaseOf(appUrl: string): string {
  return `${appUrl.replace(/\/+$/, "")}/jobs/`;
}

/**
 * The schedules the manifest asks for: one per function with a `schedule`, to its one route.
 * @throws Error when a scheduled function does not have exactly one route under `/jobs/`.
 */
export function desiredSchedules(manifest: readonly FunctionSpec[], appUrl: string): DesiredSchedule[] {
  const base = jobsBaseOf(appUrl);
  return manifest
    .filter((fn) => fn.schedule !== undefined)
    .map((fn) => {
      const route = fn.routes[0];
      if (fn.routes.length !== 1 || !route?.path.startsWith("/jobs/"))
        throw new Error(`${fn.name}: a scheduled function has one route under /jobs/`);
      return {
        scheduleId: scheduleIdOf(fn.endpoint.name, appUrl),
        cron: fn.schedule as string,
        destination: `${base}${route.path.slice("/jobs/".length)}`,
      };
    });
}

/**
 * Makes QStash hold exactly `desired` among this deployment's schedules, with the real
 * `@upstash/qstash` client's schedules API: creates the missing ones, re-creates (same id, which
 * QStash treats as an update) those whose cron or destination changed or that are paused, and
 * deletes the ones under this deployment's `/jobs/` whose id is not desired (a job that no longer
 * exists). Schedules of other destinations are never touched. Idempotent.
 *
 * Each schedule fires an empty-bodied `POST` (a new job run) with 3 retries.
 * @throws QstashError when QStash refuses a call (e.g. 401 for a wrong token).
 */
export async function syncSchedules(
  client: Pick<Client, "schedules">,
  desired: readonly DesiredSchedule[],
  appUrl: string,
): Promise<ScheduleSyncReport> {
  const base = jobsBaseOf(appUrl);
  const existing = (await client.schedules.list()).filter((s) => s.destination.startsWith(base));
  const byId = new Map(existing.map((s) => [s.scheduleId, s]));
  const report: ScheduleSyncReport = { created: [], updated: [], unchanged: [], removed: [] };
  for (const want of desired) {
    const have = byId.get(want.scheduleId);
    if (have && have.cron === want.cron && have.destination === want.destination && !have.isPaused) {
      report.unchanged.push(want.scheduleId);
      continue;
    }
    await client.schedules.create({
      scheduleId: want.scheduleId,
      destination: want.destination,
      cron: want.cron,
      retries: 3,
    });
    (have ? report.updated : report.created).push(want.scheduleId);
  }
  const wanted = new Set(desired.map((d) => d.scheduleId));
  for (const stale of existing) {
    if (wanted.has(stale.scheduleId)) continue;
    await client.schedules.delete(stale.scheduleId);
    report.removed.push(stale.scheduleId);
  }
  return report;
}
