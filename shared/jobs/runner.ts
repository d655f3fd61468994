/**
 * Runs one delivered part of a scheduled job, the serverless way (DESIGN.md §7): work in steps
 * until a time budget below the function's timeout is spent, saving the run's progress after each
 * step, then publish the continuation (the position in the message, deduplicated by QStash) and
 * return. Every part is resumable and idempotent:
 * - a part killed mid-way is delivered again by QStash and resumes from its last saved step;
 * - a duplicate of a part already finished (QStash's at-least-once delivery) is acknowledged
 *   without work; two deliveries of one run never work at once (a lock per run);
 * - steps themselves are idempotent (see `job.ts`), so repeating the steps since the last save
 *   changes nothing.
 * One structured summary line (`event: "job_run"`) is logged when a run finishes or a part fails,
 * and every part is counted in the metrics (`auth_job_parts_total`, `auth_job_items_total`).
 */

import { jobKeys } from "../accounts/keys";
import { randomId } from "../crypto/random";
import { AuthError } from "../errors";
import { JOB_ITEMS_METRIC, JOB_PARTS_METRIC } from "../observability/http-metrics";
import { errorFields, type LogFields, type Logger } from "../observability/logger";
import { type Metrics, seriesKey } from "../observability/metrics";
import type { JobQueue } from "../ports/jobs";
import { type Kv, KvUnavailableError } from "../ports/kv";
import type { Job, JobStepResult } from "./job";
import { type JobMessageBody, type JobProgress, readProgress, saveProgress } from "./progress";

/** What {@link runJobPart} works with. */
export interface JobRunnerEnv {
  kv: Kv;
  /** Where continuations go (built on first use: a run that finishes in one part never loads it). */
  queue(): Promise<JobQueue>;
  log: Logger;
  metrics: Metrics;
  /** The use-cases' clock, epoch milliseconds (the run's start time and the jobs' cut-offs). */
  nowMs(): number;
  /** The configured user kinds, in order. */
  kinds: readonly string[];
  /** `JOB_BATCH_SIZE`. */
  batchSize: number;
  /** Wall-clock time one part may work before it publishes its continuation, milliseconds (0: one step). */
  budgetMs: number;
  /** How long the per-run lock is held at most, seconds (longer than the function timeout). */
  lockTtlSeconds: number;
  /** Wall clock for the budget, milliseconds. @default performance.now */
  elapsedMs?: () => number;
}

/** One delivery, after its signature was verified. */
export interface JobDelivery {
  body: JobMessageBody;
  /** `Upstash-Message-Id` when it looks like an id: names a new run, so QStash's retries of it resume the same run. */
  messageId: string | undefined;
}

/** The 2xx answer to QStash: `done` (the run finished), `continued` (next part published), `duplicate`. */
export interface JobPartResult {
  status: 200 | 202;
  body: {
    status: "done" | "continued" | "duplicate";
    job: string;
    run: string;
    part: number;
    counts: Record<string, number>;
    reports?: JobProgress["reports"];
  };
}

const RUN_ID = /^[A-Za-z0-9_-]{1,64}$/;

function addCounts(into: Record<string, number>, more: Record<string, number>): void {
  for (const [name, n] of Object.entries(more)) into[name] = (into[name] ?? 0) + n;
}

/**
 * Runs one part of `job` (see the file comment).
 * @throws AuthError `validation_failed` (422) for a kind that is not configured (or any kind for a
 *   job that is not per kind); `job_in_progress` (503) while another delivery of the run works;
 *   `service_unavailable` / `queue_unavailable` (503) when Redis or QStash fail; `job_failed` (500)
 *   when a step throws. Every 5xx is retried by QStash and resumes from the saved progress.
 */
