/**
 * `npm run job -- <name> [--kind <Kind>] [--timeout <seconds>]`: runs one scheduled job now and
 * exits 0 when the run finished (non-zero with the reason otherwise).
 *
 * - While `npm run dev` runs in this folder on the same `PORT` (its note `<DATA_DIR>/dev-runtime.json`,
 *   `infra/local/dev-state.ts`), the job is published to that server's QStash emulator, so the
 *   delivery is signed and verified exactly as in production, continuations included; the run's
 *   progress is read through the server's Upstash bridge until it is done.
 * - Otherwise the job runs directly in this process against the configured services (a local
 *   `redis-server` over `<DATA_DIR>/redis` when no Upstash is configured, the SQLite file or
 *   `MONGO_URL`), all parts in one go, with the same code (`runJobPart`) minus the delivery.
 */
import { join } from "node:path";
import { createUpstashKv, createUpstashRedis } from "../shared/adapters/upstash-kv";
import { parseUserKinds } from "../shared/config/user-kinds";
import { randomId } from "../shared/crypto/random";
import { AuthError, ConfigError } from "../shared/errors";
import type { Job } from "../shared/jobs/job";
import { type JobProgress, readProgress } from "../shared/jobs/progress";
import { runJobPart } from "../shared/jobs/runner";
import { buildManifest } from "./functions";
import { ensureDevSecrets } from "./local/dev-secrets";
import { type DevRuntimeState, readDevState } from "./local/dev-state";
import { startRedisServer } from "./local/redis-server";
import { createLocalContext } from "./local/router";
import { startUpstashBridge } from "./local/upstash-bridge";

const USAGE = "usage: npm run job -- <name> [--kind <Kind>] [--timeout <seconds>]";

interface Args {
  name: string;
  kind: string | undefined;
  timeoutMs: number;
}

/** Parses the command line. @throws Error with the usage. */
function parseArgs(argv: string[]): Args {
  let name: string | undefined;
  let kind: string | undefined;
  let timeoutSeconds = 600;
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] as string;
    if (arg === "--kind") kind = argv[++i];
    else if (arg.startsWith("--kind=")) kind = arg.slice("--kind=".length);
    else if (arg === "--timeout") timeoutSeconds = Number(argv[++i]);
    else if (!arg.startsWith("-") && name === undefined) name = arg;
    else throw new Error(`unexpected argument ${arg}\n${USAGE}`);
  }
  if (!name) throw new Error(USAGE);
  if (kind === "") throw new Error(`--kind needs a value\n${USAGE}`);
  if (!(timeoutSeconds > 0)) throw new Error(`--timeout needs a positive number of seconds\n${USAGE}`);
  return { name, kind, timeoutMs: timeoutSeconds * 1000 };
}

/** The job definition of a scheduled function of the manifest. @throws Error naming the known jobs. */
async function findJob(name: string): Promise<Job<unknown>> {
  const manifest = await buildManifest();
  const names = manifest.filter((fn) => fn.schedule).map((fn) => fn.routes[0]?.path.slice("/jobs/".length));
  if (!names.includes(name))
    throw new Error(`unknown job ${JSON.stringify(name)}; jobs: ${names.join(", ")}`);
  const mod = (await import(`../shared/jobs/${name}.ts`)) as Record<string, unknown>;
  const job = Object.values(mod).find(
    (v): v is Job<unknown> => typeof v === "object" && v !== null && (v as Job<unknown>).name === name,
  );
  if (!job) throw new Error(`shared/jobs/${name}.ts exports no job named ${name}`);
  return job;
}

function describe(
  name: string,
  run: string,
  progress: Pick<JobProgress, "part" | "counts" | "reports">,
): string {
  const counts = Object.entries(progress.counts).map(([k, v]) => `${k}=${v}`);
  const reports = Object.entries(progress.reports).map(
    ([scope, r]) =>
      `  ${scope}: ${Object.entries(r)
        .map(([k, v]) => `${k}=${v}`)
        .join(" ")}`,
  );
  return [
    `${name} done (run ${run}, ${progress.part} part(s)): ${counts.join(" ") || "nothing to do"}`,
    ...reports,
  ].join("\n");
}

