/**
 * The job runner (`shared/jobs/runner.ts`) on real parts: a private redis-server behind the
 * Upstash bridge (progress, locks, metrics) and the QStash emulator fed by the real client (the
 * continuations). The job is a small one defined here that records which items each step saw, so
 * the runner's promises can be checked exactly: parts chain through deduplicated continuations,
 * every item is worked once, a killed part resumes from its last saved step, a duplicate of a
 * finished part does nothing, and two deliveries of one run never work at once.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningQstashEmulator, startQstashEmulator } from "../../infra/local/qstash-emulator";
import { createQstashJobQueue } from "../../shared/adapters/qstash-queue";
import { createUpstashKv, createUpstashRedis } from "../../shared/adapters/upstash-kv";
import type { AuthError } from "../../shared/errors";
import { defineJob } from "../../shared/jobs/job";
import { type JobMessageBody, jobMessageSchema, readProgress } from "../../shared/jobs/progress";
import { type JobRunnerEnv, runJobPart } from "../../shared/jobs/runner";
import { createLogger } from "../../shared/observability/logger";
import { createMetrics, seriesKey } from "../../shared/observability/metrics";
import { startTestRedis, type TestRedis } from "../helpers/redis";

const ITEMS = ["a", "b", "c", "d", "e"];
const token = `qstash_${randomBytes(8).toString("hex")}`;
let redis: TestRedis;
let emulator: RunningQstashEmulator;
let env: JobRunnerEnv;

/** What each step saw, and a hook that can hold or break a step. */
const seen: string[] = [];
let beforeStep: (cursor: string | null) => Promise<void> = async () => {};

/** Walks {@link ITEMS} two at a time per kind; the cursor is the last item's index. */
const walk = defineJob<null>({
  name: "walk",
  perKind: true,
  deps: async () => null,
  async step(_deps, { kind, cursor, batchSize }) {
    await beforeStep(cursor);
    const start = cursor === null ? 0 : Number(cursor) + 1;
    const batch = ITEMS.slice(start, start + batchSize);
    for (const item of batch) seen.push(`${kind}:${item}`);
    const last = start + batch.length - 1;
    return { cursor: last >= ITEMS.length - 1 ? null : String(last), counts: { items: batch.length } };
  },
});

beforeAll(async () => {
  redis = await startTestRedis();
  emulator = await startQstashEmulator({
    token,
    currentSigningKey: `sig_${randomBytes(8).toString("hex")}`,
    nextSigningKey: `sig_${randomBytes(8).toString("hex")}`,
    retryBaseDelayMs: 60_000, // nothing listens at the destination; keep retries out of the test
  });
  // The production client settings (no automatic deserialization: values come back as stored).
  const client = createUpstashRedis({ url: redis.restUrl, token: redis.restToken, timeoutMs: 5000 });
  const queue = createQstashJobQueue({ token, baseUrl: emulator.url, appUrl: "http://127.0.0.1:9" });
  env = {
    kv: createUpstashKv(client),
    queue: async () => queue,
    log: createLogger({ level: "silent" }),
    metrics: createMetrics({ redis: () => client }),
    nowMs: Date.now,
    kinds: ["User1", "User2"],
    batchSize: 2,
    budgetMs: 0,
    lockTtlSeconds: 60,
  };
});
afterAll(async () => {
  await emulator?.close();
  await redis?.stop();
});

/** The continuation the emulator accepted for `run`'s part `part`, parsed as the function would. */
function continuation(run: string, part: number): JobMessageBody | undefined {
  const message = emulator
    .messages()
    .find((m) => m.headers["upstash-deduplication-id"] === `walk-${run}-${part}`);
  return message && jobMessageSchema.parse(JSON.parse(message.body));
}

