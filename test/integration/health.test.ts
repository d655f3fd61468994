import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../functions/health";
import { parseConfig } from "../../shared/config/schema";
import { createContext } from "../../shared/wiring/context";
import { testEnv } from "../helpers/env";
import { startTestRedis, type TestRedis } from "../helpers/redis";

/** The health function's app built from a context of its own under `env` (a cold start). */
async function healthApp(env: Record<string, string>) {
  return createApp(createContext(parseConfig(testEnv(env))));
}

describe("GET /health", () => {
  let redis: TestRedis;
  let dir: string;
  beforeAll(async () => {
    redis = await startTestRedis();
    dir = mkdtempSync(join(tmpdir(), "health-"));
  });
  afterAll(async () => {
    await redis.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it("answers 200 healthy when the store and Redis answer, then 503 naming Redis when it stops", async () => {
    const app = await healthApp({
      UPSTASH_REDIS_REST_URL: redis.restUrl,
      UPSTASH_REDIS_REST_TOKEN: redis.restToken,
      SQLITE_PATH: join(dir, "users.sqlite"),
      REDIS_TIMEOUT_MS: "500",
    });
    const ok = await app.request("/health");
    expect(ok.status).toBe(200);
    const body = (await ok.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ status: "healthy", services: { database: "healthy", redis: "healthy" } });
    expect(Number.isNaN(Date.parse(body.timestamp as string))).toBe(false);

    await redis.stop();
    const down = await app.request("/health");
    expect(down.status).toBe(503);
    expect(await down.json()).toMatchObject({
      status: "unhealthy",
      services: { database: "healthy", redis: "unhealthy" },
    });
  });

  it("answers 503 naming the database when the store cannot be opened", async () => {
    const fresh = await startTestRedis();
    const blocker = join(dir, "not-a-directory");
    writeFileSync(blocker, "");
    try {
      const app = await healthApp({
        UPSTASH_REDIS_REST_URL: fresh.restUrl,
        UPSTASH_REDIS_REST_TOKEN: fresh.restToken,
        // A path below a regular file can never be opened (ENOTDIR).
        SQLITE_PATH: join(blocker, "users.sqlite"),
      });
      const res = await app.request("/health");
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({
        status: "unhealthy",
        services: { database: "unhealthy", redis: "healthy" },
      });
    } finally {
      await fresh.stop();
    }
  });
});
