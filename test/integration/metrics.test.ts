import { createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countRequest, httpRequestSeries } from "../../shared/observability/http-metrics";
import { bucketOf, createMetrics, METRICS_BUCKET_TTL_SECONDS } from "../../shared/observability/metrics";
import { startCountingProxy } from "../helpers/counting-proxy";
import { createTestUpstashClient, startTestRedis, type TestRedis } from "../helpers/redis";

/**
 * The metrics counters over a real redis-server behind the Upstash-REST bridge, with the real
 * `@upstash/redis` client configured as in production (automatic deserialization off,
 * auto-pipelining on). Times are injected, so buckets are chosen, not waited for.
 */
let redis: TestRedis;
beforeAll(async () => {
  redis = await startTestRedis();
});
afterAll(async () => {
  await redis?.stop();
});

const client = () => createTestUpstashClient(redis, { automaticDeserialization: false });
/** The start of a minute bucket. */
const T0 = 31_666_667 * 60_000;
let prefixes = 0;
const freshPrefix = () => `m${++prefixes}:`;

describe("metrics counters in Redis", () => {
  it("two instances (two clients) add into one bucket, and either reads the sum", async () => {
    const prefix = freshPrefix();
    const a = createMetrics({ redis: client, prefix, nowMs: () => T0 });
    const b = createMetrics({ redis: client, prefix, nowMs: () => T0 + 30_000 });
    const series = httpRequestSeries("/User1/login", "POST", "4xx");
    expect(await a.add({ [series]: 2 })).toBe(true);
    expect(await b.add({ [series]: 3, other_total: 1 })).toBe(true);
    expect((await a.sum(1)).get(series)).toBe(5);
    expect((await b.sum(1)).get("other_total")).toBe(1);
  });

  it("sums exactly the last N minute buckets, the current one included", async () => {
    const prefix = freshPrefix();
    const metrics = createMetrics({ redis: client, prefix });
    for (const minutesAgo of [0, 1, 2, 5]) await metrics.add({ x_total: 1 }, T0 - minutesAgo * 60_000);
    expect((await metrics.sum(1, T0)).get("x_total")).toBe(1);
    expect((await metrics.sum(3, T0)).get("x_total")).toBe(3);
    expect((await metrics.sum(5, T0)).get("x_total")).toBe(3);
    expect((await metrics.sum(6, T0)).get("x_total")).toBe(4);
    await expect(metrics.sum(0, T0)).rejects.toThrow(RangeError);
    await expect(metrics.sum(181, T0)).rejects.toThrow(RangeError);
  });

  it("gives every bucket a TTL of a few hours, so old minutes leave Redis on their own", async () => {
    const prefix = freshPrefix();
    await createMetrics({ redis: client, prefix }).add({ x_total: 1 }, T0);
    const ttl = await client().ttl(`${prefix}${bucketOf(T0)}`);
    expect(ttl).toBeGreaterThan(METRICS_BUCKET_TTL_SECONDS - 60);
    expect(ttl).toBeLessThanOrEqual(METRICS_BUCKET_TTL_SECONDS);
  });

  it("counts a request under its final status class, in the bucket where it started", async () => {
    const prefix = freshPrefix();
    const metrics = createMetrics({ redis: client, prefix });
    const ok = countRequest(metrics, "/health", "GET", T0);
    const refused = countRequest(metrics, "/User1/login", "POST", T0);
    const failed = countRequest(metrics, "/User1/login", "POST", T0);
    await Promise.all([ok.finish(200), refused.finish(401), failed.finish(503)]);
    const totals = await metrics.sum(1, T0 + 59_000);
    expect(totals.get(httpRequestSeries("/health", "GET", "2xx"))).toBe(1);
    expect(totals.get(httpRequestSeries("/User1/login", "POST", "4xx"))).toBe(1);
    expect(totals.get(httpRequestSeries("/User1/login", "POST", "5xx"))).toBe(1);
    expect(totals.get(httpRequestSeries("/User1/login", "POST", "2xx"))).toBe(0);
  });

  it("costs one HTTP request per add (increments and TTL auto-pipelined) and one per sum, whatever the window", async () => {
    const proxy = await startCountingProxy(redis.restUrl);
    try {
      const metrics = createMetrics({
        redis: () =>
          createTestUpstashClient(
            { restUrl: proxy.url, restToken: redis.restToken },
            { automaticDeserialization: false },
          ),
        prefix: freshPrefix(),
      });
      await metrics.add({ a_total: 1, b_total: 2, c_total: -1 }, T0);
      expect(proxy.requests.map(({ path, commands }) => ({ path, commands }))).toEqual([
        { path: "/pipeline", commands: ["hincrby", "hincrby", "hincrby", "expire"] },
      ]);
      proxy.reset();
      await metrics.sum(180, T0);
      expect(proxy.requests).toHaveLength(1);
      expect(proxy.requests[0]?.commands).toHaveLength(180);
    } finally {
      await proxy.close();
    }
  });

  it("never throws when Redis is unreachable: add reports false, and a request is still finished", async () => {
    const port = await closedPort();
    const dead = createMetrics({
      redis: () => createTestUpstashClient({ restUrl: `http://127.0.0.1:${port}`, restToken: "x" }),
    });
    expect(await dead.add({ x_total: 1 })).toBe(false);
    await expect(countRequest(dead, "/health", "GET").finish(500)).resolves.toBeUndefined();
    await expect(dead.sum(1)).rejects.toThrow();
  });
});

/** A local port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}
