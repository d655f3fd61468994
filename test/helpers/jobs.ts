/**
 * Drives scheduled jobs through a running local runtime's QStash emulator, as production does:
 * a schedule firing (the emulator's `trigger`, what a cron tick does) or a published message,
 * then signed deliveries to `POST /jobs/<name>` and the job's own continuations. The run's
 * progress is read from Redis (where the runner saves it) until it is done.
 */
import { randomBytes } from "node:crypto";
import type { DevRuntimeState } from "../../infra/local/dev-state";
import type { LocalRuntime } from "../../infra/local/runtime";
import { scheduleIdOf } from "../../infra/schedules";
import { createQstashJobQueue } from "../../shared/adapters/qstash-queue";
import { createUpstashKv, createUpstashRedis } from "../../shared/adapters/upstash-kv";
import { type JobProgress, readProgress } from "../../shared/jobs/progress";
import type { Kv } from "../../shared/ports/kv";

/** A running service the jobs are driven on: its public URL, its Redis and its QStash emulator. */
export interface JobTarget {
  appUrl: string;
  kv: Kv;
  qstash: { url: string; token: string };
}

/** The emulator the runtime started (its URL and token are in the environment it set). */
export function emulatorOf(): { url: string; token: string } {
  const url = process.env.QSTASH_URL;
  const token = process.env.QSTASH_TOKEN;
  if (!url || !token) throw new Error("no QStash emulator in the environment");
  return { url, token };
}

/** A local runtime started in this process as a {@link JobTarget}. */
export function targetOf(server: Pick<LocalRuntime, "context">): JobTarget {
  return { appUrl: server.context.config.appUrl, kv: server.context.kv(), qstash: emulatorOf() };
}

/** A dev server in another process (its `dev-runtime.json` note) as a {@link JobTarget}. */
export function targetOfDevState(state: DevRuntimeState): JobTarget {
  const redis = createUpstashRedis({
    url: state.redis.restUrl,
    token: state.redis.restToken,
    timeoutMs: 5000,
  });
  return { appUrl: state.appUrl, kv: createUpstashKv(redis), qstash: state.qstash };
}

/** Waits (≤ timeoutMs) for a run's progress to be `done`; a failed part is retried by the emulator meanwhile. */
export async function waitForRun(
  target: JobTarget,
  job: string,
  run: string,
  timeoutMs = 30_000,
): Promise<JobProgress> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const progress = await readProgress(target.kv, job, run);
    if (progress?.state === "done") return progress;
    if (Date.now() > deadline)
      throw new Error(`job ${job} run ${run} not done in time: ${JSON.stringify(progress)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Fires the job's QStash schedule now (as its cron would) and waits for that run to finish. */
export async function triggerSchedule(
  server: Pick<LocalRuntime, "context"> | JobTarget,
  job: string,
): Promise<JobProgress & { run: string }> {
  const target = "context" in server ? targetOf(server) : server;
  const { url, token } = target.qstash;
  const scheduleId = scheduleIdOf(`job-${job}`, target.appUrl);
  const res = await fetch(`${url}/v2/schedules/${scheduleId}/trigger`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}` },
  });
  if (res.status !== 200) throw new Error(`trigger ${scheduleId}: ${res.status} ${await res.text()}`);
  const { messageId } = (await res.json()) as { messageId: string };
  // A scheduled delivery starts a run named by its message id.
  return { ...(await waitForRun(target, job, messageId)), run: messageId };
}

/** Publishes a run of `job` (as `npm run job` does through a dev server) and waits for it. */
export async function publishRun(
  server: Pick<LocalRuntime, "context">,
  job: string,
  body: { kind?: string } = {},
): Promise<JobProgress & { run: string }> {
  const target = targetOf(server);
  const run = `run_${randomBytes(12).toString("base64url")}`;
  const queue = createQstashJobQueue({
    token: target.qstash.token,
    baseUrl: target.qstash.url,
    appUrl: target.appUrl,
  });
  await queue.publish({ job, body: JSON.stringify({ run, ...body }), deduplicationId: `${job}-${run}-1` });
  return { ...(await waitForRun(target, job, run)), run };
}