/** Publishes the run to the dev server's emulator and waits for its progress to say done. */
async function viaDevServer(state: DevRuntimeState, job: Job<unknown>, args: Args): Promise<string> {
  const { createQstashJobQueue } = await import("../shared/adapters/qstash-queue");
  const run = randomId("run");
  const queue = createQstashJobQueue({
    token: state.qstash.token,
    baseUrl: state.qstash.url,
    appUrl: state.appUrl,
  });
  await queue.publish({
    job: job.name,
    body: JSON.stringify({ run, ...(args.kind ? { kind: args.kind } : {}) }),
    deduplicationId: `${job.name}-${run}-1`,
  });
  console.log(`${job.name}: run ${run} sent through the dev server's QStash emulator (${state.qstash.url})`);
  const kv = createUpstashKv(
    createUpstashRedis({ url: state.redis.restUrl, token: state.redis.restToken, timeoutMs: 5000 }),
  );
  const deadline = Date.now() + args.timeoutMs;
  for (;;) {
    const progress = await readProgress(kv, job.name, run);
    if (progress?.state === "done") return describe(job.name, run, progress);
    if (progress?.state === "failed")
      throw new Error(
        `${job.name} run ${run} failed (${progress.error}); QStash retries it, see the dev server's log`,
      );
    if (Date.now() > deadline) throw new Error(`${job.name} run ${run} did not finish within the timeout`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Runs every part in this process against the configured services. */
async function direct(
  env: Record<string, string | undefined>,
  dataDir: string,
  job: Job<unknown>,
  args: Args,
) {
  const stops: (() => Promise<void>)[] = [];
  try {
    if (env.ENVIRONMENT !== "production") ensureDevSecrets(env, join(dataDir, "dev-secrets.env"));
    if (!env.UPSTASH_REDIS_REST_URL) {
      let redisUrl =
        env.REDIS_URL || (env.REDIS_HOST ? `redis://${env.REDIS_HOST}:${env.REDIS_PORT || 6379}` : "");
      if (!redisUrl) {
        const server = await startRedisServer({ dataDir: join(dataDir, "redis"), persist: true });
        stops.push(() => server.stop());
        redisUrl = server.url;
      }
      const bridge = await startUpstashBridge({ redisUrl, token: randomId("local") });
      stops.push(() => bridge.close());
      env.UPSTASH_REDIS_REST_URL = bridge.url;
      env.UPSTASH_REDIS_REST_TOKEN = bridge.token;
    }
    const ctx = createLocalContext(env);
    stops.push(() => ctx.close());
    const { nowMs } = await ctx.accountDeps("nowMs");
    const run = randomId("run");
    const result = await runJobPart(
      job,
      () => job.deps(ctx),
      {
        kv: ctx.kv(),
        queue: () => ctx.jobQueue(),
        log: ctx.log,
        metrics: ctx.metrics(),
        nowMs,
        kinds: ctx.config.userKinds,
        batchSize: ctx.config.jobs.batchSize,
        budgetMs: Number.POSITIVE_INFINITY, // every part here: nothing is handed over
        lockTtlSeconds: Math.ceil(args.timeoutMs / 1000),
      },
      { body: { run, ...(args.kind ? { kind: args.kind } : {}) }, messageId: undefined },
    );
    return describe(job.name, run, {
      part: result.body.part,
      counts: result.body.counts,
      reports: result.body.reports ?? {},
    });
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  }
}

async function main(): Promise<void> {
  try {
    process.loadEnvFile(".env");
  } catch {
    // No .env: the environment is enough.
  }
  const args = parseArgs(process.argv.slice(2));
  const job = await findJob(args.name);
  const kinds = parseUserKinds(process.env.USER_KINDS);
  if (args.kind !== undefined) {
    if (!job.perKind) throw new Error(`${job.name} does not run per kind: drop --kind`);
    if (kinds.ok && !kinds.kinds.includes(args.kind))
      throw new Error(`unknown kind ${args.kind}; kinds: ${kinds.kinds.join(", ")}`);
  }
  const dataDir = process.env.DATA_DIR || ".data";
  const state = readDevState(dataDir);
  const port = Number(process.env.PORT || 8000);
  const summary =
    state && state.port === port
      ? await viaDevServer(state, job, args)
      : await direct({ ...process.env }, dataDir, job, args);
  console.log(summary);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    const reason =
      err instanceof ConfigError || !(err instanceof Error)
        ? String(err instanceof Error ? err.message : err)
        : err instanceof AuthError
          ? `${err.code}: ${err.message}`
          : err.message;
    console.error(`job failed: ${reason}`);
    process.exit(1);
  },
);