export async function runJobPart<D>(
  job: Job<D>,
  deps: () => Promise<D>,
  env: JobRunnerEnv,
  delivery: JobDelivery,
): Promise<JobPartResult> {
  const { body } = delivery;
  if (body.kind !== undefined && (!job.perKind || !env.kinds.includes(body.kind))) {
    throw new AuthError("validation_failed", {
      detail: job.perKind ? "Unknown user kind" : `The ${job.name} job does not run per kind`,
      extensions: { errors: [{ field: "kind", message: "not a configured user kind", code: "invalid" }] },
    });
  }
  const scopes: (string | null)[] = job.perKind ? (body.kind ? [body.kind] : [...env.kinds]) : [null];
  const runId =
    body.run ??
    (delivery.messageId && RUN_ID.test(delivery.messageId) ? delivery.messageId : randomId("run"));
  const part = body.part ?? 1;
  const log = env.log.child({ job: job.name, run_id: runId, part });

  const lockKey = jobKeys.lock(job.name, runId);
  if ((await env.kv.setNxGet(lockKey, String(part), env.lockTtlSeconds)) !== null) {
    throw new AuthError("job_in_progress", { retryAfterSeconds: 30 });
  }
  try {
    const saved = await readProgress(env.kv, job.name, runId);
    const respond = (status: JobPartResult["body"]["status"], p: JobProgress): JobPartResult => ({
      status: status === "continued" ? 202 : 200,
      body: { status, job: job.name, run: runId, part, counts: p.counts, reports: p.reports },
    });
    if (saved && (saved.state === "done" || saved.part > part)) {
      log.info("job part already done", { event: "job_duplicate", outcome: "duplicate" });
      env.metrics.record({ [seriesKey(JOB_PARTS_METRIC, { job: job.name, outcome: "duplicate" })]: 1 });
      return respond("duplicate", saved);
    }
    // Resume from the saved position when an earlier attempt of this part got further than the message.
    const progress: JobProgress =
      saved && saved.part === part
        ? { ...saved, state: "running" }
        : {
            part,
            scope: body.scope ?? 0,
            cursor: body.cursor ?? null,
            counts: { ...(body.counts ?? {}) },
            reports: {},
            startedAtMs: body.startedAtMs ?? env.nowMs(),
            state: "running",
            ...(body.kind ? { kind: body.kind } : {}),
          };
    delete progress.error;
    const outcome = await workUntilBudget(job, deps, env, runId, progress, scopes, log);
    if (outcome === "done") {
      progress.state = "done";
      await saveProgress(env.kv, job.name, runId, progress);
      summarise(env, log, job.name, progress, "done");
      return respond("done", progress);
    }
    const next: JobMessageBody = {
      run: runId,
      part: part + 1,
      ...(body.kind ? { kind: body.kind } : {}),
      scope: progress.scope,
      cursor: progress.cursor,
      startedAtMs: progress.startedAtMs,
      counts: progress.counts,
    };
    // Publish first, then record the part as handed over: a crash in between makes QStash
    // redeliver this part, which resumes and publishes the same (deduplicated) continuation.
    await (await env.queue()).publish({
      job: job.name,
      body: JSON.stringify(next),
      deduplicationId: `${job.name}-${runId}-${part + 1}`,
    });
    await saveProgress(env.kv, job.name, runId, { ...progress, part: part + 1 });
    env.metrics.record({ [seriesKey(JOB_PARTS_METRIC, { job: job.name, outcome: "continued" })]: 1 });
    log.debug("job part handed over", { event: "job_part", outcome: "continued" });
    return respond("continued", progress);
  } finally {
    await env.kv.del(lockKey).catch(() => undefined); // else it expires after lockTtlSeconds
    // A job part is rare and may be the instance's last request: send its counts now.
    await env.metrics.flush();
  }
}

/**
 * Runs steps from `progress` until every scope is finished or the budget is spent (at least one
 * step), saving progress after each step. On a step failure, saves the failure and logs the summary.
 */
async function workUntilBudget<D>(
  job: Job<D>,
  deps: () => Promise<D>,
  env: JobRunnerEnv,
  runId: string,
  progress: JobProgress,
  scopes: readonly (string | null)[],
  log: Logger,
): Promise<"done" | "continue"> {
  const elapsed = env.elapsedMs ?? (() => performance.now());
  const deadline = elapsed() + env.budgetMs;
  const run = { id: runId, startedAtMs: progress.startedAtMs };
  do {
    if (progress.scope >= scopes.length) return "done";
    const kind = scopes[progress.scope] ?? null;
    let result: JobStepResult;
    try {
      result = await job.step(await deps(), { kind, cursor: progress.cursor, run, batchSize: env.batchSize });
    } catch (cause) {
      const failure =
        cause instanceof AuthError && cause.status === 503
          ? cause
          : cause instanceof KvUnavailableError
            ? new AuthError("service_unavailable", { cause })
            : null;
      const code = failure?.code ?? "job_failed";
      progress.state = "failed";
      progress.error = code;
      await saveProgress(env.kv, job.name, runId, progress).catch(() => undefined);
      summarise(env, log.child({ kind }), job.name, progress, "failed", { code, ...errorFields(cause) });
      throw failure ?? new AuthError("job_failed", { cause });
    }
    addCounts(progress.counts, result.counts);
    env.metrics.record(
      Object.fromEntries(
        Object.entries(result.counts)
          .filter(([, n]) => n > 0)
          .map(([count, n]) => [seriesKey(JOB_ITEMS_METRIC, { job: job.name, count }), n]),
      ),
    );
    if (result.report) progress.reports[kind ?? "all"] = result.report;
    if (result.cursor === null) {
      progress.scope += 1;
      progress.cursor = null;
    } else progress.cursor = result.cursor;
    await saveProgress(env.kv, job.name, runId, progress);
  } while (elapsed() < deadline);
  return progress.scope >= scopes.length ? "done" : "continue";
}

/** The run's one summary line and its part count. */
function summarise(
  env: JobRunnerEnv,
  log: Logger,
  job: string,
  progress: JobProgress,
  outcome: "done" | "failed",
  extra: LogFields = {},
): void {
  env.metrics.record({ [seriesKey(JOB_PARTS_METRIC, { job, outcome })]: 1 });
  const fields: LogFields = {
    event: "job_run",
    outcome,
    parts: progress.part,
    duration_ms: Math.max(0, env.nowMs() - progress.startedAtMs),
    ...progress.counts,
    ...extra,
  };
  if (outcome === "done") log.info(`job ${job} finished`, fields);
  else log.error(`job ${job} part failed; QStash retries it`, fields);
}