describe("runJobPart", () => {
  it("chains parts through deduplicated continuations until every kind is done, each item once", async () => {
    seen.length = 0;
    const run = "run_chain";
    let result = await runJobPart(walk, async () => null, env, { body: { run }, messageId: undefined });
    let part = 1;
    while (result.body.status === "continued") {
      const next = continuation(run, part + 1);
      expect(next).toMatchObject({ run, part: part + 1 });
      result = await runJobPart(walk, async () => null, env, {
        body: next as JobMessageBody,
        messageId: undefined,
      });
      part += 1;
    }
    expect(result.status).toBe(200);
    expect(result.body).toMatchObject({ status: "done", part: 6, counts: { items: 10 } });
    expect(seen).toEqual([...ITEMS.map((i) => `User1:${i}`), ...ITEMS.map((i) => `User2:${i}`)]);
    expect((await readProgress(env.kv, "walk", run))?.state).toBe("done");
    const totals = await env.metrics.sum(5);
    expect(totals.get(seriesKey("auth_job_parts_total", { job: "walk", outcome: "continued" }))).toBe(5);
    expect(totals.get(seriesKey("auth_job_items_total", { job: "walk", count: "items" }))).toBe(10);

    // A duplicate of any part of a finished run does nothing.
    const duplicate = await runJobPart(walk, async () => null, env, {
      body: continuation(run, 3) as JobMessageBody,
      messageId: undefined,
    });
    expect(duplicate.body.status).toBe("duplicate");
    expect(seen).toHaveLength(10);
  });

  it("resumes a part killed mid-way from its last saved step, and republishes the same continuation once", async () => {
    seen.length = 0;
    const run = "run_killed";
    const big = { ...env, budgetMs: Number.POSITIVE_INFINITY };
    beforeStep = async (cursor) => {
      if (cursor === "3") throw new Error("killed mid-way");
    };
    await expect(
      runJobPart(walk, async () => null, big, { body: { run, kind: "User1" }, messageId: undefined }),
    ).rejects.toMatchObject({ code: "job_failed" } satisfies Partial<AuthError>);
    expect(await readProgress(env.kv, "walk", run)).toMatchObject({
      state: "failed",
      error: "job_failed",
      cursor: "3",
    });
    beforeStep = async () => {};
    // QStash delivers the same part again: it starts from the saved cursor, not from the beginning.
    const retried = await runJobPart(walk, async () => null, big, {
      body: { run, kind: "User1" },
      messageId: undefined,
    });
    expect(retried.body).toMatchObject({ status: "done", counts: { items: 5 } });
    expect(seen).toEqual(ITEMS.map((i) => `User1:${i}`));

    // With a budget: a part publishes its continuation; a redelivery of that part publishes it again, deduplicated.
    const twice = "run_twice";
    await runJobPart(walk, async () => null, env, { body: { run: twice }, messageId: undefined });
    const count = () =>
      emulator.messages().filter((m) => m.headers["upstash-deduplication-id"] === `walk-${twice}-2`).length;
    expect(count()).toBe(1);
    const again = await runJobPart(walk, async () => null, env, {
      body: { run: twice },
      messageId: undefined,
    });
    expect(again.body.status).toBe("duplicate"); // the part was handed over: nothing is worked twice
    expect(count()).toBe(1);
  });

  it("lets only one delivery of a run work at a time (503 job_in_progress for the other)", async () => {
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let entered: () => void = () => {};
    const inStep = new Promise<void>((resolve) => {
      entered = resolve;
    });
    beforeStep = async () => {
      entered();
      await held;
    };
    const first = runJobPart(walk, async () => null, env, {
      body: { run: "run_lock" },
      messageId: undefined,
    });
    await inStep;
    await expect(
      runJobPart(walk, async () => null, env, { body: { run: "run_lock" }, messageId: undefined }),
    ).rejects.toMatchObject({ code: "job_in_progress", status: 503 });
    release();
    beforeStep = async () => {};
    expect((await first).body.status).toBe("continued");
  });

  it("names a scheduled run after its QStash message id, so QStash's retries resume the same run", async () => {
    const result = await runJobPart(walk, async () => null, env, { body: {}, messageId: "msg_abc123" });
    expect(result.body.run).toBe("msg_abc123");
    const odd = await runJobPart(walk, async () => null, env, { body: {}, messageId: "not an id!" });
    expect(odd.body.run).toMatch(/^run_[A-Za-z0-9_-]+$/);
  });

  it("refuses a kind that is not configured, before any work", async () => {
    await expect(
      runJobPart(walk, async () => null, env, {
        body: { run: "run_kind", kind: "Admin" },
        messageId: undefined,
      }),
    ).rejects.toMatchObject({ code: "validation_failed" });
    expect(await readProgress(env.kv, "walk", "run_kind")).toBeNull();
  });
});
