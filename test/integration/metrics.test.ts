import { createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countRequest, httpRequestSeries } from "../../shared/observability/http-metrics";
import { bucketOf, createMetrics, METRICS_BUCKET_TTL_SECONDS } from "../../shared/observability/metrics";
import { startCountingProxy } from "../helpers/counting-proxy";
import { createTestUpstashClient, startTestRedis, type TestRedis } from "../helpers/redis";

/**
 * The metrics counters over a real redis-server behind the Upstash-REST bridge, with the real
 * `@upstash/redis` client configured as in production (automatic deserialization off,
 * auto-pipelining on). Times are injected, so buckets are chosen, not waited for. Counts are
 * buffered per instance; the tests flush explicitly (or through `sum`, which flushes its own).
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
    expect(await b.flush()).toBe(true); // b's counts reach Redis with its flush; a's sum flushes a's
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
    const metrics = createMetrics({ redis: client, prefix });
    await metrics.add({ x_total: 1 }, T0);
    expect(await metrics.flush()).toBe(true);
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

  it("costs no request per add, one per flush (increments and TTLs auto-pipelined) and one per sum, whatever the window", async () => {
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
      await metrics.add({ a_total: 1 }, T0);
      expect(proxy.requests).toEqual([]);
      expect(await metrics.flush()).toBe(true);
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

  it("never throws when Redis is unreachable: a flush reports false, and a request is still finished", async () => {
    const port = await closedPort();
    const dead = createMetrics({
      redis: () => createTestUpstashClient({ restUrl: `http://127.0.0.1:${port}`, restToken: "x" }),
    });
    await dead.add({ x_total: 1 });
    expect(await dead.flush()).toBe(false);
    const eager = createMetrics({
      redis: () => createTestUpstashClient({ restUrl: `http://127.0.0.1:${port}`, restToken: "x" }),
      flushIntervalMs: 0,
    });
    expect(await eager.add({ x_total: 1 })).toBe(false);
    await expect(countRequest(dead, "/health", "GET").finish(500)).resolves.toBeUndefined();
    await expect(dead.sum(1)).rejects.toThrow();
  });
});

describe("buffering: no write per count, one flush at most every interval", () => {
  it("writes nothing until the interval has elapsed; then the count that finds it elapsed flushes all pending buckets", async () => {
    const proxy = await startCountingProxy(redis.restUrl);
    try {
      let nowMs = T0;
      const prefix = freshPrefix();
      const metrics = createMetrics({
        redis: () =>
          createTestUpstashClient(
            { restUrl: proxy.url, restToken: redis.restToken },
            { automaticDeserialization: false },
          ),
        prefix,
        nowMs: () => nowMs,
        flushIntervalMs: 5000,
      });
      for (let i = 0; i < 50; i++) {
        const count = countRequest(metrics, "/User1/", "GET", nowMs);
        await count.finish(i % 10 === 0 ? 429 : 200);
        nowMs += 90; // 50 requests over 4.5 s: still inside the interval
      }
      expect(proxy.requests).toEqual([]);
      nowMs = T0 + 60_000; // the next minute: a second bucket
      await metrics.add({ other_total: 1 }); // the interval has elapsed: this count flushes
      expect(proxy.requests.map((r) => r.commands)).toEqual([
        ["hincrby", "hincrby", "expire", "hincrby", "expire"],
      ]);
      proxy.reset();
      await metrics.add({ other_total: 1 }); // just flushed: buffered again
      expect(proxy.requests).toEqual([]);
      const totals = await metrics.sum(2, nowMs); // flushes its own pending first
      expect(totals.get(httpRequestSeries("/User1/", "GET", "2xx"))).toBe(45);
      expect(totals.get(httpRequestSeries("/User1/", "GET", "4xx"))).toBe(5);
      expect(totals.get("other_total")).toBe(2);
    } finally {
      await proxy.close();
    }
  });

  it("starts a due flush when a request starts and has it settled when the request finishes", async () => {
    let nowMs = T0;
    const prefix = freshPrefix();
    const metrics = createMetrics({ redis: client, prefix, nowMs: () => nowMs, flushIntervalMs: 5000 });
    await countRequest(metrics, "/health", "GET", nowMs).finish(200); // buffered
    nowMs += 5000;
    const count = countRequest(metrics, "/health", "GET", nowMs); // due: flushes the first request now
    await count.finish(200);
    const stored = await client().hget(
      `${prefix}${bucketOf(T0)}`,
      httpRequestSeries("/health", "GET", "2xx"),
    );
    // The first request's count, and this one's own start, were carried by the flush it started.
    expect(String(stored)).toBe("2");
  });

  it("refuses a negative or infinite interval", () => {
    expect(() => createMetrics({ redis: client, flushIntervalMs: -1 })).toThrow(RangeError);
    expect(() => createMetrics({ redis: client, flushIntervalMs: Number.POSITIVE_INFINITY })).toThrow(
      RangeError,
    );
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
